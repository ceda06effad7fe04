/// A gateway's request statistics, per replica or summed cluster-wide; what `GET /v1/stats`
/// answers and what a replica stores in its hash. snake_case keys, latency in milliseconds.
public struct GatewayStats: Sendable, Equatable, Codable {
    /// Requests begun.
    public var totalRequests: UInt64
    /// Requests that finished successfully.
    public var successfulRequests: UInt64
    /// Requests that finished with an error.
    public var failedRequests: UInt64
    /// Tokens produced by successful requests.
    public var totalTokens: UInt64
    /// Mean latency of successful requests (zero when there are none).
    public var averageLatency: Duration
    /// Responses streaming to clients right now.
    public var activeStreams: Int

    /// Statistics with the given values (all zero by default).
    public init(
        totalRequests: UInt64 = 0, successfulRequests: UInt64 = 0, failedRequests: UInt64 = 0,
        totalTokens: UInt64 = 0, averageLatency: Duration = .zero, activeStreams: Int = 0
    ) {
        self.totalRequests = totalRequests
        self.successfulRequests = successfulRequests
        self.failedRequests = failedRequests
        self.totalTokens = totalTokens
        self.averageLatency = averageLatency
        self.activeStreams = activeStreams
    }

    /// Requests begun and not finished yet.
    public var inFlight: UInt64 {
        let finished = successfulRequests &+ failedRequests
        return totalRequests > finished ? totalRequests - finished : 0
    }

    enum CodingKeys: String, CodingKey {
        case totalRequests = "total_requests", successfulRequests = "successful_requests"
        case failedRequests = "failed_requests", totalTokens = "total_tokens"
        case averageLatencyMs = "average_latency_ms", activeStreams = "active_streams"
    }

    /// Decodes; absent counters are zero.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        totalRequests = try c.decodeIfPresent(UInt64.self, forKey: .totalRequests) ?? 0
        successfulRequests = try c.decodeIfPresent(UInt64.self, forKey: .successfulRequests) ?? 0
        failedRequests = try c.decodeIfPresent(UInt64.self, forKey: .failedRequests) ?? 0
        totalTokens = try c.decodeIfPresent(UInt64.self, forKey: .totalTokens) ?? 0
        let latencyMs = try c.decodeIfPresent(Double.self, forKey: .averageLatencyMs) ?? 0
        guard latencyMs.isFinite, latencyMs >= 0 else {
            throw DecodingError.dataCorruptedError(
                forKey: .averageLatencyMs, in: c,
                debugDescription: "average_latency_ms must be a non-negative number")
        }
        averageLatency = .milliseconds(latencyMs)
        activeStreams = max(0, try c.decodeIfPresent(Int.self, forKey: .activeStreams) ?? 0)
    }

    /// Encodes with snake_case keys, the average latency in milliseconds.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(totalRequests, forKey: .totalRequests)
        try c.encode(successfulRequests, forKey: .successfulRequests)
        try c.encode(failedRequests, forKey: .failedRequests)
        try c.encode(totalTokens, forKey: .totalTokens)
        try c.encode(averageLatency.milliseconds, forKey: .averageLatencyMs)
        try c.encode(activeStreams, forKey: .activeStreams)
    }
}

/// Collects a gateway's statistics as requests happen (one per replica, behind the gateway's
/// own lock or actor), and sums several replicas' statistics cluster-wide.
///
/// Call `begin()` when a request is accepted, `streamStarted()`/`streamEnded()` around a
/// streamed response (always end what was started, also on error), and `finish` exactly once.
public struct StatsAccumulator: Sendable, Equatable {
    /// Requests begun.
    public private(set) var totalRequests: UInt64 = 0
    /// Requests finished successfully.
    public private(set) var successfulRequests: UInt64 = 0
    /// Requests finished with an error.
    public private(set) var failedRequests: UInt64 = 0
    /// Tokens of successful requests.
    public private(set) var totalTokens: UInt64 = 0
    /// Sum of the latencies of successful requests.
    public private(set) var totalLatency: Duration = .zero
    /// Streams started and not yet ended.
    public private(set) var activeStreams = 0

    /// An accumulator with nothing counted.
    public init() {}

    /// An accumulator that continues from published statistics (e.g. another replica's, to
    /// merge): the latency sum is reconstructed as average × successful requests.
    public init(_ stats: GatewayStats) {
        totalRequests = stats.totalRequests
        successfulRequests = stats.successfulRequests
        failedRequests = stats.failedRequests
        totalTokens = stats.totalTokens
        totalLatency = stats.averageLatency * stats.successfulRequests
        activeStreams = max(0, stats.activeStreams)
    }

    /// Counts a request that has been accepted.
    public mutating func begin() {
        totalRequests &+= 1
    }

    /// Counts a response that started streaming to its client.
    public mutating func streamStarted() {
        activeStreams += 1
    }

    /// Counts a stream that ended (completed, failed or cancelled); never goes below zero.
    public mutating func streamEnded() {
        activeStreams = max(0, activeStreams - 1)
    }

    /// Counts a finished request. Latency and tokens count only for successes; negative
    /// latencies count as zero, and nil or negative token counts as no tokens.
    public mutating func finish(success: Bool, latency: Duration, tokens: Int? = nil) {
        if success {
            successfulRequests &+= 1
            totalLatency += max(latency, .zero)
            totalTokens &+= UInt64(max(0, tokens ?? 0))
        } else {
            failedRequests &+= 1
        }
    }

    /// Adds another accumulator's counts (cluster-wide sums; the average becomes the mean over
    /// both sets of successful requests).
    public mutating func merge(_ other: StatsAccumulator) {
        totalRequests &+= other.totalRequests
        successfulRequests &+= other.successfulRequests
        failedRequests &+= other.failedRequests
        totalTokens &+= other.totalTokens
        totalLatency += other.totalLatency
        activeStreams += other.activeStreams
    }

    /// Adds published statistics (another replica's), weighting its average by its count.
    public mutating func merge(_ stats: GatewayStats) {
        merge(StatsAccumulator(stats))
    }

    /// Mean latency of successful requests; zero when there are none.
    public var averageLatency: Duration {
        successfulRequests == 0 ? .zero : totalLatency / successfulRequests
    }

    /// The statistics to publish.
    public var stats: GatewayStats {
        GatewayStats(
            totalRequests: totalRequests, successfulRequests: successfulRequests,
            failedRequests: failedRequests,
            totalTokens: totalTokens, averageLatency: averageLatency, activeStreams: activeStreams)
    }
}
