import FederationCore
import FederationRedis
import FederationState
import Logging
import ServiceLifecycle
import Synchronization

/// Publishes every attempt's outcome on `{ns}:health:reports`, off the request path: the request
/// only appends to a buffer. Failures are flushed at once (they open circuits, so every replica
/// should hear of them within milliseconds); successes are batched — one pipelined flush every
/// `batchInterval` — so a busy replica sends a few pipelines a second, not one command per request.
final class OutcomeReporter: Service, Sendable {
    private struct State {
        var pending: [HealthReport] = []
        var urgent = false
        var dropped = 0
    }
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    let client: RedisClient
    let keys: FederationKeys
    let batchInterval: Duration
    let logger: Logger
    let metrics: GatewayMetrics
    /// The most reports kept while Redis is unreachable; older ones are dropped (they are
    /// observations: health re-learns from new ones and from its probes).
    static let maximumPending = 50_000

    init(
        client: RedisClient, keys: FederationKeys, batchInterval: Duration, metrics: GatewayMetrics,
        logger: Logger
    ) {
        self.client = client
        self.keys = keys
        self.batchInterval = batchInterval
        self.metrics = metrics
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a report (never waits).
    func report(_ report: HealthReport) {
        state.withLock { state in
            if state.pending.count >= Self.maximumPending {
                state.pending.removeFirst(state.pending.count / 10)
                state.dropped += 1
            }
            state.pending.append(report)
            if !report.ok { state.urgent = true }
        }
        wake.yield()
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in wakeups {
                let urgent = state.withLock { $0.urgent }
                if !urgent { try? await Task.sleep(for: batchInterval) }
                await flush()
            }
        } onGracefulShutdown: {
            self.wake.finish()
        }
        await flush()
    }

    /// Sends everything queued in one pipeline; on failure keeps it for the next flush.
    func flush() async {
        let batch = state.withLock { state -> [HealthReport] in
            let batch = state.pending
            state.pending.removeAll(keepingCapacity: true)
            state.urgent = false
            return batch
        }
        if batch.isEmpty { return }
        let channel = Array(keys.healthReports.utf8)
        let commands = batch.map { RedisCommand(arguments: [Array("PUBLISH".utf8), channel, $0.encoded()]) }
        do {
            _ = try await client.pipeline(commands)
            metrics.reportsPublished.increment(by: Int64(batch.count))
        } catch {
            metrics.reportFlushFailures.increment()
            state.withLock { state in
                state.pending.insert(
                    contentsOf: batch.suffix(max(0, Self.maximumPending - state.pending.count)), at: 0)
            }
            logger.debug(
                "outcome reports not published yet",
                metadata: ["error": "\(error)", "count": "\(batch.count)"])
            try? await Task.sleep(for: .milliseconds(200))
            wake.yield()
        }
    }
}
