import ArgumentParser
import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix

/// `federation-loadgen propagation`: replica propagation trials (`PropagationProbe`).
struct PropagationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "propagation",
        abstract:
            "Time from the first failing request through replica A until replica B routes around the node.")

    @Option(help: "Replica A: name=http://host:port/path (the failing requests go through it).")
    var via: String

    @Option(help: "Replica B: name=http://host:port/path (polled until it stops sending to the node).")
    var observe: String

    @Option(
        name: .customLong("fault-url"), help: "The node's fault API, e.g. http://127.0.0.1:9001/admin/faults."
    )
    var faultURL: String

    @Option(help: "The failing node as it appears in X-Federation-Node (its id; for nginx its address).")
    var node: String

    @Option(help: "The fault switched on (JSON for POST /admin/faults).")
    var fault = #"{"error_rate":1,"error_status":503}"#

    @Option(help: "Trials.")
    var trials = 50

    @Option(help: "Answers in a row from B that avoid the node before it counts as routed around.")
    var quiet = 20

    @Option(name: .customLong("trial-timeout"), help: "Seconds one trial may take (recovery included).")
    var trialTimeout: Double = 20

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let a = try Target(parsing: via)
        let b = try Target(parsing: observe)
        let admin = try Target(parsing: "faults=" + faultURL)
        guard (1...100_000).contains(trials) else {
            throw LoadgenError("--trials \(trials) must be in 1…100000")
        }
        guard (1...100_000).contains(quiet) else {
            throw LoadgenError("--quiet \(quiet) must be in 1…100000")
        }
        guard !node.isEmpty else { throw LoadgenError("--node must name the failing node") }
        let timeoutNs = try nanoseconds(trialTimeout, flag: "--trial-timeout", range: 0.1...3600)
        let body = try common.bodyBytes()
        let headers = try common.parsedHeaders()
        let method: HTTPMethod = body == nil ? .GET : .POST
        let loadBefore = loadAverage()

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let pools = try await loop.submit {
            [a, b, admin].map {
                NIOLoopBound(
                    TargetPool(target: $0, loop: loop, maxConnections: 1, timeoutNs: 5_000_000_000),
                    eventLoop: loop)
            }
        }.get()
        let probe = PropagationProbe(
            loop: loop, viaA: pools[0], observeB: pools[1], faultAdmin: pools[2],
            requestA: RequestTemplate(method: method, target: a, headers: headers, body: body),
            requestB: RequestTemplate(method: method, target: b, headers: headers, body: body),
            setFault: RequestTemplate(method: .POST, target: admin, headers: [], body: Array(fault.utf8)),
            clearFault: RequestTemplate(method: .DELETE, target: admin, headers: [], body: nil),
            nodeMarker: node, quietRequests: quiet, trialTimeoutNs: timeoutNs)

        var recorder = LatencyRecorder()
        var failures: [String: UInt64] = [:]
        for _ in 0..<trials {
            switch await probe.trial() {
            case .success(let ns): recorder.record(nanoseconds: ns)
            case .failure(let error): failures[error.description, default: 0] += 1
            }
        }
        _ = await exchange(loop, pools[2], probe.clearFault)
        try await loop.submit { pools.forEach { $0.value.closeAll() } }.get()
        try await group.shutdownGracefully()

        let report = PropagationReport(
            via: a.url, observe: b.url, node: node, trials: trials, succeeded: Int(recorder.count),
            failures: failures, propagation: recorder.summary, loadAverageBefore: loadBefore,
            loadAverageAfter: loadAverage())
        if common.json {
            try printJSON(report)
        } else {
            print("propagation \(a.url) → \(b.url), node \(node): \(report.succeeded)/\(trials) trials")
            if let s = report.propagation {
                print(
                    "  ms  p50 \(TextReport.format(s.p50))  p90 \(TextReport.format(s.p90))  "
                        + "p99 \(TextReport.format(s.p99))  max \(TextReport.format(s.max))")
            }
            for (reason, count) in failures.sorted(by: { $0.key < $1.key }) {
                print("  failed \(count)×: \(reason)")
            }
            print("  loadavg before: \(loadBefore), after: \(report.loadAverageAfter)")
        }
    }
}

struct PropagationReport: Codable, Sendable {
    var via: String
    var observe: String
    var node: String
    var trials: Int
    var succeeded: Int
    var failures: [String: UInt64]
    var propagation: LatencySummary?
    var loadAverageBefore: String
    var loadAverageAfter: String

    enum CodingKeys: String, CodingKey {
        case via, observe, node, trials, succeeded, failures, propagation
        case loadAverageBefore = "loadavg_before", loadAverageAfter = "loadavg_after"
    }
}
