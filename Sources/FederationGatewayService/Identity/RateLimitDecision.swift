import FederationCore
import FederationHTTP
import HTTPTypes

/// Which of a tenant's two limits.
public enum RateLimitKind: String, Sendable, CaseIterable, Hashable {
    case requests, tokens

    /// How OpenAI's messages name the limit.
    var perMinute: String { "\(rawValue) per minute" }
}

/// A tenant's configured limits; nil = unlimited.
public struct TenantLimits: Sendable, Equatable {
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?

    public init(requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
    }

    func limit(_ kind: RateLimitKind) -> Int? {
        switch kind {
        case .requests: requestsPerMinute
        case .tokens: tokensPerMinute
        }
    }
}

/// The limiter's answer for one request.
public enum RateLimitDecision: Sendable, Equatable {
    /// Admitted; `reservedTokens` (the request's estimate, clamped to the tenant's limit) are
    /// counted until ``TenantRateLimiter/settle(tenant:reservedTokens:actualTokens:admittedAt:)``
    /// replaces them with the real count.
    case admitted(reservedTokens: Int)
    /// Refused: a limit is reached.
    case denied(RateLimitDenial)

    public var isAdmitted: Bool {
        if case .admitted = self { return true }
        return false
    }
}

/// Why a request was refused and when to come back.
public struct RateLimitDenial: Sendable, Equatable {
    public var tenant: String
    /// The limit that is reached (requests are checked first).
    public var kind: RateLimitKind
    /// The tenant's limit per minute, across every replica.
    public var limit: Int
    /// The tenant's use over the trailing minute as this replica knows it (sliding estimate).
    public var used: Int
    /// What the request asked for: 1 request, or its token reservation.
    public var requested: Int
    /// How long until a request like this one would be admitted if nothing else arrived.
    public var retryAfter: Duration

    public init(
        tenant: String, kind: RateLimitKind, limit: Int, used: Int, requested: Int, retryAfter: Duration
    ) {
        self.tenant = tenant
        self.kind = kind
        self.limit = limit
        self.used = used
        self.requested = requested
        self.retryAfter = retryAfter
    }

    /// `retryAfter` in whole seconds, rounded up, at least 1 (the `Retry-After` header).
    public var retryAfterSeconds: Int {
        let milliseconds = max(0, retryAfter.wholeMilliseconds)
        return Int(clamping: max(1, milliseconds.saturatingAdd(999) / 1000))
    }
}

extension OpenAIError {
    /// 429 in OpenAI's shape (`type` `requests` or `tokens`, code `rate_limit_exceeded`) with
    /// `Retry-After` in whole seconds and the `x-ratelimit-limit-*` / `x-ratelimit-remaining-*`
    /// headers OpenAI sends.
    public static func rateLimited(_ denial: RateLimitDenial) -> OpenAIError {
        let seconds = denial.retryAfterSeconds
        var headers = HTTPFields()
        headers[.retryAfter] = String(seconds)
        if let limit = HTTPField.Name("x-ratelimit-limit-\(denial.kind.rawValue)"),
            let remaining = HTTPField.Name("x-ratelimit-remaining-\(denial.kind.rawValue)")
        {
            headers[limit] = String(denial.limit)
            headers[remaining] = String(max(0, denial.limit - denial.used))
        }
        return OpenAIError(
            status: .tooManyRequests,
            message:
                "Rate limit reached for \(denial.kind.perMinute): limit \(denial.limit), used \(denial.used), "
                + "requested \(denial.requested) (tenant '\(denial.tenant)'). Please try again in \(seconds)s.",
            type: denial.kind.rawValue, code: "rate_limit_exceeded", headers: headers)
    }
}
