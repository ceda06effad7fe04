import FederationCore
import FederationState
import Logging
import ServiceLifecycle

/// Drains the writes the `HealthOwner` owes Redis: woken by every state change and every `tick`
/// (which also turns open circuits whose deadline passed into half-open ones). A failed write
/// stays due and is retried on the next tick; after Redis comes back, every record is written
/// again (it may have restarted empty).
struct StateWriter: Service {
    let owner: HealthOwner
    let store: any HealthStore
    let slots: ProbeSlots
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
                for await _ in owner.wakeups {
                    failing = await writeDue(failing: failing)
                }
                group.cancelAll()
            }
        }
        // What the throttle held back is written before the lease is released.
        _ = await writeDue(failing: false, flush: true)
    }

    /// Writes everything due; returns whether Redis is failing.
    private func writeDue(failing: Bool, flush: Bool = false) async -> Bool {
        var failing = failing
        for write in await owner.dueWrites(flush: flush) {
            do {
                try await perform(write)
                await owner.markWritten(write)
                metrics.writes.increment()
                if failing {
                    failing = false
                    logger.notice("Redis writable again: writing the current state")
                    await owner.redisRecovered()
                }
            } catch {
                metrics.writeFailures.increment()
                if !failing {
                    logger.warning(
                        "health write failed; kept in memory, retried", metadata: ["error": "\(error)"])
                }
                return true
            }
        }
        return failing
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
