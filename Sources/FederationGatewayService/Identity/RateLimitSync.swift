import FederationCore
import FederationRedis
import FederationState
import Logging
import ServiceLifecycle

/// Keeps a ``TenantRateLimiter`` in step with the other gateway replicas, off the request path.
///
/// Every `interval` (≤ 100 ms) it sends ONE Redis transaction (one round trip): for every limit
/// whose value changed, `HSET {ns}:ratelimit:{window} {kind}|{tenant}|{gatewayId} <use + claim>`
/// (absolute values, so a sync whose reply was lost does no harm when written again), `PEXPIRE` on
/// the touched windows, `HGETALL` of the current and the previous
/// window, and the live replicas from `{ns}:gateways` (heartbeats within `heartbeatTTL`, this
/// replica counted even before its first heartbeat). The counters read back become the limiter's
/// grants. A failing sync is logged once per outage; meanwhile the limiter enforces the limits
/// alone. On graceful shutdown a last sync writes what is left and gives the unused claims back
/// (list it before the HTTP server in the `ServiceGroup`, so that it stops after the drain).
public struct RateLimitSync: Service {
    public let limiter: TenantRateLimiter
    public let redis: RedisClient
    public let keys: FederationKeys
    public let gatewayId: String
    public let interval: Duration
    public let heartbeatTTL: Duration
    let logger: Logger

    /// How long a window's counters live: the window itself, the next one (where it is the
    /// previous window), and a minute of slack for clocks that disagree.
    static let counterLifetimeMilliseconds = 3 * RateWindow.milliseconds

    public init(
        limiter: TenantRateLimiter, redis: RedisClient, keys: FederationKeys, gatewayId: String,
        interval: Duration = .milliseconds(100), heartbeatTTL: Duration = .seconds(15), logger: Logger
    ) {
        self.limiter = limiter
        self.redis = redis
        self.keys = keys
        self.gatewayId = gatewayId
        self.interval = max(.milliseconds(1), interval)
        self.heartbeatTTL = heartbeatTTL
        self.logger = logger
    }

    /// The hash of one window's counters: `{ns}:ratelimit:{minutes since the epoch}`.
    public func counterKey(window: Int64) -> String { "\(keys.namespace):ratelimit:\(window)" }

    public func run() async throws {
        if limiter.isEmpty {
            // No tenant has a limit: nothing to share; stay up until the group shuts down.
            try? await gracefulShutdown()
            return
        }
        var failing = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            failing = await step(failing: failing)
            do {
                let interval = self.interval
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
        }
        // Graceful shutdown: write this replica's last use so the others count it, and give its
        // unused claims back so the others may use them.
        _ = await step(failing: failing, final: true)
    }

    /// One sync; returns whether it failed, logging the start and the end of an outage once.
    private func step(failing: Bool, final: Bool = false) async -> Bool {
        do {
            try await synchronize(final: final)
            if failing { logger.info("rate limits shared through Redis again") }
            return false
        } catch {
            if !failing {
                logger.warning(
                    "could not share rate limits through Redis; each replica enforces the limits alone until it answers again",
                    metadata: ["error": "\(error)"])
            }
            return true
        }
    }

    /// One sync: writes this replica's changes, reads the cluster's counters and replica count,
    /// and hands them to the limiter (in one transaction, one round trip). `final`: claims
    /// nothing new (the replica is shutting down).
    public func synchronize(final: Bool = false) async throws {
        let tick = limiter.startTick(gatewayId: gatewayId, claiming: !final)
        let now = limiter.clock.now()
        var commands: [RedisCommand] = []
        var touched: Set<Int64> = [tick.window]
        for write in tick.writes {
            commands.append(
                RedisCommand("HSET", counterKey(window: write.window), write.field, String(write.value)))
            touched.insert(write.window)
        }
        for window in touched.sorted() {
            commands.append(
                RedisCommand("PEXPIRE", counterKey(window: window), String(Self.counterLifetimeMilliseconds)))
        }
        let cutoff = now.milliseconds.saturatingSubtract(heartbeatTTL.wholeMilliseconds)
        commands.append(RedisCommand("HGETALL", counterKey(window: tick.window - 1)))
        commands.append(RedisCommand("HGETALL", counterKey(window: tick.window)))
        commands.append(RedisCommand("ZRANGEBYSCORE", keys.gateways, String(cutoff), "+inf"))
        let replies: [RedisValue]
        do {
            replies = try await redis.transaction(commands)
        } catch {
            limiter.failTick(tick)
            throw error
        }
        guard replies.count == commands.count else {
            limiter.failTick(tick)
            throw RedisError.unexpectedReply(
                command: "EXEC", reply: "\(replies.count) replies for \(commands.count) commands")
        }
        let count = replies.count
        let previous = RateLimitCounters(fields: replies[count - 3].hashFields ?? [:], gatewayId: gatewayId)
        let current = RateLimitCounters(fields: replies[count - 2].hashFields ?? [:], gatewayId: gatewayId)
        var live = Set((replies[count - 1].array ?? []).compactMap(\.string))
        live.insert(gatewayId)
        limiter.finish(tick, current: current, previous: previous, replicas: live.count)
    }
}
