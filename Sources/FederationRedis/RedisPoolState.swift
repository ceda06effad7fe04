import Synchronization

/// What the connections of one ``RedisClient`` share: how many connects succeeded (so that a
/// connection waiting out its reconnect backoff retries at once when another one reached the
/// server) and the client's ``RedisAvailability``.
final class RedisPoolState: Sendable {
    /// Successful connects of any connection of the pool.
    private let connectGeneration = Atomic<Int>(0)
    private let availability: Mutex<RedisAvailability>
    /// True while an outage is open: successes must then be recorded (the fast path skips the lock).
    private let outageOpen = Atomic<Bool>(false)

    init(settle: Duration) {
        availability = Mutex(RedisAvailability(settle: settle))
    }

    /// The number of successful connects so far.
    var connects: Int { connectGeneration.load(ordering: .acquiring) }

    /// A connection of the pool connected.
    func noteConnected() {
        connectGeneration.add(1, ordering: .releasing)
    }

    /// Records the outcome of one batch of commands.
    /// While no outage is open, a success costs one atomic load (no clock read, no lock).
    func record(_ error: RedisError?) {
        if let error {
            guard RedisAvailability.isConnectionFailure(error) else { return record(nil) }
            let now = ContinuousClock.now
            availability.withLock { _ = $0.recordFailure(at: now, error: error.description) }
            outageOpen.store(true, ordering: .releasing)
        } else if outageOpen.load(ordering: .acquiring) {
            let now = ContinuousClock.now
            availability.withLock { state in
                state.recordSuccess(at: now)
                if state.isUp { outageOpen.store(false, ordering: .releasing) }
            }
        }
    }

    /// The availability as of now (an outage whose settle time passed ends here).
    func current() -> RedisAvailability {
        let now = ContinuousClock.now
        return availability.withLock { state in
            state.evaluate(at: now)
            if state.isUp { outageOpen.store(false, ordering: .releasing) }
            return state
        }
    }
}
