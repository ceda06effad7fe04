import Histogram

/// Latencies of one kind (request, time to first token, inter-token gap) for one target, in
/// nanoseconds, kept in an HDR histogram (3 significant digits, so percentiles are exact to 0.1 %).
struct LatencyRecorder: Sendable {
    private(set) var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000_000,
        numberOfSignificantValueDigits: .three)

    init() { histogram.autoResize = true }

    mutating func record(nanoseconds: UInt64) {
        _ = histogram.record(max(1, nanoseconds))
    }

    var count: UInt64 { histogram.totalCount }

    /// The percentiles every report prints, in milliseconds; nil when nothing was recorded.
    var summary: LatencySummary? {
        guard histogram.totalCount > 0 else { return nil }
        func ms(_ ns: UInt64) -> Double { Double(ns) / 1e6 }
        return LatencySummary(
            count: histogram.totalCount, p50: ms(histogram.valueAtPercentile(50)),
            p90: ms(histogram.valueAtPercentile(90)), p99: ms(histogram.valueAtPercentile(99)),
            p999: ms(histogram.valueAtPercentile(99.9)), max: ms(histogram.max), mean: histogram.mean / 1e6)
    }
}

/// Percentiles in milliseconds, as printed and as written by `--json`.
struct LatencySummary: Codable, Sendable, Equatable {
    var count: UInt64
    var p50: Double
    var p90: Double
    var p99: Double
    var p999: Double
    var max: Double
    var mean: Double

    enum CodingKeys: String, CodingKey {
        case count, p50, p90, p99, p999 = "p99_9", max, mean
    }
}

/// What one target got in one run.
struct TargetReport: Codable, Sendable {
    var name: String
    var url: String
    /// Requests per second asked for (open loop) or streams asked for (hold).
    var requestedRate: Double?
    /// Measured seconds for this target (sum of its slices).
    var measuredSeconds: Double
    var sent: UInt64
    var succeeded: UInt64
    var failed: UInt64
    /// Successful answers per measured second.
    var achievedRate: Double
    /// Failures by kind: `status 503`, `connect`, `timeout`, `closed`, … with counts.
    var errors: [String: UInt64]
    /// Whole request (open loop: from the intended send time to the last byte).
    var latency: LatencySummary?
    /// Streams: intended send time → first SSE `data:` frame.
    var timeToFirstToken: LatencySummary?
    /// Streams: time between consecutive `data:` frames of one answer.
    var interTokenGap: LatencySummary?
    /// Requests whose first byte went out more than 1 ms after their intended time (no free
    /// connection, or the generator itself was late); their latency includes the wait, as it should.
    var sentLate: UInt64
    /// Hold mode only.
    var hold: HoldReport?

    enum CodingKeys: String, CodingKey {
        case name, url, sent, succeeded, failed, errors, latency, hold
        case requestedRate = "requested_rate", measuredSeconds = "measured_seconds"
        case achievedRate = "achieved_rate", timeToFirstToken = "ttft", interTokenGap = "inter_token_gap"
        case sentLate = "sent_late"
    }
}

/// `--hold N`: N concurrent streams held until they end.
struct HoldReport: Codable, Sendable {
    var streams: Int
    var completed: Int
    var failed: Int
    /// Most streams open (head received, not ended) at one moment.
    var peakOpen: Int
    /// Seconds from the first connect until every stream had its response head (or failed).
    var secondsToOpenAll: Double
    /// Resident set of `--watch-pid` in KiB: before the streams, while all were held, after.
    var rssBeforeKiB: Int?
    var rssHeldKiB: Int?
    var rssAfterKiB: Int?

    enum CodingKeys: String, CodingKey {
        case streams, completed, failed
        case peakOpen = "peak_open", secondsToOpenAll = "seconds_to_open_all"
        case rssBeforeKiB = "rss_before_kib", rssHeldKiB = "rss_held_kib", rssAfterKiB = "rss_after_kib"
    }
}

/// The whole output of one invocation.
struct RunReport: Codable, Sendable {
    var mode: String
    var client: String
    var loadAverageBefore: String
    var loadAverageAfter: String
    /// CPU time (user + system) of the load generator process per request it sent (warm-up
    /// included), in microseconds.
    var loadgenCPUMicrosecondsPerRequest: Double?
    var targets: [TargetReport]

    enum CodingKeys: String, CodingKey {
        case mode, client, targets
        case loadAverageBefore = "loadavg_before", loadAverageAfter = "loadavg_after"
        case loadgenCPUMicrosecondsPerRequest = "loadgen_cpu_us_per_request"
    }
}
