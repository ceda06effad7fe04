import Synchronization

/// Limits retries to a fraction of recent requests plus a small floor, so that a failing region
/// cannot multiply the load on the rest of the fleet (Envoy's and Finagle's retry budgets): a
/// retry is allowed while the retries of the last `window` stay below
/// `ratio × requests + minPerSecond × window`. Requests and retries are counted in one-second
/// buckets; older buckets fall out of the window. Thread-safe; the clock is injected.
public final class RetryBudget: Sendable {
    public let ratio: Double
    public let minPerSecond: Double
    public let windowSeconds: Int
    private let clock: any FederationClock

    private struct Bucket {
        var second: Int64 = .min
        var requests = 0
        var retries = 0
    }
    private let buckets: Mutex<[Bucket]>

    public init(
        ratio: Double = 0.2, minPerSecond: Double = 10, windowSeconds: Int = 10,
        clock: any FederationClock = SystemClock()
    ) {
        self.ratio = ratio.isFinite ? max(0, ratio) : 0
        self.minPerSecond = minPerSecond.isFinite ? max(0, minPerSecond) : 0
        self.windowSeconds = max(1, windowSeconds)
        self.clock = clock
        self.buckets = Mutex(Array(repeating: Bucket(), count: max(1, windowSeconds)))
    }

    /// Counts a client request (once, however many attempts it makes).
    public func recordRequest() {
        let second = clock.now().milliseconds / 1000
        buckets.withLock { buckets in
            let index = Self.index(&buckets, second)
            buckets[index].requests += 1
        }
    }

    /// Takes one retry from the budget.
    /// - Returns: false when the budget is spent (the request must not be retried).
    public func withdraw() -> Bool {
        let second = clock.now().milliseconds / 1000
        return buckets.withLock { buckets in
            var requests = 0
            var retries = 0
            for bucket in buckets
            where bucket.second > second - Int64(windowSeconds) && bucket.second <= second {
                requests += bucket.requests
                retries += bucket.retries
            }
            let allowed = ratio * Double(requests) + minPerSecond * Double(windowSeconds)
            guard Double(retries) < allowed else { return false }
            let index = Self.index(&buckets, second)
            buckets[index].retries += 1
            return true
        }
    }

    /// The bucket of `second`, emptied first when it still holds an older second.
    private static func index(_ buckets: inout [Bucket], _ second: Int64) -> Int {
        let count = Int64(buckets.count)
        let index = Int(((second % count) + count) % count)
        if buckets[index].second != second { buckets[index] = Bucket(second: second) }
        return index
    }
}
