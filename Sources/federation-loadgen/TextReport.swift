/// The human-readable form of a `RunReport`.
enum TextReport {
    static func render(_ report: RunReport) -> String {
        var lines = [
            "mode: \(report.mode), client: \(report.client), loadavg before: \(report.loadAverageBefore), "
                + "after: \(report.loadAverageAfter)"
        ]
        if let cpu = report.loadgenCPUMicrosecondsPerRequest {
            lines.append("load generator CPU: \(format(cpu)) µs per request")
        }
        for target in report.targets {
            lines.append("")
            lines.append("\(target.name)  \(target.url)")
            lines.append(
                "  sent \(target.sent), ok \(target.succeeded), failed \(target.failed), achieved "
                    + "\(format(target.achievedRate))/s over \(format(target.measuredSeconds)) s, "
                    + "sent > 1 ms late \(target.sentLate)")
            if !target.errors.isEmpty {
                let errors = target.errors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
                lines.append("  errors: " + errors.joined(separator: ", "))
            }
            let rows: [(String, LatencySummary?)] = [
                ("latency", target.latency), ("ttft", target.timeToFirstToken),
                ("token gap", target.interTokenGap),
            ]
            for (label, summary) in rows {
                guard let s = summary else { continue }
                lines.append(
                    "  \(label.padding(9)) ms  p50 \(format(s.p50))  p90 \(format(s.p90))  p99 \(format(s.p99))  "
                        + "p99.9 \(format(s.p999))  max \(format(s.max))  (n=\(s.count))")
            }
            if let hold = target.hold {
                var line =
                    "  hold: \(hold.streams) streams, completed \(hold.completed), failed \(hold.failed), "
                    + "peak open \(hold.peakOpen), all open after \(format(hold.secondsToOpenAll)) s"
                if let before = hold.rssBeforeKiB, let held = hold.rssHeldKiB, let after = hold.rssAfterKiB {
                    line += ", RSS KiB before \(before) / held \(held) / after \(after)"
                }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Three significant decimals at most, without exponent notation.
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        let digits = abs(value) >= 100 ? 0 : abs(value) >= 10 ? 1 : abs(value) >= 1 ? 2 : 3
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = "\(rounded)"
        if digits == 0, text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
