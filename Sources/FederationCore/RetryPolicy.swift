/// How a gateway retries a failed attempt on another node: how many times and how long it
/// waits in between (exponential backoff with jitter, honouring Retry-After within a cap).
/// Stored in the shared configuration with snake_case keys, durations in milliseconds.
public struct RetryPolicy: Sendable, Equatable, Codable {
    /// Retries after the first attempt (so at most `maxRetries + 1` attempts).
    public var maxRetries: Int
    /// The wait before the first retry, before jitter.
    public var baseDelay: Duration
    /// Each further retry waits this many times longer.
    public var multiplier: Double
    /// The longest wait, after jitter and Retry-After: a hard upper bound.
    public var maxDelay: Duration
    /// Relative jitter: the backoff is multiplied by a uniform factor in [1 − jitter, 1 + jitter).
    public var jitter: Double

    /// A policy; the defaults are the federation's (3 retries, 100 ms, ×2, 2 s, ±20%).
    public init(
        maxRetries: Int = 3, baseDelay: Duration = .milliseconds(100), multiplier: Double = 2,
        maxDelay: Duration = .seconds(2), jitter: Double = 0.2
    ) {
        self.maxRetries = maxRetries
        self.baseDelay = baseDelay
        self.multiplier = multiplier
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    enum CodingKeys: String, CodingKey {
        case maxRetries = "max_retries", baseDelayMs = "base_delay_ms", multiplier
        case maxDelayMs = "max_delay_ms", jitter
    }

    /// Decodes, filling absent keys with defaults, and rejects out-of-range values.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = RetryPolicy()
        maxRetries = try c.decodeIfPresent(Int.self, forKey: .maxRetries) ?? d.maxRetries
        baseDelay = try c.decodeMilliseconds(forKey: .baseDelayMs, in: 0...86_400_000) ?? d.baseDelay
        multiplier = try c.decodeIfPresent(Double.self, forKey: .multiplier) ?? d.multiplier
        maxDelay = try c.decodeMilliseconds(forKey: .maxDelayMs, in: 0...86_400_000) ?? d.maxDelay
        jitter = try c.decodeIfPresent(Double.self, forKey: .jitter) ?? d.jitter
        if let problem = validationProblem {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: problem))
        }
    }

    /// Encodes with snake_case keys, durations in milliseconds.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(maxRetries, forKey: .maxRetries)
        try c.encode(baseDelay.milliseconds, forKey: .baseDelayMs)
        try c.encode(multiplier, forKey: .multiplier)
        try c.encode(maxDelay.milliseconds, forKey: .maxDelayMs)
        try c.encode(jitter, forKey: .jitter)
    }

    /// nil when every value is in range, else every problem found, joined.
    public var validationProblem: String? {
        var problems: [String] = []
        if !(0...100).contains(maxRetries) { problems.append("max_retries \(maxRetries) is outside 0…100") }
        if baseDelay < .zero { problems.append("base_delay_ms must not be negative") }
        if !(multiplier >= 1 && multiplier <= 100) {
            problems.append("multiplier \(multiplier) is outside 1…100")
        }
        if maxDelay < baseDelay {
            problems.append("max_delay_ms (\(maxDelay)) is shorter than base_delay_ms (\(baseDelay))")
        }
        if !(jitter >= 0 && jitter <= 1) { problems.append("jitter \(jitter) is outside 0…1") }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    /// Whether another attempt may follow after `retriesSoFar` retries.
    public func allowsRetry(afterRetries retriesSoFar: Int) -> Bool {
        retriesSoFar < maxRetries
    }

    /// How long to wait before retry number `n` (1 for the first retry).
    ///
    /// The backoff is `baseDelay × multiplier^(n − 1)`, capped at `maxDelay`, then multiplied by
    /// a jitter factor drawn from `random` in [1 − jitter, 1 + jitter). A `retryAfter` from the
    /// failed node raises the wait to at least that long. The result never exceeds `maxDelay`,
    /// even when Retry-After asks for more: the retry goes to a different node (tried nodes are
    /// excluded), and the node that asked for the pause is not sent this request again; callers
    /// that want to respect a long Retry-After for that node feed it to health/circuit state.
    public func delay(forRetry n: Int, retryAfter: Duration? = nil, random: some RandomSource) -> Duration {
        let capMs = maxDelay.milliseconds
        var backoffMs = baseDelay.milliseconds
        var remaining = max(n, 1) - 1
        while remaining > 0, backoffMs < capMs, multiplier > 1 {
            backoffMs *= multiplier
            remaining -= 1
        }
        backoffMs = min(backoffMs, capMs)
        let factor = 1 + jitter * (2 * random.nextUnit() - 1)
        var ms = backoffMs * factor
        if let retryAfter { ms = max(ms, retryAfter.milliseconds) }
        return .milliseconds(min(max(ms, 0), capMs))
    }
}

/// Why an attempt at a node failed, as the gateway saw it.
public enum FailureKind: Sendable, Equatable, CustomStringConvertible {
    /// The TCP/TLS connection could not be established (refused, reset, DNS, unreachable).
    case connectFailed
    /// No response byte arrived within the timeout.
    case timeoutBeforeFirstByte
    /// The response started but stalled or did not finish in time.
    case timeoutAfterFirstByte
    /// The node answered with a non-success HTTP status (and maybe a Retry-After).
    case httpStatus(Int, retryAfter: Duration?)
    /// The client went away or the request was cancelled.
    case cancelled
    /// The node's response could not be understood.
    case invalidResponse

    /// Whether another node may be tried: connect failures, timeouts before the first byte,
    /// invalid answers, 5xx and 429 — and never once a streamed token reached the client (the response cannot
    /// be replayed), nor for other 4xx (the request itself is at fault), cancellation, or a
    /// timeout after the first byte.
    public func isRetriable(afterStreamedTokens: Bool) -> Bool {
        if afterStreamedTokens { return false }
        switch self {
        case .connectFailed, .timeoutBeforeFirstByte: return true
        case .httpStatus(let status, _): return status == 429 || (500...599).contains(status)
        // An answer that could not be understood (a 200 whose body is not the JSON its endpoint
        // always answers) reached nobody yet: another node may give a real one.
        case .invalidResponse: return true
        case .timeoutAfterFirstByte, .cancelled: return false
        }
    }

    /// Whether the failure counts against the node's health and circuit: connection failures,
    /// timeouts, 5xx and invalid responses do; 429 (overload, not sickness), other 4xx (the
    /// client's fault) and cancellation do not.
    public var isNodeFault: Bool {
        switch self {
        case .connectFailed, .timeoutBeforeFirstByte, .timeoutAfterFirstByte, .invalidResponse: true
        case .httpStatus(let status, _): (500...599).contains(status)
        case .cancelled: false
        }
    }

    /// The Retry-After the node sent, if any.
    public var retryAfter: Duration? {
        if case .httpStatus(_, let retryAfter) = self { return retryAfter }
        return nil
    }

    /// A short phrase for logs and reasons, e.g. "HTTP 503 (retry after 2000 ms)".
    public var description: String {
        switch self {
        case .connectFailed: "connect failed"
        case .timeoutBeforeFirstByte: "timeout before first byte"
        case .timeoutAfterFirstByte: "timeout after first byte"
        case .httpStatus(let status, let retryAfter):
            "HTTP \(status)" + (retryAfter.map { " (retry after \($0.wholeMilliseconds) ms)" } ?? "")
        case .cancelled: "cancelled"
        case .invalidResponse: "invalid response"
        }
    }
}
