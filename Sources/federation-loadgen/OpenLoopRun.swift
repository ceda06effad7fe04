import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Counters and histograms of one target during a run.
struct TargetStats {
    var sent: UInt64 = 0
    var succeeded: UInt64 = 0
    var errors: [String: UInt64] = [:]
    var sentLate: UInt64 = 0
    var latency = LatencyRecorder()
    var ttft = LatencyRecorder()
    var gaps = LatencyRecorder()
    var measuredNs: UInt64 = 0

    var failed: UInt64 { errors.values.reduce(0, +) }

    mutating func countError(_ kind: String) { errors[kind, default: 0] += 1 }
}

/// An open-loop run over interleaved slices (`SliceSchedule`): every request is issued at its
/// intended time whatever happened to the ones before, and its latency counts from that time.
/// Lives on one event loop.
final class OpenLoopRun {
    enum Client {
        /// Our own SwiftNIO HTTP/1.1 connections (`TargetPool`).
        case nio([TargetPool])
        /// AsyncHTTPClient with a large pool (to compare the generator's own overhead).
        case asyncHTTPClient(HTTPClient, [HTTPClient.Request])
    }

    private let loop: any EventLoop
    private let client: Client
    private let templates: [RequestTemplate]
    private let slices: [Slice]
    private let arrivals: ArrivalSchedule
    private let stream: Bool
    private(set) var stats: [TargetStats]
    /// Every request issued, warm-up included (for the generator's CPU per request).
    private(set) var issued: UInt64 = 0

    private var runStart: UInt64 = 0
    private var sliceIndex = 0
    private var requestIndex = 0
    private var outstanding = 0
    private var issuing = true
    private let done: EventLoopPromise<Void>

    init(
        loop: any EventLoop, client: Client, templates: [RequestTemplate], slices: [Slice], rate: Double,
        stream: Bool
    ) {
        self.loop = loop
        self.client = client
        self.templates = templates
        self.slices = slices
        self.arrivals = ArrivalSchedule(rate: rate)
        self.stream = stream
        self.stats = Array(repeating: TargetStats(), count: templates.count)
        self.done = loop.makePromise()
        for slice in slices where slice.measured { stats[slice.target].measuredNs += slice.lengthNs }
    }

    /// Runs every slice; the future completes when the last answer arrived.
    func run() -> EventLoopFuture<Void> {
        loop.preconditionInEventLoop()
        runStart = monotonicNanoseconds()
        tick()
        return done.futureResult
    }

    private func tick() {
        let now = monotonicNanoseconds()
        while sliceIndex < slices.count {
            let slice = slices[sliceIndex]
            let count = arrivals.count(inSliceOfLength: slice.lengthNs)
            while requestIndex < count {
                let intended = runStart &+ slice.startNs &+ arrivals.offsetNs(ofRequest: requestIndex)
                if intended > now {
                    let wait = Int64(clamping: intended - now)
                    loop.assumeIsolated().scheduleTask(in: .nanoseconds(wait)) { [self] in self.tick() }
                    return
                }
                issue(target: slice.target, intended: intended, measured: slice.measured)
                requestIndex += 1
            }
            sliceIndex += 1
            requestIndex = 0
        }
        issuing = false
        if outstanding == 0 { done.succeed() }
    }

    private func issue(target: Int, intended: UInt64, measured: Bool) {
        outstanding += 1
        issued += 1
        if measured { stats[target].sent += 1 }
        let finish: (Result<ExchangeOutcome, ExchangeFailure>) -> Void = { [self] result in
            if measured { self.record(result, target: target, intended: intended) }
            self.outstanding -= 1
            if !self.issuing, self.outstanding == 0 { self.done.succeed() }
        }
        switch client {
        case .nio(let pools):
            pools[target].submit(
                PendingExchange(template: templates[target], stream: stream, completion: finish))
        case .asyncHTTPClient(let http, let requests):
            let sentAt = monotonicNanoseconds()
            http.execute(request: requests[target], eventLoop: .delegate(on: loop)).assumeIsolated()
                .whenComplete { result in
                    switch result {
                    case .success(let response):
                        var outcome = ExchangeOutcome()
                        outcome.status = Int(response.status.code)
                        outcome.sentAt = sentAt
                        outcome.endAt = monotonicNanoseconds()
                        finish(.success(outcome))
                    case .failure(let error):
                        finish(.failure(.io(String(describing: error))))
                    }
                }
        }
    }

    private func record(_ result: Result<ExchangeOutcome, ExchangeFailure>, target: Int, intended: UInt64) {
        switch result {
        case .failure(let failure):
            stats[target].countError(failure.kind)
        case .success(let outcome):
            if outcome.sentAt > intended &+ 1_000_000 { stats[target].sentLate += 1 }
            guard (200..<300).contains(outcome.status) else {
                stats[target].countError("status \(outcome.status)")
                return
            }
            if stream {
                guard outcome.sawDone, let first = outcome.frameTimes.first else {
                    stats[target].countError("stream ended without data: [DONE]")
                    return
                }
                stats[target].ttft.record(nanoseconds: first &- intended)
                for (earlier, later) in zip(outcome.frameTimes, outcome.frameTimes.dropFirst()) {
                    stats[target].gaps.record(nanoseconds: later &- earlier)
                }
            }
            stats[target].succeeded += 1
            stats[target].latency.record(nanoseconds: outcome.endAt &- intended)
        }
    }
}
