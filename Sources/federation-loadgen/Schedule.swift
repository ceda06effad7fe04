import FederationCore

/// When each request of an open-loop run is meant to be sent (wrk2's method): a fixed arrival rate,
/// independent of how fast the target answers, so a slow answer cannot delay the next request and
/// hide its own cost (no coordinated omission). Latency is measured from these intended times.
///
/// Several targets share one run in interleaved slices — target 0, 1, …, then 0 again — so
/// background load on the machine hits every target alike. Pure values, no clock: times are
/// nanosecond offsets from the run's start.
struct Slice: Equatable, Sendable {
    /// Index into the run's targets.
    var target: Int
    /// Offset of the slice's start from the run's start, in nanoseconds.
    var startNs: UInt64
    /// Length of the slice in nanoseconds.
    var lengthNs: UInt64
    /// False for warm-up slices, whose latencies are not recorded.
    var measured: Bool
}

enum SliceSchedule {
    /// Warm-up slices (one per target, `warmupNs` each) followed by measured slices of at most
    /// `sliceNs` that give every target `durationNs` of measured time, round by round.
    static func slices(targets: Int, durationNs: UInt64, warmupNs: UInt64, sliceNs: UInt64) -> [Slice] {
        guard targets > 0, sliceNs > 0 else { return [] }
        var result: [Slice] = []
        var cursor: UInt64 = 0
        if warmupNs > 0 {
            for target in 0..<targets {
                result.append(Slice(target: target, startNs: cursor, lengthNs: warmupNs, measured: false))
                cursor += warmupNs
            }
        }
        var remaining = durationNs
        while remaining > 0 {
            let length = min(sliceNs, remaining)
            for target in 0..<targets {
                result.append(Slice(target: target, startNs: cursor, lengthNs: length, measured: true))
                cursor += length
            }
            remaining -= length
        }
        return result
    }
}

/// The intended send times inside one slice at a fixed rate: request k at `k / rate` seconds after
/// the slice starts, for every k whose time falls inside the slice.
struct ArrivalSchedule: Sendable {
    /// Requests per second (positive, finite; checked by the caller).
    let rate: Double

    /// How many requests a slice of `lengthNs` gets.
    func count(inSliceOfLength lengthNs: UInt64) -> Int {
        max(0, Int(saturating: (Double(lengthNs) / 1e9 * rate).rounded(.up)))
    }

    /// Offset of request `index` from the slice's start, in nanoseconds. Computed from the index
    /// (not by adding intervals), so rounding never drifts over a long run.
    func offsetNs(ofRequest index: Int) -> UInt64 {
        UInt64(saturating: (Double(index) * 1e9 / rate).rounded())
    }
}
