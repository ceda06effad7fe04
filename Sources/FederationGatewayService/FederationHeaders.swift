import FederationCore
import FederationHTTP
import HTTPTypes

/// The `X-Federation-*` request headers (docs/GATEWAY.md): QoS, origin, allowed regions, a shorter
/// deadline, a session for affinity. Each value is validated; a bad one is a 400 naming the header.
struct FederationHeaders: Sendable, Equatable {
    var qos = QoSRequirements()
    var originRegion: RegionId?
    var allowedRegions: Set<RegionId>?
    var timeout: Duration?
    var session: String?
    /// `X-Federation-Resume: false` forbids continuing this request's stream on another node.
    var resume: Bool?

    static let privacy = HTTPField.Name("X-Federation-Privacy")!
    static let costTolerance = HTTPField.Name("X-Federation-Cost-Tolerance")!
    static let maxLatency = HTTPField.Name("X-Federation-Max-Latency-Ms")!
    static let minThroughput = HTTPField.Name("X-Federation-Min-Throughput")!
    static let preferGPU = HTTPField.Name("X-Federation-Prefer-Gpu")!
    static let region = HTTPField.Name("X-Federation-Region")!
    static let allowedRegionsName = HTTPField.Name("X-Federation-Allowed-Regions")!
    static let timeoutName = HTTPField.Name("X-Federation-Timeout-Ms")!
    static let sessionName = HTTPField.Name("X-Federation-Session")!
    static let resumeName = HTTPField.Name("X-Federation-Resume")!
    static let requestId = HTTPField.Name("X-Request-Id")!

    /// Reads the headers of a client request.
    /// - Throws: a 400 ``OpenAIError`` whose `param` is the header's name.
    init(_ fields: HTTPFields) throws(OpenAIError) {
        if let text = fields[Self.privacy] {
            do {
                qos.privacy = try PrivacyLevel(parsing: text.trimmed)
            } catch {
                throw Self.invalid(Self.privacy, "\(error.message)")
            }
        }
        if let text = fields[Self.costTolerance] {
            guard let value = Int(text.trimmed), (0...100).contains(value) else {
                throw Self.invalid(
                    Self.costTolerance, "must be a whole number in 0…100, got '\(text.quotedPrefix)'")
            }
            qos.costTolerance = value
        }
        if let text = fields[Self.maxLatency] {
            guard let value = Double(text.trimmed), value > 0, value <= QoSRequirements.maximumLatencyMs,
                let duration = Duration.milliseconds(checked: value)
            else {
                throw Self.invalid(
                    Self.maxLatency,
                    "must be a number of milliseconds in (0, \(Int(QoSRequirements.maximumLatencyMs))], got '\(text.quotedPrefix)'"
                )
            }
            qos.maxLatency = duration
        }
        if let text = fields[Self.minThroughput] {
            guard let value = Double(text.trimmed), value >= 0, value <= QoSRequirements.maximumThroughput
            else {
                throw Self.invalid(
                    Self.minThroughput, "must be a number of tokens/s in 0…1e9, got '\(text.quotedPrefix)'")
            }
            qos.minThroughput = value
        }
        if let text = fields[Self.preferGPU] {
            qos.preferGPU = try Self.bool(text, header: Self.preferGPU)
        }
        if let text = fields[Self.resumeName] {
            resume = try Self.bool(text, header: Self.resumeName)
        }
        if let text = fields[Self.region] {
            originRegion = try Self.regionId(text.trimmed, header: Self.region)
        }
        if let text = fields[Self.allowedRegionsName] {
            var regions = Set<RegionId>()
            for part in text.split(separator: ",") {
                regions.insert(try Self.regionId(String(part).trimmed, header: Self.allowedRegionsName))
            }
            guard !regions.isEmpty else {
                throw Self.invalid(Self.allowedRegionsName, "must name at least one region (comma-separated)")
            }
            allowedRegions = regions
        }
        if let text = fields[Self.timeoutName] {
            guard let value = Double(text.trimmed), value > 0, value <= 86_400_000,
                let duration = Duration.milliseconds(checked: value)
            else {
                throw Self.invalid(
                    Self.timeoutName,
                    "must be a number of milliseconds in (0, 86400000], got '\(text.quotedPrefix)'")
            }
            timeout = duration
        }
        if let text = fields[Self.sessionName] {
            let value = text.trimmed
            guard !value.isEmpty, value.utf8.count <= 256 else {
                throw Self.invalid(Self.sessionName, "must be 1…256 characters")
            }
            session = value
        }
    }

    static func bool(_ text: String, header: HTTPField.Name) throws(OpenAIError) -> Bool {
        switch text.trimmed.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw invalid(header, "must be true or false, got '\(text.quotedPrefix)'")
        }
    }

    static func regionId(_ text: String, header: HTTPField.Name) throws(OpenAIError) -> RegionId {
        if let problem = Identifier.problem(with: text, kind: "region") { throw invalid(header, problem) }
        return RegionId(text)
    }

    static func invalid(_ header: HTTPField.Name, _ problem: String) -> OpenAIError {
        OpenAIError.invalid(
            "Invalid header \(header.rawName): \(problem).", param: header.rawName, code: "invalid_header")
    }

    /// The client's request id when it is a valid id, else a new one.
    static func requestId(from fields: HTTPFields, make: () -> String) -> String {
        if let value = fields[requestId], Identifier.problem(with: value, kind: "request id") == nil {
            return value
        }
        return make()
    }
}

extension String {
    var trimmed: String {
        var view = Substring(self)
        while let first = view.first, first == " " || first == "\t" { view = view.dropFirst() }
        while let last = view.last, last == " " || last == "\t" { view = view.dropLast() }
        return String(view)
    }

    /// At most 40 characters, for echoing a bad value back in an error.
    var quotedPrefix: String { count > 40 ? String(prefix(40)) + "…" : self }
}
