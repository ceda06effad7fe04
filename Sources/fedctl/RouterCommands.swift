import ArgumentParser
import FederationCtl
import Foundation

/// The routing query options shared by `route`.
struct QueryOptions: ParsableArguments {
    @Option(help: "generate, code, embed, transcribe, synthesize, image_gen, custom:NAME.") var capability =
        "generate"
    @Option(help: "Only this model's deployments.") var model: String?
    @Option(help: "Least privacy level: public, internal, confidential, restricted.") var privacy: String?
    @Option(help: "Slowest typical (p50) latency accepted, ms.") var maxLatencyMs: Double?
    @Option(help: "Least throughput, tokens/s.") var minThroughput: Double?
    @Flag(inversion: .prefixedNo, help: "Prefer GPU nodes (the router's default: yes).") var preferGpu: Bool?
    @Option(help: "0 (cheapest) … 100 (fastest).") var costTolerance: Int?
    @Option(help: "Tenant (affinity).") var tenant: String?
    @Option(help: "The caller's region (locality).") var region: String?
    @Option(help: "Consistent-hash key (session).") var affinityKey: String?
    @Option(help: "A node already tried: never chosen (repeatable).") var exclude: [String] = []

    func validate() throws {
        for (name, value) in [("--max-latency-ms", maxLatencyMs), ("--min-throughput", minThroughput)] {
            if let value, !(value.isFinite && value >= 0) {
                throw ValidationError("\(name) \(value) must be a finite number ≥ 0")
            }
        }
        if let costTolerance, !(0...100).contains(costTolerance) {
            throw ValidationError("--cost-tolerance \(costTolerance) must be in 0…100")
        }
    }

    var query: RouteQuery {
        var query = RouteQuery(capability: capability)
        query.model = model
        query.privacy = privacy
        query.maxLatencyMs = maxLatencyMs
        query.minThroughput = minThroughput
        query.preferGPU = preferGpu
        query.costTolerance = costTolerance
        query.tenant = tenant
        query.originRegion = region
        query.affinityKey = affinityKey
        query.exclude = exclude
        return query
    }
}

struct Route: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Where the router would send a request now (POST /v1/route); --explain shows every candidate.",
        discussion: """
            fedctl route --capability embed --privacy confidential
            fedctl route --model llama-3-8b --region eu-west --explain
            """)

    @OptionGroup var query: QueryOptions
    @Flag(help: "The candidate table (POST /v1/candidates): every policy's score and the rejection reasons.")
    var explain = false
    @OptionGroup var endpoints: Endpoints
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let query = query.query
        try await runCtl(endpoints, output) { ctl in
            explain ? try await ctl.explain(query) : try await ctl.route(query)
        }
    }
}

struct Policy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The routing policy the router owns: get, set, edit.",
        subcommands: [Get.self, Set.self, Edit.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The policy in effect (GET /v1/policy).")
        @OptionGroup var endpoints: Endpoints
        @OptionGroup var output: OutputOptions

        func run() async throws { try await runCtl(endpoints, output) { try await $0.policyGet() } }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Change the policy: fields KEY=VALUE (PATCH, a merge) or --file DOC (PUT, a whole document).",
            discussion: """
                fedctl policy set --strategy round_robin
                fedctl policy set min_score=0.2 weights.locality=2 'regions.ap-south={"privacy":"public","cost":0.3}'
                fedctl policy set --file policy.json --if-match 7
                A VALUE is JSON when it parses as JSON, else a string; null resets a field to its default.
                """)

        @Option(
            help:
                "The strategy (round_robin, least_connections, least_latency, weighted_random, consistent_hash, p2c_ewma)."
        )
        var strategy: String?
        @Option(help: "PUT this JSON document (omitted fields take their defaults).") var file: String?
        @Option(help: "Only if the policy is still at this version (412 otherwise).") var ifMatch: Int?
        @Argument(help: "KEY=VALUE fields to PATCH (dotted keys nest: weights.latency=2).") var fields:
            [String] = []
        @OptionGroup var endpoints: Endpoints
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if file != nil, strategy != nil || !fields.isEmpty {
                throw ValidationError(
                    "--file sends a whole document: give it alone, or use --strategy / KEY=VALUE")
            }
            if file == nil, strategy == nil, fields.isEmpty {
                throw ValidationError("nothing to change: give --strategy, KEY=VALUE fields or --file")
            }
            _ = try change()
        }

        func change() throws -> PolicyChange {
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw ValidationError("cannot read \(file)")
                }
                guard let document = JSON.parse([UInt8](data)) else {
                    throw ValidationError("\(file) is not valid JSON")
                }
                return .replace(document)
            }
            do {
                var fields = fields
                if let strategy { fields.insert("strategy=\(strategy)", at: 0) }
                return .patch(try PolicyChange.patch(fields: fields))
            } catch let error as CtlError {
                throw ValidationError(error.description)
            }
        }

        func run() async throws {
            let change = try change()
            try await runCtl(endpoints, output) { try await $0.policySet(change, ifMatch: ifMatch) }
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Edit the policy in $VISUAL/$EDITOR; validated and PUT (If-Match) when you save.",
            discussion: "An invalid document shows the router's message and keeps your file for another try.")

        @Option(help: "The editor command (default $VISUAL, else $EDITOR, else vi).") var editor: String?
        @OptionGroup var endpoints: Endpoints
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let editor = editor ?? Ctl.defaultEditor()
            try await runCtl(endpoints, output) { try await $0.policyEdit(editor: editor) }
        }
    }
}
