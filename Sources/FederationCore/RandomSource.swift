import Synchronization

/// Randomness for decisions (weighted picks, tie-breaks, retry jitter), injectable so tests are
/// repeatable. Implementations must be safe to call from many threads.
public protocol RandomSource: Sendable {
    func nextUInt64() -> UInt64
}

extension RandomSource {
    /// A uniform double in [0, 1).
    public func nextUnit() -> Double {
        Double(nextUInt64() >> 11) * 0x1.0p-53
    }

    /// A uniform integer in 0..<bound (bound > 0), without modulo bias.
    public func next(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let b = UInt64(bound)
        let threshold = (0 &- b) % b
        while true {
            let value = nextUInt64()
            if value >= threshold { return Int(value % b) }
        }
    }
}

/// The operating system's random numbers.
public struct SystemRandomSource: RandomSource {
    public init() {}
    public func nextUInt64() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }
}

/// A seeded SplitMix64 sequence: the same seed gives the same decisions.
public final class SeededRandomSource: RandomSource {
    private let state: Mutex<UInt64>

    public init(seed: UInt64) { state = Mutex(seed) }

    public func nextUInt64() -> UInt64 {
        state.withLock { s in
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
