/// Whether Redis is available, as one client sees it, with hysteresis: a pure state machine that
/// the client feeds with the outcome of every command (``RedisClient/availability``).
///
/// - Up → down at the first connection-level failure (connect refused, connection lost,
///   timeout, reconnect backoff): that starts one outage (`outages` + 1).
/// - Down → up once a command succeeded *and* no failure happened for `settle`: that ends it
///   (`recoveries` + 1). A pooled connection still failing right after another one reconnected
///   keeps the outage going instead of flapping down and up.
///
/// Error replies from Redis (a script error, WRONGTYPE…) are answers: they count as successes.
public struct RedisAvailability: Sendable, Equatable {
    /// How long without failures, after a success, ends an outage.
    public let settle: Duration
    /// Whether Redis counts as available now.
    public private(set) var isUp = true
    /// Outages begun so far (down transitions).
    public private(set) var outages = 0
    /// Outages ended so far (up transitions); equals `outages` while up.
    public private(set) var recoveries = 0
    /// The last connection-level failure (nil: none since the last recovery).
    public private(set) var lastFailure: ContinuousClock.Instant?
    /// The last failure's description, for `/readyz` and logs.
    public private(set) var lastError: String?
    private var succeededSinceFailure = false

    /// Available, with no outage so far.
    public init(settle: Duration) {
        self.settle = max(.zero, settle)
    }

    /// Notes a connection-level failure at `now`. Returns true when it began an outage.
    @discardableResult
    public mutating func recordFailure(at now: ContinuousClock.Instant, error: String) -> Bool {
        lastFailure = now
        lastError = error
        succeededSinceFailure = false
        guard isUp else { return false }
        isUp = false
        outages += 1
        return true
    }

    /// Notes a command that Redis answered at `now`. Returns true when it ended an outage.
    @discardableResult
    public mutating func recordSuccess(at now: ContinuousClock.Instant) -> Bool {
        guard !isUp else { return false }
        succeededSinceFailure = true
        return evaluate(at: now)
    }

    /// Applies the passage of time (an outage ends once `settle` passed without failures after a
    /// success). Returns true when that ended an outage now.
    @discardableResult
    public mutating func evaluate(at now: ContinuousClock.Instant) -> Bool {
        guard !isUp, succeededSinceFailure else { return false }
        if let lastFailure, now - lastFailure < settle { return false }
        isUp = true
        recoveries += 1
        lastFailure = nil
        return true
    }

    /// Whether `error` says the connection, not the command, failed.
    public static func isConnectionFailure(_ error: RedisError) -> Bool {
        switch error {
        case .connectionFailed, .connectionLost, .timeout, .reconnecting: true
        case .server, .authenticationFailed, .transactionFailed, .unexpectedReply, .unsupportedCommand,
            .closed:
            false
        }
    }
}
