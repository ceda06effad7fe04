import FederationCore
import FederationHTTP
import Synchronization

/// Applies the tenants' rate limits (``TenantRateLimiter``) before routing: admits the request,
/// reserving its `max_tokens` (or the limiter's default estimate), or rejects it with 429
/// `rate_limit_exceeded` and `Retry-After`. When the request ends — answered or failed — the
/// reservation is replaced by the tokens the outcome reports (none reported: the reservation stays
/// for a success, and counts as 0 for a failure). Anonymous requests are not limited. Runs after
/// ``AuthMiddleware``, which sets the tenant.
public struct RateLimitMiddleware: GatewayMiddleware {
    public let name = "rate-limit"
    public let limiter: TenantRateLimiter
    private let reservations: Reservations

    public init(limiter: TenantRateLimiter) {
        self.limiter = limiter
        self.reservations = Reservations()
    }

    /// Requests admitted and not yet settled (for tests and stats).
    public var openReservations: Int { reservations.count }

    public func beforeRouting(_ request: inout GatewayRequest) async throws {
        guard let tenant = request.tenant, limiter.limits[tenant] != nil else { return }
        let now = limiter.clock.now()
        let estimate = request.maxTokens ?? limiter.defaultTokenEstimate
        switch limiter.admit(tenant: tenant, reservedTokens: estimate, now: now) {
        case .admitted(let reserved):
            reservations.open(
                Reservation.Key(id: request.id, receivedAt: request.receivedAt),
                Reservation(tenant: tenant, tokens: reserved, admittedAt: now))
        case .denied(let denial):
            throw OpenAIError.rateLimited(denial)
        }
    }

    public func afterInference(_ request: GatewayRequest, outcome: GatewayOutcome) async {
        settle(request, outcome: outcome, succeeded: true)
    }

    public func onError(_ request: GatewayRequest, error: OpenAIError, outcome: GatewayOutcome) async {
        // Also called for this middleware's own 429: then nothing was reserved and nothing happens.
        settle(request, outcome: outcome, succeeded: false)
    }

    private func settle(_ request: GatewayRequest, outcome: GatewayOutcome, succeeded: Bool) {
        let key = Reservation.Key(id: request.id, receivedAt: request.receivedAt)
        guard let reservation = reservations.close(key) else { return }
        limiter.settle(
            tenant: reservation.tenant, reservedTokens: reservation.tokens,
            actualTokens: outcome.tokens ?? (succeeded ? reservation.tokens : 0),
            admittedAt: reservation.admittedAt)
    }
}

/// One admitted request's token reservation until it is settled.
struct Reservation: Sendable {
    /// Identifies one request: its id (which a client may repeat) and the instant it arrived.
    struct Key: Hashable, Sendable {
        let id: String
        let receivedAt: ContinuousClock.Instant
    }

    let tenant: String
    let tokens: Int
    let admittedAt: Timestamp
}

/// The open reservations; a key that repeats (the same id arriving at the same instant) keeps
/// each of its reservations.
final class Reservations: Sendable {
    private let table = Mutex<[Reservation.Key: [Reservation]]>([:])

    func open(_ key: Reservation.Key, _ reservation: Reservation) {
        table.withLock { $0[key, default: []].append(reservation) }
    }

    func close(_ key: Reservation.Key) -> Reservation? {
        table.withLock { open -> Reservation? in
            guard var list = open[key], !list.isEmpty else { return nil }
            let first = list.removeFirst()
            open[key] = list.isEmpty ? nil : list
            return first
        }
    }

    var count: Int { table.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}
