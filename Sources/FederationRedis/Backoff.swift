/// Capped exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS): the n-th
/// consecutive failure waits a random time in [base/2, base] where base = min(cap, initial·2ⁿ⁻¹).
public struct ReconnectBackoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    /// Consecutive failures so far.
    public private(set) var failures = 0

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// Records a failure and returns how long to wait before the next attempt.
    /// `random` returns a value in [0, 1) (injectable for tests).
    public mutating func nextDelay(random: () -> Double = { Double.random(in: 0..<1) }) -> Duration {
        failures += 1
        let exponent = min(failures - 1, 30)
        let base = min(maximum, initial * (1 << exponent))
        return base / 2 + base / 2 * random()
    }

    /// Forgets past failures (after a successful connect).
    public mutating func reset() { failures = 0 }
}
