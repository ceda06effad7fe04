import FederationCore
import Foundation

/// How fedctl writes numbers, durations and times for people.
public enum Format {
    /// `42`, `0.82`, `1234.5` — whole numbers without a decimal point, others with up to 3 decimals.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        if let whole = Int64(checked: value) { return String(whole) }
        var text = String(format: "%.3f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// A latency in ms: `45 ms`, `1.2 s`, `-` when absent.
    public static func milliseconds(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "-" }
        if value < 1 { return String(format: "%.2f ms", value) }
        if value < 1000 { return "\(Int(saturating: value.rounded())) ms" }
        return duration(milliseconds: value)
    }

    /// A duration for people: `850ms`, `4.2s`, `3m 05s`, `2h 10m`, `3d 4h`; negative as `0s`.
    public static func duration(milliseconds value: Double) -> String {
        guard value.isFinite else { return "-" }
        let ms = max(0, value)
        if ms < 1000 { return "\(Int(saturating: ms.rounded()))ms" }
        if ms < 10_000 { return String(format: "%.1fs", ms / 1000) }
        let seconds = Int64(saturating: (ms / 1000).rounded(.down))
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return String(format: "%dm %02ds", seconds / 60, seconds % 60) }
        if seconds < 86_400 { return String(format: "%dh %02dm", seconds / 3600, seconds % 3600 / 60) }
        return "\(seconds / 86_400)d \(seconds % 86_400 / 3600)h"
    }

    /// A duration value: `Duration` → the same text as ``duration(milliseconds:)``.
    public static func duration(_ value: Duration) -> String {
        duration(milliseconds: value.milliseconds)
    }

    /// How long ago `timestampMs` (ms since the epoch) was, relative to `nowMs`: `3.2s ago`,
    /// `in 4m 10s` for the future, `-` when absent.
    public static func relative(_ timestampMs: Int64?, now nowMs: Int64) -> String {
        guard let timestampMs else { return "-" }
        let delta = nowMs.saturatingSubtract(timestampMs)
        if delta >= 0 { return duration(milliseconds: Double(delta)) + " ago" }
        return "in " + duration(milliseconds: Double(delta.saturatingMultiply(-1)))
    }

    /// Milliseconds since the epoch, now.
    public static func nowMs() -> Int64 {
        Int64(saturating: Date().timeIntervalSince1970 * 1000)
    }

    /// Parses a duration given on the command line: `500ms`, `90s`, `10m`, `2h`, `1d`, or a plain
    /// number of seconds (`30`, `1.5`). Nil when it is not one, negative, or longer than a day × 365.
    public static func parseDuration(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [
            ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
        ]
        var number = Substring(trimmed)
        var factor = 1000.0
        for (suffix, unitFactor) in units where trimmed.hasSuffix(suffix) {
            let candidate = trimmed.dropLast(suffix.count)
            // "ms" must win over "s": only accept when what is left is a number
            if Double(candidate) != nil {
                number = candidate
                factor = unitFactor
                break
            }
        }
        guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
        let ms = value * factor
        guard ms <= 365 * 86_400_000 else { return nil }
        return .milliseconds(checked: ms)
    }
}
