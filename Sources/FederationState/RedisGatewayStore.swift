import FederationCore
import FederationRedis

/// ``GatewayStore`` on Redis: `{ns}:gateway:{id}` hashes with a TTL (`heartbeat_ms`, info fields,
/// `inflight:{node}` counters), `{ns}:gateways` sorted by heartbeat, `{ns}:stats` counters.
public struct RedisGatewayStore: GatewayStore {
    public let client: RedisClient
    public let keys: FederationKeys
    /// A gateway whose heartbeat is older than this is dead; its hash expires after it.
    public let heartbeatTTL: Duration

    public init(client: RedisClient, keys: FederationKeys = .init(), heartbeatTTL: Duration = .seconds(15)) {
        self.client = client
        self.keys = keys
        self.heartbeatTTL = heartbeatTTL
    }

    private var ttlMilliseconds: String { String(heartbeatTTL.wholeMilliseconds) }

    public func heartbeat(_ heartbeat: GatewayHeartbeat) async throws {
        if let problem = Identifier.problem(with: heartbeat.id, kind: "gateway id") {
            throw FederationError.invalidInput(problem)
        }
        let key = keys.gateway(heartbeat.id)
        var hset = RedisCommand("HSET", key, "heartbeat_ms", String(heartbeat.at.milliseconds))
        for (field, value) in heartbeat.info.sorted(by: { $0.key < $1.key })
        where !field.hasPrefix("inflight:") {
            hset = hset.appending("info:" + field, value)
        }
        _ = try await client.transaction([
            hset, RedisCommand("PEXPIRE", key, ttlMilliseconds),
            RedisCommand("ZADD", keys.gateways, String(heartbeat.at.milliseconds), heartbeat.id),
        ])
    }

    public func liveGateways(now: Timestamp) async throws -> [GatewayHeartbeat] {
        let ids = try await live(now: now)
        if ids.isEmpty { return [] }
        let replies = try await client.pipeline(ids.map { RedisCommand("HGETALL", keys.gateway($0)) })
        return zip(ids, replies).compactMap { id, reply in
            guard let fields = reply.hashFields, let at = fields["heartbeat_ms"].flatMap({ Int64($0) }) else {
                return nil
            }
            var info: [String: String] = [:]
            for (field, value) in fields where field.hasPrefix("info:") {
                info[String(field.dropFirst(5))] = value
            }
            return GatewayHeartbeat(id: id, at: Timestamp(milliseconds: at), info: info)
        }
    }

    /// Live gateway ids, sorted; drops dead ones from the sorted set on the way.
    private func live(now: Timestamp) async throws -> [String] {
        let cutoff = now.milliseconds - heartbeatTTL.wholeMilliseconds
        let replies = try await client.pipeline([
            RedisCommand("ZREMRANGEBYSCORE", keys.gateways, "-inf", "(\(cutoff)"),
            RedisCommand("ZRANGEBYSCORE", keys.gateways, String(cutoff), "+inf"),
        ])
        return (replies[1].array ?? []).compactMap(\.string).sorted()
    }

    public func remove(gateway: String) async throws {
        _ = try await client.transaction([
            RedisCommand("DEL", keys.gateway(gateway)), RedisCommand("ZREM", keys.gateways, gateway),
        ])
    }

    public func adjustInFlight(gateway: String, deltas: [NodeId: Int]) async throws {
        let changed = deltas.filter { $0.value != 0 }.sorted { $0.key < $1.key }
        if changed.isEmpty { return }
        let key = keys.gateway(gateway)
        _ = try await client.transaction(
            changed.map { RedisCommand("HINCRBY", key, "inflight:" + $0.key.rawValue, String($0.value)) }
                + [RedisCommand("PEXPIRE", key, ttlMilliseconds)])
    }

    @discardableResult
    public func adjustInFlight(gateway: String, node: NodeId, by delta: Int) async throws -> Int {
        let key = keys.gateway(gateway)
        let results = try await client.transaction([
            RedisCommand("HINCRBY", key, "inflight:" + node.rawValue, String(delta)),
            RedisCommand("PEXPIRE", key, ttlMilliseconds),
        ])
        guard let value = results.first?.int else {
            throw RedisError.unexpectedReply(
                command: "HINCRBY", reply: results.first?.description ?? "nothing")
        }
        return Int(value)
    }

    public func clusterInFlight(now: Timestamp) async throws -> [NodeId: Int] {
        let ids = try await live(now: now)
        if ids.isEmpty { return [:] }
        let replies = try await client.pipeline(ids.map { RedisCommand("HGETALL", keys.gateway($0)) })
        var totals: [NodeId: Int] = [:]
        for reply in replies {
            for (field, value) in reply.hashFields ?? [:] where field.hasPrefix("inflight:") {
                totals[NodeId(String(field.dropFirst(9))), default: 0] += Int(value) ?? 0
            }
        }
        return totals.mapValues { max(0, $0) }
    }

    public func incrementStats(_ deltas: [String: Int64]) async throws {
        if deltas.isEmpty { return }
        _ = try await client.transaction(
            deltas.sorted(by: { $0.key < $1.key }).map {
                RedisCommand("HINCRBY", keys.stats, $0.key, String($0.value))
            })
    }

    public func stats() async throws -> [String: Int64] {
        let fields = try await client.command("HGETALL", keys.stats).hashFields ?? [:]
        return fields.compactMapValues { Int64($0) }
    }
}
