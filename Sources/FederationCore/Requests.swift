/// What a request needs from the node that serves it.
public struct QoSRequirements: Sendable, Equatable, Codable {
    /// The slowest typical (p50) latency the caller accepts; nil = any.
    public var maxLatency: Duration?
    /// The lowest throughput in tokens/s the caller accepts; nil = any.
    public var minThroughput: Double?
    /// Only nodes at or above this level may see the data.
    public var privacy: PrivacyLevel
    /// Prefer nodes with a GPU.
    public var preferGPU: Bool
    /// 0 = cheapest … 100 = fastest regardless of cost.
    public var costTolerance: Int

    public init(
        maxLatency: Duration? = nil, minThroughput: Double? = nil, privacy: PrivacyLevel = .internal,
        preferGPU: Bool = true, costTolerance: Int = 50
    ) {
        self.maxLatency = maxLatency
        self.minThroughput = minThroughput
        self.privacy = privacy
        self.preferGPU = preferGPU
        self.costTolerance = costTolerance
    }

    enum CodingKeys: String, CodingKey {
        case maxLatencyMs = "max_latency_ms", minThroughput = "min_throughput", privacy
        case preferGPU = "prefer_gpu", costTolerance = "cost_tolerance"
    }

    /// The largest `max_latency_ms` accepted: one day.
    public static let maximumLatencyMs = 86_400_000.0
    /// The largest `min_throughput` accepted (tokens/s).
    public static let maximumThroughput = 1e9

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = QoSRequirements()
        maxLatency = try c.decodeMilliseconds(forKey: .maxLatencyMs, in: 0...Self.maximumLatencyMs)
        minThroughput = try c.decodeNumber(forKey: .minThroughput, in: 0...Self.maximumThroughput)
        privacy = try c.decodeIfPresent(PrivacyLevel.self, forKey: .privacy) ?? defaults.privacy
        preferGPU = try c.decodeIfPresent(Bool.self, forKey: .preferGPU) ?? defaults.preferGPU
        costTolerance =
            try c.decodeInteger(Int.self, forKey: .costTolerance, in: 0...100) ?? defaults.costTolerance
        if maxLatency == .zero { throw c.corrupted(.maxLatencyMs, "must be positive, got 0") }
        if let problem = validationProblem {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: problem))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(maxLatency?.milliseconds, forKey: .maxLatencyMs)
        try c.encodeIfPresent(minThroughput, forKey: .minThroughput)
        try c.encode(privacy, forKey: .privacy)
        try c.encode(preferGPU, forKey: .preferGPU)
        try c.encode(costTolerance, forKey: .costTolerance)
    }

    /// nil when the values are in range, else what is wrong.
    public var validationProblem: String? {
        if !(0...100).contains(costTolerance) { return "cost_tolerance \(costTolerance) is outside 0…100" }
        if let maxLatency, maxLatency <= .zero { return "max_latency_ms must be positive" }
        if let minThroughput, !(minThroughput >= 0) || !minThroughput.isFinite {
            return "min_throughput must be a non-negative number"
        }
        return nil
    }
}

/// The routing-relevant description of one inference request (the body travels separately).
public struct InferenceRequest: Sendable, Equatable {
    /// Correlates logs, traces and responses.
    public var requestId: String
    /// What must be done.
    public var capability: Capability
    /// The model the caller named, if any; when set only its deployments are candidates.
    public var model: ModelId?
    public var qos: QoSRequirements
    /// The tenant (from the API key), for affinity and accounting.
    public var tenantId: String?
    /// Where the request comes from, for locality.
    public var originRegion: RegionId?
    /// The key consistent hashing sticks on (session, else tenant, else prompt prefix).
    public var affinityKey: String?
    /// The only regions the request may be served in (a tenant's, narrowed by a header); nil = any.
    /// A hard rule: a node elsewhere is never chosen.
    public var allowedRegions: Set<RegionId>?

    public init(
        requestId: String, capability: Capability, model: ModelId? = nil, qos: QoSRequirements = .init(),
        tenantId: String? = nil, originRegion: RegionId? = nil, affinityKey: String? = nil,
        allowedRegions: Set<RegionId>? = nil
    ) {
        self.allowedRegions = allowedRegions
        self.requestId = requestId
        self.capability = capability
        self.model = model
        self.qos = qos
        self.tenantId = tenantId
        self.originRegion = originRegion
        self.affinityKey = affinityKey
    }
}

/// What came back from a node, and who served it.
public struct InferenceResponse: Sendable, Equatable {
    public var output: [UInt8]
    public var servedBy: NodeId
    public var region: RegionId
    public var latency: Duration
    /// Tokens generated, when the node reports them.
    public var tokens: Int?
    /// 1 when the first attempt succeeded.
    public var attempts: Int

    public init(
        output: [UInt8], servedBy: NodeId, region: RegionId, latency: Duration, tokens: Int?, attempts: Int
    ) {
        self.output = output
        self.servedBy = servedBy
        self.region = region
        self.latency = latency
        self.tokens = tokens
        self.attempts = attempts
    }
}
