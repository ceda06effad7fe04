/// A node's health as the health service last judged it.
public enum HealthState: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case unknown, healthy, degraded, unhealthy
    public var description: String { rawValue }
}

/// One node's health, as stored in Redis and read by routers. Produced by `HealthTracker`.
public struct NodeHealth: Sendable, Equatable, Codable {
    public var node: NodeId
    public var state: HealthState
    /// Median latency over the recent window, in milliseconds; nil until a sample exists.
    public var latencyP50Ms: Double?
    /// 99th-percentile latency over the recent window, in milliseconds.
    public var latencyP99Ms: Double?
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
        totalFailures: UInt64 = 0, lastCheck: Timestamp? = nil, reason: String? = nil
    ) {
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
    /// Probes admitted and not yet answered while half-open.
    public var halfOpenProbesInFlight: Int
    public var openedAt: Timestamp?
    /// When an open circuit turns half-open.
    public var openUntil: Timestamp?
    /// How many times it has opened since it was last closed for good (drives the growing open time).
    public var trips: Int

    public init(
        node: NodeId, state: CircuitState = .closed, consecutiveFailures: Int = 0, halfOpenSuccesses: Int = 0,
        halfOpenProbesInFlight: Int = 0, openedAt: Timestamp? = nil, openUntil: Timestamp? = nil,
        trips: Int = 0
    ) {
        self.node = node
        self.state = state
        self.consecutiveFailures = consecutiveFailures
        self.halfOpenSuccesses = halfOpenSuccesses
        self.halfOpenProbesInFlight = halfOpenProbesInFlight
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
