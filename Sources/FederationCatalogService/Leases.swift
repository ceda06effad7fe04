import FederationCore
import FederationRedis
import FederationState
import Logging
import ServiceLifecycle
import Synchronization

/// When each leased registration expires. Nodes without an entry are permanent.
///
/// Written only by the catalog (it is part of the catalog family); see docs/CATALOG.md for the key.
public protocol LeaseStore: Sendable {
    /// Sets (or renews) `node`'s lease to expire at `expiresAt`.
    func setLease(node: NodeId, expiresAt: Timestamp) async throws
    /// Makes `node` permanent (no lease). Removing a missing lease is a no-op.
    func removeLease(node: NodeId) async throws
    /// `node`'s expiry, or nil when it has no lease.
    func lease(of node: NodeId) async throws -> Timestamp?
    /// Every lease.
    func allLeases() async throws -> [NodeId: Timestamp]
    /// Up to `limit` nodes whose lease expired at or before `now`, earliest first.
    func expired(at now: Timestamp, limit: Int) async throws -> [NodeId]
}

extension FederationKeys {
    /// Sorted set of leased node ids scored by lease expiry (ms since the epoch). Owned by the
    /// catalog; documented in docs/CATALOG.md.
    public var leases: String { namespace + ":leases" }
}

/// ``LeaseStore`` on a Redis sorted set `{ns}:leases` (member node id, score expiry in ms).
public struct RedisLeaseStore: LeaseStore {
    public let client: RedisClient
    public let keys: FederationKeys

    public init(client: RedisClient, keys: FederationKeys) {
        self.client = client
        self.keys = keys
    }

    public func setLease(node: NodeId, expiresAt: Timestamp) async throws {
        try await client.command("ZADD", keys.leases, String(expiresAt.milliseconds), node.rawValue)
    }

    public func removeLease(node: NodeId) async throws {
        try await client.command("ZREM", keys.leases, node.rawValue)
    }

    public func lease(of node: NodeId) async throws -> Timestamp? {
        let reply = try await client.command("ZSCORE", keys.leases, node.rawValue)
        return reply.string.flatMap { Double($0) }.map { Timestamp(milliseconds: Int64($0)) }
    }

    public func allLeases() async throws -> [NodeId: Timestamp] {
        let reply = try await client.command("ZRANGE", keys.leases, "0", "-1", "WITHSCORES")
        let flat = reply.array ?? []
        var result: [NodeId: Timestamp] = [:]
        for index in stride(from: 0, to: flat.count - 1, by: 2) {
            guard let id = flat[index].string, let score = flat[index + 1].string.flatMap({ Double($0) })
            else { continue }
            result[NodeId(id)] = Timestamp(milliseconds: Int64(score))
        }
        return result
    }

    public func expired(at now: Timestamp, limit: Int) async throws -> [NodeId] {
        let reply = try await client.command(
            "ZRANGEBYSCORE", keys.leases, "-inf", String(now.milliseconds), "LIMIT", "0", String(limit))
        return (reply.array ?? []).compactMap { $0.string.map { NodeId($0) } }
    }
}

/// ``LeaseStore`` in memory, for tests and single-process use.
public final class InMemoryLeaseStore: LeaseStore {
    private let state = Mutex<[NodeId: Timestamp]>([:])

    public init() {}

    public func setLease(node: NodeId, expiresAt: Timestamp) async throws {
        state.withLock { $0[node] = expiresAt }
    }

    public func removeLease(node: NodeId) async throws {
        state.withLock { $0[node] = nil }
    }

    public func lease(of node: NodeId) async throws -> Timestamp? { state.withLock { $0[node] } }

    public func allLeases() async throws -> [NodeId: Timestamp] { state.withLock { $0 } }

    public func expired(at now: Timestamp, limit: Int) async throws -> [NodeId] {
        let all = state.withLock { $0 }
        return all.filter { $0.value <= now }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
            .prefix(limit).map(\.key)
    }
}

/// The background service that deregisters nodes whose lease passed, every `interval`. Failures
/// (Redis away) are logged once per outage and retried at the next tick; they never stop it.
struct LeaseReaper: Service {
    let writer: CatalogWriter
    let interval: Duration
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                var failing = false
                while !Task.isCancelled {
                    do {
                        let expired = try await writer.expireLeases()
                        for node in expired {
                            logger.notice("lease expired; node deregistered", metadata: ["node": "\(node)"])
                        }
                        if failing {
                            logger.info("lease reaper recovered")
                            failing = false
                        }
                    } catch is CancellationError {
                        return
                    } catch {
                        if !failing {
                            logger.warning("lease reaper failed; retrying", metadata: ["error": "\(error)"])
                            failing = true
                        }
                    }
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            // Graceful shutdown.
        }
    }
}
