import FederationCore
import FederationRedis

/// ``HealthStore`` on Redis: each put replaces the node's hash, bumps `{ns}:version:health` and
/// publishes on `{ns}:events:health` in one Lua script.
///
/// With a ``LeaseFence``, every write (put, remove) is fenced inside its script: it happens only
/// while the leader lease key holds the fence's token, else it throws ``LeadershipLost`` and
/// changes nothing. Without one (a single writer, tests), writes are unfenced.
public struct RedisHealthStore: HealthStore {
    public let client: RedisClient
    public let keys: FederationKeys
    let clock: any FederationClock
    /// The leader lease the writes are fenced with (nil: unfenced).
    public let fence: LeaseFence?

    public init(
        client: RedisClient, keys: FederationKeys = .init(), clock: any FederationClock = SystemClock(),
        fence: LeaseFence? = nil
    ) {
        self.client = client
        self.keys = keys
        self.clock = clock
        self.fence = fence
    }

    /// The token the write scripts check (nil when unfenced); throws when fenced without one.
    private func fencingToken() throws(LeadershipLost) -> LeaseToken? {
        guard let fence else { return nil }
        guard let token = fence.current else { throw LeadershipLost(detail: "this instance holds no lease") }
        return token
    }

    /// Runs a fenced write script, translating the script's FENCED refusal.
    private func write(
        _ script: RedisScript, keys: [String], arguments: [String], token: LeaseToken?,
        mustReplicate: Bool = false
    ) async throws -> RedisValue {
        do throws(RedisError) {
            return try await client.evalScript(
                script, keys: keys, arguments: arguments, mustReplicate: mustReplicate)
        } catch {
            if case .server(_, let message) = error, message.contains("FENCED") {
                let detail = message.components(separatedBy: "FENCED ").last ?? message
                throw LeadershipLost(detail: detail, token: token)
            }
            throw error
        }
    }

    private var now: String { String(clock.now().milliseconds) }

    @discardableResult
    public func putHealth(_ health: NodeHealth) async throws -> UInt64 {
        try checkNode(health.node)
        return try await put(
            hash: keys.health(health.node), index: keys.healthIndex, kind: "health", node: health.node,
            fields: RecordEncoding.healthFields(of: health))
    }

    /// A circuit that opens must survive a Redis failover (else the fleet routes to a failing node
    /// again): with Sentinels, its write waits for a replica (`WAIT`, docs/REDIS.md).
    @discardableResult
    public func putCircuit(_ circuit: CircuitRecord) async throws -> UInt64 {
        try checkNode(circuit.node)
        return try await put(
            hash: keys.circuit(circuit.node), index: keys.circuitIndex, kind: "circuit", node: circuit.node,
            fields: RecordEncoding.circuitFields(of: circuit), mustReplicate: circuit.state == .open)
    }

    private func put(
        hash: String, index: String, kind: String, node: NodeId, fields: [(String, String)],
        mustReplicate: Bool = false
    ) async throws
        -> UInt64
    {
        let token = try fencingToken()
        let reply = try await write(
            FederationScripts.putRecord, keys: [hash, index, keys.healthLeader],
            arguments: [
                keys.namespace, FederationFamily.health.rawValue, kind, node.rawValue, now,
                token?.description ?? "",
            ] + fields.flatMap { [$0.0, $0.1] }, token: token, mustReplicate: mustReplicate)
        return try version(reply, "put \(kind)")
    }

    @discardableResult
    public func removeHealth(of node: NodeId) async throws -> UInt64? {
        let token = try fencingToken()
        let reply = try await write(
            FederationScripts.removeHealth,
            keys: [
                keys.health(node), keys.healthIndex, keys.circuit(node), keys.circuitIndex, keys.healthLeader,
            ],
            arguments: [keys.namespace, node.rawValue, now, token?.description ?? ""], token: token)
        return reply.isNull ? nil : try version(reply, "removeHealth")
    }

    public func health(of node: NodeId) async throws -> NodeHealth? {
        guard let fields = try await client.command("HGETALL", keys.health(node)).hashFields, !fields.isEmpty
        else { return nil }
        return try RecordEncoding.healthRecord(node, from: fields)
    }

    public func circuit(of node: NodeId) async throws -> CircuitRecord? {
        guard let fields = try await client.command("HGETALL", keys.circuit(node)).hashFields, !fields.isEmpty
        else { return nil }
        return try RecordEncoding.circuitRecord(node, from: fields)
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
                table.health[NodeId(id)] = try RecordEncoding.healthRecord(NodeId(id), from: fields)
            } catch { problems.append(error.message) }
        }
        for index in stride(from: 0, to: circuits.count - 1, by: 2) {
            guard let id = circuits[index].string, let fields = circuits[index + 1].hashFields else {
                continue
            }
            do throws(FederationError) {
                table.circuits[NodeId(id)] = try RecordEncoding.circuitRecord(NodeId(id), from: fields)
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
