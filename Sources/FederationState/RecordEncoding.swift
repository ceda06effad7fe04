import FederationCore
import Foundation

/// How records are laid out as Redis hash fields (see docs/REDIS.md). Absent optionals are absent
/// fields; numbers are decimal text; booleans `true`/`false`; capability lists comma-separated.
enum RecordEncoding {
    static func fields(of node: NodeInfo) -> [(String, String)] {
        var fields = [
            ("region", node.region.rawValue), ("endpoint", node.endpoint),
            ("gpu", node.gpu ? "true" : "false"),
        ]
        if let privacy = node.privacy { fields.append(("privacy", privacy.description)) }
        if let cost = node.cost { fields.append(("cost", String(cost))) }
        if !node.labels.isEmpty { fields.append(("labels", json(node.labels))) }
        return fields
    }

    static func node(_ id: NodeId, from fields: [String: String]) throws(FederationError) -> NodeInfo {
        let reader = FieldReader(fields: fields, what: "node '\(id)'")
        let labels: [String: String] =
            try reader.optional("labels") { text in
                JSONNesting.problem(in: text.utf8) != nil
                    ? nil : try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))
            } ?? [:]
        let info = NodeInfo(
            id: id, region: RegionId(try reader.required("region") { $0 }),
            endpoint: try reader.required("endpoint") { $0 },
            gpu: try reader.optional("gpu", Self.bool) ?? true,
            privacy: try reader.optional("privacy") { try? PrivacyLevel(parsing: $0) },
            cost: try reader.optional("cost", Self.finite), labels: labels)
        if let problem = info.validationProblem { throw .invalidInput(problem) }
        return info
    }

    static func fields(of model: ModelMetadata) -> [(String, String)] {
        var fields = [
            ("name", model.name), ("version", model.version), ("capabilities", csv(model.capabilities)),
        ]
        if let parameters = model.parameters { fields.append(("parameters", String(parameters))) }
        if let quantization = model.quantization { fields.append(("quantization", quantization)) }
        return fields
    }

    static func model(_ id: ModelId, from fields: [String: String]) throws(FederationError) -> ModelMetadata {
        let reader = FieldReader(fields: fields, what: "model '\(id)'")
        return ModelMetadata(
            id: id, name: try reader.optional("name") { $0 } ?? id.rawValue,
            version: try reader.optional("version") { $0 } ?? "unknown",
            capabilities: try reader.optional("capabilities", capabilities) ?? [],
            parameters: try reader.optional("parameters") { UInt64($0) },
            quantization: try reader.optional("quantization") { $0 })
    }

    static func fields(of health: NodeHealth) -> [(String, String)] {
        var fields = [
            ("state", health.state.rawValue), ("consecutive_successes", String(health.consecutiveSuccesses)),
            ("consecutive_failures", String(health.consecutiveFailures)),
            ("total_successes", String(health.totalSuccesses)),
            ("total_failures", String(health.totalFailures)),
        ]
        if let v = health.latencyP50Ms { fields.append(("latency_p50_ms", String(v))) }
        if let v = health.latencyP99Ms { fields.append(("latency_p99_ms", String(v))) }
        if let v = health.throughput { fields.append(("throughput", String(v))) }
        if let v = health.queueDepth { fields.append(("queue_depth", String(v))) }
        if let v = health.gpuUtilization { fields.append(("gpu_utilization", String(v))) }
        if let v = health.lastCheck { fields.append(("last_check", String(v.milliseconds))) }
        if let v = health.reason { fields.append(("reason", v)) }
        return fields
    }

    static func health(_ id: NodeId, from fields: [String: String]) throws(FederationError) -> NodeHealth {
        let r = FieldReader(fields: fields, what: "health of '\(id)'")
        return NodeHealth(
            node: id, state: try r.required("state") { HealthState(rawValue: $0) },
            latencyP50Ms: try r.optional("latency_p50_ms", Self.latency),
            latencyP99Ms: try r.optional("latency_p99_ms", Self.latency),
            throughput: try r.optional("throughput", Self.nonNegative),
            queueDepth: try r.optional("queue_depth", Self.count),
            gpuUtilization: try r.optional("gpu_utilization", Self.finite),
            consecutiveSuccesses: try r.optional("consecutive_successes", Self.count) ?? 0,
            consecutiveFailures: try r.optional("consecutive_failures", Self.count) ?? 0,
            totalSuccesses: try r.optional("total_successes") { UInt64($0) } ?? 0,
            totalFailures: try r.optional("total_failures") { UInt64($0) } ?? 0,
            lastCheck: try r.optional("last_check") { Int64($0).map(Timestamp.init(milliseconds:)) },
            reason: try r.optional("reason") { $0 })
    }

    static func fields(of circuit: CircuitRecord) -> [(String, String)] {
        var fields = [
            ("state", circuit.state.rawValue), ("consecutive_failures", String(circuit.consecutiveFailures)),
            ("half_open_successes", String(circuit.halfOpenSuccesses)),
            ("trips", String(circuit.trips)),
        ]
        if let v = circuit.openedAt { fields.append(("opened_at", String(v.milliseconds))) }
        if let v = circuit.openUntil { fields.append(("open_until", String(v.milliseconds))) }
        return fields
    }

    static func circuit(_ id: NodeId, from fields: [String: String]) throws(FederationError) -> CircuitRecord
    {
        let r = FieldReader(fields: fields, what: "circuit of '\(id)'")
        return CircuitRecord(
            node: id, state: try r.required("state") { CircuitState.matching($0) },
            consecutiveFailures: try r.optional("consecutive_failures", Self.count) ?? 0,
            halfOpenSuccesses: try r.optional("half_open_successes", Self.count) ?? 0,
            openedAt: try r.optional("opened_at") { Int64($0).map(Timestamp.init(milliseconds:)) },
            openUntil: try r.optional("open_until") { Int64($0).map(Timestamp.init(milliseconds:)) },
            trips: try r.optional("trips", Self.count) ?? 0)
    }

    static func csv(_ capabilities: [Capability]) -> String {
        Set(capabilities).sorted().map(\.description).joined(separator: ",")
    }

    static func capabilities(_ text: String) -> [Capability]? {
        if text.isEmpty { return [] }
        var result: [Capability] = []
        for part in text.split(separator: ",") {
            guard let capability = try? Capability(parsing: String(part)) else { return nil }
            result.append(capability)
        }
        return Set(result).sorted()
    }

    /// A finite number (`Double("nan")` and `Double("inf")` parse, and must not reach the routing
    /// arithmetic).
    static func finite(_ text: String) -> Double? {
        Double(text).flatMap { $0.isFinite ? $0 : nil }
    }

    static func nonNegative(_ text: String) -> Double? {
        finite(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Milliseconds: non-negative and at most a day, like the reports they come from.
    static func latency(_ text: String) -> Double? {
        nonNegative(text).flatMap { $0 <= HealthReport.Limits.maximumLatencyMs ? $0 : nil }
    }

    /// A counter: a whole number in 0…Int.max.
    static func count(_ text: String) -> Int? {
        Int(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    static func bool(_ text: String) -> Bool? {
        switch text {
        case "true", "1": true
        case "false", "0": false
        default: nil
        }
    }

    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// Reads typed fields from a hash, with errors that name the record and the field.
struct FieldReader {
    let fields: [String: String]
    let what: String

    func required<T>(_ name: String, _ parse: (String) -> T?) throws(FederationError) -> T {
        guard let text = fields[name] else { throw .invalidInput("\(what): field '\(name)' is missing") }
        guard let value = parse(text) else {
            throw .invalidInput("\(what): field '\(name)' has invalid value '\(text.prefix(64))'")
        }
        return value
    }

    func optional<T>(_ name: String, _ parse: (String) -> T?) throws(FederationError) -> T? {
        guard let text = fields[name] else { return nil }
        guard let value = parse(text) else {
            throw .invalidInput("\(what): field '\(name)' has invalid value '\(text.prefix(64))'")
        }
        return value
    }
}

/// The Redis hash readers as public functions, for the fuzz target: a hash read back from Redis is
/// outside input too (anyone with access to Redis can write it).
public enum StoredRecordDecoder {
    /// Reads `fields` as a node, model, health and circuit record; returns how many decoded.
    @discardableResult
    public static func decodeAll(id: String, fields: [String: String]) -> Int {
        var decoded = 0
        if (try? RecordEncoding.node(NodeId(id), from: fields)) != nil { decoded += 1 }
        if (try? RecordEncoding.model(ModelId(id), from: fields)) != nil { decoded += 1 }
        if (try? RecordEncoding.health(NodeId(id), from: fields)) != nil { decoded += 1 }
        if (try? RecordEncoding.circuit(NodeId(id), from: fields)) != nil { decoded += 1 }
        return decoded
    }
}
