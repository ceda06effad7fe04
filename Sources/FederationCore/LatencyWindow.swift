/// The most recent latency samples of one node, in a fixed-size ring buffer, with real
/// percentiles and token throughput computed over exactly those samples.
///
/// Percentiles use the nearest-rank method over the samples in the window (no interpolation,
/// no moving average): the p-th percentile of N sorted samples is the sample at rank
/// `ceil(p / 100 × N)` (1-based, at least 1). Throughput is `sum(tokens) / sum(seconds)` over
/// the samples that carried a token count, so a request that took twice as long with the same
/// tokens halves it, and requests without token counts (e.g. probes) do not dilute it.
///
/// A value type: copy it freely. The window keeps its latencies sorted as samples arrive
/// (recording is a binary search plus one shift of at most `capacity` integers), so percentiles
/// and throughput are O(1) however often they are read: the health leader reads them for every
/// node on every writer tick, far more often than samples arrive.
public struct LatencyWindow: Sendable, Equatable {
    /// One observed request.
    public struct Sample: Sendable, Equatable {
        /// How long the request took (never negative).
        public var latency: Duration
        /// Tokens the request produced, when known (never negative).
        public var tokens: Int?

        /// A sample; negative latencies are stored as zero and negative token counts as unknown.
        public init(latency: Duration, tokens: Int? = nil) {
            self.latency = max(latency, .zero)
            self.tokens = tokens.flatMap { $0 >= 0 ? $0 : nil }
        }
    }

    /// The window size used when none is given.
    public static let defaultCapacity = 256

    /// The most samples kept; older ones are overwritten.
    public let capacity: Int
    /// Storage in insertion order until full, then a ring whose oldest element is at `oldest`.
    /// Latencies are kept as nanoseconds: sorting integers is several times cheaper than
    /// sorting `Duration`s, and percentiles are computed on every health snapshot.
    private var storage: [Entry]
    private var oldest = 0
    /// The latencies of `storage`, ascending (the percentiles' source).
    private var sorted: [Int64]
    /// Sums over the entries that carried tokens (wrapping: exact whenever the true sum fits).
    private var tokenTotal = 0
    private var tokenNanoseconds: Int64 = 0
    private var tokenSamples = 0

    private struct Entry: Sendable, Equatable {
        var nanoseconds: Int64
        var tokens: Int?
    }

    /// An empty window that keeps the last `capacity` samples (at least 1).
    public init(capacity: Int = LatencyWindow.defaultCapacity) {
        self.capacity = max(1, capacity)
        storage = []
        storage.reserveCapacity(self.capacity)
        sorted = []
        sorted.reserveCapacity(self.capacity)
    }

    /// How many samples the window holds (at most `capacity`).
    public var count: Int { storage.count }

    /// True when no sample has been recorded (or all were removed).
    public var isEmpty: Bool { storage.isEmpty }

    /// Adds a sample, evicting the oldest one when the window is full.
    public mutating func record(_ latency: Duration, tokens: Int? = nil) {
        record(Sample(latency: latency, tokens: tokens))
    }

    /// Adds a sample, evicting the oldest one when the window is full.
    public mutating func record(_ sample: Sample) {
        let entry = Entry(nanoseconds: Self.nanoseconds(of: sample.latency), tokens: sample.tokens)
        if storage.count < capacity {
            storage.append(entry)
        } else {
            forget(storage[oldest])
            storage[oldest] = entry
            oldest = (oldest + 1) % capacity
        }
        sorted.insert(entry.nanoseconds, at: Self.insertionIndex(of: entry.nanoseconds, in: sorted))
        if let tokens = entry.tokens {
            tokenTotal &+= tokens
            tokenNanoseconds &+= entry.nanoseconds
            tokenSamples += 1
        }
    }

    /// Takes an evicted entry out of the sorted latencies and the token sums.
    private mutating func forget(_ entry: Entry) {
        let index = Self.insertionIndex(of: entry.nanoseconds, in: sorted)
        if index < sorted.count, sorted[index] == entry.nanoseconds { sorted.remove(at: index) }
        if let tokens = entry.tokens {
            tokenTotal &-= tokens
            tokenNanoseconds &-= entry.nanoseconds
            tokenSamples -= 1
        }
    }

    /// The first index whose value is not less than `value` (binary search).
    private static func insertionIndex(of value: Int64, in sorted: [Int64]) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Forgets every sample.
    public mutating func removeAll() {
        storage.removeAll(keepingCapacity: true)
        sorted.removeAll(keepingCapacity: true)
        oldest = 0
        tokenTotal = 0
        tokenNanoseconds = 0
        tokenSamples = 0
    }

    /// The samples in the window, oldest first.
    public var samples: [Sample] {
        (storage[oldest...] + storage[..<oldest]).map {
            Sample(latency: .nanoseconds($0.nanoseconds), tokens: $0.tokens)
        }
    }

    /// The nearest-rank `percent`-th percentile (0…100) of the latencies in the window; nil when
    /// empty. `percentile(0)` is the minimum, `percentile(100)` the maximum.
    public func percentile(_ percent: Double) -> Duration? {
        percentiles([percent]).first ?? nil
    }

    /// Several nearest-rank percentiles at once (no sorting: the window is kept sorted); each nil
    /// when the window is empty.
    public func percentiles(_ percents: [Double]) -> [Duration?] {
        guard !sorted.isEmpty else { return percents.map { _ in nil } }
        return percents.map { .nanoseconds(sorted[Self.nearestRankIndex(percent: $0, count: sorted.count)]) }
    }

    /// The median latency (nearest rank); nil when empty.
    public var p50: Duration? { percentile(50) }

    /// The 99th-percentile latency (nearest rank); nil when empty.
    public var p99: Duration? { percentile(99) }

    /// Tokens per second over the samples that carried a token count: their total tokens divided
    /// by their total latency in seconds. nil when no sample carried tokens or their latencies
    /// add up to zero.
    public var throughput: Double? {
        let seconds = Double(tokenNanoseconds) / 1e9
        guard tokenSamples > 0, seconds > 0, tokenTotal >= 0 else { return nil }
        return Double(tokenTotal) / seconds
    }

    /// Whole nanoseconds of `duration`, clamped to 0…Int64.max (≈ 292 years).
    static func nanoseconds(of duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflow2) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow || overflow2 ? .max : total
    }

    /// The 0-based index of the nearest-rank percentile in a sorted array of `count` elements.
    static func nearestRankIndex(percent: Double, count: Int) -> Int {
        guard percent.isFinite else { return percent > 0 ? count - 1 : 0 }
        let clamped = min(max(percent, 0), 100)
        // Rank = ceil(p/100 × N), computed as an integer where possible so that e.g. p50 of
        // 10 samples is exactly rank 5, not 6 from a rounding error.
        let exact = clamped / 100 * Double(count)
        var rank = Int(exact.rounded(.up))
        if rank > 1, Double(rank - 1) >= exact - 1e-9 * Double(count) { rank -= 1 }
        return min(max(rank, 1), count) - 1
    }

    /// Equal when the capacities and the samples (oldest first) are equal.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.capacity == rhs.capacity && lhs.samples == rhs.samples
    }
}
