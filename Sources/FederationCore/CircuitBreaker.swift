/// Thresholds and timings of the per-node circuit breaker. Stored in the shared configuration
/// with snake_case keys; durations travel as milliseconds (`reset_timeout_ms`, …).
public struct CircuitBreakerConfiguration: Sendable, Equatable, Codable {
    /// Failures in a row, while closed, that open the circuit.
    public var failureThreshold: Int
    /// How long the first trip stays open before turning half-open.
    public var resetTimeout: Duration
    /// Probe successes (while half-open) that close the circuit.
    public var halfOpenSuccessThreshold: Int
    /// Probes in flight at once while half-open, cluster-wide.
    public var halfOpenMaxProbes: Int
    /// Each further trip stays open this many times longer than the previous one.
    public var backoffMultiplier: Double
    /// The longest an open period lasts, however many trips.
    public var maxOpenDuration: Duration
    /// How long taken probe slots live after the last one was taken (the TTL of `ProbeSlots`):
    /// slots whose gateway died are freed then. Should exceed the request timeout.
    public var probeTimeout: Duration
    /// Failures in a row count only while each comes within this long of the previous one: a
    /// failure later than that after the last one starts the count again at 1 (so one stray
    /// failure long ago does not bring a later outage's trip forward).
    public var failureWindow: Duration

    /// A configuration; the defaults are the federation's (5, 30 s, 3, 3, ×2, 300 s, 60 s, 60 s).
    public init(
        failureThreshold: Int = 5, resetTimeout: Duration = .seconds(30), halfOpenSuccessThreshold: Int = 3,
        halfOpenMaxProbes: Int = 3, backoffMultiplier: Double = 2.0,
        maxOpenDuration: Duration = .seconds(300),
        probeTimeout: Duration = .seconds(60), failureWindow: Duration = .seconds(60)
    ) {
        self.failureWindow = failureWindow
        self.failureThreshold = failureThreshold
        self.resetTimeout = resetTimeout
        self.halfOpenSuccessThreshold = halfOpenSuccessThreshold
        self.halfOpenMaxProbes = halfOpenMaxProbes
        self.backoffMultiplier = backoffMultiplier
        self.maxOpenDuration = maxOpenDuration
        self.probeTimeout = probeTimeout
    }

    enum CodingKeys: String, CodingKey {
        case failureThreshold = "failure_threshold", resetTimeoutMs = "reset_timeout_ms"
        case halfOpenSuccessThreshold = "half_open_success_threshold", halfOpenMaxProbes =
            "half_open_max_probes"
        case backoffMultiplier = "backoff_multiplier", maxOpenDurationMs = "max_open_duration_ms"
        case probeTimeoutMs = "probe_timeout_ms", failureWindowMs = "failure_window_ms"
    }

    /// Decodes, filling absent keys with defaults, and rejects out-of-range values.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CircuitBreakerConfiguration()
        func duration(_ key: CodingKeys, _ fallback: Duration) throws -> Duration {
            try c.decodeIfPresent(Double.self, forKey: key).map { Duration.milliseconds($0) } ?? fallback
        }
        failureThreshold = try c.decodeIfPresent(Int.self, forKey: .failureThreshold) ?? d.failureThreshold
        resetTimeout = try duration(.resetTimeoutMs, d.resetTimeout)
        halfOpenSuccessThreshold =
            try c.decodeIfPresent(Int.self, forKey: .halfOpenSuccessThreshold) ?? d.halfOpenSuccessThreshold
        halfOpenMaxProbes = try c.decodeIfPresent(Int.self, forKey: .halfOpenMaxProbes) ?? d.halfOpenMaxProbes
        backoffMultiplier =
            try c.decodeIfPresent(Double.self, forKey: .backoffMultiplier) ?? d.backoffMultiplier
        maxOpenDuration = try duration(.maxOpenDurationMs, d.maxOpenDuration)
        probeTimeout = try duration(.probeTimeoutMs, d.probeTimeout)
        failureWindow = try duration(.failureWindowMs, d.failureWindow)
        if let problem = validationProblem {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: problem))
        }
    }

    /// Encodes with snake_case keys, durations in milliseconds.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(failureThreshold, forKey: .failureThreshold)
        try c.encode(resetTimeout.milliseconds, forKey: .resetTimeoutMs)
        try c.encode(halfOpenSuccessThreshold, forKey: .halfOpenSuccessThreshold)
        try c.encode(halfOpenMaxProbes, forKey: .halfOpenMaxProbes)
        try c.encode(backoffMultiplier, forKey: .backoffMultiplier)
        try c.encode(maxOpenDuration.milliseconds, forKey: .maxOpenDurationMs)
        try c.encode(probeTimeout.milliseconds, forKey: .probeTimeoutMs)
        try c.encode(failureWindow.milliseconds, forKey: .failureWindowMs)
    }

    /// nil when every value is in range, else every problem found, joined.
    public var validationProblem: String? {
        var problems: [String] = []
        func check(_ ok: Bool, _ message: @autoclosure () -> String) { if !ok { problems.append(message()) } }
        check(
            (1...1000).contains(failureThreshold), "failure_threshold \(failureThreshold) is outside 1…1000")
        check(resetTimeout > .zero, "reset_timeout_ms must be positive")
        check(
            (1...1000).contains(halfOpenSuccessThreshold),
            "half_open_success_threshold \(halfOpenSuccessThreshold) is outside 1…1000")
        check(
            (1...1000).contains(halfOpenMaxProbes),
            "half_open_max_probes \(halfOpenMaxProbes) is outside 1…1000")
        check(
            backoffMultiplier >= 1 && backoffMultiplier <= 100,
            "backoff_multiplier \(backoffMultiplier) is outside 1…100")
        check(
            maxOpenDuration >= resetTimeout,
            "max_open_duration_ms (\(maxOpenDuration)) is shorter than reset_timeout_ms (\(resetTimeout))")
        check(probeTimeout > .zero, "probe_timeout_ms must be positive")
        check(failureWindow > .zero, "failure_window_ms must be positive")
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    /// How long the `trip`-th consecutive trip (1-based) stays open:
    /// `resetTimeout × backoffMultiplier^(trip − 1)`, never more than `maxOpenDuration`.
    public func openDuration(forTrip trip: Int) -> Duration {
        let capMs = maxOpenDuration.milliseconds
        var ms = resetTimeout.milliseconds
        var remaining = max(trip, 1) - 1
        while remaining > 0, ms < capMs, backoffMultiplier > 1 {
            ms *= backoffMultiplier
            remaining -= 1
        }
        return .milliseconds(min(ms, capMs))
    }
}

/// A change of a circuit's (effective) state; callers publish an event only when one is returned.
public struct CircuitTransition: Sendable, Equatable {
    /// The effective state before the update.
    public var from: CircuitState
    /// The effective state after it.
    public var to: CircuitState
    /// A transition from one state to another.
    public init(from: CircuitState, to: CircuitState) {
        self.from = from
        self.to = to
    }
}

/// The circuit breaker's transitions as pure functions over `CircuitRecord`: the health service
/// applies them to the record it stores in Redis. Admission is not part of the record: a request
/// to a half-open node is a probe (`RouteDecision.isProbe`), and the gateway sends it only after
/// taking one of the node's `halfOpenMaxProbes` cluster-wide slots (`ProbeSlots` in
/// FederationState) — the one probe-admission rule.
///
/// - Closed → Open after `failureThreshold` failures in a row; a success while closed resets them,
///   and so does a gap: a failure more than `failureWindow` after the previous one counts as the
///   first of a new run (`CircuitRecord.lastFailureAt`).
/// - Open for `openDuration(forTrip: trips)`, after which it is half-open (by time alone, see
///   `CircuitRecord.effectiveState(at:)`). Outcomes reported while open change nothing.
/// - Half-open admits at most `halfOpenMaxProbes` probes at once, cluster-wide (`ProbeSlots`).
///   `halfOpenSuccessThreshold` probe successes close it (trips back to 0); a probe failure
///   re-opens it for the next, longer trip.
/// - An open deadline is never moved earlier: opening keeps the later of the existing and the new.
public enum CircuitBreaker {
    /// Records a request that succeeded at `now`.
    public static func recordSuccess(
        _ record: CircuitRecord, at now: Timestamp, config: CircuitBreakerConfiguration = .init()
    ) -> CircuitRecord {
        var r = normalized(record, at: now, config: config)
        switch r.state {
        case .closed:
            r.consecutiveFailures = 0
            r.lastFailureAt = nil
        case .open:
            break  // an answer to a request sent before it opened proves nothing yet
        case .halfOpen:
            r.halfOpenSuccesses += 1
            if r.halfOpenSuccesses >= config.halfOpenSuccessThreshold {
                r = CircuitRecord(node: r.node)
            }
        }
        return r
    }

    /// Records a request that failed at `now` (a failure the node is to blame for).
    public static func recordFailure(
        _ record: CircuitRecord, at now: Timestamp, config: CircuitBreakerConfiguration = .init()
    ) -> CircuitRecord {
        var r = normalized(record, at: now, config: config)
        switch r.state {
        case .closed:
            if let last = r.lastFailureAt, now >= last.advanced(by: config.failureWindow) {
                r.consecutiveFailures = 0  // the previous failures are too old to count
            }
            r.consecutiveFailures = max(r.consecutiveFailures, 0) + 1
            r.lastFailureAt = max(r.lastFailureAt ?? now, now)
            if r.consecutiveFailures >= config.failureThreshold { r = opened(r, at: now, config: config) }
        case .open:
            break  // already open: neither extended nor shortened
        case .halfOpen:
            r = opened(r, at: now, config: config)
        }
        return r
    }

    /// Opens the circuit by hand (an operator draining a node) until `deadline`, or later if it
    /// is already open until later. Does not count as a trip.
    public static func forceOpen(
        _ record: CircuitRecord, until deadline: Timestamp, at now: Timestamp
    )
        -> CircuitRecord
    {
        var r = record
        if r.state != .open || r.openedAt == nil { r.openedAt = now }
        r.state = .open
        r.openUntil = max(r.openUntil ?? deadline, deadline)
        r.halfOpenSuccesses = 0
        return r
    }

    /// Closes the circuit by hand and forgets its history (trips back to 0).
    public static func reset(_ record: CircuitRecord) -> CircuitRecord {
        CircuitRecord(node: record.node)
    }

    /// The change between two versions of a record as seen at `now` (effective states), or nil.
    public static func transition(
        from before: CircuitRecord, to after: CircuitRecord, at now: Timestamp
    )
        -> CircuitTransition?
    {
        let from = before.effectiveState(at: now)
        let to = after.effectiveState(at: now)
        return from == to ? nil : CircuitTransition(from: from, to: to)
    }

    /// The record with time applied: an open circuit past its deadline becomes explicitly
    /// half-open with an empty probe round; an open record without a deadline gets one.
    static func normalized(
        _ record: CircuitRecord, at now: Timestamp, config: CircuitBreakerConfiguration
    )
        -> CircuitRecord
    {
        var r = record
        guard r.state == .open else { return r }
        if r.openUntil == nil {
            r.openUntil = (r.openedAt ?? now).advanced(by: config.openDuration(forTrip: r.trips))
        }
        if r.effectiveState(at: now) == .halfOpen {
            r.state = .halfOpen
            r.halfOpenSuccesses = 0
        }
        return r
    }

    /// The record opened at `now` for its next trip; the deadline never moves earlier.
    static func opened(
        _ record: CircuitRecord, at now: Timestamp, config: CircuitBreakerConfiguration
    )
        -> CircuitRecord
    {
        var r = record
        r.trips = max(r.trips, 0) + 1
        let deadline = now.advanced(by: config.openDuration(forTrip: r.trips))
        r.state = .open
        r.openedAt = now
        r.openUntil = max(r.openUntil ?? deadline, deadline)
        r.halfOpenSuccesses = 0
        return r
    }
}
