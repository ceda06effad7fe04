import FederationConfig
import Logging

/// The built-in identity middleware in their order — request log, auth, rate limit — for a
/// gateway with `settings`.
/// - Throws: ``APIKeyRingError`` when `gateway.api_keys` has an unusable entry.
public func standardMiddleware(
    settings: GatewaySettings, limiter: TenantRateLimiter, logger: Logger
) throws -> [any GatewayMiddleware] {
    [
        RequestLogMiddleware(logger: logger),
        try AuthMiddleware(settings: settings),
        RateLimitMiddleware(limiter: limiter),
    ]
}
