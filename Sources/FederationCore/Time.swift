import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A wall-clock instant in milliseconds since the Unix epoch. Wall-clock (not monotonic) because
/// circuit deadlines and health timestamps are shared between processes through Redis.
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// This instant moved by `duration` (rounded down to whole milliseconds).
    /// Saturates at the ends of `Int64` instead of trapping (timestamps may come from outside).
    public func advanced(by duration: Duration) -> Timestamp {
        Timestamp(milliseconds: milliseconds.saturatingAdd(duration.wholeMilliseconds))
    }

    /// The time from `other` to `self` (negative when `other` is later); saturates instead of
    /// trapping.
    public func duration(since other: Timestamp) -> Duration {
        .milliseconds(milliseconds.saturatingSubtract(other.milliseconds))
    }

    public var description: String { "\(milliseconds)ms" }

    public init(from decoder: any Decoder) throws {
        milliseconds = try decoder.singleValueContainer().decode(Int64.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(milliseconds)
    }
}

extension Duration {
    /// Whole milliseconds, rounded toward zero; clamped to `Int64` for durations beyond ≈ 292
    /// million years.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds.saturatingMultiply(1000).saturatingAdd(attoseconds / 1_000_000_000_000_000)
    }

    /// Milliseconds as a floating-point number.
    public var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

/// The source of "now" for all decision logic, injectable so tests control time.
public protocol FederationClock: Sendable {
    func now() -> Timestamp
}

/// The real wall clock.
public struct SystemClock: FederationClock {
    public init() {}
    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}

/// A clock that only moves when told to; for tests and simulations.
public final class ManualClock: FederationClock {
    private let current: Mutex<Timestamp>

    public init(_ start: Timestamp = Timestamp(milliseconds: 1_700_000_000_000)) {
        current = Mutex(start)
    }

    public func now() -> Timestamp { current.withLock { $0 } }

    /// Moves the clock forward.
    public func advance(by duration: Duration) {
        current.withLock { $0 = $0.advanced(by: duration) }
    }

    /// Sets the clock to `timestamp`.
    public func set(_ timestamp: Timestamp) {
        current.withLock { $0 = timestamp }
    }
}
