import ArgumentParser
import FederationCore
import FederationCtl
import Foundation

/// What `infer` and `stream` send.
struct RequestOptions: ParsableArguments {
    @Option(help: "The model.") var model: String
    @Option(help: "Least privacy level (X-Federation-Privacy).") var privacy: String?
    @Option(help: "The caller's region (X-Federation-Region).") var region: String?
    @Option(help: "Maximum tokens to generate.") var maxTokens: Int?
    @Option(name: .customLong("header"), help: "An extra request header Name:Value (repeatable).")
    var headers: [String] = []
    @Argument(help: "The prompt or input (default: read from stdin).") var input: [String] = []

    func validate() throws {
        for header in headers where !header.contains(":") {
            throw ValidationError("--header '\(header)' is not Name:Value")
        }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens \(maxTokens) must be ≥ 1") }
    }

    func request(capability: String) throws -> InferRequest {
        var text = input.joined(separator: " ")
        if input.isEmpty {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard !text.isEmpty else { throw CtlError.usage("no input: give it as arguments or on stdin") }
        var request = InferRequest(capability: capability, model: model, input: text, maxTokens: maxTokens)
        if let privacy { request.headers["X-Federation-Privacy"] = privacy }
        if let region { request.headers["X-Federation-Region"] = region }
        for header in headers {
            let parts = header.split(separator: ":", maxSplits: 1)
            request.headers[String(parts[0]).trimmingCharacters(in: .whitespaces)] =
                parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : ""
        }
        return request
    }
}

struct Infer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "One request through a gateway; prints the answer and who served it (X-Federation-Node/Attempts).",
        discussion: """
            fedctl infer --model llama-3-8b "Say hi"                       (chat completion)
            fedctl infer --model bge-large --capability embed "some text"  (POST /v1/embeddings)
            fedctl infer --model reranker --capability custom:rerank "q"   (POST /v1/infer)
            """)

    @Option(help: "generate or code (chat), embed (embeddings), anything else via /v1/infer.")
    var capability = "generate"
    @OptionGroup var request: RequestOptions
    @OptionGroup var endpoints: Endpoints
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let request = try request.request(capability: capability)
        // A generation takes longer than a lookup: without --timeout, wait as long as a gateway does.
        var urls = endpoints.urls()
        if endpoints.timeout == nil { urls.timeout = .seconds(60) }
        try await runCtl(urls, output) { try await $0.infer(request) }
    }
}

struct Stream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A streamed chat completion through a gateway: tokens as they arrive, then a summary line.")

    @OptionGroup var request: RequestOptions
    @Option(help: "Longest silence between tokens, seconds (default 30).") var idleTimeout: Double = 30
    @OptionGroup var endpoints: Endpoints
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard idleTimeout.isFinite, idleTimeout > 0, idleTimeout <= 3600 else {
            throw ValidationError("--idle-timeout \(idleTimeout) must be in (0, 3600] seconds")
        }
    }

    func run() async throws {
        let request = try request.request(capability: "generate")
        let idle = Duration.seconds(checked: idleTimeout) ?? .seconds(30)
        try await ServiceClient.with(endpoints.urls(), readTimeout: idle) { client in
            try await Ctl(client: client, json: output.json).stream(request, idleTimeout: idle) {
                Output.write($0)
            }
        }
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Gateway statistics per replica and cluster-wide (GET /v1/stats?scope=cluster).")

    @Flag(help: "Only the replica at --gateway (GET /v1/stats).") var replica = false
    @OptionGroup var endpoints: Endpoints
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runCtl(endpoints, output) { try await $0.stats(replicaOnly: replica) }
    }
}

struct Cluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The local cluster (./scripts/cluster): up, down, status.",
        subcommands: [Up.self, Down.self, Status.self])

    struct Location: ParsableArguments {
        @Option(
            help:
                "The repository folder (env FEDCTL_REPO; default: found from the current folder or fedctl's)."
        )
        var repo: String?

        func run(_ action: String) async throws {
            let repository = repo ?? ProcessInfo.processInfo.environment["FEDCTL_REPO"]
            let script = try ClusterScript.locate(repository: repository)
            let status = try await ClusterScript.run(script: script, arguments: [action])
            if status != 0 { throw ExitCode(status == 2 ? 2 : 1) }
        }
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build and start the local cluster (or what is missing).")
        @OptionGroup var location: Location
        func run() async throws { try await location.run("up") }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop everything the launcher started.")
        @OptionGroup var location: Location
        func run() async throws { try await location.run("down") }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What runs, where.")
        @OptionGroup var location: Location
        func run() async throws { try await location.run("status") }
    }
}
