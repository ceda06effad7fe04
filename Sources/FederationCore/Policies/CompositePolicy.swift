/// Combines policies: a candidate is eligible only if every policy says so, and its score is
/// the weighted mean of the policies' scores (so it stays in [0, 1], unlike the reference's
/// mean of pre-weighted scores).
public struct CompositePolicy: Sendable {
    public private(set) var policies: [any RoutingPolicy]
    private var totalWeight: Double
    /// Set when the composite is exactly a document's built-ins: the statically dispatched path.
    private(set) var standard: StandardPolicies?

    public init(_ policies: [any RoutingPolicy] = []) {
        self.policies = policies
        self.totalWeight = policies.reduce(0) { $0 + max(0, $1.weight) }
        self.standard = nil
    }

    /// Adds a policy (built-in or custom).
    public func with(_ policy: any RoutingPolicy) -> CompositePolicy {
        CompositePolicy(policies + [policy])
    }

    /// The same composite evaluated through the generic existential loop only (for tests that
    /// compare the two paths).
    var genericOnly: CompositePolicy { CompositePolicy(policies) }

    /// Health 2.0, latency, privacy, locality and cost 1.0 each — the reference's default.
    public static var enterpriseDefault: CompositePolicy {
        CompositePolicy([HealthPolicy(), LatencyPolicy(), PrivacyPolicy(), LocalityPolicy(), CostPolicy()])
    }

    /// The composite a policy document describes: the five enterprise policies with the document's
    /// weights and parameters, plus the request's QoS and tenant affinity.
    public init(document: RoutingPolicyDocument) {
        let standard = StandardPolicies(document: document)
        self.init(standard.members)
        self.standard = standard
    }

    /// The first policy that rejects `candidate`, with its reason, or nil when all accept it.
    public func rejection(_ candidate: CandidateNode, for request: InferenceRequest) -> Rejection? {
        firstRejecting(candidate, for: request).map { rejection(byPolicyAt: $0, candidate, for: request) }
    }

    /// The index of the first policy that rejects `candidate` (cheap: builds no message).
    public func firstRejecting(_ candidate: CandidateNode, for request: InferenceRequest) -> Int? {
        for index in policies.indices where !policies[index].isEligible(candidate, for: request) {
            return index
        }
        return nil
    }

    /// The rejection by the policy at `index`, with its message.
    public func rejection(
        byPolicyAt index: Int, _ candidate: CandidateNode, for request: InferenceRequest
    )
        -> Rejection
    {
        let policy = policies[index]
        return Rejection(
            policy: policy.name, reason: policy.rejection(candidate, for: request) ?? "not eligible")
    }

    /// One pass over the policies: the index of the first that rejects `candidate`, else its
    /// weighted mean score. What the router calls per candidate.
    @inline(__always)
    func evaluate(
        _ candidate: CandidateNode, for request: InferenceRequest
    ) -> (rejectedBy: Int?, score: Double) {
        if let standard { return standard.evaluate(candidate, for: request) }
        var sum = 0.0
        for index in policies.indices {
            let policy = policies[index]
            if !policy.isEligible(candidate, for: request) { return (index, 0) }
            let weight = policy.weight
            if weight > 0 { sum += weight * unitClamped(policy.score(candidate, for: request)) }
        }
        return (nil, totalWeight > 0 ? sum / totalWeight : 0.5)
    }

    /// The weighted mean score in [0, 1] (0.5 when no policy has weight).
    public func score(_ candidate: CandidateNode, for request: InferenceRequest) -> Double {
        guard totalWeight > 0 else { return 0.5 }
        var sum = 0.0
        for index in policies.indices {
            let weight = policies[index].weight
            if weight > 0 { sum += weight * unitClamped(policies[index].score(candidate, for: request)) }
        }
        return sum / totalWeight
    }

    /// Each policy's score, for explain output.
    public func breakdown(_ candidate: CandidateNode, for request: InferenceRequest) -> [PolicyScore] {
        policies.map {
            PolicyScore(
                policy: $0.name, weight: $0.weight, score: unitClamped($0.score(candidate, for: request)))
        }
    }
}
