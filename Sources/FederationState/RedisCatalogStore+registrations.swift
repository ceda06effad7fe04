import FederationCore
import FederationRedis
import Foundation

/// Whole-node writes and leases: each one Lua script of `CatalogScripts` (atomic, one version
/// bump, one event), checked against the writer's known version.
extension RedisCatalogStore {
    public func replaceNode(
        _ registration: NodeRegistration, knownVersion: UInt64
    ) async throws -> NodeReplacement {
        if let problem = registration.validationProblem { throw FederationError.invalidInput(problem) }
        let payload = ReplacePayload(
            id: registration.node.id.rawValue,
            fields: RecordEncoding.fields(of: registration.node).flatMap { [$0.0, $0.1] },
            models: registration.models.map {
                .init(
                    id: $0.id.rawValue, caps: RecordEncoding.csv($0.capabilities), version: $0.version,
                    parameters: $0.parameters.map(String.init), quantization: $0.quantization)
            },
            lease: registration.leaseExpiresAt.map { String($0.milliseconds) })
        // An acknowledged registration must survive a Redis failover: with Sentinels it waits for
        // a replica (`WAIT`, docs/REDIS.md).
        let reply = try await client.evalScript(
            CatalogScripts.replaceNode,
            arguments: [keys.namespace, String(knownVersion), timestamp, try json(payload)],
            mustReplicate: true)
        let parts = try written(reply, "replaceNode", knownVersion: knownVersion)
        return NodeReplacement(
            version: try version(parts[0], "replaceNode"),
            removedModels: parts.dropFirst().compactMap { $0.string.map { ModelId($0) } })
    }

    @discardableResult
    public func deregister(model: ModelId, node: NodeId, knownVersion: UInt64) async throws -> UInt64? {
        let reply = try await client.evalScript(
            CatalogScripts.deregister,
            arguments: [keys.namespace, String(knownVersion), node.rawValue, model.rawValue, timestamp])
        let parts = try written(reply, "deregister", knownVersion: knownVersion)
        if parts[0].int == 0 { return nil }
        return try version(parts[0], "deregister")
    }

    public func removeNode(
        _ node: NodeId, expiredBy: Timestamp?, knownVersion: UInt64
    ) async throws -> NodeRemoval? {
        let reply = try await client.evalScript(
            CatalogScripts.removeNode,
            arguments: [
                keys.namespace, String(knownVersion), node.rawValue,
                expiredBy.map { String($0.milliseconds) } ?? "", timestamp,
            ])
        let parts = try written(reply, "removeNode", knownVersion: knownVersion)
        if parts[0].int == 0 { return nil }
        return NodeRemoval(
            version: try version(parts[0], "removeNode"),
            models: parts.dropFirst().compactMap { $0.string.map { ModelId($0) } })
    }

    public func restore(_ known: CatalogRecords, knownVersion: UInt64) async throws -> CatalogRestoration? {
        let payload = RestorePayload(
            nodes: known.state.nodes.values.sorted { $0.id < $1.id }.map { node in
                .init(
                    id: node.id.rawValue, fields: RecordEncoding.fields(of: node).flatMap { [$0.0, $0.1] },
                    deployments: known.state.deployments.filter { $0.node == node.id }.map {
                        [$0.model.rawValue, RecordEncoding.csv($0.capabilities)]
                    },
                    lease: known.leases[node.id].map { String($0.milliseconds) })
            },
            models: known.state.models.values.sorted { $0.id < $1.id }.map {
                .init(id: $0.id.rawValue, fields: RecordEncoding.fields(of: $0).flatMap { [$0.0, $0.1] })
            })
        let reply = try await client.evalScript(
            CatalogScripts.restore,
            arguments: [keys.namespace, String(knownVersion), timestamp, try json(payload)])
        guard let parts = reply.array, parts.count == 3, parts[0].int == 1, let restored = parts[2].int
        else {
            if let parts = reply.array, parts.count == 2, parts[0].int == 0 { return nil }
            throw RedisError.unexpectedReply(command: "restore", reply: reply.description)
        }
        return CatalogRestoration(
            version: try version(parts[1], "restore"), restoredNodes: Int(clamping: max(0, restored)))
    }

    public func lease(of node: NodeId) async throws -> Timestamp? {
        let reply = try await client.command("ZSCORE", keys.leases, node.rawValue)
        if reply.isNull { return nil }
        guard let expiry = leaseExpiry(reply) else {
            throw RedisError.unexpectedReply(command: "ZSCORE \(keys.leases)", reply: reply.description)
        }
        return expiry
    }

    public func expiredLeases(at now: Timestamp, limit: Int) async throws -> [NodeId] {
        let reply = try await client.command(
            "ZRANGEBYSCORE", keys.leases, "-inf", String(now.milliseconds), "LIMIT", "0",
            String(max(1, limit)))
        return (reply.array ?? []).compactMap { $0.string.map { NodeId($0) } }
    }

    var timestamp: String { String(clock.now().milliseconds) }

    /// The parts after the status of a write script's reply; ``CatalogBehindError`` when the
    /// script found Redis behind the writer.
    private func written(
        _ reply: RedisValue, _ operation: String, knownVersion: UInt64
    ) throws -> [RedisValue] {
        guard let parts = reply.array, parts.count >= 2, let status = parts[0].int else {
            throw RedisError.unexpectedReply(command: operation, reply: reply.description)
        }
        if status == 0 {
            throw CatalogBehindError(stored: UInt64(max(0, parts[1].int ?? 0)), known: knownVersion)
        }
        return Array(parts.dropFirst())
    }

    private func json(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }
}

/// A lease score as Redis returns it (`"1700000030000"`, or a float text for odd writers);
/// nil when it is not a finite number of milliseconds a ``Timestamp`` can hold.
func leaseExpiry(_ value: RedisValue) -> Timestamp? {
    guard let text = value.string else { return nil }
    if let milliseconds = Int64(text) { return Timestamp(milliseconds: milliseconds) }
    guard let number = Double(text), number.isFinite, let milliseconds = Int64(exactly: number.rounded())
    else { return nil }
    return Timestamp(milliseconds: milliseconds)
}

private struct ReplacePayload: Encodable {
    struct Model: Encodable {
        var id: String
        var caps: String
        var version: String?
        var parameters: String?
        var quantization: String?
    }
    var id: String
    var fields: [String]
    var models: [Model]
    var lease: String?
}

private struct RestorePayload: Encodable {
    struct Node: Encodable {
        var id: String
        var fields: [String]
        var deployments: [[String]]
        var lease: String?
    }
    struct Model: Encodable {
        var id: String
        var fields: [String]
    }
    var nodes: [Node]
    var models: [Model]
}
