import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// `--hold N`: opens N concurrent streams to one target at once and holds them until they end.
/// Lives on one event loop.
final class HoldRun {
    private let loop: any EventLoop
    private let pool: TargetPool
    private let template: RequestTemplate
    private let streams: Int
    private let watchPID: Int32?

    private(set) var stats = TargetStats()
    private var report: HoldReport
    private var open = 0
    private var headsOrFailures = 0
    private var ended = 0
    private var startedAt: UInt64 = 0
    private let allOpened: EventLoopPromise<Void>
    private let allEnded: EventLoopPromise<Void>

    init(loop: any EventLoop, pool: TargetPool, template: RequestTemplate, streams: Int, watchPID: Int32?) {
        self.loop = loop
        self.pool = pool
        self.template = template
        self.streams = streams
        self.watchPID = watchPID
        self.report = HoldReport(streams: streams, completed: 0, failed: 0, peakOpen: 0, secondsToOpenAll: 0)
        self.allOpened = loop.makePromise()
        self.allEnded = loop.makePromise()
    }

    /// Starts every stream; completes with the report after the last one ended.
    func run() -> EventLoopFuture<HoldReport> {
        loop.preconditionInEventLoop()
        report.rssBeforeKiB = watchPID.flatMap(residentKiB(of:))
        startedAt = monotonicNanoseconds()
        for _ in 0..<streams {
            stats.sent += 1
            var sawHead = false
            let exchange = PendingExchange(
                template: template, stream: true,
                onHead: { [self] in
                    sawHead = true
                    self.open += 1
                    self.report.peakOpen = max(self.report.peakOpen, self.open)
                    self.countOpened()
                },
                completion: { [self] result in
                    if sawHead { self.open -= 1 } else { self.countOpened() }
                    self.finished(result)
                })
            pool.submit(exchange)
        }
        return allEnded.futureResult.assumeIsolated().map { [self] in self.report }.nonisolated()
    }

    private func countOpened() {
        headsOrFailures += 1
        guard headsOrFailures == streams else { return }
        report.secondsToOpenAll = Double(monotonicNanoseconds() &- startedAt) / 1e9
        report.rssHeldKiB = watchPID.flatMap(residentKiB(of:))
        allOpened.succeed()
    }

    private func finished(_ result: Result<ExchangeOutcome, ExchangeFailure>) {
        switch result {
        case .success(let outcome) where (200..<300).contains(outcome.status) && outcome.sawDone:
            report.completed += 1
            stats.succeeded += 1
            stats.latency.record(nanoseconds: outcome.endAt &- outcome.sentAt)
            if let first = outcome.frameTimes.first {
                stats.ttft.record(nanoseconds: first &- outcome.sentAt)
            }
        case .success(let outcome):
            report.failed += 1
            stats.countError(
                (200..<300).contains(outcome.status)
                    ? "stream ended without data: [DONE]" : "status \(outcome.status)")
        case .failure(let failure):
            report.failed += 1
            stats.countError(failure.kind)
        }
        ended += 1
        guard ended == streams else { return }
        // Let the watched process release what the streams held before sampling again.
        loop.assumeIsolated().scheduleTask(in: .seconds(1)) { [self] in
            self.report.rssAfterKiB = self.watchPID.flatMap(residentKiB(of:))
            self.allEnded.succeed()
        }
    }
}

/// VmRSS of a process from /proc/PID/status, in KiB; nil when it cannot be read.
func residentKiB(of pid: Int32) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }
    return nil
}
