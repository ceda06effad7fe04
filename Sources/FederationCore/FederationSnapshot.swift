/// One node as a routing candidate for one capability: every fact the policies read, resolved
/// once when the snapshot is built so that routing touches one contiguous array. A class so that
/// passing one around costs a retain, not a copy of a dozen strings.
public final class CandidateNode: Sendable {
    public let info: NodeInfo
    /// The node's models that have the capability, sorted.
    public let models: [ModelId]
    /// The node's privacy level: its override, else its region's.
    public let privacy: PrivacyLevel
    /// The node's cost: its override, else its region's.
    public let cost: Double
    public let health: NodeHealth?
    public let circuit: CircuitRecord?
    /// Requests in flight at this node across all gateways, as last published.
    public let inFlight: Int
    /// A hash of the node id that is the same in every process (for rendezvous hashing).
    public let stableHash: UInt64
    /// Scalars the policies read for every candidate, copied out of `health` so that reading
    /// them never copies the record's strings.
    public let healthState: HealthState
    /// The latency the router expects (the node's p50), nil when unmeasured.
    public let estimatedLatencyMs: Double?
    /// Tokens per second, nil when unmeasured.
    public let throughput: Double?
    public let consecutiveFailures: Int
    /// The p50 (ms) when it was measured on real requests (`latencySource` inference), else nil:
    /// what `p2c_ewma` trusts of the published latency.
    public let requestLatencyMs: Double?

    public var id: NodeId { info.id }
    public var region: RegionId { info.region }

    public init(
        info: NodeInfo, models: [ModelId], privacy: PrivacyLevel, cost: Double, health: NodeHealth?,
        circuit: CircuitRecord?, inFlight: Int
    ) {
        self.info = info
        self.models = models
        self.privacy = privacy
        self.cost = cost
        self.health = health
        self.circuit = circuit
        self.inFlight = inFlight
        self.stableHash = StableHash.fnv1a(info.id.rawValue)
        self.healthState = health?.state ?? .unknown
        self.estimatedLatencyMs = health?.latencyP50Ms
        self.throughput = health?.throughput
        self.consecutiveFailures = health?.consecutiveFailures ?? 0
        if let health, health.latencySource == .inference, let p50 = health.latencyP50Ms, p50.isFinite {
            self.requestLatencyMs = max(0, p50)
        } else {
            self.requestLatencyMs = nil
        }
    }
}

/// The nodes of one capability (or capability and model) arranged once per snapshot so that a
/// decision can sample them without looking at every node: most private first, so that the
/// nodes at or above a privacy level are a prefix; the unhealthy ones apart (the panic check
/// reads only those); and the slowest latency measured on real requests among them.
public final class CandidateSample: Sendable {
    /// The nodes by privacy, highest first, then by node id.
    public let byPrivacy: [CandidateNode]
    /// `prefix[level.rawValue]`: how many leading `byPrivacy` nodes have at least that privacy.
    private let prefix: [Int]
    /// The nodes whose health state is unhealthy, by node id.
    public let unhealthy: [CandidateNode]
    /// The highest inference p50 (ms) among the nodes whose latency comes from requests; nil
    /// when none has one.
    public let slowestInferenceP50Ms: Double?

    /// Arranges `nodes` (sorted by node id).
    public init(_ nodes: [CandidateNode]) {
        var buckets = Array(repeating: [CandidateNode](), count: PrivacyLevel.allCases.count)
        var unhealthy: [CandidateNode] = []
        var slowest: Double?
        for node in nodes {
            buckets[node.privacy.rawValue].append(node)
            if node.healthState == .unhealthy { unhealthy.append(node) }
            if let p50 = node.requestLatencyMs { slowest = max(slowest ?? p50, p50) }
        }
        var byPrivacy: [CandidateNode] = []
        byPrivacy.reserveCapacity(nodes.count)
        var prefix = Array(repeating: 0, count: buckets.count)
        for level in buckets.indices.reversed() {
            byPrivacy.append(contentsOf: buckets[level])
            prefix[level] = byPrivacy.count
        }
        self.byPrivacy = byPrivacy
        self.prefix = prefix
        self.unhealthy = unhealthy
        self.slowestInferenceP50Ms = slowest
    }

    /// How many nodes have privacy `level` or higher (they are `byPrivacy`'s first ones).
    public func count(atLeast level: PrivacyLevel) -> Int { prefix[level.rawValue] }
}

/// Versions of the three shared families a snapshot was built from.
public struct SnapshotVersions: Sendable, Equatable, Codable {
    public var catalog: UInt64
    public var health: UInt64
    public var policy: UInt64
    public init(catalog: UInt64 = 0, health: UInt64 = 0, policy: UInt64 = 0) {
        self.catalog = catalog
        self.health = health
        self.policy = policy
    }
}

/// An immutable picture of the federation — catalog, health, circuits, policy, load — that a
/// router decides from. Views build a new one on every change and swap it in atomically, so
/// routing never takes a lock.
public struct FederationSnapshot: Sendable {
    public let catalog: CatalogState
    public let health: [NodeId: NodeHealth]
    public let circuits: [NodeId: CircuitRecord]
    public let policy: RoutingPolicyDocument
    public let inFlight: [NodeId: Int]
    public let versions: SnapshotVersions
    /// The composite policy `policy` describes, built once per snapshot.
    public let compositePolicy: CompositePolicy
    private let index: [Capability: [CandidateNode]]
    /// The same nodes arranged for sampling, per capability and per capability and model.
    private let sampling: [Capability: CandidateSample]
    private let samplingByModel: [Capability: [ModelId: CandidateSample]]

    public init(
        catalog: CatalogState = .init(), health: [NodeId: NodeHealth] = [:],
        circuits: [NodeId: CircuitRecord] = [:],
        policy: RoutingPolicyDocument = .init(), inFlight: [NodeId: Int] = [:],
        versions: SnapshotVersions = .init()
    ) {
        self.catalog = catalog
        self.health = health
        self.circuits = circuits
        self.policy = policy
        self.inFlight = inFlight
        self.versions = versions
        self.compositePolicy = CompositePolicy(document: policy)

        var modelsByCapability: [Capability: [NodeId: [ModelId]]] = [:]
        for deployment in catalog.deployments where catalog.nodes[deployment.node] != nil {
            for capability in deployment.capabilities {
                modelsByCapability[capability, default: [:]][deployment.node, default: []].append(
                    deployment.model)
            }
        }
        var index: [Capability: [CandidateNode]] = [:]
        for (capability, byNode) in modelsByCapability {
            index[capability] = byNode.keys.sorted().map { nodeId in
                let info = catalog.nodes[nodeId]!
                return CandidateNode(
                    info: info, models: byNode[nodeId]!.sorted(),
                    privacy: info.privacy ?? policy.privacy(of: info.region),
                    cost: info.cost ?? policy.cost(of: info.region), health: health[nodeId],
                    circuit: circuits[nodeId], inFlight: inFlight[nodeId] ?? 0)
            }
        }
        self.index = index
        var sampling: [Capability: CandidateSample] = [:]
        var samplingByModel: [Capability: [ModelId: CandidateSample]] = [:]
        for (capability, nodes) in index {
            sampling[capability] = CandidateSample(nodes)
            var byModel: [ModelId: [CandidateNode]] = [:]
            for node in nodes {
                for model in node.models { byModel[model, default: []].append(node) }
            }
            samplingByModel[capability] = byModel.mapValues { CandidateSample($0) }
        }
        self.sampling = sampling
        self.samplingByModel = samplingByModel
    }

    /// Every node that can serve `capability`, sorted by node id.
    public func candidates(for capability: Capability) -> [CandidateNode] {
        index[capability] ?? []
    }

    /// The nodes that can serve `capability` (and `model`, when given) arranged for sampling;
    /// nil when there are none.
    public func sample(for capability: Capability, model: ModelId? = nil) -> CandidateSample? {
        if let model { return samplingByModel[capability]?[model] }
        return sampling[capability]
    }

    /// Capabilities with at least one node.
    public var capabilities: [Capability] { index.keys.sorted() }

    /// A copy with some parts replaced (the index is rebuilt).
    public func replacing(
        catalog: CatalogState? = nil, health: [NodeId: NodeHealth]? = nil,
        circuits: [NodeId: CircuitRecord]? = nil,
        policy: RoutingPolicyDocument? = nil, inFlight: [NodeId: Int]? = nil,
        versions: SnapshotVersions? = nil
    ) -> FederationSnapshot {
        FederationSnapshot(
            catalog: catalog ?? self.catalog, health: health ?? self.health,
            circuits: circuits ?? self.circuits,
            policy: policy ?? self.policy, inFlight: inFlight ?? self.inFlight,
            versions: versions ?? self.versions)
    }
}

/// Hashes that are identical in every process and on every run (Swift's `Hasher` is seeded per
/// process, so it cannot be used for anything shared between replicas).
public enum StableHash {
    /// 64-bit FNV-1a over the UTF-8 bytes.
    public static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return hash
    }

    /// A strong 64-bit mix of two hashes (for rendezvous weights).
    public static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var z = a ^ (b &* 0x9E37_79B9_7F4A_7C15)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
