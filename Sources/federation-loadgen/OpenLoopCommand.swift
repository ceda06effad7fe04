import ArgumentParser
import AsyncHTTPClient
import FederationCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// `federation-loadgen [run]`: open-loop load on one or more targets, interleaved; or `--hold N`.
struct OpenLoopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Open-loop load on several targets side by side (interleaved slices), or --hold N streams.")

    @Option(name: .customLong("target"), help: "name=http://host:port/path (repeatable; run side by side).")
    var targets: [String] = []

    @Option(help: "Requests per second sent to the target whose slice it is.")
    var rate: Double = 1000

    @Option(help: "Measured seconds per target.")
    var duration: Double = 10

    @Option(help: "Warm-up seconds per target before measuring (not recorded).")
    var warmup: Double = 2

    @Option(help: "Seconds per slice: targets take turns in slices this long.")
    var slice: Double = 1

    @Option(help: "Most connections per target (requests beyond wait for one, and that wait counts).")
    var connections: Int = 64

    @Option(help: "Seconds before an unanswered request counts as a timeout.")
    var timeout: Double = 10

    @Flag(
        help: "Stream (the body should ask for \"stream\": true): time to first data frame, inter-token gaps."
    )
    var stream = false

    @Option(
        help:
            "Open this many concurrent streams to each target (one after the other) and hold them until they end."
    )
    var hold: Int?

    @Option(
        name: .customLong("watch-pid"),
        help: "With --hold: report this process's RSS before, while held, after.")
    var watchPID: Int32?

    @Option(
        help:
            "HTTP client: nio (our own SwiftNIO connections) or ahc (AsyncHTTPClient, not with --stream/--hold)."
    )
    var client: String = "nio"

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let parsedTargets = try targets.map { try Target(parsing: $0) }
        guard !parsedTargets.isEmpty else {
            throw LoadgenError("give at least one --target name=http://host:port/path")
        }
        guard rate.isFinite, rate > 0, rate <= 1_000_000 else {
            throw LoadgenError("--rate \(rate) must be a number of requests per second in (0, 1000000]")
        }
        guard (1...100_000).contains(connections) else {
            throw LoadgenError("--connections \(connections) must be in 1…100000")
        }
        if let hold, !(1...100_000).contains(hold) {
            throw LoadgenError("--hold \(hold) must be in 1…100000")
        }
        guard client == "nio" || client == "ahc" else {
            throw LoadgenError("--client '\(client)' must be nio or ahc")
        }
        if client == "ahc", stream || hold != nil {
            throw LoadgenError("--client ahc measures plain requests only; use nio with --stream or --hold")
        }
        let durationNs = try nanoseconds(duration, flag: "--duration", range: 0.001...86_400)
        let warmupNs = try nanoseconds(warmup, flag: "--warmup", range: 0...86_400)
        let sliceNs = try nanoseconds(slice, flag: "--slice", range: 0.001...86_400)
        let timeoutNs = try nanoseconds(timeout, flag: "--timeout", range: 0.001...86_400)
        let body = try common.bodyBytes()
        let headers = try common.parsedHeaders()
        let templates = parsedTargets.map {
            RequestTemplate(method: body == nil ? .GET : .POST, target: $0, headers: headers, body: body)
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let loadBefore = loadAverage()
        let cpuBefore = processCPUMicroseconds()
        var reports: [TargetReport] = []
        var sentTotal: UInt64 = 0
        do {
            if let hold {
                for (target, template) in zip(parsedTargets, templates) {
                    let (stats, held) = try await holdStreams(
                        loop: loop, target: target, template: template, streams: hold, timeoutNs: timeoutNs)
                    var report = makeReport(target: target, stats: stats, requestedRate: Double(hold))
                    report.hold = held
                    reports.append(report)
                    sentTotal += stats.sent
                }
            } else {
                let slices = SliceSchedule.slices(
                    targets: parsedTargets.count, durationNs: durationNs, warmupNs: warmupNs, sliceNs: sliceNs
                )
                let (stats, issued) = try await openLoop(
                    loop: loop, group: group, targets: parsedTargets, templates: templates, slices: slices,
                    timeoutNs: timeoutNs, body: body, headers: headers)
                for (target, stat) in zip(parsedTargets, stats) {
                    reports.append(makeReport(target: target, stats: stat, requestedRate: rate))
                }
                sentTotal = issued
            }
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
        let cpu = processCPUMicroseconds() - cpuBefore
        let result = RunReport(
            mode: hold != nil ? "hold" : stream ? "open-loop stream" : "open-loop", client: client,
            loadAverageBefore: loadBefore, loadAverageAfter: loadAverage(),
            loadgenCPUMicrosecondsPerRequest: sentTotal > 0 ? cpu / Double(sentTotal) : nil, targets: reports)
        if common.json { try printJSON(result) } else { print(TextReport.render(result)) }
    }

    private func makeReport(target: Target, stats: TargetStats, requestedRate: Double) -> TargetReport {
        let seconds = Double(stats.measuredNs) / 1e9
        return TargetReport(
            name: target.name, url: target.url, requestedRate: requestedRate, measuredSeconds: seconds,
            sent: stats.sent, succeeded: stats.succeeded, failed: stats.failed,
            achievedRate: seconds > 0 ? Double(stats.succeeded) / seconds : 0, errors: stats.errors,
            latency: stats.latency.summary, timeToFirstToken: stats.ttft.summary,
            interTokenGap: stats.gaps.summary, sentLate: stats.sentLate, hold: nil)
    }

    private func openLoop(
        loop: any EventLoop, group: MultiThreadedEventLoopGroup, targets: [Target],
        templates: [RequestTemplate],
        slices: [Slice], timeoutNs: UInt64, body: [UInt8]?, headers: [(String, String)]
    ) async throws -> ([TargetStats], UInt64) {
        let rate = self.rate
        let stream = self.stream
        let connections = self.connections
        if client == "ahc" {
            var configuration = HTTPClient.Configuration(
                redirectConfiguration: .disallow,
                timeout: .init(connect: .seconds(10), read: .nanoseconds(Int64(clamping: timeoutNs))))
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
            let http = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
            var requests: [HTTPClient.Request] = []
            do {
                for target in targets {
                    var fields = HTTPHeaders(headers)
                    if body != nil, !fields.contains(name: "Content-Type") {
                        fields.add(name: "Content-Type", value: "application/json")
                    }
                    requests.append(
                        try HTTPClient.Request(
                            url: target.url, method: body == nil ? .GET : .POST, headers: fields,
                            body: body.map { .bytes($0) }))
                }
            } catch {
                try await http.shutdown()
                throw LoadgenError("AsyncHTTPClient rejected a target URL: \(error)")
            }
            let built = requests
            let result = try await loop.flatSubmit {
                OpenLoopRun(
                    loop: loop, client: .asyncHTTPClient(http, built), templates: templates, slices: slices,
                    rate: rate, stream: false
                ).runCollecting()
            }.get()
            try await http.shutdown()
            return result
        }
        return try await loop.flatSubmit {
            let pools = targets.map {
                TargetPool(target: $0, loop: loop, maxConnections: connections, timeoutNs: timeoutNs)
            }
            // Open a few connections per target up front; more open on demand.
            let ready = EventLoopFuture.andAllComplete(
                pools.map { $0.preconnect(min(connections, 8)) }, on: loop)
            return ready.assumeIsolated().flatMap {
                OpenLoopRun(
                    loop: loop, client: .nio(pools), templates: templates, slices: slices, rate: rate,
                    stream: stream
                ).runCollecting()
            }.always { _ in pools.forEach { $0.closeAll() } }.nonisolated()
        }.get()
    }

    private func holdStreams(
        loop: any EventLoop, target: Target, template: RequestTemplate, streams: Int, timeoutNs: UInt64
    ) async throws -> (TargetStats, HoldReport) {
        let watchPID = self.watchPID
        return try await loop.flatSubmit {
            let pool = TargetPool(target: target, loop: loop, maxConnections: streams, timeoutNs: timeoutNs)
            let run = HoldRun(
                loop: loop, pool: pool, template: template, streams: streams, watchPID: watchPID)
            return run.run().assumeIsolated().map { report in (run.stats, report) }
                .always { _ in pool.closeAll() }.nonisolated()
        }.get()
    }
}

extension OpenLoopRun {
    /// Runs and hands back the per-target statistics.
    func runCollecting() -> EventLoopFuture<([TargetStats], UInt64)> {
        run().assumeIsolated().map { (self.stats, self.issued) }.nonisolated()
    }
}
