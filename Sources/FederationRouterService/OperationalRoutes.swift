import FederationCore
import FederationHTTP
import FederationState
import Hummingbird
import Prometheus

/// What `GET /readyz` answers: the shared `ready` + `checks` shape of `FederationHTTP.Readiness`,
/// plus the view's details (its age above all: while Redis is away the router keeps answering
/// from the last view, and this says how old it is).
struct RouterReadiness: ReadinessReport {
    var ready: Bool
    var checks: [String: String]
    var view: ViewDetails

    struct ViewDetails: Encodable, Sendable {
        var versions: SnapshotVersions
        var ageMs: Int64?
        var connected: Bool
        var stale: Bool
        var fullSyncs: Int
        var resyncs: Int
        var gapsDetected: Int
        var loadFailures: Int
        var malformedMessages: Int
        var invalidRecords: Int
        var lastError: String?

        enum CodingKeys: String, CodingKey {
            case versions, ageMs = "age_ms", connected, stale, fullSyncs = "full_syncs", resyncs
            case gapsDetected = "gaps_detected", loadFailures = "load_failures"
            case malformedMessages = "malformed_messages", invalidRecords = "invalid_records"
            case lastError = "last_error"
        }

        func encode(to encoder: any Encoder) throws {
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
    init(view: FederationView, staleAfter: Duration) {
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
        self.ready = checks.values.allSatisfy { $0 == "ok" }
        self.view = ViewDetails(
            versions: snapshot.versions, ageMs: freshness.ageMs, connected: status.connected,
            stale: freshness.stale, fullSyncs: status.fullSyncs, resyncs: status.resyncs,
            gapsDetected: status.gapsDetected, loadFailures: status.loadFailures,
            malformedMessages: status.malformedMessages, invalidRecords: status.invalidRecords,
            lastError: status.lastError)
    }
}

extension Router {
    /// The shared `/healthz`, `/readyz` (with the view's age and counters) and `/metrics` (the
    /// view gauges refreshed at each scrape).
    func addRouterOperationalRoutes(
        view: FederationView, registry: PrometheusCollectorRegistry, metrics: RouterMetrics,
        staleAfter: Duration
    ) {
        addOperationalRoutes(
            service: "federation-router", registry: registry,
            beforeScrape: {
                metrics.refresh(
                    from: view.status, policyVersion: view.currentSnapshot.snapshot.versions.policy)
            },
            readiness: { RouterReadiness(view: view, staleAfter: staleAfter) })
    }
}
