/// `p2c_ewma`: power of two choices over a peak-EWMA latency (Finagle, Linkerd). Two distinct
/// eligible candidates are drawn uniformly at random; the one with the lower cost
/// `latency × (in-flight + 1)` is chosen, a tie at random.
///
/// The latency of a node is, in order: this engine's peak EWMA of what its caller observed
/// (``RoutingEngine/observe(_:latency:ok:)``); else the node's published p50 when it comes from
/// real requests (not from health probes, which say nothing of how fast a node answers work);
/// else a pessimistic prior: the slowest such p50 among the capability's nodes, or the other
/// candidate's latency when that is higher, so that a node that has just registered is never
/// cheaper than a measured one at equal load and is not herded onto.
///
/// Large fleets are sampled without evaluating every node: the snapshot keeps each capability's
/// nodes most private first (``CandidateSample``), so the nodes at or above the request's privacy
/// level are a prefix to draw from; each drawn node gets every request rule the linear path
/// applies (regions, open circuit, policies, health, `min_score`, already tried) and is skipped
/// if it fails one, so the hard filters hold exactly. Sampling gives up, and the linear path
/// decides, when eligible nodes are too rare to be found in a bounded number of draws, when the
/// list is small, or when the panic threshold could put unhealthy nodes back in the pool and
/// the draws cannot prove it does not.
extension RoutingEngine {
    /// Below this many nodes to draw from, the linear path decides (it is as cheap).
    static let samplingMinimum = 32
    /// Draws per eligible node sought before sampling gives up.
    static let drawsPerNode = 32
    /// The most eligible nodes sampling seeks to prove the panic threshold is not reached.
    static let panicProofLimit = 256

    /// The sampled decision, or nil when the linear path must decide (see the type's comment).
    func routeBySampling(
        _ request: InferenceRequest, in snapshot: FederationSnapshot, excluding excluded: Set<NodeId>,
        load: (any LoadEstimator)?
    ) -> RouteDecision? {
        guard let sample = snapshot.sample(for: request.capability, model: request.model) else { return nil }
        let composite = policyOverride ?? snapshot.compositePolicy
        let standard = composite.standard
        // Only the built-in privacy policy is known to reject every node below the request's level.
        let drawable = standard != nil ? sample.count(atLeast: request.qos.privacy) : sample.byPrivacy.count
        guard drawable >= Self.samplingMinimum else { return nil }
        let now = clock.now()
        let minScore = snapshot.policy.minScore
        let threshold = snapshot.policy.panicThreshold
        // The panic rule (`Evaluation.pool`): with `u` routable unhealthy nodes, at least
        // `required` eligible healthy ones must be found to show it does not apply.
        var required = 2
        if threshold > 0, !sample.unhealthy.isEmpty {
            var routableUnhealthy = 0
            for node in sample.unhealthy where excluded.isEmpty || !excluded.contains(node.id) {
                if case .health? = judge(node, request, at: now, composite, standard).0 {
                    routableUnhealthy += 1
                }
            }
            if routableUnhealthy > 0 {
                guard threshold < 1 else { return nil }
                let needed = threshold * Double(routableUnhealthy) / (1 - threshold)
                guard needed.isFinite, needed <= Double(Self.panicProofLimit) else { return nil }
                required = max(2, Int(needed.rounded(.down)))
                while Double(required) < threshold * Double(required + routableUnhealthy) { required += 1 }
                guard required <= Self.panicProofLimit else { return nil }
            }
        }
        var picks: [(node: CandidateNode, score: Double)] = []
        picks.reserveCapacity(2)
        var acceptedPositions = Set<Int>()
        if required > 2 { acceptedPositions.reserveCapacity(required) }
        var accepted = 0
        var draws = 0
        let drawLimit = Self.drawsPerNode * (required + 1)
        while accepted < required {
            guard draws < drawLimit else { return nil }
            draws += 1
            let position = random.next(below: drawable)
            let node = sample.byPrivacy[position]
            if required > 2 {
                if acceptedPositions.contains(position) { continue }
            } else if let first = picks.first, first.node === node {
                continue
            }
            if !excluded.isEmpty, excluded.contains(node.id) { continue }
            let (rejection, score) = judge(node, request, at: now, composite, standard)
            guard rejection == nil, score >= minScore else { continue }
            if required > 2 { acceptedPositions.insert(position) }
            if picks.count < 2 { picks.append((node, score)) }
            accepted += 1
        }
        let loadOf = { (node: CandidateNode) in load?.inFlight(node.id) ?? node.inFlight }
        let first = picks[0]
        let second = picks[1]
        let pickFirst = prefersFirst(
            first.node, second.node, slowest: sample.slowestInferenceP50Ms, at: now, loadOf)
        let chosen = pickFirst ? first : second
        return RouteDecision(
            target: RouteTarget(
                node: chosen.node.id, region: chosen.node.region, endpoint: chosen.node.info.endpoint,
                model: request.model ?? chosen.node.models.first,
                estimatedLatencyMs: chosen.node.estimatedLatencyMs, score: chosen.score),
            strategy: .p2cEWMA, eligibleCount: drawable, panic: false,
            isProbe: chosen.node.circuit?.effectiveState(at: now) == .halfOpen)
    }

    /// Two distinct entries of the pool at random, the cheaper one (the linear path's pick).
    func pickTwoChoices(
        _ pool: [Scored], _ nodes: [CandidateNode], slowest: Double?, at now: Timestamp,
        _ loadOf: (Int) -> Int
    ) -> Scored {
        guard pool.count > 1 else { return pool[0] }
        let firstIndex = random.next(below: pool.count)
        var secondIndex = random.next(below: pool.count - 1)
        if secondIndex >= firstIndex { secondIndex += 1 }
        let first = pool[firstIndex]
        let second = pool[secondIndex]
        let (a, b) = (nodes[first.index], nodes[second.index])
        let (loadA, loadB) = (loadOf(first.index), loadOf(second.index))
        let pickFirst = prefersFirst(a, b, slowest: slowest, at: now) { $0 === a ? loadA : loadB }
        return pickFirst ? first : second
    }

    /// Whether `a` costs less than `b` (a tie at random). Cost = latency × (in-flight + 1).
    func prefersFirst(
        _ a: CandidateNode, _ b: CandidateNode, slowest: Double?, at now: Timestamp,
        _ loadOf: (CandidateNode) -> Int
    ) -> Bool {
        let (observedA, observedB) = observedLatency.estimates(a.id, b.id, at: now)
        let knownA = observedA ?? a.requestLatencyMs
        let knownB = observedB ?? b.requestLatencyMs
        let prior = max(slowest ?? 0, knownA ?? 0, knownB ?? 0)
        let unknown = prior > 0 ? prior : 1
        // A floor keeps the in-flight factor in play when an estimate has decayed to nothing.
        let costA = max(knownA ?? unknown, Self.latencyFloorMs) * Double(max(0, loadOf(a)) + 1)
        let costB = max(knownB ?? unknown, Self.latencyFloorMs) * Double(max(0, loadOf(b)) + 1)
        if costA != costB { return costA < costB }
        return random.next(below: 2) == 0
    }

    /// The least latency a cost is computed with (1 µs).
    static let latencyFloorMs = 0.001

}
