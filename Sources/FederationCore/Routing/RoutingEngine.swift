import Synchronization

/// The routing engine shared by the router service and every gateway: builds candidates for a
/// request from a `FederationSnapshot`, ejects open circuits and unhealthy nodes (with a panic
/// threshold), applies the policies, keeps the best `maxCandidates`, and lets the strategy pick.
/// `p2c_ewma` instead samples two eligible candidates (without evaluating every node when the
/// fleet is large: `RoutingEngine+sampling.swift`) and takes the one with the lower peak-EWMA
/// latency × (in-flight + 1). Pure apart from its injected clock and randomness, the round-robin
/// counters and the latencies it was told about (``observe(_:latency:ok:)``).
public final class RoutingEngine: Sendable {
    let policyOverride: CompositePolicy?
    let clock: any FederationClock
    let random: any RandomSource
    private let roundRobinCounters = Mutex<[RoundRobinKey: UInt64]>([:])
    /// The latency of every node this engine's caller observed (`p2c_ewma`'s cost).
    public let observedLatency: PeakEWMA

    /// - Parameters:
    ///   - policy: a fixed composite (e.g. with custom policies); nil uses the one the snapshot's
    ///     policy document describes.
    ///   - latency: the constants of the peak-EWMA latency `p2c_ewma` decides with.
    public init(
        policy: CompositePolicy? = nil, clock: any FederationClock = SystemClock(),
        random: any RandomSource = SystemRandomSource(), latency: PeakEWMA.Configuration = .init()
    ) {
        self.policyOverride = policy
        self.clock = clock
        self.random = random
        self.observedLatency = PeakEWMA(configuration: latency)
    }

    /// Records the outcome of one attempt at `node` (how long it took, whether it succeeded):
    /// what `p2c_ewma` decides with. A gateway calls it for every attempt it reports.
    public func observe(_ node: NodeId, latency: Duration, ok: Bool) {
        observedLatency.observe(node, latency: latency, ok: ok, at: clock.now())
    }

    /// Chooses the node for `request`.
    /// - Parameters:
    ///   - excluded: nodes already tried for this request; never chosen again.
    ///   - load: live in-flight counts; defaults to the snapshot's cluster-wide estimate.
    public func route(
        _ request: InferenceRequest, in snapshot: FederationSnapshot, excluding excluded: Set<NodeId> = [],
        load: (any LoadEstimator)? = nil
    ) throws(FederationError) -> RouteDecision {
        if snapshot.policy.strategy == .p2cEWMA,
            let decision = routeBySampling(request, in: snapshot, excluding: excluded, load: load)
        {
            return decision
        }
        var evaluation = Evaluation()
        try evaluate(request, snapshot, excluded, explain: false, into: &evaluation)
        let pool = try evaluation.pool(request: request, panicThreshold: snapshot.policy.panicThreshold)
        let strategy = snapshot.policy.strategy
        let nodes = evaluation.nodes
        let loadOf: (Int) -> Int = { index in
            let candidate = nodes[index]
            return load?.inFlight(candidate.id) ?? candidate.inFlight
        }
        let chosen: Scored
        switch strategy {
        case .consistentHash:
            chosen = pickConsistentHash(pool, nodes, request, snapshot.policy.hashLoadFactor, loadOf)
        case .p2cEWMA:
            let slowest = snapshot.sample(for: request.capability, model: request.model)?
                .slowestInferenceP50Ms
            chosen = pickTwoChoices(pool, nodes, slowest: slowest, at: evaluation.now, loadOf)
        default:
            let top = topScored(pool, count: snapshot.policy.maxCandidates, nodes: nodes)
            switch strategy {
            case .roundRobin: chosen = pickRoundRobin(top, nodes, request)
            case .leastConnections: chosen = pickLeast(top) { Double(loadOf($0.index)) }
            case .leastLatency: chosen = pickLeast(top) { nodes[$0.index].estimatedLatencyMs ?? .infinity }
            case .weightedRandom: chosen = pickWeightedRandom(top)
            case .consistentHash, .p2cEWMA: fatalError("handled above")
            }
        }
        let node = nodes[chosen.index]
        return RouteDecision(
            target: target(node, request, score: chosen.score), strategy: strategy,
            eligibleCount: pool.count, panic: evaluation.panicked,
            isProbe: node.circuit?.effectiveState(at: evaluation.now) == .halfOpen)
    }

    /// The next value of the round-robin counter for `key`.
    func nextRoundRobin(_ key: RoundRobinKey) -> UInt64 {
        roundRobinCounters.withLock { counters in
            let value = counters[key, default: 0]
            counters[key] = value &+ 1
            return value
        }
    }

    /// Every node that could serve the request's capability (and model), with per-policy scores,
    /// eligibility and the rejection reason — the explain view. Sorted: eligible first, then by score.
    public func candidates(
        for request: InferenceRequest, in snapshot: FederationSnapshot, excluding excluded: Set<NodeId> = []
    ) -> [RouteCandidate] {
        var evaluation = Evaluation()
        do {
            try evaluate(request, snapshot, excluded, explain: true, into: &evaluation)
        } catch {
            return []
        }
        let inPool = Set(
            (try? evaluation.pool(request: request, panicThreshold: snapshot.policy.panicThreshold))?
                .map(\.index) ?? [])
        var result: [RouteCandidate] = []
        result.reserveCapacity(evaluation.explained.count)
        for item in evaluation.explained {
            let node = evaluation.nodes[item.index]
            let eligible = inPool.contains(item.index)
            result.append(
                RouteCandidate(
                    target: target(node, request, score: item.total), health: node.healthState,
                    circuit: node.circuit?.effectiveState(at: evaluation.now) ?? .closed,
                    inFlight: node.inFlight,
                    scores: RouteScores(policies: item.breakdown, total: item.total), eligible: eligible,
                    rejection: eligible ? nil : item.rejection))
        }
        return result.sorted {
            $0.eligible != $1.eligible
                ? $0.eligible
                : ($0.scores.total != $1.scores.total
                    ? $0.scores.total > $1.scores.total : $0.target.node < $1.target.node)
        }
    }

    // MARK: - Evaluation

    private func target(_ node: CandidateNode, _ request: InferenceRequest, score: Double) -> RouteTarget {
        RouteTarget(
            node: node.id, region: node.region, endpoint: node.info.endpoint,
            model: request.model ?? node.models.first,
            estimatedLatencyMs: node.estimatedLatencyMs, score: score)
    }

    private func evaluate(
        _ request: InferenceRequest, _ snapshot: FederationSnapshot, _ excluded: Set<NodeId>, explain: Bool,
        into evaluation: inout Evaluation
    ) throws(FederationError) {
        let all = snapshot.candidates(for: request.capability)
        guard !all.isEmpty else { throw .noCapacity(request.capability, detail: "") }
        let now = clock.now()
        let composite = policyOverride ?? snapshot.compositePolicy
        let minScore = snapshot.policy.minScore
        let standard = composite.standard
        evaluation.now = now
        evaluation.nodes = all
        evaluation.composite = composite
        evaluation.minScore = minScore
        var modelFound = request.model == nil
        for index in all.indices {
            let node = all[index]
            if let model = request.model {
                guard node.models.contains(model) else { continue }
                modelFound = true
            }
            if !excluded.isEmpty, excluded.contains(node.id) {
                evaluation.excluded.append(index)
                continue
            }
            evaluation.considered += 1
            var (rejection, total) = judge(node, request, at: now, composite, standard)
            if explain { total = composite.score(node, for: request) }
            switch rejection {
            case nil where total < minScore:
                rejection = .minScore(total)
            case nil:
                evaluation.healthy.append(Scored(index: index, score: total))
            case .health:
                evaluation.unhealthy.append(Scored(index: index, score: total))
            default:
                break
            }
            if let rejection { evaluation.rejections.append((index, rejection)) }
            if explain {
                evaluation.explained.append(
                    Explained(
                        index: index, total: total, breakdown: composite.breakdown(node, for: request),
                        rejection: rejection.map { evaluation.describe($0, node: node, request: request) }))
            }
        }
        if !modelFound, let model = request.model {
            throw .noCapacity(
                request.capability, detail: "model '\(model)' is not deployed with this capability")
        }
    }
}

extension RoutingEngine {
    /// The request rules for one node, in the order the hot path checks them: allowed regions,
    /// open circuit, the policies (eligibility and composite score), unhealthy. `min_score` is
    /// the caller's (an unhealthy node is not held to it). The score is 0 when a rule before the
    /// policies set the node aside.
    @inline(__always)
    func judge(
        _ node: CandidateNode, _ request: InferenceRequest, at now: Timestamp, _ composite: CompositePolicy,
        _ standard: StandardPolicies?
    ) -> (PendingRejection?, Double) {
        if let allowed = request.allowedRegions, !allowed.contains(node.region) { return (.region, 0) }
        if let circuit = node.circuit, circuit.effectiveState(at: now) == .open { return (.circuit, 0) }
        let verdict = standard?.evaluate(node, for: request) ?? composite.evaluate(node, for: request)
        if let policyIndex = verdict.rejectedBy { return (.policy(policyIndex), verdict.score) }
        if node.healthState == .unhealthy { return (.health, verdict.score) }
        return (nil, verdict.score)
    }
}

/// Why a candidate was set aside, kept cheap on the hot path; turned into a `Rejection` (with
/// its sentence) only for errors and explain output.
enum PendingRejection: Equatable {
    /// The node's region is not among the request's allowed regions.
    case region
    case circuit
    case health
    case minScore(Double)
    case policy(Int)
}

/// Working state of one routing decision.
struct Evaluation {
    var now = Timestamp(milliseconds: 0)
    var nodes: [CandidateNode] = []
    var composite = CompositePolicy()
    var minScore = 0.0
    var considered = 0
    /// Nodes skipped because this request already tried them.
    var excluded: [Int] = []
    var healthy: [Scored] = []
    /// Ejected only because their health state is Unhealthy (policies and min score passed).
    var unhealthy: [Scored] = []
    var rejections: [(node: Int, why: PendingRejection)] = []
    var explained: [Explained] = []
    var panicked = false

    /// The candidates a strategy may pick from, or the error that explains why there are none.
    mutating func pool(request: InferenceRequest, panicThreshold: Double) throws(FederationError) -> [Scored]
    {
        let routable = healthy.count + unhealthy.count
        if !unhealthy.isEmpty, Double(healthy.count) < panicThreshold * Double(routable) {
            panicked = true
            return healthy + unhealthy
        }
        if !healthy.isEmpty { return healthy }
        throw noCandidateError(request)
    }

    func describe(_ why: PendingRejection, node: CandidateNode, request: InferenceRequest) -> Rejection {
        switch why {
        case .region:
            return Rejection(
                policy: "region",
                reason: "region \(node.region) is not among the regions this request may use")
        case .circuit:
            return Rejection(policy: "circuit", reason: "circuit breaker is open")
        case .health:
            return Rejection(
                policy: "health", reason: "node is unhealthy" + (node.health?.reason.map { " (\($0))" } ?? "")
            )
        case .minScore(let total):
            return Rejection(
                policy: "min_score",
                reason: "score \(formatScore(total)) is below min_score \(formatScore(minScore))")
        case .policy(let index):
            return composite.rejection(byPolicyAt: index, node, for: request)
        }
    }

    private func noCandidateError(_ request: InferenceRequest) -> FederationError {
        failure(request).error(capability: request.capability)
    }
}

struct Scored {
    var index: Int
    var score: Double
}

struct Explained {
    var index: Int
    var total: Double
    var breakdown: [PolicyScore]
    var rejection: Rejection?
}

func formatScore(_ value: Double) -> String {
    let rounded = (value * 1000).rounded() / 1000
    return String(rounded)
}
