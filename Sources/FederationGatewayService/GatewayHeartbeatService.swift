import FederationCore
import FederationHTTP
import FederationState
import Foundation
import Logging
import ServiceLifecycle

/// Writes this replica's heartbeat (`{ns}:gateway:{id}` with a TTL, `{ns}:gateways`) every
/// `interval`, with its statistics, so that `GET /v1/stats?scope=cluster` of any replica can
/// sum every live one and the rate limits know how many replicas share a budget.
final class GatewayHeartbeatService: Service, Sendable {
    let gatewayId: String
    let store: RedisGatewayStore
    let state: GatewayState
    let interval: Duration
    let logger: Logger
    let startedAt = SystemClock().now()

    init(gatewayId: String, store: RedisGatewayStore, state: GatewayState, interval: Duration, logger: Logger)
    {
        self.gatewayId = gatewayId
        self.store = store
        self.state = state
        self.interval = interval
        self.logger = logger
    }

    func run() async throws {
        try await RepeatingTask(
            interval: interval, logger: logger, failure: "cannot write the heartbeat; retrying",
            recovery: "heartbeat written again"
        ) { [self] in
            if !state.isDraining { try await beat() }
        }.run()
    }

    func beat() async throws {
        let stats = state.snapshot
        let text = String(decoding: try JSONEncoder().encode(stats), as: UTF8.self)
        try await store.heartbeat(
            GatewayHeartbeat(
                id: gatewayId, at: SystemClock().now(),
                info: ["stats": text, "started_at": String(startedAt.milliseconds)]))
    }

    /// Removes the heartbeat (a draining replica stops counting as live at once).
    func remove() async {
        do {
            try await store.remove(gateway: gatewayId)
        } catch {
            logger.warning(
                "cannot remove the heartbeat; it expires by itself", metadata: ["error": "\(error)"])
        }
    }
}

/// `GET /v1/stats`: this replica.
struct ReplicaStats: Encodable, Sendable {
    var gateway: String
    var stats: GatewayStats

    func encode(to encoder: any Encoder) throws {
        try stats.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(gateway, forKey: .gateway)
        try c.encode("replica", forKey: .scope)
    }
    enum Key: String, CodingKey { case gateway, scope }
}

/// `GET /v1/stats?scope=cluster`: every live replica's last heartbeat, summed.
struct ClusterStats: Encodable, Sendable {
    var replicas: [ReplicaStats]
    var total: GatewayStats
    /// Heartbeats whose statistics could not be read (counted, never fatal).
    var unreadable: Int

    static func load(store: RedisGatewayStore, now: Timestamp) async throws -> ClusterStats {
        var sum = StatsAccumulator()
        var replicas: [ReplicaStats] = []
        var unreadable = 0
        for heartbeat in try await store.liveGateways(now: now) {
            guard let text = heartbeat.info["stats"], JSONNesting.problem(in: Array(text.utf8)) == nil,
                let stats = try? JSONDecoder().decode(GatewayStats.self, from: Data(text.utf8))
            else {
                unreadable += 1
                continue
            }
            sum.merge(stats)
            replicas.append(ReplicaStats(gateway: heartbeat.id, stats: stats))
        }
        return ClusterStats(replicas: replicas, total: sum.stats, unreadable: unreadable)
    }

    func encode(to encoder: any Encoder) throws {
        try total.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode("cluster", forKey: .scope)
        try c.encode(replicas.count, forKey: .liveReplicas)
        try c.encode(replicas, forKey: .replicas)
        try c.encode(unreadable, forKey: .unreadableReplicas)
    }
    enum Key: String, CodingKey {
        case scope, liveReplicas = "live_replicas", replicas, unreadableReplicas = "unreadable_replicas"
    }
}

/// On graceful shutdown (SIGTERM): `/readyz` 503 and new requests refused at once, the heartbeat
/// removed, then waits until the replica's in-flight requests (streams included) have finished
/// or `timeout` passed; only then do the server and the background services stop.
struct GatewayDrain: Service {
    let state: GatewayState
    let heartbeat: GatewayHeartbeatService
    let load: ReplicaLoad
    let timeout: Duration
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        guard !Task.isCancelled else { return }
        state.startDraining()
        let started = ContinuousClock.now
        logger.notice("draining", metadata: ["in_flight": .stringConvertible(state.inProgress)])
        load.stopPublishing()
        await heartbeat.remove()
        while state.inProgress > 0, ContinuousClock.now - started < timeout {
            try? await Task.sleep(for: .milliseconds(10))
        }
        await heartbeat.remove()  // again, in case a flush under way when draining began wrote it back
        logger.notice(
            "drained",
            metadata: [
                "left": .stringConvertible(state.inProgress),
                "took_ms": .stringConvertible((ContinuousClock.now - started).wholeMilliseconds),
            ])
    }
}
