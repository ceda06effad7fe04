/// Snapshot + UI state + terminal size → the frame's lines. Pure: exactly `rows` lines, each
/// exactly `cols` display columns (padded, cut with `…`), never wrapping.
///
/// Layout: the tab bar, a rule naming the tab and the visible part of its list, the tab's fixed
/// lines (errors of its sources, column headers), its list from the scroll offset, the status line.
public enum TopRenderer {
    /// The frame.
    public static func render(
        _ snapshot: TopSnapshot, state: UIState, size: (cols: Int, rows: Int)
    ) -> [String] {
        let cols = max(0, size.cols)
        let rows = max(0, size.rows)
        guard rows > 0 else { return [] }
        let bar = TextLayout.fit(tabBar(state.tab), to: cols)
        guard rows > 1 else { return [bar] }
        let status = TextLayout.fit(statusLine(snapshot), to: cols)
        let content = TopContent.build(snapshot, tab: state.tab, width: cols)
        let body = rows - 3  // bar, rule, status
        var lines = [bar]
        guard body >= 0 else { return [bar, status] }
        let fixed = Array(content.fixed.prefix(body))
        let listRoom = max(0, body - fixed.count)
        let offset = max(0, min(state.offset, max(0, content.rows.count - listRoom)))
        let visible = content.rows.dropFirst(offset).prefix(listRoom)
        lines.append(rule(state.tab, content: content, offset: offset, shown: visible.count, width: cols))
        lines += fixed.map { TextLayout.fit($0, to: cols) }
        lines += visible.map { TextLayout.fit($0, to: cols) }
        while lines.count < rows - 1 { lines.append(String(repeating: " ", count: cols)) }
        lines.append(status)
        return lines
    }

    /// The largest useful scroll offset of `tab` at this size (the program clamps with it).
    public static func maximumOffset(
        _ snapshot: TopSnapshot, tab: UIState.Tab, size: (cols: Int, rows: Int)
    ) -> Int {
        let content = TopContent.build(snapshot, tab: tab, width: max(0, size.cols))
        let room = max(0, size.rows - 3 - content.fixed.count)
        return max(0, content.rows.count - room)
    }

    /// How many list rows a page is at this size.
    public static func pageSize(rows: Int) -> Int { max(1, rows - 6) }

    static func tabBar(_ selected: UIState.Tab) -> String {
        " fedctl top  "
            + UIState.Tab.allCases.map { tab in
                let label = "\(tab.key) \(tab.title)"
                return tab == selected ? "[\(label)]" : " \(label) "
            }.joined(separator: " ")
    }

    static func rule(_ tab: UIState.Tab, content: TopContent, offset: Int, shown: Int, width: Int) -> String {
        var left = "── \(tab.title) "
        if !content.summary.isEmpty { left += "· \(content.summary) " }
        let position =
            content.rows.count > shown && shown > 0
            ? " \(offset + 1)–\(offset + shown) of \(content.rows.count) (j/k) ──" : ""
        let fill = width - TextLayout.width(left) - TextLayout.width(position)
        if fill <= 0 { return TextLayout.fit(left + position, to: width) }
        return left + String(repeating: "─", count: fill) + position
    }

    static func statusLine(_ snapshot: TopSnapshot) -> String {
        guard snapshot.fetchedAtMs > 0 else { return " waiting for the first refresh… │ q quit · ? help" }
        var parts: [String] = []
        for source in [TopSnapshot.Source.catalog, .health, .router] {
            parts.append("\(source) " + (snapshot.errors[source] == nil ? "ok" : "DOWN"))
        }
        let gateways = snapshot.sources.keys.filter { if case .gateway = $0 { true } else { false } }
        if !gateways.isEmpty {
            let up = gateways.filter { snapshot.errors[$0] == nil }.count
            parts.append("gateways \(up)/\(gateways.count) ok")
        }
        var line =
            " " + parts.joined(separator: "  ") + " │ " + TopFormat.clock(snapshot.fetchedAtMs) + " UTC"
        if let took = snapshot.fetchDurationMs { line += " (\(TopFormat.number(took, digits: 0)) ms)" }
        let errors = snapshot.errors.count
        line += errors == 0 ? " │ no errors" : " │ \(errors) error\(errors == 1 ? "" : "s")"
        return line + " │ q quit  ? help"
    }
}

/// Number and time formatting for the tabs (no Foundation formatters: same text everywhere).
enum TopFormat {
    static func number(_ value: Double?, digits: Int = 1) -> String {
        guard let value, value.isFinite else { return "-" }
        guard abs(value) < 1e15 else { return value > 0 ? "huge" : "-huge" }
        var scale = 1.0
        for _ in 0..<max(0, min(digits, 6)) { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int64(scaled / scale)
        let fraction = Int64(scaled - Double(whole) * scale)
        var text = (value < 0 && scaled > 0 ? "-" : "") + String(whole)
        if digits > 0 {
            let padded = String(fraction)
            text += "." + String(repeating: "0", count: max(0, digits - padded.count)) + padded
        }
        return text
    }

    static func int(_ value: Int64?) -> String { value.map { String($0) } ?? "-" }

    /// HH:MM:SS UTC of a Unix-ms instant.
    static func clock(_ ms: Int64) -> String {
        let whole = ms / 1000 - (ms % 1000 < 0 ? 1 : 0)  // floor, also before 1970
        let seconds = (whole % 86_400 + 86_400) % 86_400
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
    }

    /// A span in ms as "850ms", "12.3s", "4m05s", "3h12m".
    static func span(_ ms: Int64) -> String {
        let ms = max(0, ms)
        if ms < 1000 { return "\(ms)ms" }
        if ms < 60_000 { return number(Double(ms) / 1000, digits: 1) + "s" }
        let seconds = ms / 1000
        if seconds < 3600 {
            let rest = seconds % 60
            return "\(seconds / 60)m" + (rest < 10 ? "0" : "") + "\(rest)s"
        }
        let minutes = seconds / 60 % 60
        return "\(seconds / 3600)h" + (minutes < 10 ? "0" : "") + "\(minutes)m"
    }

    /// "3.2s ago" relative to `now`.
    static func ago(_ ms: Int64?, now: Int64) -> String {
        guard let ms, ms > 0 else { return "-" }
        let (difference, overflow) = now.subtractingReportingOverflow(ms)
        guard !overflow else { return "-" }
        return difference < 0 ? "now" : span(difference) + " ago"
    }

    /// `[██████░░░░]` of `fraction` (0…1) in `width` cells between the brackets.
    static func gauge(_ fraction: Double?, width: Int) -> String {
        let cells = max(0, width)
        guard let fraction, fraction.isFinite else { return "[" + String(repeating: "·", count: cells) + "]" }
        let clamped = max(0, min(1, fraction))
        let filled = Int((clamped * Double(cells)).rounded(.down))
        return "[" + String(repeating: "█", count: filled) + String(repeating: "░", count: cells - filled)
            + "]"
    }
}
