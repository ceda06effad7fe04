import FederationCore
import FederationRedis

extension FederationKeys {
    /// Counter of half-open probe requests in flight at one node, cluster-wide (`{ns}:probes:{node}`),
    /// with a TTL so that slots held by a gateway that died are freed. See ``ProbeSlots``.
    public func probeSlots(_ id: NodeId) -> String { "\(namespace):probes:\(id.rawValue)" }
    /// The health service's leader lease (`{ns}:health-leader`, a string holding the holder's id,
    /// with a PX expiry). Not `{ns}:health:leader`: that is the health hash of a node named `leader`.
    public var healthLeader: String { "\(namespace):health-leader" }
    /// The leader lease's epoch counter (`{ns}:health-leader-epoch`), INCRemented at every
    /// acquisition: part of the fencing token (see ``LeaseFence``).
    public var healthLeaderEpoch: String { "\(namespace):health-leader-epoch" }
}

/// Cluster-wide admission of half-open probe requests: a gateway that routes to a node whose
/// circuit is half-open calls ``acquire(node:max:ttl:)`` before sending the request and
/// ``release(node:)`` when its outcome is known (and reported). Each call is one atomic Lua script
/// on `{ns}:probes:{node}`, so at most `max` gateways' requests probe a node at once however many
/// replicas ask concurrently. The health service calls ``reset(node:)`` whenever a circuit closes
/// or re-opens, which starts the next half-open round with every slot free.
public struct ProbeSlots: Sendable {
    /// The client the scripts run on.
    public let client: RedisClient
    /// Where the counters live.
    public let keys: FederationKeys

    /// Slots in the namespace of `keys`.
    public init(client: RedisClient, keys: FederationKeys = .init()) {
        self.client = client
        self.keys = keys
    }

    /// KEYS: counter. ARGV: max, ttl ms. 1 when a slot was taken (and the TTL refreshed), else 0.
    static let acquireScript = RedisScript(
        """
        local n = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
        if n >= tonumber(ARGV[1]) then return 0 end
        redis.call('INCR', KEYS[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
        """)

    /// KEYS: counter. Frees one slot, never going below zero (a release after a reset is a no-op).
    /// Returns the slots still taken.
    static let releaseScript = RedisScript(
        """
        local n = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
        if n <= 0 then return 0 end
        if n == 1 then redis.call('DEL', KEYS[1]) return 0 end
        return redis.call('DECR', KEYS[1])
        """)

    /// Takes one of `max` probe slots of `node`. The counter expires `ttl` after the last
    /// successful acquire, so slots whose holders vanished are freed at the latest then (use
    /// the circuit's `probe_timeout`, longer than a request can take).
    /// - Returns: true when the caller holds a slot and may send its probe request.
    public func acquire(node: NodeId, max: Int, ttl: Duration) async throws -> Bool {
        try checkNode(node)
        let reply = try await client.evalScript(
            Self.acquireScript, keys: [keys.probeSlots(node)],
            arguments: [String(Swift.max(0, max)), String(Swift.max(1, ttl.wholeMilliseconds))])
        return reply.int == 1
    }

    /// Gives back a slot taken with ``acquire(node:max:ttl:)``.
    /// - Returns: how many slots are still taken.
    @discardableResult
    public func release(node: NodeId) async throws -> Int {
        try checkNode(node)
        let reply = try await client.evalScript(Self.releaseScript, keys: [keys.probeSlots(node)])
        return Int(reply.int ?? 0)
    }

    /// Frees every slot of `node` (the health service, when the circuit closes or re-opens).
    public func reset(node: NodeId) async throws {
        try checkNode(node)
        try await client.command("DEL", keys.probeSlots(node))
    }

    /// How many slots of `node` are taken now.
    public func taken(node: NodeId) async throws -> Int {
        try checkNode(node)
        return Int(try await client.command("GET", keys.probeSlots(node)).int ?? 0)
    }
}
