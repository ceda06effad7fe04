import FederationCore

/// A node as the API shows it (`GET /v1/nodes`, `GET /v1/nodes/{node}`, registration replies).
public struct NodeView: Sendable, Codable, Equatable {
    /// One model on the node and what it can do there.
    public struct DeployedModel: Sendable, Codable, Equatable {
        public var name: String
        public var capabilities: [Capability]

        public init(name: String, capabilities: [Capability]) {
            self.name = name
            self.capabilities = capabilities
        }
    }

    public var id: String
    public var region: String
    public var endpoint: String
    public var gpu: Bool
    public var privacy: PrivacyLevel?
    public var cost: Double?
    public var labels: [String: String]
    /// Union over the node's deployments, sorted.
    public var capabilities: [Capability]
    public var models: [DeployedModel]
    /// Lease expiry in ms since the epoch; absent for a permanent registration.
    public var leaseExpiresAt: Int64?

    enum CodingKeys: String, CodingKey {
        case id, region, endpoint, gpu, privacy, cost, labels, capabilities, models
        case leaseExpiresAt = "lease_expires_at"
    }

    init(_ node: NodeInfo, state: CatalogState, lease: Timestamp?) {
        id = node.id.rawValue
        region = node.region.rawValue
        endpoint = node.endpoint
        gpu = node.gpu
        privacy = node.privacy
        cost = node.cost
        labels = node.labels
        let deployments = state.deployments.filter { $0.node == node.id }.sorted { $0.model < $1.model }
        models = deployments.map { DeployedModel(name: $0.model.rawValue, capabilities: $0.capabilities) }
        capabilities = Array(Set(deployments.flatMap(\.capabilities))).sorted()
        leaseExpiresAt = lease?.milliseconds
    }
}

/// A model as the API shows it: its metadata and where it is deployed.
public struct ModelView: Sendable, Codable, Equatable {
    /// One node serving the model.
    public struct Placement: Sendable, Codable, Equatable {
        public var node: String
        public var region: String?
        public var endpoint: String?
        public var capabilities: [Capability]
    }

    public var id: String
    public var name: String
    public var version: String
    public var capabilities: [Capability]
    public var parameters: UInt64?
    public var quantization: String?
    public var deployments: [Placement]

    init(_ model: ModelMetadata, state: CatalogState) {
        id = model.id.rawValue
        name = model.name
        version = model.version
        capabilities = model.capabilities
        parameters = model.parameters
        quantization = model.quantization
        deployments = state.deployments.filter { $0.model == model.id }.sorted { $0.node < $1.node }.map {
            let node = state.nodes[$0.node]
            return Placement(
                node: $0.node.rawValue, region: node?.region.rawValue, endpoint: node?.endpoint,
                capabilities: $0.capabilities)
        }
    }
}

/// `GET /v1/nodes`.
public struct NodeList: Sendable, Codable, Equatable {
    public var nodes: [NodeView]
    /// The catalog version the list was read at.
    public var version: UInt64
}

/// `GET /v1/models`.
public struct ModelList: Sendable, Codable, Equatable {
    public var models: [ModelView]
    public var version: UInt64
}

/// The reply to `POST /v1/deployments`.
public struct RegistrationReply: Sendable, Codable, Equatable {
    public var node: NodeView
    /// The catalog version after the registration.
    public var version: UInt64
    /// Models the node served before and no longer lists (their deployments were removed).
    public var removedModels: [String]

    enum CodingKeys: String, CodingKey {
        case node, version
        case removedModels = "removed_models"
    }
}

/// The reply to the `DELETE` routes.
public struct DeletionReply: Sendable, Codable, Equatable {
    /// The deployments removed, as `model` names (for a node) or the one model.
    public var removed: [String]
    public var node: String
}

/// The body of `PUT /v1/models/{model}`: the model's descriptive metadata, replaced as a whole
/// (capabilities always follow from its deployments).
public struct ModelUpdate: Sendable, Codable, Equatable {
    /// Display name; defaults to the model id.
    public var name: String?
    /// Defaults to `unknown`.
    public var version: String?
    public var parameters: UInt64?
    public var quantization: String?

    public init(
        name: String? = nil, version: String? = nil, parameters: UInt64? = nil, quantization: String? = nil
    ) {
        self.name = name
        self.version = version
        self.parameters = parameters
        self.quantization = quantization
    }
}
