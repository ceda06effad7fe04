import FederationCore
import FederationState

/// The answer of `POST /v1/candidates` (the explain view): every node that could serve the
/// capability (and model), with its per-policy scores, whether it is eligible, and when not, the
/// rule that rejected it; plus what routing would answer right now.
struct ExplainAnswer: Encodable, Sendable {
    var requestId: String
    var capability: Capability
    var model: ModelId?
    var strategy: LoadBalanceStrategy
    var candidates: [ExplainedCandidate]
    /// The node a route query would get now (from an engine of its own, so explaining never moves
    /// the round-robin counters of `/v1/route`); nil when routing fails.
    var decision: RouteTarget?
    /// Why routing fails now; nil when it succeeds.
    var error: ExplainError?
    var freshness: ViewFreshness

    enum CodingKeys: String, CodingKey {
        case requestId = "request_id", capability, model, strategy, candidates, eligibleCount =
            "eligible_count"
        case decision, error, snapshotVersions = "snapshot_versions", snapshotAgeMs = "snapshot_age_ms"
        case snapshotStale = "snapshot_stale"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(requestId, forKey: .requestId)
        try c.encode(capability, forKey: .capability)
        try c.encode(model, forKey: .model)
        try c.encode(strategy, forKey: .strategy)
        try c.encode(candidates, forKey: .candidates)
        try c.encode(candidates.filter(\.eligible).count, forKey: .eligibleCount)
        try c.encode(decision.map(DecisionSummary.init), forKey: .decision)
        try c.encode(error, forKey: .error)
        try freshness.encodeFlat(
            into: &c, versions: .snapshotVersions, age: .snapshotAgeMs, stale: .snapshotStale)
    }
}

/// The chosen node in an explain answer.
struct DecisionSummary: Encodable, Sendable {
    var node: NodeId
    var region: RegionId
    var score: Double

    init(_ target: RouteTarget) {
        node = target.node
        region = target.region
        score = target.score
    }
}

/// A routing error as data (the explain view answers 200 and says why routing would fail).
struct ExplainError: Encodable, Sendable {
    var code: String
    var message: String
    var status: Int

    init(_ error: FederationError) {
        code = error.code
        message = error.message
        status = error.httpStatus
    }
}

/// One candidate in the explain view.
struct ExplainedCandidate: Encodable, Sendable {
    var node: NodeId
    var region: RegionId
    var endpoint: String
    var model: ModelId?
    var eligible: Bool
    var score: Double
    var scores: [PolicyScore]
    var health: HealthState
    var circuit: CircuitState
    var inFlight: Int
    var estimatedLatencyMs: Double?
    var rejection: Rejection?

    init(_ candidate: RouteCandidate) {
        node = candidate.target.node
        region = candidate.target.region
        endpoint = candidate.target.endpoint
        model = candidate.target.model
        eligible = candidate.eligible
        score = candidate.scores.total
        scores = candidate.scores.policies
        health = candidate.health
        circuit = candidate.circuit
        inFlight = candidate.inFlight
        estimatedLatencyMs = candidate.target.estimatedLatencyMs
        rejection = candidate.rejection
    }

    /// A node the request asked to exclude (the engine skips those without scoring them).
    init(excluded node: CandidateNode, model: ModelId?, at now: Timestamp) {
        self.node = node.id
        region = node.region
        endpoint = node.info.endpoint
        self.model = model ?? node.models.first
        eligible = false
        score = 0
        scores = []
        health = node.healthState
        circuit = node.circuit?.effectiveState(at: now) ?? .closed
        inFlight = node.inFlight
        estimatedLatencyMs = node.estimatedLatencyMs
        rejection = Rejection(policy: "excluded", reason: "listed in the request's 'exclude' (already tried)")
    }

    enum CodingKeys: String, CodingKey {
        case node, region, endpoint, model, eligible, score, scores, health, circuit
        case inFlight = "in_flight", estimatedLatencyMs = "estimated_latency_ms", rejection
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(node, forKey: .node)
        try c.encode(region, forKey: .region)
        try c.encode(endpoint, forKey: .endpoint)
        try c.encode(model, forKey: .model)
        try c.encode(eligible, forKey: .eligible)
        try c.encode(score, forKey: .score)
        try c.encode(scores, forKey: .scores)
        try c.encode(health, forKey: .health)
        try c.encode(circuit, forKey: .circuit)
        try c.encode(inFlight, forKey: .inFlight)
        try c.encode(estimatedLatencyMs, forKey: .estimatedLatencyMs)
        try c.encode(rejection, forKey: .rejection)
    }
}
