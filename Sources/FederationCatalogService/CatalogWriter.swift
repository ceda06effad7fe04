import FederationCore
import FederationState
import Logging

/// Every write the catalog makes: registrations (with leases), deregistrations, model metadata,
/// lease expiry, and restores into a Redis that lost the catalog. Input reaching it is already
/// validated.
///
/// Each write is ONE atomic store step (a Lua script in Redis) that bumps the version once and
/// publishes one event, so any number of catalog processes can write one namespace: two
/// concurrent registrations of one node leave exactly one of them, and a lease expiry is checked
/// inside the step that removes the node (a renewal through another process wins). Every write
/// carries the version this process last saw; a store below it lost data, and the writer
/// restores what it knows (``synchronize()``) before retrying once.
struct CatalogWriter: Sendable {
    let catalog: any CatalogStore
    let mirror: CatalogMirror
    let clock: any FederationClock
    let metrics: CatalogMetrics
    let logger: Logger
    /// One restore or reload at a time in this process.
    let syncLock = AsyncSerialLock()

    /// What a registration left behind.
    struct Registered: Sendable {
        var version: UInt64
        var leaseExpiresAt: Timestamp?
        var removedModels: [ModelId]
    }

    func register(_ request: ValidatedRegistration) async throws -> Registered {
        let registration = NodeRegistration(
            node: request.node,
            models: request.models.map {
                RegisteredModel(
                    id: ModelId($0.name), capabilities: $0.capabilities, version: $0.version,
                    parameters: $0.parameters, quantization: $0.quantization)
            },
            leaseExpiresAt: request.lease.map { clock.now().advanced(by: $0) })
        let result = try await checked { known in
            try await catalog.replaceNode(registration, knownVersion: known)
        }
        mirror.apply(version: result.version) { _ = $0.replace(registration) }
        metrics.registrations.increment()
        metrics.nodes.set(Double(mirror.nodeCount))
        logger.info(
            "registered node",
            metadata: [
                "node": "\(registration.node.id)",
                "models": "\(registration.models.map(\.id.rawValue).sorted())",
                "lease_ms": "\(request.lease.map { String($0.wholeMilliseconds) } ?? "none")",
            ])
        return Registered(
            version: result.version, leaseExpiresAt: registration.leaseExpiresAt,
            removedModels: result.removedModels)
    }

    /// Removes one deployment; nil when there was none. The node's lease goes with the node.
    func deregister(model: ModelId, node: NodeId) async throws -> UInt64? {
        let version = try await checked { known in
            try await catalog.deregister(model: model, node: node, knownVersion: known)
        }
        guard let version else { return nil }
        mirror.apply(version: version) { _ = $0.deregister(model: model, node: node) }
        metrics.deregistrations.increment()
        logger.info("deregistered deployment", metadata: ["node": "\(node)", "model": "\(model)"])
        return version
    }

    /// Removes every deployment of `node` and its lease; returns the models it served (empty when
    /// the node was unknown).
    func deregisterNode(_ node: NodeId) async throws -> [ModelId] {
        guard let removal = try await removeNode(node, expiredBy: nil) else { return [] }
        metrics.deregistrations.increment(by: Int64(removal.models.count))
        logger.info(
            "deregistered node", metadata: ["node": "\(node)", "models": "\(removal.models.map(\.rawValue))"])
        return removal.models
    }

    private func removeNode(_ node: NodeId, expiredBy: Timestamp?) async throws -> NodeRemoval? {
        let removal = try await checked { known in
            try await catalog.removeNode(node, expiredBy: expiredBy, knownVersion: known)
        }
        guard let removal else { return nil }
        mirror.apply(version: removal.version) { _ = $0.removeNode(node, expiredBy: expiredBy) }
        metrics.nodes.set(Double(mirror.nodeCount))
        return removal
    }

    /// Replaces a model's descriptive metadata, keeping the capabilities its deployments give it.
    func putModel(_ update: ModelUpdate, id: ModelId) async throws -> ModelMetadata {
        if mirror.isLoaded, try await catalog.catalogVersion() < mirror.knownVersion {
            try await synchronize()
        }
        let state = try await catalog.loadCatalog().value
        let metadata = ModelMetadata(
            id: id, name: update.name, version: update.version ?? "unknown",
            capabilities: state.models[id]?.capabilities ?? [], parameters: update.parameters,
            quantization: update.quantization)
        let version = try await catalog.putModel(metadata)
        mirror.apply(version: version) { records in
            var stored = metadata
            stored.capabilities = Array(Set(metadata.capabilities)).sorted()
            records.state.models[id] = stored
        }
        logger.info("model metadata set", metadata: ["model": "\(id)"])
        return metadata
    }

    /// Deregisters every node whose lease passed. The expiry is checked again inside the step that
    /// removes the node, so a renewal that got in first — through any catalog process — wins.
    /// - Returns: the nodes removed.
    func expireLeases(batch: Int = 100) async throws -> [NodeId] {
        let due = try await catalog.expiredLeases(at: clock.now(), limit: batch)
        var removed: [NodeId] = []
        for node in due {
            guard try await removeNode(node, expiredBy: clock.now()) != nil else { continue }
            metrics.leaseExpiries.increment()
            removed.append(node)
        }
        return removed
    }

    /// What ``synchronize()`` did.
    enum Synchronization: Sendable, Equatable {
        case unchanged, reloaded
        /// Redis was behind this process: what it knew was written back (nil: another process
        /// restored first).
        case restored(CatalogRestoration?)
    }

    /// Brings this process's copy and Redis together: reads the catalog when the stored version
    /// moved (or was never read), and restores the copy into a Redis whose version fell below the
    /// known one (it lost data). Safe with several processes: the restore step writes only when
    /// Redis is still behind, and only nodes Redis lacks.
    @discardableResult
    func synchronize() async throws -> Synchronization {
        defer { metrics.knownVersion.set(Double(mirror.knownVersion)) }
        return try await syncLock.withLock {
            let stored = try await catalog.catalogVersion()
            let known = mirror.knownVersion
            guard mirror.isLoaded else {
                mirror.reset(to: try await catalog.loadRecords())
                return .reloaded
            }
            if stored == known { return .unchanged }
            if stored > known {
                mirror.reset(to: try await catalog.loadRecords())
                return .reloaded
            }
            let restoration = try await catalog.restore(mirror.records.value, knownVersion: known)
            if let restoration {
                metrics.restores.increment()
                metrics.restoredNodes.increment(by: Int64(restoration.restoredNodes))
                logger.notice(
                    "Redis had lost the catalog (restart without persistence?); restored what this catalog knew",
                    metadata: [
                        "stored_version": "\(stored)", "known_version": "\(known)",
                        "restored_nodes": "\(restoration.restoredNodes)", "version": "\(restoration.version)",
                    ])
            } else {
                logger.info(
                    "another catalog restored the catalog first", metadata: ["known_version": "\(known)"])
            }
            mirror.reset(to: try await catalog.loadRecords())
            return .restored(restoration)
        }
    }

    /// Runs `write` with the known version; when the store turns out to be behind, restores and
    /// retries once.
    private func checked<T: Sendable>(_ write: (UInt64) async throws -> T) async throws -> T {
        do {
            return try await write(mirror.knownVersion)
        } catch is CatalogBehindError {
            try await synchronize()
            return try await write(mirror.knownVersion)
        }
    }
}
