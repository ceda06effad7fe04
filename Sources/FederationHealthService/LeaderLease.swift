import FederationCore
import FederationRedis
import FederationState
import Logging
import ServiceLifecycle

/// Decides which health instance leads. With the lease on, every instance runs the same loop on
/// `{ns}:health-leader`: acquire it when free, renew it while held, and stand by while another
/// instance holds it. The instance that acquires it reloads the state from the hashes and leads
/// (probes, applies reports, writes).
///
/// Fencing: an acquisition stores a fresh token `id#epoch#nonce` in the lease key (the epoch from
/// `INCR {ns}:health-leader-epoch`) and hands it to the ``LeaseFence`` of the store; every health
/// and circuit write script checks, inside Redis, that the lease key still holds that token and
/// refuses otherwise. So an instance writes only while its lease is proven held: a lapsed or
/// stolen lease stops its writes at the next write, not at its next failed renewal, and two
/// instances never write at once. A refused write suspends writing (the writer clears the
/// token); the next round of this loop then stands by, or re-acquires.
///
/// A leader that re-acquires the lease right after its own (epoch + 1: nobody led in between), or
/// first in a Redis that restarted empty (epoch 1), keeps its in-memory state and writes it all
/// again; after any other gap it reloads the stored state. A leader that cannot reach Redis
/// keeps probing in memory. A graceful shutdown releases the lease so a standby takes over at
/// once. With the lease off, the instance leads alone (unfenced) as soon as it has loaded the state.
struct LeaderLease: Service {
    let client: RedisClient
    let keys: FederationKeys
    let store: any HealthStore
    let fence: LeaseFence
    let owner: HealthOwner
    let options: HealthServiceOptions
    let logger: Logger

    /// KEYS: lease, epoch counter. ARGV: token held ('' for none), id, ttl ms, nonce.
    /// Returns {1, token} renewed, {2, token} acquired with a new token, {0, holder's token} held
    /// by another instance.
    static let acquireOrRenew = RedisScript(
        """
        local holder = redis.call('GET', KEYS[1])
        if holder and holder == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[3])
          return {1, holder}
        end
        if not holder then
          local epoch = redis.call('INCR', KEYS[2])
          local token = ARGV[2] .. '#' .. epoch .. '#' .. ARGV[4]
          redis.call('SET', KEYS[1], token, 'PX', ARGV[3])
          return {2, token}
        end
        return {0, holder}
        """)

    /// KEYS: lease. ARGV: token. Deletes the lease only when it holds `token`.
    static let release = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            if options.leaseEnabled { await leaseLoop() } else { await soloLoop() }
        }
        if options.leaseEnabled, let token = fence.current {
            _ = try? await client.evalScript(
                Self.release, keys: [keys.healthLeader], arguments: [token.description])
            fence.set(nil)
            logger.notice("leader lease released")
        }
    }

    /// Without a lease: load the state (retrying until Redis answers), then lead.
    private func soloLoop() async {
        await owner.setLeaderId(options.instanceId)
        while !Task.isCancelled {
            if await takeOver() { break }
            try? await Task.sleep(for: options.leaseRenewInterval)
        }
        try? await gracefulShutdown()
    }

    private func leaseLoop() async {
        var lastConfirmed: ContinuousClock.Instant?
        var lastEpoch: Int64?
        var failing = false
        while !Task.isCancelled {
            do {
                let held = fence.current
                let reply = try await client.evalScript(
                    Self.acquireOrRenew, keys: [keys.healthLeader, keys.healthLeaderEpoch],
                    arguments: [
                        held?.description ?? "", options.instanceId,
                        String(options.leaseDuration.wholeMilliseconds),
                        String(UInt64.random(in: 0...UInt64.max), radix: 36),
                    ])
                guard let parts = reply.array, parts.count == 2, let code = parts[0].int,
                    let value = parts[1].string
                else { throw RedisError.unexpectedReply(command: "acquireOrRenew", reply: reply.description) }
                let token = LeaseToken(parsing: value)
                switch code {
                case 1:
                    lastConfirmed = .now
                    await owner.setLeaderId(options.instanceId)
                    if await owner.isLeader {
                        await owner.setMayWrite(true)
                    } else if !(await takeOver()) {
                        lastConfirmed = nil
                    }
                case 2:
                    lastConfirmed = .now
                    fence.set(token)
                    await owner.setLeaderId(options.instanceId)
                    let continues = token.epoch == 1 || lastEpoch.map { token.epoch == $0 + 1 } == true
                    lastEpoch = token.epoch
                    logger.notice("acquired the leader lease", metadata: ["token": "\(token)"])
                    if await owner.isLeader, continues {
                        // Nobody led since our last lease: our memory is the newest state.
                        await owner.setMayWrite(true)
                        await owner.redisRecovered()
                    } else if !(await takeOver()) {
                        lastConfirmed = nil
                    }
                default:
                    if let held { fence.clear(ifStill: held) }
                    if await owner.isLeader { await owner.becomeStandby() }
                    await owner.setLeaderId(token.holder)
                }
                if failing { logger.notice("Redis reachable again") }
                failing = false
            } catch {
                if !failing { logger.warning("leader lease not renewable", metadata: ["error": "\(error)"]) }
                failing = true
                if let confirmed = lastConfirmed, ContinuousClock.now - confirmed >= options.leaseDuration {
                    await owner.setMayWrite(false)
                }
            }
            try? await Task.sleep(for: options.leaseRenewInterval)
        }
    }

    /// Loads every record and leads; false when Redis could not be read.
    private func takeOver() async -> Bool {
        do {
            let table = try await store.loadHealth()
            for problem in table.problems {
                logger.warning("stored record skipped", metadata: ["problem": "\(problem)"])
            }
            await owner.becomeLeader(restoring: table.value)
            return true
        } catch {
            logger.warning(
                "could not load the stored health state; retrying", metadata: ["error": "\(error)"])
            return false
        }
    }
}
