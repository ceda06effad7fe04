import FederationCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A model the node serves, with what it can do.
public struct ServedModel: Sendable, Hashable, Codable {
    /// The model id clients put in `"model"`.
    public var name: String
    /// What the model can do (decides which endpoints accept it).
    public var capabilities: [Capability]

    public init(name: String, capabilities: [Capability]) {
        self.name = name
        self.capabilities = capabilities
    }

    /// Parses `name=cap1+cap2` (the flag and environment form), e.g. `llama-3-8b=generate+code`.
    public init(parsing text: String) throws(NodeConfigurationError) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .invalid(
                "model '\(text)' must look like name=capability[+capability…], e.g. llama-3-8b=generate+code")
        }
        var capabilities: [Capability] = []
        for word in parts[1].split(separator: "+") {
            do {
                capabilities.append(try Capability(parsing: String(word)))
            } catch {
                throw .invalid("model '\(parts[0])': \(error.message)")
            }
        }
        self.init(name: parts[0], capabilities: capabilities)
    }

    /// The models a node serves when none are configured: one per built-in capability.
    public static let defaults: [ServedModel] = [
        ServedModel(name: "fed-chat", capabilities: [.generate, .code]),
        ServedModel(name: "fed-embed", capabilities: [.embed]),
        ServedModel(name: "fed-whisper", capabilities: [.transcribe]),
        ServedModel(name: "fed-tts", capabilities: [.synthesize]),
        ServedModel(name: "fed-image", capabilities: [.imageGen]),
    ]
}

/// A configuration value that could not be used; the message names the setting and what to write instead.
public enum NodeConfigurationError: Error, Sendable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let message): message
        }
    }
}

/// Everything a `federation-node` needs to run. Defaults give a fast, fault-free node on 127.0.0.1:8000.
public struct NodeConfiguration: Sendable {
    /// The node's id (as registered in the catalog and reported in `/health`).
    public var nodeId: String = "node-1"
    /// The region the node claims to be in.
    public var region: String = "local"
    /// Interface to bind.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks a free port.
    public var port: Int = 8000
    /// The endpoint other services should call; defaults to `http://{host}:{port}`.
    public var advertisedEndpoint: String?
    /// The models served and their capabilities.
    public var models: [ServedModel] = ServedModel.defaults
    /// Whether the node claims a GPU (shows in `/health` and the registration).
    public var gpu: Bool = false
    /// Declare in the registration (label `federation.resume`) that this node continues a stream
    /// another node broke off (`continue_final_message`), for its `generate` and `code` models.
    public var resume: Bool = true
    /// Time before the first byte of every inference response.
    public var latency: LatencyDistribution = .fixed(milliseconds: 0)
    /// Tokens per second for generation; 0 means as fast as possible.
    public var tokensPerSecond: Double = 50
    /// Tokens generated when the request has no `max_tokens`.
    public var defaultMaxTokens: Int = 16
    /// Dimension of embedding vectors (a request's `dimensions` overrides it).
    public var embeddingDimension: Int = 384
    /// Requests served at once; more wait in a FIFO queue.
    public var maxConcurrency: Int = 64
    /// Largest request body accepted, in bytes (larger gets 413).
    public var maxBodyBytes: Int = 4 * 1024 * 1024
    /// Header-read and idle timeouts and the connection cap of the HTTP server (as every service).
    public var server = ServerLimits()
    /// Seed for latency sampling and fault decisions (generated text is always derived from the prompt).
    public var seed: UInt64 = 42
    /// Faults active from the start (changeable at run time via `/admin/faults`).
    public var faults: FaultSettings = FaultSettings()
    /// Catalog base URL to self-register at (`POST {url}/v1/deployments`); nil disables it.
    public var registerURL: String?
    /// Sent as `Authorization: Bearer <token>` with registrations (the catalog's admin token).
    public var registerToken: String?
    /// Seconds between registration renewals (the lease is three times this).
    public var registrationIntervalSeconds: Double = 10
    /// What "crash" does when the crash fault fires. The executable exits the process; tests record it.
    public var crashAction: @Sendable (_ reason: String) -> Void = { reason in
        print("federation-node: crashing on purpose: \(reason)")
        exitProcess(70)
    }

    public init() {}

    /// The endpoint written into the registration.
    public var endpoint: String {
        advertisedEndpoint ?? "http://\(host):\(port)"
    }

    /// The union of the served models' capabilities, in a stable order.
    public var capabilities: [Capability] {
        Array(Set(models.flatMap(\.capabilities))).sorted()
    }

    /// Checks that the values make sense together; the error names the setting to fix.
    public func validate() throws(NodeConfigurationError) {
        if let problem = Identifier.problem(with: nodeId, kind: "node id") { throw .invalid(problem) }
        if let problem = Identifier.problem(with: region, kind: "region") { throw .invalid(problem) }
        guard (0...65535).contains(port) else { throw .invalid("port \(port) is outside 0…65535") }
        guard !models.isEmpty else {
            throw .invalid("at least one model is required (--model name=generate)")
        }
        let names = models.map(\.name)
        guard Set(names).count == names.count else { throw .invalid("model names must be unique: \(names)") }
        for model in models where model.capabilities.isEmpty {
            throw .invalid("model '\(model.name)' has no capabilities")
        }
        guard tokensPerSecond == 0 || (0.01...1_000_000).contains(tokensPerSecond) else {
            throw .invalid(
                "tokens-per-second must be 0 (unlimited) or in 0.01…1000000, got \(tokensPerSecond)")
        }
        guard defaultMaxTokens >= 1 else { throw .invalid("default max tokens must be ≥ 1") }
        guard (1...65536).contains(embeddingDimension) else {
            throw .invalid("embedding dimension must be in 1…65536, got \(embeddingDimension)")
        }
        guard maxConcurrency >= 1 else {
            throw .invalid("max concurrency must be ≥ 1, got \(maxConcurrency)")
        }
        guard maxBodyBytes >= 1024 else {
            throw .invalid("max body bytes must be ≥ 1024, got \(maxBodyBytes)")
        }
        guard registrationIntervalSeconds > 0, registrationIntervalSeconds <= 86_400 else {
            throw .invalid(
                "register_interval must be in (0, 86400] seconds, got \(registrationIntervalSeconds)")
        }
        if let problem = faults.validationProblem { throw .invalid(problem) }
        if let problem = server.problem(keyPrefix: "") { throw .invalid(problem) }
    }
}

/// Ends the process with `code` (the default crash action).
func exitProcess(_ code: Int32) -> Never {
    exit(code)
}
