import FederationCore
import FederationRedis
import FederationState
import Logging
import ServiceLifecycle

/// Decides which health instance leads. With the lease on, every instance runs the same loop on
/// `{ns}:health-leader`: acquire it when free (`SET NX PX` semantics), renew it while held, and
/// stand by while another instance holds it. The instance that acquires it reloads the state
/// from the hashes and leads (probes, applies reports, writes). A leader that cannot reach Redis
/// keeps probing in memory but stops writing once its lease may have lapsed; when Redis returns
/// it renews (or re-acquires) the lease and writes the current state, or stands by when another
/// instance took over meanwhile. A graceful shutdown releases the lease so a standby takes over
/// at once. With the lease off, the instance leads alone as soon as it has loaded the state.
struct LeaderLease: Service {
    let client: RedisClient
    let keys: FederationKeys
    let store: any HealthStore
    let owner: HealthOwner
    let options: HealthServiceOptions
    let logger: Logger

    /// KEYS: lease. ARGV: id, ttl ms. 1 renewed, 2 acquired, 0 held by another instance.
    static let acquireOrRenew = RedisScript(
        """
        local holder = redis.call('GET', KEYS[1])
        if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
        if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
        return 0
        """)

    /// KEYS: lease. ARGV: id. Deletes the lease only when `id` holds it.
    static let release = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            if options.leaseEnabled { await leaseLoop() } else { await soloLoop() }
        }
        if options.leaseEnabled, await owner.isLeader {
            _ = try? await client.evalScript(
                Self.release, keys: [keys.healthLeader], arguments: [options.instanceId])
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
        var failing = false
        while !Task.isCancelled {
            do {
                let reply = try await client.evalScript(
                    Self.acquireOrRenew, keys: [keys.healthLeader],
                    arguments: [options.instanceId, String(options.leaseDuration.wholeMilliseconds)])
                if reply.int == 0 {
                    if await owner.isLeader { await owner.becomeStandby() }
                    await owner.setLeaderId(try? await client.command("GET", keys.healthLeader).string)
                } else {
                    lastConfirmed = .now
                    await owner.setLeaderId(options.instanceId)
                    if await owner.isLeader {
                        await owner.setMayWrite(true)
                        if failing || reply.int == 2 { await owner.redisRecovered() }
                    } else if !(await takeOver()) {
                        lastConfirmed = nil
                    }
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
