@testable import FederationCore

/// Builds snapshots for tests without repeating the plumbing.
struct ClusterBuilder {
    var catalog = CatalogState()
    var health: [NodeId: NodeHealth] = [:]
    var circuits: [NodeId: CircuitRecord] = [:]
    var policy = RoutingPolicyDocument()
    var inFlight: [NodeId: Int] = [:]

    @discardableResult
    mutating func node(
        _ id: String, region: String = "us-west", model: String = "m",
        capabilities: [Capability] = [.generate],
        gpu: Bool = true, privacy: PrivacyLevel? = nil, cost: Double? = nil, state: HealthState? = .healthy,
        p50: Double? = 50, throughput: Double? = nil, failures: Int = 0
    ) -> NodeId {
        let node = NodeInfo(
            id: NodeId(id), region: RegionId(region), endpoint: "http://127.0.0.1:9/\(id)".replacingSlashes(),
            gpu: gpu, privacy: privacy, cost: cost)
        catalog.register(node: node, model: ModelId(model), capabilities: capabilities)
        if let state {
            health[node.id] = NodeHealth(
                node: node.id, state: state, latencyP50Ms: p50, latencyP99Ms: p50.map { $0 * 2 },
                throughput: throughput, consecutiveFailures: failures)
        }
        return node.id
    }

    mutating func openCircuit(_ id: String, until: Timestamp = Timestamp(milliseconds: .max)) {
        circuits[NodeId(id)] = CircuitRecord(
            node: NodeId(id), state: .open, consecutiveFailures: 5, openedAt: Timestamp(milliseconds: 0),
            openUntil: until, trips: 1)
    }

    var snapshot: FederationSnapshot {
        FederationSnapshot(
            catalog: catalog, health: health, circuits: circuits, policy: policy, inFlight: inFlight)
    }
}

extension String {
    /// Endpoint fixtures must not end with "/" and need no path; keep the id for readability.
    fileprivate func replacingSlashes() -> String {
        let parts = split(separator: "/", omittingEmptySubsequences: false)
        return parts.prefix(3).joined(separator: "/") + "/" + parts.dropFirst(3).joined(separator: "-")
    }
}

func request(
    _ capability: Capability = .generate, model: String? = nil, privacy: PrivacyLevel = .internal,
    costTolerance: Int = 50, origin: String? = nil, tenant: String? = nil, key: String? = nil,
    maxLatencyMs: Double? = nil, minThroughput: Double? = nil, preferGPU: Bool = true, id: String = "req"
) -> InferenceRequest {
    InferenceRequest(
        requestId: id, capability: capability, model: model.map { ModelId($0) },
        qos: QoSRequirements(
            maxLatency: maxLatencyMs.map { Duration.milliseconds($0) }, minThroughput: minThroughput,
            privacy: privacy, preferGPU: preferGPU, costTolerance: costTolerance),
        tenantId: tenant, originRegion: origin.map { RegionId($0) }, affinityKey: key)
}

/// A candidate for policy unit tests.
func candidate(
    _ id: String = "n", region: String = "us-west", gpu: Bool = true, privacy: PrivacyLevel = .internal,
    cost: Double = 0.5, state: HealthState? = .healthy, p50: Double? = 100, throughput: Double? = nil,
    failures: Int = 0
) -> CandidateNode {
    CandidateNode(
        info: NodeInfo(id: NodeId(id), region: RegionId(region), endpoint: "http://127.0.0.1:9", gpu: gpu),
        models: ["m"], privacy: privacy, cost: cost,
        health: state.map {
            NodeHealth(
                node: NodeId(id), state: $0, latencyP50Ms: p50, throughput: throughput,
                consecutiveFailures: failures)
        }, circuit: nil, inFlight: 0)
}

func router(
    seed: UInt64 = 42, clock: ManualClock = ManualClock(), policy: CompositePolicy? = nil
) -> RoutingEngine {
    RoutingEngine(policy: policy, clock: clock, random: SeededRandomSource(seed: seed))
}

/// A load estimator backed by a dictionary.
struct FixedLoad: LoadEstimator {
    var counts: [NodeId: Int]
    func inFlight(_ node: NodeId) -> Int { counts[node] ?? 0 }
}
