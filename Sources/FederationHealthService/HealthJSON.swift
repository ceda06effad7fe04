import FederationCore

/// A node's health as the HTTP API shows it (the Redis hash's field names).
struct HealthJSON: Encodable, Sendable {
    let record: NodeHealth

    enum CodingKeys: String, CodingKey {
        case node, state, reason, throughput
        case p50 = "latency_p50_ms", p99 = "latency_p99_ms", queueDepth = "queue_depth"
        case gpu = "gpu_utilization", successes = "consecutive_successes", failures = "consecutive_failures"
        case totalSuccesses = "total_successes", totalFailures = "total_failures", lastCheck = "last_check"
        case latencySource = "latency_source", probeP50 = "probe_latency_p50_ms", probeP99 =
            "probe_latency_p99_ms"
        case inferenceP50 = "inference_latency_p50_ms", inferenceP99 = "inference_latency_p99_ms"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(record.node.rawValue, forKey: .node)
        try c.encode(record.state.rawValue, forKey: .state)
        try c.encodeIfPresent(record.reason, forKey: .reason)
        try c.encodeIfPresent(record.throughput, forKey: .throughput)
        try c.encodeIfPresent(record.latencyP50Ms, forKey: .p50)
        try c.encodeIfPresent(record.latencyP99Ms, forKey: .p99)
        try c.encodeIfPresent(record.latencySource?.rawValue, forKey: .latencySource)
        try c.encodeIfPresent(record.probeLatencyP50Ms, forKey: .probeP50)
        try c.encodeIfPresent(record.probeLatencyP99Ms, forKey: .probeP99)
        try c.encodeIfPresent(record.inferenceLatencyP50Ms, forKey: .inferenceP50)
        try c.encodeIfPresent(record.inferenceLatencyP99Ms, forKey: .inferenceP99)
        try c.encodeIfPresent(record.queueDepth, forKey: .queueDepth)
        try c.encodeIfPresent(record.gpuUtilization, forKey: .gpu)
        try c.encode(record.consecutiveSuccesses, forKey: .successes)
        try c.encode(record.consecutiveFailures, forKey: .failures)
        try c.encode(record.totalSuccesses, forKey: .totalSuccesses)
        try c.encode(record.totalFailures, forKey: .totalFailures)
        try c.encodeIfPresent(record.lastCheck?.milliseconds, forKey: .lastCheck)
    }
}

/// A node's circuit as the HTTP API shows it: the stored fields plus the effective state now.
struct CircuitJSON: Encodable, Sendable {
    let record: CircuitRecord
    let now: Timestamp

    enum CodingKeys: String, CodingKey {
        case node, state, trips
        case storedState = "stored_state", failures = "consecutive_failures"
        case halfOpenSuccesses = "half_open_successes", openedAt = "opened_at", openUntil = "open_until"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(record.node.rawValue, forKey: .node)
        try c.encode(record.effectiveState(at: now).rawValue, forKey: .state)
        try c.encode(record.state.rawValue, forKey: .storedState)
        try c.encode(record.trips, forKey: .trips)
        try c.encode(record.consecutiveFailures, forKey: .failures)
        try c.encode(record.halfOpenSuccesses, forKey: .halfOpenSuccesses)
        try c.encodeIfPresent(record.openedAt?.milliseconds, forKey: .openedAt)
        try c.encodeIfPresent(record.openUntil?.milliseconds, forKey: .openUntil)
    }
}

/// `GET /v1/health`.
struct HealthListJSON: Encodable, Sendable {
    let role: String
    let leader: String?
    let nodes: [HealthJSON]
}

/// `GET /v1/circuits`.
struct CircuitListJSON: Encodable, Sendable {
    let role: String
    let leader: String?
    let circuits: [CircuitJSON]
}

/// `POST /v1/circuits/{node}/open` body (optional).
struct OpenCircuitRequest: Decodable, Sendable {
    /// How long to keep it open (default: the circuit's `max_open_duration_ms`).
    var durationMs: Double?
    enum CodingKeys: String, CodingKey { case durationMs = "duration_ms" }
}

/// `POST /v1/reports` answer.
struct ReportAnswer: Encodable, Sendable {
    let outcome: String
    let health: HealthJSON?
}
