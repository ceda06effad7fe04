import FederationCore
import FederationState
import Logging

/// Every write the catalog makes, serialized through one ``SerialGate``: registrations (with
/// leases), deregistrations, model metadata, lease expiry. Input reaching it is already validated.
///
/// Each store write is one atomic Lua script; a registration of several models is several of
/// them, made in an order that never leaves a node without a lease it asked for: the lease is
/// written first, then each deployment, then deployments the node no longer lists are removed.
struct CatalogWriter: Sendable {
    let catalog: any CatalogStore
    let leases: any LeaseStore
    let clock: any FederationClock
    let metrics: CatalogMetrics
    let logger: Logger
    let gate = SerialGate()

    /// What a registration left behind.
    struct Registered: Sendable {
        var version: UInt64
        var leaseExpiresAt: Timestamp?
        var removedModels: [ModelId]
    }

    func register(_ registration: ValidatedRegistration) async throws -> Registered {
        try await gate.withGate {
            let node = registration.node
            var expiry: Timestamp?
            if let lease = registration.lease {
                let at = clock.now().advanced(by: lease)
                try await leases.setLease(node: node.id, expiresAt: at)
                expiry = at
            } else {
                try await leases.removeLease(node: node.id)
            }
            var version: UInt64 = 0
            for model in registration.models {
                version = try await catalog.register(
                    node: node, model: ModelId(model.name), capabilities: model.capabilities)
            }
            let listed = Set(registration.models.map { ModelId($0.name) })
            let state = try await catalog.loadCatalog().value
            let stale = state.deployments.filter { $0.node == node.id && !listed.contains($0.model) }
            for deployment in stale {
                version = try await catalog.deregister(model: deployment.model, node: node.id) ?? version
            }
            for model in registration.models where model.hasMetadata {
                let id = ModelId(model.name)
                let current = state.models[id] ?? ModelMetadata(id: id, capabilities: model.capabilities)
                var metadata = current
                if let value = model.version { metadata.version = value }
                if let value = model.parameters { metadata.parameters = value }
                if let value = model.quantization { metadata.quantization = value }
                if metadata != current { version = try await catalog.putModel(metadata) }
            }
            metrics.registrations.increment()
            metrics.nodes.set(Double(state.nodes.count))
            logger.info(
                "registered node",
                metadata: [
                    "node": "\(node.id)", "models": "\(listed.map(\.rawValue).sorted())",
                    "lease_ms": "\(registration.lease.map { String($0.wholeMilliseconds) } ?? "none")",
                ])
            return Registered(
                version: version, leaseExpiresAt: expiry, removedModels: stale.map(\.model))
        }
    }

    /// Removes one deployment; nil when there was none. Drops the node's lease when the node went.
    func deregister(model: ModelId, node: NodeId) async throws -> UInt64? {
        try await gate.withGate {
            guard let version = try await catalog.deregister(model: model, node: node) else { return nil }
            let state = try await catalog.loadCatalog().value
            if state.nodes[node] == nil { try await leases.removeLease(node: node) }
            metrics.deregistrations.increment()
            metrics.nodes.set(Double(state.nodes.count))
            logger.info("deregistered deployment", metadata: ["node": "\(node)", "model": "\(model)"])
            return version
        }
    }

    /// Removes every deployment of `node` and its lease; returns the models it served (empty when
    /// the node was unknown).
    func deregisterNode(_ node: NodeId, reason: String = "api") async throws -> [ModelId] {
        try await gate.withGate { try await removeNode(node, reason: reason) }
    }

    /// Call only while holding the gate.
    private func removeNode(_ node: NodeId, reason: String) async throws -> [ModelId] {
        let state = try await catalog.loadCatalog().value
        let models = state.deployments.filter { $0.node == node }.map(\.model)
        for model in models {
            _ = try await catalog.deregister(model: model, node: node)
            if reason == "api" { metrics.deregistrations.increment() }
        }
        try await leases.removeLease(node: node)
        metrics.nodes.set(Double(state.nodes.count - (state.nodes[node] == nil ? 0 : 1)))
        if !models.isEmpty {
            logger.info(
                "deregistered node",
                metadata: ["node": "\(node)", "models": "\(models.map(\.rawValue))", "reason": "\(reason)"])
        }
        return models
    }

    /// Replaces a model's descriptive metadata, keeping the capabilities its deployments give it.
    func putModel(_ update: ModelUpdate, id: ModelId) async throws -> ModelMetadata {
        try await gate.withGate {
            let state = try await catalog.loadCatalog().value
            let metadata = ModelMetadata(
                id: id, name: update.name, version: update.version ?? "unknown",
                capabilities: state.models[id]?.capabilities ?? [], parameters: update.parameters,
                quantization: update.quantization)
            try await catalog.putModel(metadata)
            logger.info("model metadata set", metadata: ["model": "\(id)"])
            return metadata
        }
    }

    /// Deregisters every node whose lease passed. The expiry is re-read under the gate, so a renewal
    /// that got in first wins; the lease is removed last, so a failure half-way is retried.
    /// - Returns: the nodes removed.
    func expireLeases(batch: Int = 100) async throws -> [NodeId] {
        let now = clock.now()
        let due = try await leases.expired(at: now, limit: batch)
        var removed: [NodeId] = []
        for node in due {
            let expired = try await gate.withGate { () async throws -> Bool in
                guard let expiry = try await leases.lease(of: node), expiry <= clock.now() else {
                    return false
                }
                _ = try await removeNode(node, reason: "lease expired")
                return true
            }
            if expired {
                metrics.leaseExpiries.increment()
                removed.append(node)
            }
        }
        return removed
    }
}
