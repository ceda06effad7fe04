import FederationCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How long the node waits before the first byte of an inference response.
///
/// The text form (flags, environment, YAML) is `fixed:MS`, `normal:MEAN,STDDEV`,
/// `lognormal:MEDIAN,P99` or `pareto:MIN,P99`, all in milliseconds. The long-tail forms are set by
/// their p99 so an operator can say "median 40 ms, but one in a hundred takes 800 ms".
public enum LatencyDistribution: Sendable, Hashable, CustomStringConvertible {
    case fixed(milliseconds: Double)
    case normal(meanMilliseconds: Double, stddevMilliseconds: Double)
    case logNormal(medianMilliseconds: Double, p99Milliseconds: Double)
    case pareto(minimumMilliseconds: Double, p99Milliseconds: Double)

    /// The 99th percentile of the standard normal distribution.
    static let z99 = 2.326_347_874

    public var description: String {
        switch self {
        case .fixed(let ms): "fixed:\(ms.compact)"
        case .normal(let mean, let stddev): "normal:\(mean.compact),\(stddev.compact)"
        case .logNormal(let median, let p99): "lognormal:\(median.compact),\(p99.compact)"
        case .pareto(let minimum, let p99): "pareto:\(minimum.compact),\(p99.compact)"
        }
    }

    /// Parses the text form; a bare number means `fixed`.
    public init(parsing text: String) throws(NodeConfigurationError) {
        let usage =
            "latency '\(text)' must be fixed:MS, normal:MEAN,STDDEV, lognormal:MEDIAN,P99 or pareto:MIN,P99 "
            + "(milliseconds)"
        let trimmed = text.trimmingSpaces
        if let ms = Double(trimmed) {
            guard ms >= 0 else { throw .invalid(usage) }
            self = .fixed(milliseconds: ms)
            return
        }
        let parts = trimmed.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw .invalid(usage) }
        let numbers = parts[1].split(separator: ",").map { Double($0.trimmingSpaces) }
        guard !numbers.contains(nil), numbers.allSatisfy({ $0! >= 0 && $0!.isFinite }) else {
            throw .invalid(usage)
        }
        let values = numbers.map { $0! }
        switch (parts[0].lowercased(), values.count) {
        case ("fixed", 1):
            self = .fixed(milliseconds: values[0])
        case ("normal", 2):
            self = .normal(meanMilliseconds: values[0], stddevMilliseconds: values[1])
        case ("lognormal", 2):
            guard values[0] > 0, values[1] >= values[0] else {
                throw .invalid("latency '\(text)': lognormal needs 0 < median ≤ p99")
            }
            self = .logNormal(medianMilliseconds: values[0], p99Milliseconds: values[1])
        case ("pareto", 2):
            guard values[0] > 0, values[1] > values[0] else {
                throw .invalid("latency '\(text)': pareto needs 0 < min < p99")
            }
            self = .pareto(minimumMilliseconds: values[0], p99Milliseconds: values[1])
        default:
            throw .invalid(usage)
        }
    }

    /// Draws one delay in milliseconds (never negative).
    public func sampleMilliseconds(using random: some RandomSource) -> Double {
        switch self {
        case .fixed(let ms):
            return ms
        case .normal(let mean, let stddev):
            return max(0, mean + stddev * Self.standardNormal(random))
        case .logNormal(let median, let p99):
            // p99 = median · e^(σ·z99)  ⇒  σ = ln(p99/median) / z99
            let sigma = log(p99 / median) / Self.z99
            return median * exp(sigma * Self.standardNormal(random))
        case .pareto(let minimum, let p99):
            // P(X > x) = (min/x)^α and P(X > p99) = 0.01  ⇒  α = ln 100 / ln(p99/min)
            let alpha = log(100) / log(p99 / minimum)
            let u = 1 - random.nextUnit()  // in (0, 1]
            return minimum / pow(u, 1 / alpha)
        }
    }

    /// Whether every sample is zero (lets the hot path skip the clock).
    public var isZero: Bool {
        if case .fixed(let ms) = self { return ms == 0 }
        return false
    }

    /// Box–Muller: one standard normal sample.
    static func standardNormal(_ random: some RandomSource) -> Double {
        let u1 = max(random.nextUnit(), Double.leastNonzeroMagnitude)
        let u2 = random.nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

extension Double {
    /// `50` rather than `50.0` for whole numbers.
    var compact: String {
        self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self)
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
