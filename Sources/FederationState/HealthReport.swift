import FederationCore
import Foundation

/// One observation of a node, published by anyone (gateways, nodes, operators, probes) on
/// `{ns}:health:reports` and turned into health state by the health service.
///
/// `{"node":"us-west-gpu-01","ok":true,"latency_ms":45,"tokens":128,"status":200,"queue_depth":3,
///   "gpu_utilization":0.82,"source":"gateway-1","at":1700000000000}` — only `node` and `ok` are required.
public struct HealthReport: Sendable, Equatable, Codable {
    /// The node observed.
    public var node: NodeId
    /// Whether the request or probe succeeded.
    public var ok: Bool
    /// How long it took (ms), ≥ 0.
    public var latencyMs: Double?
    /// Tokens produced, ≥ 0 (with `latency_ms` this gives throughput).
    public var tokens: Int?
    /// HTTP status the node answered with (100…599), when there was one.
    public var status: Int?
    /// Requests waiting at the node, ≥ 0 (from its /health).
    public var queueDepth: Int?
    /// GPU utilisation in [0, 1].
    public var gpuUtilization: Double?
    /// Who reported it (`gateway-1`, `probe`, `operator`…), at most 128 bytes.
    public var source: String?
    /// When it was observed (ms since the epoch); the receiver's clock is used when absent.
    public var at: Int64?

    public init(
        node: NodeId, ok: Bool, latencyMs: Double? = nil, tokens: Int? = nil, status: Int? = nil,
        queueDepth: Int? = nil, gpuUtilization: Double? = nil, source: String? = nil, at: Int64? = nil
    ) {
        self.node = node
        self.ok = ok
        self.latencyMs = latencyMs
        self.tokens = tokens
        self.status = status
        self.queueDepth = queueDepth
        self.gpuUtilization = gpuUtilization
        self.source = source
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case node, ok, latencyMs = "latency_ms", tokens, status, queueDepth = "queue_depth"
        case gpuUtilization = "gpu_utilization", source, at
    }

    /// Bounds of the numbers a report may carry; anything outside is a malformed report (the health
    /// service counts it and ignores it) rather than a value that could trap later.
    public enum Limits {
        /// One day.
        public static let maximumLatencyMs = 86_400_000.0
        public static let maximumCount = 1_000_000_000
        /// 9999-12-31T23:59:59.999Z in ms since the epoch.
        public static let maximumTimestampMs: Int64 = 253_402_300_799_999
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        node = try c.decode(NodeId.self, forKey: .node)
        ok = try c.decode(Bool.self, forKey: .ok)
        latencyMs = try c.decodeNumber(forKey: .latencyMs, in: 0...Limits.maximumLatencyMs)
        tokens = try c.decodeInteger(Int.self, forKey: .tokens, in: 0...Limits.maximumCount)
        status = try c.decodeInteger(Int.self, forKey: .status, in: 100...599)
        queueDepth = try c.decodeInteger(Int.self, forKey: .queueDepth, in: 0...Limits.maximumCount)
        gpuUtilization = try c.decodeNumber(forKey: .gpuUtilization, in: 0...1)
        source = try c.decodeIfPresent(String.self, forKey: .source)
        at = try c.decodeInteger(Int64.self, forKey: .at, in: 0...Limits.maximumTimestampMs)
    }

    /// Parses a report from a channel payload; every problem is a ``FederationError/invalidInput(_:)``
    /// naming the field and what was expected.
    public static func parse(_ payload: [UInt8]) throws(FederationError) -> HealthReport {
        guard payload.count <= FederationEvent.maximumPayloadBytes else {
            throw .invalidInput(
                "health report of \(payload.count) bytes exceeds \(FederationEvent.maximumPayloadBytes)")
        }
        if let problem = JSONNesting.problem(in: payload) {
            throw .invalidInput("malformed health report: \(problem)")
        }
        let report: HealthReport
        do {
            report = try JSONDecoder().decode(HealthReport.self, from: Data(payload))
        } catch {
            throw .invalidInput("malformed health report: \(DecodingProblem(error).message)")
        }
        if let problem = report.validationProblem { throw .invalidInput("invalid health report: \(problem)") }
        return report
    }

    /// Parses a report from text.
    public static func parse(_ text: String) throws(FederationError) -> HealthReport {
        try parse(Array(text.utf8))
    }

    /// The JSON form (for publishers).
    ///
    /// Written by hand, keys sorted, because every gateway publishes one per proxied request
    /// (Foundation's JSONEncoder was 2–3 % of the gateway's CPU); ``parse(_:)-([UInt8])`` reads it
    /// back, which the tests and the fuzzer check for any report.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160)
        var first = true
        func key(_ name: StaticString) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        func number(_ value: Double) {
            // Integral values as integers (as JSONEncoder does); others in Swift's shortest form.
            if value.isFinite, value == value.rounded(), abs(value) < 1e15 {
                out.append(contentsOf: String(Int64(value)).utf8)
            } else if value.isFinite {
                out.append(contentsOf: value.description.utf8)
            } else {
                out.append(contentsOf: "null".utf8)
            }
        }
        if let at {
            key("at")
            out.append(contentsOf: String(at).utf8)
        }
        if let gpuUtilization {
            key("gpu_utilization")
            number(gpuUtilization)
        }
        if let latencyMs {
            key("latency_ms")
            number(latencyMs)
        }
        key("node")
        JSONText.appendString(node.rawValue, to: &out)
        key("ok")
        out.append(contentsOf: (ok ? "true" : "false").utf8)
        if let queueDepth {
            key("queue_depth")
            out.append(contentsOf: String(queueDepth).utf8)
        }
        if let source {
            key("source")
            JSONText.appendString(source, to: &out)
        }
        if let status {
            key("status")
            out.append(contentsOf: String(status).utf8)
        }
        if let tokens {
            key("tokens")
            out.append(contentsOf: String(tokens).utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// nil when every field is in range, else what is wrong.
    public var validationProblem: String? {
        if let problem = Identifier.problem(with: node.rawValue, kind: "node") { return problem }
        if let latencyMs, !(0...Limits.maximumLatencyMs).contains(latencyMs) {
            return "latency_ms must be a number in 0…\(Int(Limits.maximumLatencyMs)), got \(latencyMs)"
        }
        if let tokens, !(0...Limits.maximumCount).contains(tokens) {
            return "tokens must be in 0…\(Limits.maximumCount), got \(tokens)"
        }
        if let status, !(100...599).contains(status) {
            return "status must be an HTTP status 100…599, got \(status)"
        }
        if let queueDepth, !(0...Limits.maximumCount).contains(queueDepth) {
            return "queue_depth must be in 0…\(Limits.maximumCount), got \(queueDepth)"
        }
        if let gpuUtilization, !(0...1).contains(gpuUtilization) {
            return "gpu_utilization must be in 0…1, got \(gpuUtilization)"
        }
        if let source, source.utf8.count > 128 || source.isEmpty { return "source must be 1…128 bytes" }
        if let at, !(0...Limits.maximumTimestampMs).contains(at) {
            return "at must be ms since the epoch (before the year 10000), got \(at)"
        }
        return nil
    }
}
