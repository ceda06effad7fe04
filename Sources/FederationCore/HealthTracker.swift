/// Thresholds of the per-node health state machine. Stored in the shared YAML/JSON configuration
/// with snake_case keys; durations travel as milliseconds (`degraded_latency_ms`).
public struct HealthConfiguration: Sendable, Equatable, Codable {
    /// Fast successes in a row that make a node Healthy (from Unknown, Degraded or Unhealthy).
    public var recoveryThreshold: Int
    /// Failures in a row that make a node Unhealthy.
    public var failureThreshold: Int
    /// A success slower than this (strictly) makes a node Degraded.
    public var degradedLatency: Duration
    /// How many recent samples the latency percentiles and throughput are computed over.
    public var windowSize: Int
    /// How long inference latency (from reports) stays *recent*: while the newest reported
    /// latency is younger than this, the record's routing latency is the inference latency;
    /// after that (or before the first report) it is the probe round-trip time. A report after
    /// a longer silence starts the inference window afresh.
    public var inferenceLatencyMaxAge: Duration

    /// A configuration; the defaults are the federation's (2, 3, 1 s, 256, 60 s).
    public init(
        recoveryThreshold: Int = 2, failureThreshold: Int = 3, degradedLatency: Duration = .seconds(1),
        windowSize: Int = LatencyWindow.defaultCapacity, inferenceLatencyMaxAge: Duration = .seconds(60)
    ) {
        self.inferenceLatencyMaxAge = inferenceLatencyMaxAge
        self.recoveryThreshold = recoveryThreshold
        self.failureThreshold = failureThreshold
        self.degradedLatency = degradedLatency
        self.windowSize = windowSize
    }

    enum CodingKeys: String, CodingKey {
        case recoveryThreshold = "recovery_threshold", failureThreshold = "failure_threshold"
        case degradedLatencyMs = "degraded_latency_ms", windowSize = "window_size"
        case inferenceLatencyMaxAgeMs = "inference_latency_max_age_ms"
    }

    /// Decodes, filling absent keys with defaults, and rejects out-of-range values.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = HealthConfiguration()
        recoveryThreshold = try c.decodeIfPresent(Int.self, forKey: .recoveryThreshold) ?? d.recoveryThreshold
        failureThreshold = try c.decodeIfPresent(Int.self, forKey: .failureThreshold) ?? d.failureThreshold
        degradedLatency =
            try c.decodeIfPresent(Double.self, forKey: .degradedLatencyMs).map { Duration.milliseconds($0) }
            ?? d.degradedLatency
        windowSize = try c.decodeIfPresent(Int.self, forKey: .windowSize) ?? d.windowSize
        inferenceLatencyMaxAge =
            try c.decodeIfPresent(Double.self, forKey: .inferenceLatencyMaxAgeMs).map {
                Duration.milliseconds($0)
            }
            ?? d.inferenceLatencyMaxAge
        if let problem = validationProblem {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: problem))
        }
    }

    /// Encodes with snake_case keys, the latency in milliseconds.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(recoveryThreshold, forKey: .recoveryThreshold)
        try c.encode(failureThreshold, forKey: .failureThreshold)
        try c.encode(degradedLatency.milliseconds, forKey: .degradedLatencyMs)
        try c.encode(windowSize, forKey: .windowSize)
        try c.encode(inferenceLatencyMaxAge.milliseconds, forKey: .inferenceLatencyMaxAgeMs)
    }

    /// nil when every value is in range, else every problem found, joined.
    public var validationProblem: String? {
        var problems: [String] = []
        if !(1...1000).contains(recoveryThreshold) {
            problems.append("recovery_threshold \(recoveryThreshold) is outside 1…1000")
        }
        if !(1...1000).contains(failureThreshold) {
            problems.append("failure_threshold \(failureThreshold) is outside 1…1000")
        }
        if degradedLatency <= .zero { problems.append("degraded_latency_ms must be positive") }
        if !(1...100_000).contains(windowSize) {
            problems.append("window_size \(windowSize) is outside 1…100000")
        }
        if inferenceLatencyMaxAge <= .zero {
            problems.append("inference_latency_max_age_ms must be positive")
        }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }
}

/// A change of a node's health state, returned by `HealthTracker` so callers publish events
/// only when something changed.
public struct HealthTransition: Sendable, Equatable {
    /// The state before the observation.
    public var from: HealthState
    /// The state after it.
    public var to: HealthState
    /// A transition from one state to another.
    public init(from: HealthState, to: HealthState) {
        self.from = from
        self.to = to
    }
}

/// One node's health state machine with its latency window. A value type with no I/O: the
/// health service keeps one per node, feeds it probe results and reports, and stores
/// `snapshot` in Redis.
///
/// - Starts Unknown. A success at or below `degradedLatency` is a *fast* success;
///   `recoveryThreshold` fast successes in a row make the node Healthy from any state.
/// - A success slower than `degradedLatency` makes it Degraded (Unhealthy stays Unhealthy); it
///   resets the failure count and also the fast-success count.
/// - A failure makes it Degraded; `failureThreshold` failures in a row make it Unhealthy.
public struct HealthTracker: Sendable {
    /// The node this tracker judges.
    public let node: NodeId
    /// The thresholds in force.
    public let configuration: HealthConfiguration
    /// The current state.
    public private(set) var state: HealthState = .unknown
    /// Fast successes in a row.
    public private(set) var consecutiveSuccesses = 0
    /// Failures in a row.
    public private(set) var consecutiveFailures = 0
    /// Successes ever recorded (fast or slow).
    public private(set) var totalSuccesses: UInt64 = 0
    /// Failures ever recorded.
    public private(set) var totalFailures: UInt64 = 0
    /// The latest observation time seen (never moves backwards).
    public private(set) var lastCheck: Timestamp?
    /// Why the state is what it is.
    public private(set) var reason: String?
    /// Requests waiting at the node, as its last probe said.
    public private(set) var queueDepth: Int?
    /// GPU utilisation in [0, 1], as its last probe said.
    public private(set) var gpuUtilization: Double?
    /// The recent inference samples: latencies (and tokens) from reports (empty after a restart
    /// until new reports arrive).
    public private(set) var window: LatencyWindow
    /// The recent `/health` probe round-trip times.
    public private(set) var probeWindow: LatencyWindow
    /// When the newest inference sample was observed.
    public private(set) var lastInferenceAt: Timestamp?
    /// Values from a restored record, shown until the windows have samples.
    private var restored = NodeHealth(node: "")

    /// A tracker for a node never observed: state Unknown, empty window.
    public init(node: NodeId, configuration: HealthConfiguration = .init()) {
        self.node = node
        self.configuration = configuration
        window = LatencyWindow(capacity: configuration.windowSize)
        probeWindow = LatencyWindow(capacity: configuration.windowSize)
    }

    /// A tracker that continues from a stored record (e.g. after the health service restarts):
    /// state, counters, gauges and reason carry over; the latency window restarts empty, and the
    /// stored percentiles and throughput are reported until the first new sample arrives.
    public init(restoring record: NodeHealth, configuration: HealthConfiguration = .init()) {
        self.init(node: record.node, configuration: configuration)
        state = record.state
        consecutiveSuccesses = max(0, record.consecutiveSuccesses)
        consecutiveFailures = max(0, record.consecutiveFailures)
        totalSuccesses = record.totalSuccesses
        totalFailures = record.totalFailures
        lastCheck = record.lastCheck
        reason = record.reason
        queueDepth = record.queueDepth
        gpuUtilization = record.gpuUtilization
        restored = record
    }

    /// Records a request (`source` `.inference`, the default) or a `/health` probe (`.probe`)
    /// that succeeded after `latency` (nil: not measured, no sample), producing `tokens` when
    /// known. Each source has its own window; see ``snapshot(at:)`` for which one routing uses.
    /// - Returns: the state change, or nil when the state stayed the same.
    @discardableResult
    public mutating func recordSuccess(
        latency: Duration?, tokens: Int? = nil, at time: Timestamp, source: LatencySource = .inference
    )
        -> HealthTransition?
    {
        let before = state
        if let latency {
            switch source {
            case .probe:
                probeWindow.record(latency)
            case .inference:
                // After a silence longer than the max age, old samples do not mix with new ones.
                if let last = lastInferenceAt, time >= last.advanced(by: configuration.inferenceLatencyMaxAge)
                {
                    window.removeAll()
                }
                window.record(latency, tokens: tokens)
                lastInferenceAt = max(lastInferenceAt ?? time, time)
            }
        }
        totalSuccesses &+= 1
        consecutiveFailures = 0
        touch(time)
        if let latency, latency > configuration.degradedLatency {
            consecutiveSuccesses = 0
            let slow =
                "slow success \(Self.format(latency)) ms > \(Self.format(configuration.degradedLatency)) ms"
            if state == .unhealthy {
                reason = "\(slow); unhealthy until \(configuration.recoveryThreshold) fast successes in a row"
            } else {
                state = .degraded
                reason = slow
            }
        } else {
            consecutiveSuccesses += 1
            let needed = configuration.recoveryThreshold
            if consecutiveSuccesses >= needed {
                state = .healthy
                reason =
                    "\(Self.plural(consecutiveSuccesses, "consecutive success", "consecutive successes"))"
            } else {
                reason = "\(consecutiveSuccesses) of \(needed) fast successes needed to become healthy"
            }
        }
        return before == state ? nil : HealthTransition(from: before, to: state)
    }

    /// Records a failed request or probe; `reason` (e.g. "connection refused", "HTTP 503") is
    /// kept in the record's reason.
    /// - Returns: the state change, or nil when the state stayed the same.
    @discardableResult
    public mutating func recordFailure(at time: Timestamp, reason failure: String? = nil) -> HealthTransition?
    {
        let before = state
        totalFailures &+= 1
        consecutiveFailures += 1
        consecutiveSuccesses = 0
        touch(time)
        if consecutiveFailures >= configuration.failureThreshold {
            state = .unhealthy
        } else if state != .unhealthy {
            state = .degraded
        }
        let count = Self.plural(consecutiveFailures, "consecutive failure", "consecutive failures")
        reason = failure.map { "\(count): \($0)" } ?? count
        return before == state ? nil : HealthTransition(from: before, to: state)
    }

    /// Records the gauges a node's `/health` reported. A nil argument means "not reported" and
    /// keeps the previous value; GPU utilisation is clamped to 0…1 and queue depth to ≥ 0. This
    /// does not count as a success: record the probe's outcome with `recordSuccess`/`recordFailure`.
    public mutating func recordProbe(queueDepth: Int?, gpuUtilization: Double?, at time: Timestamp) {
        if let queueDepth { self.queueDepth = max(0, queueDepth) }
        if let gpuUtilization, gpuUtilization.isFinite {
            self.gpuUtilization = min(max(gpuUtilization, 0), 1)
        }
        touch(time)
    }

    /// The record as of the last observation (``snapshot(at:)`` at `lastCheck`).
    public var snapshot: NodeHealth { snapshot(at: lastCheck ?? Timestamp(milliseconds: 0)) }

    /// The record to store and publish at `now`: state, probe and inference percentiles (ms),
    /// throughput, gauges, counters, last check and reason. The routing latency
    /// (`latencyP50Ms`/`latencyP99Ms`) is the inference latency while the newest report is younger
    /// than `inferenceLatencyMaxAge`, else the probe round-trip time; before any sample, what a
    /// restored record said.
    public func snapshot(at now: Timestamp) -> NodeHealth {
        var record = restored
        record.node = node
        if !probeWindow.isEmpty {
            let values = probeWindow.percentiles([50, 99])
            record.probeLatencyP50Ms = values[0]?.milliseconds
            record.probeLatencyP99Ms = values[1]?.milliseconds
        }
        if !window.isEmpty {
            let values = window.percentiles([50, 99])
            record.inferenceLatencyP50Ms = values[0]?.milliseconds
            record.inferenceLatencyP99Ms = values[1]?.milliseconds
            record.throughput = window.throughput
        }
        let recent =
            !window.isEmpty
            && lastInferenceAt.map { now < $0.advanced(by: configuration.inferenceLatencyMaxAge) } == true
        if recent {
            (record.latencyP50Ms, record.latencyP99Ms) = (
                record.inferenceLatencyP50Ms, record.inferenceLatencyP99Ms
            )
            record.latencySource = .inference
        } else if !probeWindow.isEmpty {
            (record.latencyP50Ms, record.latencyP99Ms) = (record.probeLatencyP50Ms, record.probeLatencyP99Ms)
            record.latencySource = .probe
        } else if !window.isEmpty {
            // Only stale reports and no probe yet: the stale inference latency beats none.
            (record.latencyP50Ms, record.latencyP99Ms) = (
                record.inferenceLatencyP50Ms, record.inferenceLatencyP99Ms
            )
            record.latencySource = .inference
        }
        record.state = state
        record.queueDepth = queueDepth
        record.gpuUtilization = gpuUtilization
        record.consecutiveSuccesses = consecutiveSuccesses
        record.consecutiveFailures = consecutiveFailures
        record.totalSuccesses = totalSuccesses
        record.totalFailures = totalFailures
        record.lastCheck = lastCheck
        record.reason = reason
        return record
    }

    private mutating func touch(_ time: Timestamp) {
        lastCheck = max(lastCheck ?? time, time)
    }

    /// Whole milliseconds when integral ("1450"), else one decimal ("1000.5").
    static func format(_ duration: Duration) -> String {
        let tenths = (max(duration, .zero).milliseconds * 10).rounded()
        let whole = Int64(tenths / 10)
        let fraction = Int64(tenths) % 10
        return fraction == 0 ? "\(whole)" : "\(whole).\(fraction)"
    }

    private static func plural(_ n: Int, _ one: String, _ many: String) -> String {
        "\(n) \(n == 1 ? one : many)"
    }
}

/// How much routing trusts a node's health, in [0, 1].
public enum HealthScore {
    /// Healthy 1.0; Degraded 0.5 with no failures in a row (slow successes), minus 0.1 per
    /// failure in a row, never below 0.3; Unknown (or no record) 0.3; Unhealthy 0 (ineligible).
    public static func score(for health: NodeHealth?) -> Double {
        guard let health else { return 0.3 }
        return score(state: health.state, consecutiveFailures: health.consecutiveFailures)
    }

    /// The same, from the two facts it depends on (what the router reads per candidate).
    @inlinable
    public static func score(state: HealthState, consecutiveFailures: Int) -> Double {
        switch state {
        case .healthy: return 1.0
        case .unknown: return 0.3
        case .unhealthy: return 0
        case .degraded:
            // Integer tenths so that the values are exactly 0.5, 0.4 and 0.3.
            let failures = min(max(consecutiveFailures, 0), 2)
            return Double(5 - failures) / 10
        }
    }
}
