import FederationCore
import FederationHTTP
import Foundation
import NIOCore

/// The body of `POST /v1/deployments`: a node and every model it serves. The shape a
/// `federation-node` sends (`node_id`, `region`, `endpoint`, `gpu`, `models[{name, capabilities}]`,
/// `lease_seconds`) plus optional `privacy`, `cost`, `labels`, `lease` and per-model metadata.
/// Unknown keys are ignored (forward compatibility).
public struct RegistrationRequest: Sendable, Codable, Equatable {
    /// One model served by the node.
    public struct Model: Sendable, Codable, Equatable {
        public var name: String
        public var capabilities: [Capability]
        /// Optional metadata; when any is given the model's metadata is replaced with it.
        public var version: String?
        public var parameters: UInt64?
        public var quantization: String?

        public init(
            name: String, capabilities: [Capability], version: String? = nil, parameters: UInt64? = nil,
            quantization: String? = nil
        ) {
            self.name = name
            self.capabilities = capabilities
            self.version = version
            self.parameters = parameters
            self.quantization = quantization
        }

        enum CodingKeys: String, CodingKey { case name, capabilities, version, parameters, quantization }

        /// `parameters` goes through the checked decoder: `-1` or `1.5` is a 400 naming
        /// `models[i].parameters` (Foundation alone calls it "not valid JSON").
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            capabilities = try c.decode([Capability].self, forKey: .capabilities)
            version = try c.decodeIfPresent(String.self, forKey: .version)
            parameters = try c.decodeInteger(UInt64.self, forKey: .parameters, in: 1...UInt64.max)
            quantization = try c.decodeIfPresent(String.self, forKey: .quantization)
        }

        /// Whether the registration carries metadata for this model.
        var hasMetadata: Bool { version != nil || parameters != nil || quantization != nil }
    }

    public var nodeId: String
    public var region: String
    public var endpoint: String
    public var gpu: Bool?
    public var models: [Model]
    /// Seconds the registration holds without renewal; absent = permanent (unless `lease`).
    public var leaseSeconds: Double?
    /// `true` asks for a lease of the configured default length when `lease_seconds` is absent.
    public var lease: Bool?
    public var privacy: String?
    public var cost: Double?
    public var labels: [String: String]?

    enum CodingKeys: String, CodingKey {
        case nodeId = "node_id"
        case region, endpoint, gpu, models
        case leaseSeconds = "lease_seconds"
        case lease, privacy, cost, labels
    }

    public init(
        nodeId: String, region: String, endpoint: String, gpu: Bool? = nil, models: [Model],
        leaseSeconds: Double? = nil, lease: Bool? = nil, privacy: String? = nil, cost: Double? = nil,
        labels: [String: String]? = nil
    ) {
        self.nodeId = nodeId
        self.region = region
        self.endpoint = endpoint
        self.gpu = gpu
        self.models = models
        self.leaseSeconds = leaseSeconds
        self.lease = lease
        self.privacy = privacy
        self.cost = cost
        self.labels = labels
    }
}

/// A registration that passed every check: what the writer stores, nothing left to validate.
struct ValidatedRegistration: Sendable {
    var node: NodeInfo
    var models: [RegistrationRequest.Model]
    /// nil = permanent.
    var lease: Duration?
}

/// The limits a registration is checked against.
enum RegistrationLimits {
    static let maximumModels = 256
    static let maximumLabels = 64
    static let maximumLabelValueBytes = 1024
    static let maximumTextBytes = 128
    static let maximumLeaseSeconds = 86_400.0
}

extension RegistrationRequest {
    /// Checks every field before anything is written. Throws a 400 ``OpenAIError`` whose `param`
    /// names the field, e.g. `models[1].name`.
    func validated(defaultLease: Duration) throws(OpenAIError) -> ValidatedRegistration {
        func fail(_ param: String, _ message: String) -> OpenAIError {
            .invalid("Invalid '\(param)': \(message)", param: param, code: "invalid_value")
        }
        if let problem = Identifier.problem(with: nodeId, kind: "node id") { throw fail("node_id", problem) }
        if let problem = Identifier.problem(with: region, kind: "region") { throw fail("region", problem) }
        let endpoint: String
        switch EndpointURL.normalize(self.endpoint) {
        case .success(let normalized): endpoint = normalized
        case .failure(let problem): throw fail("endpoint", problem.message)
        }
        var privacyLevel: PrivacyLevel?
        if let privacy {
            do throws(FederationError) {
                privacyLevel = try PrivacyLevel(parsing: privacy)
            } catch { throw fail("privacy", error.message) }
        }
        if let cost, !(cost.isFinite && (0...1).contains(cost)) {
            throw fail("cost", "\(cost) is outside 0…1")
        }
        let labels = self.labels ?? [:]
        if labels.count > RegistrationLimits.maximumLabels {
            throw fail("labels", "at most \(RegistrationLimits.maximumLabels) labels, got \(labels.count)")
        }
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            if key.isEmpty || key.utf8.count > RegistrationLimits.maximumTextBytes {
                throw fail("labels", "a label name must have 1…\(RegistrationLimits.maximumTextBytes) bytes")
            }
            if value.utf8.count > RegistrationLimits.maximumLabelValueBytes {
                throw fail("labels.\(key)", "longer than \(RegistrationLimits.maximumLabelValueBytes) bytes")
            }
            if key == NodeInfo.resumeLabel {
                for entry in NodeInfo.resumeEntries(value) {
                    do {
                        _ = try Capability(parsing: entry)
                    } catch {
                        throw fail(
                            "labels.\(key)",
                            "'\(entry)' is not a capability (a comma-separated list such as generate,code)")
                    }
                }
            }
        }
        try validateModels(fail)
        let lease = try validatedLease(defaultLease: defaultLease, fail)
        let node = NodeInfo(
            id: NodeId(nodeId), region: RegionId(region), endpoint: endpoint, gpu: gpu ?? false,
            privacy: privacyLevel, cost: cost, labels: labels)
        if let problem = node.validationProblem { throw fail("node", problem) }
        return ValidatedRegistration(node: node, models: models, lease: lease)
    }

    private func validateModels(_ fail: (String, String) -> OpenAIError) throws(OpenAIError) {
        if models.isEmpty { throw fail("models", "a node must serve at least one model") }
        if models.count > RegistrationLimits.maximumModels {
            throw fail("models", "at most \(RegistrationLimits.maximumModels) models, got \(models.count)")
        }
        var seen: Set<String> = []
        for (index, model) in models.enumerated() {
            let path = "models[\(index)]"
            if let problem = Identifier.problem(with: model.name, kind: "model name") {
                throw fail("\(path).name", problem)
            }
            if !seen.insert(model.name).inserted {
                throw fail("\(path).name", "model '\(model.name)' is listed twice")
            }
            if model.capabilities.isEmpty {
                throw fail("\(path).capabilities", "model '\(model.name)' needs at least one capability")
            }
            if let version = model.version,
                version.isEmpty || version.utf8.count > RegistrationLimits.maximumTextBytes
            {
                throw fail("\(path).version", "must have 1…\(RegistrationLimits.maximumTextBytes) bytes")
            }
            if let quantization = model.quantization,
                quantization.isEmpty || quantization.utf8.count > RegistrationLimits.maximumTextBytes
            {
                throw fail("\(path).quantization", "must have 1…\(RegistrationLimits.maximumTextBytes) bytes")
            }
            if model.parameters == 0 { throw fail("\(path).parameters", "must be a positive integer") }
        }
    }

    private func validatedLease(
        defaultLease: Duration, _ fail: (String, String) -> OpenAIError
    ) throws(OpenAIError) -> Duration? {
        if let seconds = leaseSeconds {
            guard seconds.isFinite, seconds > 0, seconds <= RegistrationLimits.maximumLeaseSeconds else {
                throw fail(
                    "lease_seconds",
                    "\(seconds) is outside (0, \(Int(RegistrationLimits.maximumLeaseSeconds))]; "
                        + "omit it for a permanent registration")
            }
            guard let lease = Duration.seconds(checked: seconds) else {
                throw fail("lease_seconds", "\(seconds) is not a representable duration")
            }
            return lease
        }
        return lease == true ? defaultLease : nil
    }
}

/// Checks the `endpoint` a node registers: an absolute `http://` or `https://` URL with a host,
/// optional port and path, no query, fragment or credentials. A trailing `/` is removed (the
/// gateway appends `/v1/…` to it).
enum EndpointURL {
    /// Why an endpoint was refused.
    struct Problem: Error {
        let message: String
    }

    static let maximumLength = 2048

    static func normalize(_ text: String) -> Result<String, Problem> {
        if text.isEmpty { return .failure(Problem(message: "endpoint is empty")) }
        if text.utf8.count > maximumLength {
            return .failure(Problem(message: "endpoint is longer than \(maximumLength) bytes"))
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https"
        else {
            return .failure(
                Problem(message: "'\(text)' is not an http:// or https:// URL (e.g. http://10.0.0.7:8000)"))
        }
        guard let host = components.host, !host.isEmpty else {
            return .failure(Problem(message: "'\(text)' has no host"))
        }
        if components.user != nil || components.password != nil {
            return .failure(Problem(message: "'\(text)' must not carry credentials"))
        }
        if components.query != nil || components.fragment != nil {
            return .failure(Problem(message: "'\(text)' must not have a query or fragment"))
        }
        if let port = components.port, !(1...65535).contains(port) {
            return .failure(Problem(message: "'\(text)' has port \(port) outside 1…65535"))
        }
        if text.contains(where: { $0.isWhitespace }) {
            return .failure(Problem(message: "'\(text)' contains whitespace"))
        }
        var normalized = text
        while normalized.hasSuffix("/") { normalized.removeLast() }
        return .success(normalized)
    }
}

extension RegistrationRequest {
    /// `POST /v1/deployments`'s body as a function of bytes, for the fuzz target: decodes and
    /// validates, throwing the 400 the catalog would answer.
    public static func decodeAndValidate(
        _ bytes: [UInt8], defaultLease: Duration = .seconds(30)
    ) throws -> NodeInfo {
        try decodeJSON(RegistrationRequest.self, from: ByteBuffer(bytes: bytes)).validated(
            defaultLease: defaultLease
        )
        .node
    }
}
