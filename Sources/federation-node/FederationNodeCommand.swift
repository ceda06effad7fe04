import ArgumentParser
import FederationNode
import Foundation
import Hummingbird
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `federation-node`: an OpenAI-compatible inference node with configurable latency, token rate and faults.
struct FederationNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federation-node",
        abstract: "An OpenAI-compatible inference node with configurable latency, token rate and faults.",
        discussion:
            "Settings come from a YAML file (--config, its `node:` section), then FEDNODE_* environment "
            + "variables, then these flags; each overrides the one before. See docs/NODE.md.")

    @Option(help: "YAML file with a `node:` section.") var config: String?
    @Option(name: .customLong("node-id"), help: "Node id (default node-1).") var nodeId: String?
    @Option(help: "Region the node is in (default local).") var region: String?
    @Option(help: "Interface to bind (default 127.0.0.1).") var host: String?
    @Option(help: "Port to bind; 0 picks a free one (default 8000).") var port: Int?
    @Option(help: "Endpoint to advertise in the registration (default http://HOST:PORT).") var endpoint:
        String?
    @Option(
        name: .customLong("model"),
        help:
            "A served model as name=cap+cap (repeatable), caps: transcribe, synthesize, generate, code, embed, image_gen, custom:NAME."
    )
    var models: [String] = []
    @Option(help: "Whether the node has a GPU (true/false).") var gpu: Bool?
    @Option(
        help:
            "Latency before the first byte: fixed:MS | normal:MEAN,SD | lognormal:MEDIAN,P99 | pareto:MIN,P99."
    )
    var latency: String?
    @Option(name: .customLong("tokens-per-second"), help: "Generation rate; 0 = unlimited (default 50).")
    var tokensPerSecond: Double?
    @Option(
        name: .customLong("max-tokens"),
        help: "Tokens generated when a request has no max_tokens (default 16).")
    var maxTokens: Int?
    @Option(name: .customLong("embedding-dimension"), help: "Embedding vector size (default 384).")
    var embeddingDimension: Int?
    @Option(
        name: .customLong("max-concurrency"),
        help: "Requests served at once; more wait in a FIFO queue (default 64).")
    var maxConcurrency: Int?
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body (default 4194304).")
    var maxBodyBytes: Int?
    @Option(
        name: .customLong("header-timeout-ms"),
        help:
            "Close a connection whose request head is not complete this long after it opened (default 10000)."
    )
    var headerTimeoutMs: Int?
    @Option(
        name: .customLong("idle-timeout-ms"),
        help: "Close a connection idle (no request in progress) this long (default 75000).")
    var idleTimeoutMs: Int?
    @Option(
        name: .customLong("max-connections"),
        help: "Connections served at once; more wait until one closes (default 1024).")
    var maxConnections: Int?
    @Option(help: "Seed for latency and fault dice (default 42).") var seed: UInt64?
    @Option(
        name: .customLong("register-url"),
        help: "Catalog base URL to self-register at (POST URL/v1/deployments).")
    var registerURL: String?
    @Option(
        name: .customLong("register-token"),
        help: "Bearer token sent with registrations (the catalog's admin token, when it has one).")
    var registerToken: String?
    @Option(
        name: .customLong("register-interval"), help: "Seconds between registration renewals (default 10).")
    var registerInterval: Double?
    @Flag(name: .customLong("print-registration"), help: "Print the registration JSON and exit.")
    var printRegistration = false
    @Option(
        name: .customLong("log-level"),
        help: "trace, debug, info, notice, warning, error, critical (default info).")
    var logLevel: String?

    @Option(
        name: .customLong("error-rate"), help: "Fault: fraction of requests answered with --error-status.")
    var errorRate: Double?
    @Option(name: .customLong("error-status"), help: "Fault: status of injected errors (default 500).")
    var errorStatus: Int?
    @Option(name: .customLong("rate-limit-rate"), help: "Fault: fraction of requests answered 429.")
    var rateLimitRate: Double?
    @Option(
        name: .customLong("retry-after-seconds"), help: "Fault: Retry-After of injected 429s (default 1).")
    var retryAfterSeconds: Int?
    @Option(name: .customLong("hang-rate"), help: "Fault: fraction of requests never answered.") var hangRate:
        Double?
    @Option(name: .customLong("stall-after-tokens"), help: "Fault: stall streams after this many tokens.")
    var stallAfterTokens: Int?
    @Option(name: .customLong("stall-seconds"), help: "Fault: how long a stream stalls.") var stallSeconds:
        Double?
    @Option(name: .customLong("crash-after-requests"), help: "Fault: exit on the request after this many.")
    var crashAfterRequests: Int?
    @Option(
        name: .customLong("crash-after-tokens"),
        help: "Fault: exit in the middle of a stream, after this many tokens.")
    var crashAfterTokens: Int?
    @Option(
        help:
            "Declare (label federation.resume) that this node continues broken-off chat streams (true/false, default true)."
    )
    var resume: Bool?
    @Option(help: "Fault: /health answers 503 unhealthy (true/false).") var unhealthy: Bool?

    /// Flag values by setting key, in the order they are applied.
    var flagSettings: [(String, String?)] {
        [
            ("node_id", nodeId), ("region", region), ("host", host), ("port", port.map(String.init)),
            ("endpoint", endpoint), ("models", models.isEmpty ? nil : models.joined(separator: ",")),
            ("gpu", gpu.map(String.init)), ("resume", resume.map(String.init)), ("latency", latency),
            ("tokens_per_second", tokensPerSecond.map { String($0) }),
            ("max_tokens", maxTokens.map(String.init)),
            ("embedding_dimension", embeddingDimension.map(String.init)),
            ("max_concurrency", maxConcurrency.map(String.init)),
            ("max_body_bytes", maxBodyBytes.map(String.init)),
            ("header_timeout_ms", headerTimeoutMs.map(String.init)),
            ("idle_timeout_ms", idleTimeoutMs.map(String.init)),
            ("max_connections", maxConnections.map(String.init)),
            ("seed", seed.map { String($0) }), ("register_url", registerURL),
            ("register_token", registerToken),
            ("register_interval", registerInterval.map { String($0) }),
            ("error_rate", errorRate.map { String($0) }),
            ("error_status", errorStatus.map(String.init)),
            ("rate_limit_rate", rateLimitRate.map { String($0) }),
            ("retry_after_seconds", retryAfterSeconds.map(String.init)),
            ("hang_rate", hangRate.map { String($0) }),
            ("stall_after_tokens", stallAfterTokens.map(String.init)),
            ("stall_seconds", stallSeconds.map { String($0) }),
            ("crash_after_requests", crashAfterRequests.map(String.init)),
            ("crash_after_tokens", crashAfterTokens.map(String.init)),
            ("unhealthy", unhealthy.map(String.init)),
        ]
    }

    func run() async throws {
        try await serve()
    }

    /// Loads the configuration and runs the node until SIGTERM/SIGINT.
    func serve() async throws {
        // Writes to a closed socket must fail with EPIPE, not kill the process.
        signal(SIGPIPE, SIG_IGN)

        var configuration = NodeConfiguration()
        do {
            if let config {
                let text = try String(contentsOfFile: config, encoding: .utf8)
                try configuration.apply(yaml: text, source: config)
            }
            try configuration.apply(environment: ProcessInfo.processInfo.environment)
            for case (let key, let value?) in flagSettings {
                try configuration.set(key, to: value)
            }
            try configuration.validate()
        } catch let error as NodeConfigurationError {
            throw ValidationError(error.description)
        }

        if printRegistration {
            print(try NodeRegistration(configuration: configuration).json())
            return
        }

        let level = logLevel ?? ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "info"
        guard let parsedLevel = Logger.Level(rawValue: level) else {
            throw ValidationError(
                "--log-level must be one of \(Logger.Level.allCases.map(\.rawValue)), got '\(level)'")
        }
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "federation-node")
        logger.logLevel = parsedLevel

        let (startupLogger, host, region) = (logger, configuration.host, configuration.region)
        let app = try buildNodeApplication(configuration: configuration, logger: logger) { port in
            startupLogger.notice(
                "federation-node listening",
                metadata: ["host": "\(host)", "port": "\(port)", "region": "\(region)"])
        }
        try await app.runService()
    }
}
