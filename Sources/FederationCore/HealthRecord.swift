/// A node's health as the health service last judged it.
public enum HealthState: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case unknown, healthy, degraded, unhealthy
    public var description: String { rawValue }
}

/// Where a node's routing latency (`latencyP50Ms`/`latencyP99Ms`) comes from.
public enum LatencySource: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Request latency reported by gateways and nodes (recent reports exist).
    case inference
    /// The round-trip time of the health service's `/health` probes (no recent reports).
    case probe
    public var description: String { rawValue }
}

/// One node's health, as stored in Redis and read by routers. Produced by `HealthTracker`.
public struct NodeHealth: Sendable, Equatable, Codable {
    public var node: NodeId
    public var state: HealthState
    /// The latency routing uses (the Latency policy, QoS `max_latency_ms`): median in
    /// milliseconds of the inference latency while recent reports exist, else of the probe
    /// round-trip time (`latencySource` says which); nil until a sample exists.
    public var latencyP50Ms: Double?
    /// 99th percentile of the same source, in milliseconds.
    public var latencyP99Ms: Double?
    /// Which samples `latencyP50Ms`/`latencyP99Ms` come from (nil when there are none).
    public var latencySource: LatencySource?
    /// Median `/health` probe round-trip time over the probe window, in milliseconds.
    public var probeLatencyP50Ms: Double?
    /// 99th-percentile probe round-trip time, in milliseconds.
    public var probeLatencyP99Ms: Double?
    /// Median reported inference latency over the inference window (recent or not), in milliseconds.
    public var inferenceLatencyP50Ms: Double?
    /// 99th-percentile reported inference latency, in milliseconds.
    public var inferenceLatencyP99Ms: Double?
    /// Tokens per second over the recent window, from reports that carry token counts.
    public var throughput: Double?
    /// Requests waiting at the node, as its /health last said.
    public var queueDepth: Int?
    /// GPU utilisation in [0, 1], as the node last said.
    public var gpuUtilization: Double?
    public var consecutiveSuccesses: Int
    public var consecutiveFailures: Int
    public var totalSuccesses: UInt64
    public var totalFailures: UInt64
    public var lastCheck: Timestamp?
    /// Why the state is what it is (e.g. "3 consecutive failures", "slow success 1450 ms").
    public var reason: String?

    public init(
        node: NodeId, state: HealthState = .unknown, latencyP50Ms: Double? = nil, latencyP99Ms: Double? = nil,
        throughput: Double? = nil, queueDepth: Int? = nil, gpuUtilization: Double? = nil,
        consecutiveSuccesses: Int = 0, consecutiveFailures: Int = 0, totalSuccesses: UInt64 = 0,
        totalFailures: UInt64 = 0, lastCheck: Timestamp? = nil, reason: String? = nil,
        latencySource: LatencySource? = nil, probeLatencyP50Ms: Double? = nil,
        probeLatencyP99Ms: Double? = nil,
        inferenceLatencyP50Ms: Double? = nil, inferenceLatencyP99Ms: Double? = nil
    ) {
        self.latencySource = latencySource
        self.probeLatencyP50Ms = probeLatencyP50Ms
        self.probeLatencyP99Ms = probeLatencyP99Ms
        self.inferenceLatencyP50Ms = inferenceLatencyP50Ms
        self.inferenceLatencyP99Ms = inferenceLatencyP99Ms
        self.node = node
        self.state = state
        self.latencyP50Ms = latencyP50Ms
        self.latencyP99Ms = latencyP99Ms
        self.throughput = throughput
        self.queueDepth = queueDepth
        self.gpuUtilization = gpuUtilization
        self.consecutiveSuccesses = consecutiveSuccesses
        self.consecutiveFailures = consecutiveFailures
        self.totalSuccesses = totalSuccesses
        self.totalFailures = totalFailures
        self.lastCheck = lastCheck
        self.reason = reason
    }
}

/// A circuit breaker's position.
public enum CircuitState: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Traffic flows.
    case closed
    /// No traffic until `openUntil`.
    case open
    /// A bounded number of probe requests decide whether to close or re-open.
    case halfOpen = "half_open"
    public var description: String { rawValue }
}

/// One node's circuit breaker, cluster-wide: stored in Redis by the health service, read by
/// every router and gateway. Transitions are computed by `CircuitBreaker`.
public struct CircuitRecord: Sendable, Equatable, Codable {
    public var node: NodeId
    public var state: CircuitState
    /// Failures in a row while closed.
    public var consecutiveFailures: Int
    /// Probe successes in a row while half-open.
    public var halfOpenSuccesses: Int
    public var openedAt: Timestamp?
    /// When an open circuit turns half-open.
    public var openUntil: Timestamp?
    /// How many times it has opened since it was last closed for good (drives the growing open time).
    public var trips: Int
    /// When the last of the `consecutiveFailures` happened (nil: none, or not recorded): failures
    /// older than the breaker's `failureWindow` stop counting.
    public var lastFailureAt: Timestamp?

    public init(
        node: NodeId, state: CircuitState = .closed, consecutiveFailures: Int = 0, halfOpenSuccesses: Int = 0,
        openedAt: Timestamp? = nil, openUntil: Timestamp? = nil,
        trips: Int = 0, lastFailureAt: Timestamp? = nil
    ) {
        self.lastFailureAt = lastFailureAt
        self.node = node
        self.state = state
        self.consecutiveFailures = consecutiveFailures
        self.halfOpenSuccesses = halfOpenSuccesses
        self.openedAt = openedAt
        self.openUntil = openUntil
        self.trips = trips
    }

    /// The state as of `now`: an open circuit whose deadline has passed is half-open, even
    /// before anyone has written that down.
    public func effectiveState(at now: Timestamp) -> CircuitState {
        if state == .open, let openUntil, now >= openUntil { return .halfOpen }
        return state
    }
}
