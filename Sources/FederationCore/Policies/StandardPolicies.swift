/// The seven built-in policies of a policy document, held as concrete types so that the router's
/// per-candidate loop is statically dispatched and inlined: the same objects and formulas as the
/// generic `[any RoutingPolicy]` path, in the same order, without an existential copy (a retain
/// and a release) per policy per candidate. `PolicyPathTests` checks both paths agree.
final class StandardPolicies: Sendable {
    let health: HealthPolicy
    let latency: LatencyPolicy
    let privacy: PrivacyPolicy
    let locality: LocalityPolicy
    let cost: CostPolicy
    let qos: QoSPolicy
    let tenantAffinity: TenantAffinityPolicy
    let totalWeight: Double

    /// Indices of the eligibility rules in `members` order (health, latency, privacy, locality,
    /// cost, qos, tenant affinity).
    static let latencyIndex = 1
    static let privacyIndex = 2
    static let qosIndex = 5

    var members: [any RoutingPolicy] { [health, latency, privacy, locality, cost, qos, tenantAffinity] }

    init(document d: RoutingPolicyDocument) {
        let w = d.weights
        health = HealthPolicy(weight: w.health)
        latency = LatencyPolicy(weight: w.latency, maxLatencyMs: d.maxLatencyMs)
        privacy = PrivacyPolicy(weight: w.privacy)
        locality = LocalityPolicy(
            weight: w.locality, sameRegionBoost: d.localityBoost, crossRegionPenalty: d.crossRegionPenalty)
        cost = CostPolicy(weight: w.cost, maxLatencyMs: d.maxLatencyMs)
        qos = QoSPolicy(weight: w.qos)
        tenantAffinity = TenantAffinityPolicy(weight: w.tenantAffinity, preferences: d.tenantAffinity)
        totalWeight = [w.health, w.latency, w.privacy, w.locality, w.cost, w.qos, w.tenantAffinity]
            .reduce(0) { $0 + max(0, $1) }
    }

    /// Same contract as `CompositePolicy.evaluate`.
    @inline(__always)
    func evaluate(_ c: CandidateNode, for r: InferenceRequest) -> (rejectedBy: Int?, score: Double) {
        if !latency.isEligible(c, for: r) { return (Self.latencyIndex, 0) }
        if !privacy.isEligible(c, for: r) { return (Self.privacyIndex, 0) }
        if !qos.isEligible(c, for: r) { return (Self.qosIndex, 0) }
        guard totalWeight > 0 else { return (nil, 0.5) }
        var sum = 0.0
        @inline(__always) func add(_ weight: Double, _ score: @autoclosure () -> Double) {
            if weight > 0 { sum += weight * unitClamped(score()) }
        }
        add(health.weight, health.score(c, for: r))
        add(latency.weight, latency.score(c, for: r))
        add(privacy.weight, privacy.score(c, for: r))
        add(locality.weight, locality.score(c, for: r))
        add(cost.weight, cost.score(c, for: r))
        add(qos.weight, qos.score(c, for: r))
        add(tenantAffinity.weight, tenantAffinity.score(c, for: r))
        return (nil, sum / totalWeight)
    }
}
