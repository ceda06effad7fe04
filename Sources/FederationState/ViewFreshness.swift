import FederationCore

/// How current the snapshot behind an answer is; part of every answer computed from the view
/// (the router's route, explain and policy responses).
public struct ViewFreshness: Sendable {
    /// Versions of the snapshot the answer was computed from.
    public var versions: SnapshotVersions
    /// Milliseconds since the view last loaded from Redis; nil before the first load.
    public var ageMs: Int64?
    /// Whether the view's change feed is connected.
    public var connected: Bool
    /// True when the view is disconnected, older than `staleAfter`, or holding its last catalog
    /// over an empty reset one: the answer comes from the last state the service saw.
    public var stale: Bool

    public init(snapshot: FederationSnapshot, status: FederationView.Status, staleAfter: Duration) {
        versions = snapshot.versions
        let age = status.ageOfLastSync()
        ageMs = age?.wholeMilliseconds
        connected = status.connected
        stale = !status.connected || status.isHoldingCatalog || age.map { $0 > staleAfter } ?? true
    }

    /// `X-Federation-Snapshot-Age-Ms` and `-Stale` headers (also on error responses).
    public var headerValues: (age: String, stale: String) {
        (ageMs.map(String.init) ?? "never", stale ? "true" : "false")
    }

    /// Writes `snapshot_versions`, `snapshot_age_ms` and `snapshot_stale` into a response object.
    public func encodeFlat<Key: CodingKey>(
        into c: inout KeyedEncodingContainer<Key>, versions: Key, age: Key, stale: Key
    ) throws {
        try c.encode(self.versions, forKey: versions)
        try c.encode(ageMs, forKey: age)
        try c.encode(self.stale, forKey: stale)
    }
}

/// What `GET /readyz` answers for a service that decides from a `FederationView` (the router; the
/// gateway): the shared `ready` + `checks` shape of `FederationHTTP.Readiness`, plus the view's
/// details (its age above all: while Redis is away the service keeps answering from the last
/// view, and this says how old it is). A service with checks of its own adds them to `checks`.
public struct ViewReadiness: ReadinessReport {
    /// True when every check is "ok".
    public var ready: Bool { checks.values.allSatisfy { $0 == "ok" } }
    /// Check name → "ok" or what is wrong: `view`, `redis`, `policy`.
    public var checks: [String: String]
    public var view: ViewDetails

    public struct ViewDetails: Encodable, Sendable {
        public var versions: SnapshotVersions
        public var ageMs: Int64?
        public var connected: Bool
        public var stale: Bool
        public var fullSyncs: Int
        public var resyncs: Int
        public var gapsDetected: Int
        public var loadFailures: Int
        public var malformedMessages: Int
        public var invalidRecords: Int
        public var lastError: String?

        enum CodingKeys: String, CodingKey {
            case versions, ageMs = "age_ms", connected, stale, fullSyncs = "full_syncs", resyncs
            case gapsDetected = "gaps_detected", loadFailures = "load_failures"
            case malformedMessages = "malformed_messages", invalidRecords = "invalid_records"
            case lastError = "last_error"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(versions, forKey: .versions)
            try c.encode(ageMs, forKey: .ageMs)
            try c.encode(connected, forKey: .connected)
            try c.encode(stale, forKey: .stale)
            try c.encode(fullSyncs, forKey: .fullSyncs)
            try c.encode(resyncs, forKey: .resyncs)
            try c.encode(gapsDetected, forKey: .gapsDetected)
            try c.encode(loadFailures, forKey: .loadFailures)
            try c.encode(malformedMessages, forKey: .malformedMessages)
            try c.encode(invalidRecords, forKey: .invalidRecords)
            try c.encode(lastError, forKey: .lastError)
        }
    }

    /// Ready when the view has loaded everything at least once, its change feed is connected to
    /// Redis, and a policy is published.
    public init(view: FederationView, staleAfter: Duration) {
        let status = view.status
        let snapshot = view.currentSnapshot.snapshot
        let freshness = ViewFreshness(snapshot: snapshot, status: status, staleAfter: staleAfter)
        let age = freshness.ageMs.map { "\(Double($0) / 1000) s" } ?? "never"
        var checks: [String: String] = [:]
        checks["view"] =
            status.lastFullSync != nil
            ? "ok" : "has not loaded from Redis yet" + (status.lastError.map { " (last error: \($0))" } ?? "")
        checks["redis"] =
            status.connected ? "ok" : "change feed disconnected; answering from the last view (age \(age))"
        checks["policy"] =
            snapshot.versions.policy > 0
            ? "ok" : "no policy published in Redis yet (the router publishes one)"
        self.checks = checks
        self.view = ViewDetails(
            versions: snapshot.versions, ageMs: freshness.ageMs, connected: status.connected,
            stale: freshness.stale, fullSyncs: status.fullSyncs, resyncs: status.resyncs,
            gapsDetected: status.gapsDetected, loadFailures: status.loadFailures,
            malformedMessages: status.malformedMessages, invalidRecords: status.invalidRecords,
            lastError: status.lastError)
    }

    enum CodingKeys: String, CodingKey { case ready, checks, view }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ready, forKey: .ready)
        try c.encode(checks, forKey: .checks)
        try c.encode(view, forKey: .view)
    }
}
