/// Where a request goes.
public struct RouteTarget: Sendable, Equatable, Codable {
    public var node: NodeId
    public var region: RegionId
    public var endpoint: String
    /// The model to ask the node for: the request's, else the node's first model with the capability.
    public var model: ModelId?
    /// The node's p50 latency when measured.
    public var estimatedLatencyMs: Double?
    /// Composite score in [0, 1].
    public var score: Double

    public init(
        node: NodeId, region: RegionId, endpoint: String, model: ModelId?, estimatedLatencyMs: Double?,
        score: Double
    ) {
        self.node = node
        self.region = region
        self.endpoint = endpoint
        self.model = model
        self.estimatedLatencyMs = estimatedLatencyMs
        self.score = score
    }
}

/// A candidate's scores: one entry per policy, and the composite.
public struct RouteScores: Sendable, Equatable, Codable {
    public var policies: [PolicyScore]
    public var total: Double

    public init(policies: [PolicyScore], total: Double) {
        self.policies = policies
        self.total = total
    }

    /// The named policy's unweighted score, if it took part.
    public subscript(policy name: String) -> Double? {
        policies.first { $0.policy == name }?.score
    }
}

/// A node considered for a request, with its scores and, when rejected, why (the explain view).
public struct RouteCandidate: Sendable, Equatable, Codable {
    public var target: RouteTarget
    public var health: HealthState
    public var circuit: CircuitState
    public var inFlight: Int
    public var scores: RouteScores
    public var eligible: Bool
    public var rejection: Rejection?

    public init(
        target: RouteTarget, health: HealthState, circuit: CircuitState, inFlight: Int, scores: RouteScores,
        eligible: Bool, rejection: Rejection?
    ) {
        self.target = target
        self.health = health
        self.circuit = circuit
        self.inFlight = inFlight
        self.scores = scores
        self.eligible = eligible
        self.rejection = rejection
    }
}

/// The outcome of routing one request.
public struct RouteDecision: Sendable, Equatable {
    public var target: RouteTarget
    public var strategy: LoadBalanceStrategy
    /// Candidates that passed every rule (before the top-`maxCandidates` cut). For a sampled
    /// `p2c_ewma` decision, the nodes it drew from (an upper bound: counting the eligible exactly
    /// is the linear work sampling avoids).
    public var eligibleCount: Int
    /// True when the panic threshold put unhealthy nodes back into rotation.
    public var panic: Bool
    /// True when the chosen node's circuit is half-open: the request is a probe, and the caller
    /// must hold one of the node's cluster-wide probe slots (`ProbeSlots` in FederationState).
    public var isProbe: Bool
}

/// Current in-flight requests per node, as the caller knows them (e.g. a gateway adds its own
/// live counts to the cluster-wide estimate in the snapshot).
public protocol LoadEstimator: Sendable {
    func inFlight(_ node: NodeId) -> Int
}
