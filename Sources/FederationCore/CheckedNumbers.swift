/// Conversions of numbers that come from outside the process (the network, Redis, a node's
/// `/health`, the configuration). Swift's own conversions (`Int(_: Double)`, `Int64(_: Double)`,
/// `UInt64(_: Int64)`, `Duration` from a `Double`, `a * b` on `Int64`) trap when the value does not
/// fit, which turns a bad input into a dead process. Every outside number goes through one of these
/// instead:
///
/// - `checked` forms return nil when the value is not finite, not whole (for integers) or out of
///   range, so the caller rejects the input with a message naming the field;
/// - `saturating` forms clamp to the representable range, for arithmetic on values that were
///   already accepted (a deadline far in the future is "never", not a crash).
///
/// See docs/CORE.md ("Numbers from outside").
extension FixedWidthInteger {
    /// `value` when it is finite, whole and representable in `Self`; otherwise nil.
    @inlinable
    public init?(checked value: Double) {
        guard value.isFinite, let exact = Self(exactly: value) else { return nil }
        self = exact
    }

    /// `value` rounded toward zero and clamped to `Self`'s range; NaN is 0.
    @inlinable
    public init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value <= Double(Self.min) {
            self = .min
        } else if value >= Double(Self.max) {
            // Double(Self.max) rounds up to 2^bits for 64-bit types: anything at or above it is max.
            self = .max
        } else {
            self = Self(value.rounded(.towardZero))
        }
    }

    /// `self + other`, clamped to `Self`'s range instead of trapping.
    @inlinable
    public func saturatingAdd(_ other: Self) -> Self {
        let (result, overflow) = addingReportingOverflow(other)
        guard overflow else { return result }
        return other > 0 ? .max : .min
    }

    /// `self - other`, clamped to `Self`'s range instead of trapping.
    @inlinable
    public func saturatingSubtract(_ other: Self) -> Self {
        let (result, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return result }
        return other > 0 ? .min : .max
    }

    /// `self * other`, clamped to `Self`'s range instead of trapping.
    @inlinable
    public func saturatingMultiply(_ other: Self) -> Self {
        let (result, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return result }
        return (self < 0) == (other < 0) ? .max : .min
    }
}

extension Duration {
    /// The longest duration built from a floating-point number: ±(2^63 − 1) ns, about 292 years.
    /// Anything longer is "forever" for this system.
    public static let maximumFromDouble: Duration = .nanoseconds(Int64.max)

    /// The largest number of milliseconds ``milliseconds(checked:)`` accepts (≈ 292 years).
    public static let maximumMilliseconds = Double(Int64.max / 1_000_000)

    /// A duration of `value` milliseconds when `value` is finite and within
    /// ±``maximumMilliseconds``; otherwise nil.
    public static func milliseconds(checked value: Double) -> Duration? {
        guard value.isFinite, abs(value) <= maximumMilliseconds else { return nil }
        return .nanoseconds(Int64(saturating: (value * 1_000_000).rounded()))
    }

    /// A duration of `value` seconds when `value` is finite and within ±``maximumMilliseconds``/1000;
    /// otherwise nil.
    public static func seconds(checked value: Double) -> Duration? {
        guard value.isFinite, abs(value) <= maximumMilliseconds / 1000 else { return nil }
        return milliseconds(checked: value * 1000)
    }

    /// A duration from floating-point milliseconds that never traps: out-of-range values clamp to
    /// ±``maximumFromDouble`` and NaN is zero. It shadows the standard library's trapping
    /// `Duration.milliseconds(_: Double)` in every module that imports FederationCore. Outside
    /// input is checked first with ``milliseconds(checked:)`` (or a decoder of `CheckedDecoding`),
    /// so that a bad value is rejected rather than clamped.
    public static func milliseconds(_ value: Double) -> Duration {
        if value.isNaN { return .zero }
        return .nanoseconds(Int64(saturating: (value * 1_000_000).rounded()))
    }

    /// A duration from floating-point seconds that never traps (see ``milliseconds(_:)-swift.type.method``);
    /// shadows the standard library's trapping `Duration.seconds(_: Double)`.
    public static func seconds(_ value: Double) -> Duration {
        if value.isNaN { return .zero }
        return .nanoseconds(Int64(saturating: (value * 1_000_000_000).rounded()))
    }
}

extension Timestamp {
    /// A timestamp from floating-point milliseconds (e.g. a Redis sorted-set score) when it is
    /// finite and representable as `Int64`; otherwise nil.
    public init?(checkedMilliseconds value: Double) {
        guard let milliseconds = Int64(checked: value.rounded(.towardZero)) else { return nil }
        self.init(milliseconds: milliseconds)
    }
}
