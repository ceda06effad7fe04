import ArgumentParser
import FederationCore
import FederationCtl
import FederationState

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Node health: state, latency, streaks (GET /v1/health).")

    @Argument(help: "Only this node.") var node: String?
    @OptionGroup var endpoints: Endpoints
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runCtl(endpoints, output) { try await $0.health(node: node) }
    }
}

struct Circuits: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every circuit breaker: state, consecutive failures, trips, time to half-open.")

    @OptionGroup var endpoints: Endpoints
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runCtl(endpoints, output) { try await $0.circuits() }
    }
}

struct Circuit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Force a node's circuit open or closed (operator override).",
        subcommands: [Open.self, Close.self])

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Open NODE's circuit (POST /v1/circuits/NODE/open); routing avoids it until it half-opens.")

        @Argument(help: "The node id.") var node: String
        @Option(help: "How long: 500ms, 90s, 10m, 2h, or seconds (default: the circuit's max_open_duration).")
        var duration: String?
        @OptionGroup var endpoints: Endpoints
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let duration, Format.parseDuration(duration).map({ $0 > .zero }) != true {
                throw ValidationError(
                    "--duration '\(duration)' is not a positive duration (500ms, 90s, 10m, 2h, 1d)")
            }
        }

        func run() async throws {
            let duration = duration.flatMap(Format.parseDuration)
            try await runCtl(endpoints, output) { try await $0.openCircuit(node: node, duration: duration) }
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close NODE's circuit (POST /v1/circuits/NODE/close).")

        @Argument(help: "The node id.") var node: String
        @OptionGroup var endpoints: Endpoints
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runCtl(endpoints, output) { try await $0.closeCircuit(node: node) }
        }
    }
}

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish a health observation on {ns}:health:reports through Redis (as gateways do).",
        discussion: """
            fedctl report us-west-gpu-01 --fail --status 503 --count 5    # opens its circuit
            fedctl report us-west-gpu-01 --ok --latency-ms 45 --tokens 128
            """)

    enum Outcome: String, EnumerableFlag {
        case ok, fail
        static func help(for value: Outcome) -> ArgumentHelp? {
            value == .ok ? "The request succeeded." : "The request failed."
        }
    }

    @Argument(help: "The node observed.") var node: String
    @Flag var outcome: Outcome
    @Option(help: "How long it took (ms).") var latencyMs: Double?
    @Option(help: "Tokens produced.") var tokens: Int?
    @Option(help: "The HTTP status the node answered with.") var status: Int?
    @Option(help: "Requests waiting at the node.") var queueDepth: Int?
    @Option(help: "GPU utilisation 0…1.") var gpuUtilization: Double?
    @Option(help: "Who reports.") var source = "fedctl"
    @Option(help: "Publish the report this many times (1…1000).") var count = 1
    @OptionGroup var endpoints: Endpoints
    @OptionGroup var output: OutputOptions

    var report: HealthReport {
        HealthReport(
            node: NodeId(node), ok: outcome == .ok, latencyMs: latencyMs, tokens: tokens, status: status,
            queueDepth: queueDepth, gpuUtilization: gpuUtilization, source: source)
    }

    func validate() throws {
        if let problem = report.validationProblem { throw ValidationError("invalid report: \(problem)") }
        guard (1...1000).contains(count) else { throw ValidationError("--count \(count) must be in 1…1000") }
    }

    func run() async throws {
        let report = report
        try await runCtl(endpoints, output) { try await $0.report(report, count: count) }
    }
}
