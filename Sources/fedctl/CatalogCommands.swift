import ArgumentParser
import FederationCtl
import Foundation

struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register (or renew) a node with its models in the catalog (POST /v1/deployments).",
        discussion: """
            fedctl register us-west-gpu-02 --region us-west --endpoint http://10.0.0.8:8000 \\
              --model llama-3-8b=generate+code --model bge-small=embed --gpu --privacy internal --cost 0.4
            fedctl register --file registration.json     (the catalog's JSON body as it is)
            """)

    @Argument(help: "The node id.") var node: String?
    @Option(help: "The node's region.") var region: String?
    @Option(help: "The node's base URL (http://host:port).") var endpoint: String?
    @Option(name: .customLong("model"), help: "A served model as name=cap+cap (repeatable).")
    var models: [String] = []
    @Flag(help: "The node has a GPU.") var gpu = false
    @Option(help: "public, internal, confidential or restricted.") var privacy: String?
    @Option(help: "Relative cost 0…1.") var cost: Double?
    @Option(name: .customLong("label"), help: "A label key=value (repeatable).") var labels: [String] = []
    @Option(help: "Register with a lease of this many seconds (the node must renew it).") var leaseSeconds:
        Double?
    @Option(help: "Send this JSON file as the registration body instead.") var file: String?
    @OptionGroup var endpoints: Endpoints
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if file != nil {
            if node != nil || region != nil || endpoint != nil || !models.isEmpty {
                throw ValidationError(
                    "--file replaces NODE, --region, --endpoint and --model: give one or the other")
            }
            return
        }
        guard node != nil else { throw ValidationError("give the node id (or --file)") }
        guard region != nil else { throw ValidationError("--region is required") }
        guard endpoint != nil else { throw ValidationError("--endpoint is required") }
        guard !models.isEmpty else { throw ValidationError("at least one --model name=cap+cap is required") }
        for model in models where ModelSpec(argument: model) == nil {
            throw ValidationError("--model '\(model)' is not name=cap+cap (e.g. llama-3-8b=generate+code)")
        }
        for label in labels where !label.contains("=") {
            throw ValidationError("--label '\(label)' is not key=value")
        }
        if let cost, !(0...1).contains(cost) { throw ValidationError("--cost \(cost) must be in 0…1") }
        if let leaseSeconds, !(leaseSeconds > 0 && leaseSeconds <= 86_400) {
            throw ValidationError("--lease-seconds \(leaseSeconds) must be in (0, 86400]")
        }
    }

    /// The body to send.
    func body() throws -> JSON {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CtlError.failed("cannot read \(file)")
            }
            guard let json = JSON.parse([UInt8](data)) else {
                throw CtlError.failed("\(file) is not valid JSON")
            }
            return json
        }
        var registration = Registration(
            node: node!, region: region!, endpoint: endpoint!,
            models: models.compactMap(ModelSpec.init(argument:)))
        registration.gpu = gpu
        registration.privacy = privacy
        registration.cost = cost
        registration.leaseSeconds = leaseSeconds
        for label in labels {
            let parts = label.split(separator: "=", maxSplits: 1)
            registration.labels[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return registration.body
    }

    func run() async throws {
        let body = try body()
        try await runCtl(endpoints, output) { try await $0.register(body) }
    }
}

struct Deregister: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove a node (DELETE /v1/nodes/NODE) or one of its deployments (--model).")

    @Argument(help: "The node id.") var node: String
    @Option(help: "Remove only this model's deployment on the node.") var model: String?
    @OptionGroup var endpoints: Endpoints
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runCtl(endpoints, output) { try await $0.deregister(node: node, model: model) }
    }
}

struct Nodes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The catalog's nodes (GET /v1/nodes).")

    @Option(help: "Only nodes serving this capability (generate, code, embed, …).") var capability: String?
    @OptionGroup var endpoints: Endpoints
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runCtl(endpoints, output) { try await $0.nodes(capability: capability) }
    }
}

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The catalog's models and where they are deployed.")

    @OptionGroup var endpoints: Endpoints
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runCtl(endpoints, output) { try await $0.models() }
    }
}
