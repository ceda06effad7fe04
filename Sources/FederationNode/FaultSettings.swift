/// The faults a node injects, as set at start (flags) or at run time (`POST /admin/faults`).
///
/// The JSON form uses snake_case keys; every field is optional and a missing field means "off".
/// Posting replaces the whole set, so `{}` (or `DELETE /admin/faults`) clears everything.
public struct FaultSettings: Sendable, Hashable, Codable {
    /// Fraction of inference requests (0…1) answered with `errorStatus`.
    public var errorRate: Double = 0
    /// Status code of injected errors (400…599).
    public var errorStatus: Int = 500
    /// Fraction of inference requests (0…1) answered 429 with `Retry-After`.
    public var rateLimitRate: Double = 0
    /// The `Retry-After` value (seconds) sent with injected 429s.
    public var retryAfterSeconds: Int = 1
    /// Fraction of inference requests (0…1) that never get an answer (until the client goes away).
    public var hangRate: Double = 0
    /// After this many streamed tokens, stall for `stallSeconds` (nil: never).
    public var stallAfterTokens: Int?
    /// How long a stream stalls.
    public var stallSeconds: Double = 0
    /// Crash (exit) on the first inference request after this many have been accepted (nil: never).
    public var crashAfterRequests: Int?
    /// Crash (exit) in the middle of a stream, after sending this many tokens (nil: never): the
    /// client sees the connection cut with the answer incomplete.
    public var crashAfterTokens: Int?
    /// `/health` answers 503 with status `unhealthy`.
    public var unhealthy: Bool = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case errorRate = "error_rate"
        case errorStatus = "error_status"
        case rateLimitRate = "rate_limit_rate"
        case retryAfterSeconds = "retry_after_seconds"
        case hangRate = "hang_rate"
        case stallAfterTokens = "stall_after_tokens"
        case stallSeconds = "stall_seconds"
        case crashAfterRequests = "crash_after_requests"
        case crashAfterTokens = "crash_after_tokens"
        case unhealthy
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        errorRate = try container.decodeIfPresent(Double.self, forKey: .errorRate) ?? 0
        errorStatus = try container.decodeIfPresent(Int.self, forKey: .errorStatus) ?? 500
        rateLimitRate = try container.decodeIfPresent(Double.self, forKey: .rateLimitRate) ?? 0
        retryAfterSeconds = try container.decodeIfPresent(Int.self, forKey: .retryAfterSeconds) ?? 1
        hangRate = try container.decodeIfPresent(Double.self, forKey: .hangRate) ?? 0
        stallAfterTokens = try container.decodeIfPresent(Int.self, forKey: .stallAfterTokens)
        stallSeconds = try container.decodeIfPresent(Double.self, forKey: .stallSeconds) ?? 0
        crashAfterRequests = try container.decodeIfPresent(Int.self, forKey: .crashAfterRequests)
        crashAfterTokens = try container.decodeIfPresent(Int.self, forKey: .crashAfterTokens)
        unhealthy = try container.decodeIfPresent(Bool.self, forKey: .unhealthy) ?? false
    }

    /// The first problem with the values, naming the field, or nil when they are usable.
    public var validationProblem: String? {
        for (name, rate) in [
            ("error_rate", errorRate), ("rate_limit_rate", rateLimitRate), ("hang_rate", hangRate),
        ]
        where !(0...1).contains(rate) {
            return "\(name) must be between 0 and 1, got \(rate)"
        }
        if !(400...599).contains(errorStatus) { return "error_status must be in 400…599, got \(errorStatus)" }
        if retryAfterSeconds < 0 { return "retry_after_seconds must be ≥ 0, got \(retryAfterSeconds)" }
        if let tokens = stallAfterTokens, tokens < 0 {
            return "stall_after_tokens must be ≥ 0, got \(tokens)"
        }
        if !(0...86_400).contains(stallSeconds) {
            return "stall_seconds must be in 0…86400, got \(stallSeconds)"
        }
        if let count = crashAfterRequests, count < 0 {
            return "crash_after_requests must be ≥ 0, got \(count)"
        }
        if let count = crashAfterTokens, count < 0 {
            return "crash_after_tokens must be ≥ 0, got \(count)"
        }
        return nil
    }

    /// The name of the offending JSON field, for `param` in the error.
    var validationParam: String? {
        guard let problem = validationProblem else { return nil }
        return problem.split(separator: " ").first.map(String.init)
    }

    /// Whether any fault is switched on.
    public var isActive: Bool { self != FaultSettings() }
}
