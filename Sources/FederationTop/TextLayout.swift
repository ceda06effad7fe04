/// Display-column arithmetic for the dashboard: every line the renderer returns fits its width
/// exactly as a terminal shows it. Outside text (ids, error messages) is sanitized first: control
/// characters (an escape sequence in a node's error message) become `?`, never reach the terminal.
enum TextLayout {
    /// The columns a terminal gives `scalar`: 0 for combining marks, 2 for wide (East Asian,
    /// emoji) characters, 1 otherwise.
    static func width(of scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        switch v {
        case 0x0300...0x036F, 0x1AB0...0x1AFF, 0x1DC0...0x1DFF, 0x20D0...0x20FF, 0xFE00...0xFE0F,
            0xFE20...0xFE2F, 0x200B...0x200F:
            return 0
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
            0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            return 2
        default:
            return 1
        }
    }

    /// The display width of `text` (after sanitizing).
    static func width(_ text: String) -> Int {
        sanitize(text).unicodeScalars.reduce(0) { $0 + width(of: $1) }
    }

    /// `text` with every control character (C0, DEL, C1) replaced by `?` and tabs by a space.
    static func sanitize(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\t" {
                out.append(" ")
            } else {
                out.append(isControl(scalar) ? "?" : scalar)
            }
        }
        return String(out)
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// `text` cut to at most `columns` display columns; a cut line ends in `…`.
    static func truncate(_ text: String, to columns: Int) -> String {
        guard columns > 0 else { return "" }
        let clean = sanitize(text)
        var used = 0
        var out = String.UnicodeScalarView()
        let scalars = Array(clean.unicodeScalars)
        let total = scalars.reduce(0) { $0 + width(of: $1) }
        if total <= columns { return clean }
        // Room for the ellipsis.
        for scalar in scalars {
            let w = width(of: scalar)
            if used + w > columns - 1 { break }
            used += w
            out.append(scalar)
        }
        out.append("…")
        return String(out)
    }

    /// `text` truncated and padded with spaces to exactly `columns` display columns.
    static func fit(_ text: String, to columns: Int) -> String {
        guard columns > 0 else { return "" }
        let cut = truncate(text, to: columns)
        let w = width(cut)
        return w < columns ? cut + String(repeating: " ", count: columns - w) : cut
    }

    /// `text` right-aligned in `columns`.
    static func fitRight(_ text: String, to columns: Int) -> String {
        guard columns > 0 else { return "" }
        let cut = truncate(text, to: columns)
        let w = width(cut)
        return w < columns ? String(repeating: " ", count: columns - w) + cut : cut
    }
}

/// A text table: fixed-width columns, the last one taking what is left of the line.
struct TextTable {
    struct Column {
        var title: String
        var width: Int
        var rightAligned = false
    }
    var columns: [Column]

    /// One line of `cells` (missing cells are blank) for a screen `width` columns wide.
    func line(_ cells: [String], width: Int) -> String {
        var parts: [String] = []
        var used = 0
        for (index, column) in columns.enumerated() {
            let cell = index < cells.count ? cells[index] : ""
            let isLast = index == columns.count - 1
            let room = isLast ? max(0, width - used) : min(column.width, max(0, width - used))
            if room <= 0 { break }
            let text =
                column.rightAligned ? TextLayout.fitRight(cell, to: room) : TextLayout.fit(cell, to: room)
            parts.append(text)
            used += room
            if !isLast, used < width {
                parts.append(" ")
                used += 1
            }
        }
        return TextLayout.fit(parts.joined(), to: width)
    }

    func header(width: Int) -> String { line(columns.map(\.title), width: width) }
}
