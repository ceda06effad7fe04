import FederationCore

/// One model a registration lists: its deployment on the node and optional metadata updates.
public struct RegisteredModel: Sendable, Equatable {
    public var id: ModelId
    public var capabilities: [Capability]
    /// When given, replaces the model's `version` in its metadata.
    public var version: String?
    /// When given, replaces the model's `parameters`.
    public var parameters: UInt64?
    /// When given, replaces the model's `quantization`.
    public var quantization: String?

    public init(
        id: ModelId, capabilities: [Capability], version: String? = nil, parameters: UInt64? = nil,
        quantization: String? = nil
    ) {
        self.id = id
        self.capabilities = capabilities
        self.version = version
        self.parameters = parameters
        self.quantization = quantization
    }

    /// Whether the registration updates this model's metadata.
    public var hasMetadata: Bool { version != nil || parameters != nil || quantization != nil }
}

/// A whole registration, stored by ``CatalogStore/replaceNode(_:knownVersion:)`` as one atomic
/// replace: the node record, every model it serves (deployments it no longer lists are dropped),
/// metadata updates, and its lease.
public struct NodeRegistration: Sendable, Equatable {
    public var node: NodeInfo
    /// At least one; unique ids.
    public var models: [RegisteredModel]
    /// When the registration expires; nil: permanent.
    public var leaseExpiresAt: Timestamp?

    public init(node: NodeInfo, models: [RegisteredModel], leaseExpiresAt: Timestamp? = nil) {
        self.node = node
        self.models = models
        self.leaseExpiresAt = leaseExpiresAt
    }

    /// nil when the registration can be stored, else what is wrong with it.
    public var validationProblem: String? {
        if let problem = node.validationProblem { return problem }
        if models.isEmpty { return "registration of node '\(node.id)' lists no model" }
        var seen = Set<ModelId>()
        for model in models {
            if let problem = Identifier.problem(with: model.id.rawValue, kind: "model id") { return problem }
            if !seen.insert(model.id).inserted {
                return "registration of node '\(node.id)' lists model '\(model.id)' twice"
            }
        }
        return nil
    }
}

/// What a registration did.
public struct NodeReplacement: Sendable, Equatable {
    /// The catalog version after it (bumped once).
    public var version: UInt64
    /// Models the node served before and no longer lists, sorted.
    public var removedModels: [ModelId]

    public init(version: UInt64, removedModels: [ModelId]) {
        self.version = version
        self.removedModels = removedModels
    }
}

/// What removing a node did.
public struct NodeRemoval: Sendable, Equatable {
    /// The catalog version after it (bumped once).
    public var version: UInt64
    /// The models the node served, sorted.
    public var models: [ModelId]

    public init(version: UInt64, models: [ModelId]) {
        self.version = version
        self.models = models
    }
}

/// What restoring a catalog into a Redis that lost it did.
public struct CatalogRestoration: Sendable, Equatable {
    /// The catalog version after the restore: one above the restorer's known version.
    public var version: UInt64
    /// Nodes written back (nodes already present were left as they were).
    public var restoredNodes: Int

    public init(version: UInt64, restoredNodes: Int) {
        self.version = version
        self.restoredNodes = restoredNodes
    }
}

/// The catalog with its leases: everything the catalog service writes, as one value.
public struct CatalogRecords: Sendable, Equatable {
    public var state: CatalogState
    /// Lease expiry per leased node; nodes without an entry are permanent.
    public var leases: [NodeId: Timestamp]

    public init(state: CatalogState = CatalogState(), leases: [NodeId: Timestamp] = [:]) {
        self.state = state
        self.leases = leases
    }
}

/// A catalog write refused because the store holds an older catalog than the writer has seen:
/// Redis lost data (restarted without persistence, or from an older snapshot). Nothing was
/// written; the catalog service restores what it knows and retries.
public struct CatalogBehindError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The version in the store.
    public var stored: UInt64
    /// The version the writer had seen.
    public var known: UInt64

    public init(stored: UInt64, known: UInt64) {
        self.stored = stored
        self.known = known
    }

    public var description: String {
        "the stored catalog (version \(stored)) is older than the one this catalog saw (version "
            + "\(known)): Redis lost data; the catalog is being restored"
    }
}

// The semantics of every catalog write, as pure functions. The in-memory store and the catalog
// service's own copy apply them; the Lua scripts in `CatalogScripts` do the same inside Redis
// (the contract tests compare both stores).
extension CatalogRecords {
    /// Replaces `registration.node`: its record, a deployment per listed model (capabilities
    /// replaced), metadata updates, its lease; deployments it no longer lists are removed.
    /// - Returns: the removed models, sorted.
    public mutating func replace(_ registration: NodeRegistration) -> [ModelId] {
        let id = registration.node.id
        for model in registration.models {
            state.register(node: registration.node, model: model.id, capabilities: model.capabilities)
        }
        let listed = Set(registration.models.map(\.id))
        let stale = state.deployments.filter { $0.node == id && !listed.contains($0.model) }.map(\.model)
            .sorted()
        for model in stale { state.deregister(model: model, node: id) }
        for model in registration.models where model.hasMetadata {
            guard var metadata = state.models[model.id] else { continue }
            if let value = model.version { metadata.version = value }
            if let value = model.parameters { metadata.parameters = value }
            if let value = model.quantization { metadata.quantization = value }
            state.models[model.id] = metadata
        }
        leases[id] = registration.leaseExpiresAt
        return stale
    }

    /// Removes the deployment of `model` on `node` (the node and its lease go with its last one).
    /// - Returns: whether there was such a deployment.
    public mutating func deregister(model: ModelId, node: NodeId) -> Bool {
        guard state.deployments.contains(where: { $0.model == model && $0.node == node }) else {
            return false
        }
        state.deregister(model: model, node: node)
        if state.nodes[node] == nil { leases[node] = nil }
        return true
    }

    /// Removes `node` with every deployment and its lease. With `expiredBy`, only when its lease
    /// expired at or before that instant (a renewal that got in first wins).
    /// - Returns: the models it served, sorted; nil when nothing was removed.
    public mutating func removeNode(_ node: NodeId, expiredBy: Timestamp? = nil) -> [ModelId]? {
        if let expiredBy {
            guard let lease = leases[node], lease <= expiredBy else { return nil }
        }
        leases[node] = nil
        let models = state.deployments.filter { $0.node == node }.map(\.model).sorted()
        let existed = state.nodes[node] != nil
        for model in models { state.deregister(model: model, node: node) }
        state.nodes[node] = nil
        return models.isEmpty && !existed ? nil : models
    }

    /// Writes back what `known` has and this catalog lacks: each node absent here (with its
    /// deployments and lease) and the metadata of each model absent here. Present nodes and
    /// models are newer than `known` and stay as they are.
    /// - Returns: the number of nodes restored.
    public mutating func restore(from known: CatalogRecords) -> Int {
        for model in known.state.models.values where state.models[model.id] == nil {
            state.models[model.id] = model
        }
        var restored = 0
        for (id, node) in known.state.nodes.sorted(by: { $0.key < $1.key }) where state.nodes[id] == nil {
            let deployments = known.state.deployments.filter { $0.node == id }
            if deployments.isEmpty { continue }
            for deployment in deployments {
                state.register(node: node, model: deployment.model, capabilities: deployment.capabilities)
            }
            if let lease = known.leases[id] { leases[id] = lease }
            restored += 1
        }
        return restored
    }
}
