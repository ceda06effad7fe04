import FederationCore

/// The health-service fields added to the health and circuit hashes (probe vs inference latency,
/// the circuit's failure window; docs/REDIS.md), on top of ``RecordEncoding``'s base layout.
/// ``RedisHealthStore`` reads and writes records only through these.
extension RecordEncoding {
    /// Every field of a health hash: the base fields plus the latency sources.
    static func healthFields(of health: NodeHealth) -> [(String, String)] {
        var fields = fields(of: health)
        if let v = health.latencySource { fields.append(("latency_source", v.rawValue)) }
        if let v = health.probeLatencyP50Ms { fields.append(("probe_latency_p50_ms", String(v))) }
        if let v = health.probeLatencyP99Ms { fields.append(("probe_latency_p99_ms", String(v))) }
        if let v = health.inferenceLatencyP50Ms { fields.append(("inference_latency_p50_ms", String(v))) }
        if let v = health.inferenceLatencyP99Ms { fields.append(("inference_latency_p99_ms", String(v))) }
        return fields
    }

    /// A health record from its hash, latency sources included.
    static func healthRecord(
        _ id: NodeId, from fields: [String: String]
    ) throws(FederationError) -> NodeHealth {
        var record = try health(id, from: fields)
        let r = FieldReader(fields: fields, what: "health of '\(id)'")
        record.latencySource = try r.optional("latency_source") { LatencySource(rawValue: $0) }
        record.probeLatencyP50Ms = try r.optional("probe_latency_p50_ms") { Double($0) }
        record.probeLatencyP99Ms = try r.optional("probe_latency_p99_ms") { Double($0) }
        record.inferenceLatencyP50Ms = try r.optional("inference_latency_p50_ms") { Double($0) }
        record.inferenceLatencyP99Ms = try r.optional("inference_latency_p99_ms") { Double($0) }
        return record
    }

    /// Every field of a circuit hash: the base fields plus `last_failure_at`.
    static func circuitFields(of circuit: CircuitRecord) -> [(String, String)] {
        var fields = fields(of: circuit)
        if let v = circuit.lastFailureAt { fields.append(("last_failure_at", String(v.milliseconds))) }
        return fields
    }

    /// A circuit record from its hash, `last_failure_at` included.
    static func circuitRecord(
        _ id: NodeId, from fields: [String: String]
    ) throws(FederationError)
        -> CircuitRecord
    {
        var record = try circuit(id, from: fields)
        let r = FieldReader(fields: fields, what: "circuit of '\(id)'")
        record.lastFailureAt = try r.optional("last_failure_at") {
            Int64($0).map(Timestamp.init(milliseconds:))
        }
        return record
    }
}
