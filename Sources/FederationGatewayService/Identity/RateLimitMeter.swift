import FederationCore

/// Minute windows and the sliding estimate over them.
///
/// Time is cut into fixed windows of one minute (by wall clock, so every replica agrees on the
/// window index). The use over the trailing minute at a fraction `f` into window `w` is estimated
/// as `used(w−1)·(1−f) + used(w)` — the previous window's use taken as spread evenly over it.
struct RateWindow: Equatable {
    static let milliseconds: Int64 = 60_000

    /// The window's index: minutes since the epoch.
    let index: Int64
    /// How far into the window `now` is, 0 ≤ fraction < 1.
    let fraction: Double

    init(_ now: Timestamp) {
        let ms = now.milliseconds
        var index = ms / Self.milliseconds
        if ms % Self.milliseconds < 0 { index -= 1 }
        self.index = index
        let start = index.saturatingMultiply(Self.milliseconds)
        self.fraction = Double(ms.saturatingSubtract(start)) / Double(Self.milliseconds)
    }

    /// How long from this instant until `previous·(1−f) + current ≤ room` would hold with no
    /// further use (zero when it holds already).
    static func wait(previous: Double, current: Double, room: Double, fraction: Double) -> Duration {
        let window = Double(milliseconds)
        let previous = max(0, previous)
        let current = max(0, current)
        if current <= room {
            if previous <= 0 || previous * (1 - fraction) + current <= room { return .zero }
            let target = 1 - (room - current) / previous
            return wholeMilliseconds(max(0, target - fraction) * window)
        }
        // Not before the next window: there the current one is the previous one.
        guard current > 0 else { return .zero }
        let target = 1 - max(0, room) / current
        return wholeMilliseconds((1 - fraction + target) * window)
    }

    /// To the nearest millisecond (floating-point noise must not add one).
    static func wholeMilliseconds(_ value: Double) -> Duration {
        .milliseconds(Int64(saturating: value.rounded()))
    }
}

/// One limit of one tenant on this replica: what the other replicas used and claimed (as of the
/// last sync), what this replica used, and the allowance it may use until the next sync.
///
/// In Redis every replica owns one field per limit and window, holding the absolute value of its
/// use in that window plus its unused allowance ("claim"); the cluster's count is the sum of the
/// fields. At every sync a replica overwrites its fields (idempotent: a sync whose reply was lost
/// is simply written again) with its use plus a new claim — its share of what is left,
/// `left ÷ live replicas` — and may then use what it was granted: the claim cut to what the
/// atomic update shows really is left. As Redis serializes the replicas' updates, the grants of
/// one window never add up to more than the limit (see docs/GATEWAY.md (API keys, tenants and rate limits) for the bound).
struct RateLimitMeter {
    let limit: Int64
    /// The current window; `Int64.min` before the first use.
    var window: Int64 = .min
    /// The other replicas' fields (use + claims) in `window` and the window before, as of the last sync.
    var othersCurrent: Int64 = 0
    var othersPrevious: Int64 = 0
    /// This replica's use, by window (token settlements may lower it).
    var use: [Int64: Int64] = [:]
    /// This replica's use in `window` when its last sync was written: the grant covers what came after.
    var useAtSync: Int64 = 0
    /// This replica's claim in `window`, as last written.
    var held: Int64 = 0
    /// What this replica may use in `window` after its last sync.
    var grant: Int64 = 0
    /// Whether `grant` came from a sync in `window` (false after the window rolled over).
    var granted = false
    /// The values of this replica's fields as last written, by window; cleared when a sync fails
    /// (it may or may not have been written), so that the next one writes every field again.
    var written: [Int64: Int64] = [:]

    init(limit: Int) { self.limit = Int64(limit) }

    /// Moves to window `index`: the current window becomes the previous one, its claim is to be
    /// given back, and nothing is granted until the next sync.
    mutating func roll(to index: Int64) {
        guard index > window else { return }
        othersPrevious = window != .min && index - window == 1 ? othersCurrent : 0
        othersCurrent = 0
        useAtSync = 0
        held = 0
        grant = 0
        granted = false
        window = index
        use = use.filter { $0.key >= index - 1 }
        written = written.filter { $0.key >= index - 1 }
    }

    /// The cluster's use in the current window as far as this replica knows (the others' unused
    /// claims included: an upper bound).
    var knownCurrent: Int64 { othersCurrent.saturatingAdd(use[window] ?? 0) }
    /// The cluster's use in the previous window as far as this replica knows.
    var knownPrevious: Int64 { othersPrevious.saturatingAdd(use[window - 1] ?? 0) }

    /// This replica's use in `window` since its last sync.
    var usedSinceSync: Int64 { (use[window] ?? 0).saturatingSubtract(useAtSync) }

    /// The limit left for the current window once the previous window's share is taken off.
    func budget(_ at: RateWindow) -> Double {
        Double(limit) - Double(max(0, knownPrevious)) * (1 - at.fraction)
    }

    /// The sliding estimate of the cluster's use over the trailing minute.
    func estimate(_ at: RateWindow) -> Double {
        Double(max(0, knownPrevious)) * (1 - at.fraction) + Double(max(0, knownCurrent))
    }

    /// Whether a request costing `cost` may pass now. Requests (cost 1) must fit into the
    /// allowance; a token reservation passes while the allowance is not used up (it may go over by
    /// less than itself, so that a reservation larger than one replica's share is not refused
    /// for ever). `synchronized`: the last sync succeeded recently; otherwise this replica counts
    /// as the only one and enforces the whole limit from what it knows.
    func admits(cost: Int64, kind: RateLimitKind, at: RateWindow, synchronized: Bool, replicas: Int) -> Bool {
        let used: Double
        let allowance: Double
        if !synchronized {
            used = estimate(at)
            allowance = Double(limit)
        } else if granted {
            used = Double(usedSinceSync)
            allowance = Double(grant)
        } else {
            // First moments of a window, before its first sync: this replica's share of the budget.
            used = Double(usedSinceSync)
            allowance = budget(at) / Double(max(1, replicas))
        }
        // A hair of tolerance: `100·0.99` must count as 99, not 99.00000000000001.
        let slack = 1e-9 * max(1, allowance)
        switch kind {
        case .requests: return used + Double(cost) <= allowance + slack
        case .tokens: return used < allowance - slack
        }
    }

    /// When a refused request would pass with no further use anywhere; at least one second (the
    /// next syncs) when the cluster as known has room and only this replica's share is used up.
    func retryAfter(at: RateWindow) -> Duration {
        // Room for one more unit: the point where a request (cost 1) fits and a token
        // reservation finds the allowance not used up.
        let room = Double(limit - 1)
        let wait = RateWindow.wait(
            previous: Double(knownPrevious), current: Double(knownCurrent), room: room, fraction: at.fraction)
        return max(wait, .seconds(1))
    }

    /// Records admitted use (or a settlement's difference) in window `index`.
    mutating func record(_ amount: Int64, in index: Int64) {
        guard amount != 0, window == .min || index >= window - 1 else { return }
        use[index, default: 0] = use[index, default: 0].saturatingAdd(amount)
    }
}
