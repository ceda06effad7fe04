import FederationCore
import FederationRedis
import FederationState
import Logging
import ServiceLifecycle

/// Drains the writes the `HealthOwner` owes Redis: woken by every state change and every `tick`
/// (which also turns open circuits whose deadline passed into half-open ones). A failed write
/// stays due and is retried on the next tick. When the client's ``RedisAvailability`` says an
/// outage ended (one transition per outage, however many pooled connections reconnect), every
/// record is written again once (Redis may have restarted empty). A write refused by the lease
/// fence (``LeadershipLost``) stops writing at once.
struct StateWriter: Service {
    let owner: HealthOwner
    let store: any HealthStore
    let slots: ProbeSlots
    let client: RedisClient
    let fence: LeaseFence?
    let tick: Duration
    let metrics: HealthMetrics
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: tick)
                        owner.wakeUp()
                    }
                }
                var failing = false
                var recoveries = client.availability.recoveries
                for await _ in owner.wakeups {
                    let availability = client.availability
                    if availability.recoveries != recoveries {
                        recoveries = availability.recoveries
                        failing = false
                        metrics.redisRecoveries.increment()
                        logger.notice("Redis writable again: writing the current state")
                        await owner.redisRecovered()
                    }
                    failing = await writeDue(failing: failing)
                }
                group.cancelAll()
            }
        }
        // What the throttle held back is written before the lease is released.
        _ = await writeDue(failing: false, flush: true)
    }

    /// Writes everything due; returns whether Redis is failing (warned once per failing spell).
    private func writeDue(failing: Bool, flush: Bool = false) async -> Bool {
        for write in await owner.dueWrites(flush: flush) {
            do {
                try await perform(write)
                await owner.markWritten(write)
                metrics.writes.increment()
            } catch let error as LeadershipLost {
                metrics.writeRefusals.increment()
                if let token = error.token { fence?.clear(ifStill: token) }
                await owner.writeRefused(error)
                return failing
            } catch {
                metrics.writeFailures.increment()
                if !failing {
                    logger.warning(
                        "health write failed; kept in memory, retried", metadata: ["error": "\(error)"])
                }
                return true
            }
        }
        return false
    }

    private func perform(_ write: LedgerWrite) async throws {
        switch write {
        case .health(let record):
            try await store.putHealth(record)
        case .circuit(let record, let resetProbeSlots):
            try await store.putCircuit(record)
            if resetProbeSlots { try await slots.reset(node: record.node) }
        case .remove(let node):
            try await store.removeHealth(of: node)
            try await slots.reset(node: node)
        }
    }
}
