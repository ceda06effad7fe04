import FederationCore
import FederationRedis

/// ``HealthStore`` on Redis: each put replaces the node's hash, bumps `{ns}:version:health` and
/// publishes on `{ns}:events:health` in one Lua script.
public struct RedisHealthStore: HealthStore {
    public let client: RedisClient
    public let keys: FederationKeys
    let clock: any FederationClock

    public init(
        client: RedisClient, keys: FederationKeys = .init(), clock: any FederationClock = SystemClock()
    ) {
        self.client = client
        self.keys = keys
        self.clock = clock
    }

    private var now: String { String(clock.now().milliseconds) }

    @discardableResult
    public func putHealth(_ health: NodeHealth) async throws -> UInt64 {
        try checkNode(health.node)
        return try await put(
            hash: keys.health(health.node), index: keys.healthIndex, kind: "health", node: health.node,
            fields: RecordEncoding.fields(of: health))
    }

    @discardableResult
    public func putCircuit(_ circuit: CircuitRecord) async throws -> UInt64 {
        try checkNode(circuit.node)
        return try await put(
            hash: keys.circuit(circuit.node), index: keys.circuitIndex, kind: "circuit", node: circuit.node,
            fields: RecordEncoding.fields(of: circuit))
    }

    private func put(
        hash: String, index: String, kind: String, node: NodeId, fields: [(String, String)]
    ) async throws
        -> UInt64
    {
        let reply = try await client.evalScript(
            FederationScripts.putRecord, keys: [hash, index],
            arguments: [keys.namespace, FederationFamily.health.rawValue, kind, node.rawValue, now]
                + fields.flatMap { [$0.0, $0.1] })
        return try version(reply, "put \(kind)")
    }

    @discardableResult
    public func removeHealth(of node: NodeId) async throws -> UInt64? {
        let reply = try await client.evalScript(
            FederationScripts.removeHealth,
            keys: [keys.health(node), keys.healthIndex, keys.circuit(node), keys.circuitIndex],
            arguments: [keys.namespace, node.rawValue, now])
        return reply.isNull ? nil : try version(reply, "removeHealth")
    }

    public func health(of node: NodeId) async throws -> NodeHealth? {
        guard let fields = try await client.command("HGETALL", keys.health(node)).hashFields, !fields.isEmpty
        else { return nil }
        return try RecordEncoding.health(node, from: fields)
    }

    public func circuit(of node: NodeId) async throws -> CircuitRecord? {
        guard let fields = try await client.command("HGETALL", keys.circuit(node)).hashFields, !fields.isEmpty
        else { return nil }
        return try RecordEncoding.circuit(node, from: fields)
    }

    public func loadHealth() async throws -> Versioned<HealthTable> {
        let reply = try await client.evalScript(FederationScripts.loadHealth, arguments: [keys.namespace])
        guard let parts = reply.array, parts.count == 3, let version = parts[0].int,
            let health = parts[1].array,
            let circuits = parts[2].array
        else { throw RedisError.unexpectedReply(command: "loadHealth", reply: reply.description) }
        var table = HealthTable()
        var problems: [String] = []
        for (id, fields) in hashEntries(health) {
            do throws(FederationError) {
                table.health[NodeId(id)] = try RecordEncoding.health(NodeId(id), from: fields)
            } catch { problems.append(error.message) }
        }
        for index in stride(from: 0, to: circuits.count - 1, by: 2) {
            guard let id = circuits[index].string, let fields = circuits[index + 1].hashFields else {
                continue
            }
            do throws(FederationError) {
                table.circuits[NodeId(id)] = try RecordEncoding.circuit(NodeId(id), from: fields)
            } catch { problems.append(error.message) }
        }
        return Versioned(value: table, version: UInt64(max(0, version)), problems: problems)
    }
}

func checkNode(_ node: NodeId) throws {
    if let problem = Identifier.problem(with: node.rawValue, kind: "node id") {
        throw FederationError.invalidInput(problem)
    }
}
