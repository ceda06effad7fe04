/// A registered inference node: where it is and how it may be used.
public struct NodeInfo: Sendable, Equatable, Codable {
    public var id: NodeId
    public var region: RegionId
    /// Base URL of its OpenAI-compatible API, e.g. `http://10.0.0.7:8000` (no trailing slash).
    public var endpoint: String
    public var gpu: Bool
    /// Overrides the region's privacy level for this node.
    public var privacy: PrivacyLevel?
    /// Overrides the region's cost for this node, in [0, 1].
    public var cost: Double?
    public var labels: [String: String]

    public init(
        id: NodeId, region: RegionId, endpoint: String, gpu: Bool = true, privacy: PrivacyLevel? = nil,
        cost: Double? = nil, labels: [String: String] = [:]
    ) {
        self.id = id
        self.region = region
        self.endpoint = endpoint
        self.gpu = gpu
        self.privacy = privacy
        self.cost = cost
        self.labels = labels
    }

    /// nil when the record can be stored, else what is wrong with it.
    public var validationProblem: String? {
        if let problem = Identifier.problem(with: id.rawValue, kind: "node id") { return problem }
        if let problem = Identifier.problem(with: region.rawValue, kind: "region") { return problem }
        if !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) || endpoint.count < 9 {
            return "endpoint '\(endpoint)' of node '\(id)' is not an http:// or https:// URL"
        }
        if endpoint.hasSuffix("/") { return "endpoint '\(endpoint)' must not end with '/'" }
        if let cost, !(0...1).contains(cost) { return "cost \(cost) of node '\(id)' is outside 0…1" }
        return nil
    }
}

/// A model served by a node, with what it can do there.
public struct Deployment: Sendable, Hashable, Codable {
    public var model: ModelId
    public var node: NodeId
    public var capabilities: [Capability]

    public init(model: ModelId, node: NodeId, capabilities: [Capability]) {
        self.model = model
        self.node = node
        self.capabilities = Array(Set(capabilities)).sorted()
    }
}

/// Descriptive facts about a model.
public struct ModelMetadata: Sendable, Equatable, Codable {
    public var id: ModelId
    public var name: String
    public var version: String
    public var capabilities: [Capability]
    public var parameters: UInt64?
    public var quantization: String?

    public init(
        id: ModelId, name: String? = nil, version: String = "unknown", capabilities: [Capability] = [],
        parameters: UInt64? = nil, quantization: String? = nil
    ) {
        self.id = id
        self.name = name ?? id.rawValue
        self.version = version
        self.capabilities = capabilities
        self.parameters = parameters
        self.quantization = quantization
    }
}

/// Everything the catalog knows, as one value.
public struct CatalogState: Sendable, Equatable {
    public var nodes: [NodeId: NodeInfo]
    public var deployments: [Deployment]
    public var models: [ModelId: ModelMetadata]

    public init(
        nodes: [NodeId: NodeInfo] = [:], deployments: [Deployment] = [],
        models: [ModelId: ModelMetadata] = [:]
    ) {
        self.nodes = nodes
        self.deployments = deployments
        self.models = models
    }

    /// Adds or replaces a node, its deployment of `model`, and (when absent) the model's metadata.
    public mutating func register(node: NodeInfo, model: ModelId, capabilities: [Capability]) {
        if nodes.updateValue(node, forKey: node.id) != nil {
            deployments.removeAll { $0.model == model && $0.node == node.id }
        }
        deployments.append(Deployment(model: model, node: node.id, capabilities: capabilities))
        if models[model] == nil {
            models[model] = ModelMetadata(id: model, capabilities: Array(Set(capabilities)).sorted())
        } else {
            let merged = Set(models[model]!.capabilities).union(capabilities)
            models[model]!.capabilities = merged.sorted()
        }
    }

    /// Removes the deployment of `model` on `node`; the node goes when it serves nothing else,
    /// the model when nothing serves it.
    public mutating func deregister(model: ModelId, node: NodeId) {
        deployments.removeAll { $0.model == model && $0.node == node }
        if !deployments.contains(where: { $0.node == node }) { nodes[node] = nil }
        if !deployments.contains(where: { $0.model == model }) { models[model] = nil }
    }

    /// Nodes (with their region) that can serve `capability`, each once, sorted by node id.
    public func nodes(for capability: Capability) -> [(NodeId, RegionId)] {
        let ids = Set(deployments.filter { $0.capabilities.contains(capability) }.map(\.node))
        return ids.sorted().compactMap { id in nodes[id].map { (id, $0.region) } }
    }
}
