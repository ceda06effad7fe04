/// A text table for a terminal: columns aligned by *display* width (a CJK character or an emoji takes
/// two cells, a combining mark none), cells longer than their column's limit cut with `…` on a
/// character boundary, control characters in cells (a hostile node id with an escape sequence)
/// shown as `?`, two spaces between columns, no trailing spaces.
public struct Table: Sendable {
    public enum Alignment: Sendable { case left, right }

    public struct Column: Sendable {
        public var title: String
        public var alignment: Alignment
        /// Longest cell in display cells; longer ones are truncated with `…`.
        public var maxWidth: Int

        public init(_ title: String, _ alignment: Alignment = .left, maxWidth: Int = 40) {
            self.title = title
            self.alignment = alignment
            self.maxWidth = max(1, maxWidth)
        }
    }

    public var columns: [Column]
    public var rows: [[String]] = []

    public init(_ columns: [Column]) { self.columns = columns }

    /// Adds a row; missing cells are empty, extra cells are dropped.
    public mutating func add(_ cells: [String]) {
        rows.append((0..<columns.count).map { $0 < cells.count ? cells[$0] : "" })
    }

    /// The table as lines joined by newlines (header first), ending without a newline.
    public func render() -> String {
        let header = columns.map { Self.fit(Self.sanitized($0.title), width: $0.maxWidth) }
        let body = rows.map { row in
            zip(row, columns).map { Self.fit(Self.sanitized($0), width: $1.maxWidth) }
        }
        let widths = columns.indices.map { index in
            ([header] + body).map { Self.displayWidth($0[index]) }.max() ?? 0
        }
        return ([header] + body).map { cells in
            var line = ""
            for (index, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - Self.displayWidth(cell))
                if index > 0 { line += "  " }
                line += columns[index].alignment == .right ? padding + cell : cell + padding
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }

    /// Control characters (C0, DEL, C1) become `?`, so cells cannot move the cursor or recolour
    /// the terminal.
    public static func sanitized(_ text: String) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            result.unicodeScalars.append(value < 0x20 || (0x7F...0x9F).contains(value) ? "?" : scalar)
        }
        return result
    }

    /// `text` cut to at most `width` display cells, with `…` when it was cut.
    public static func fit(_ text: String, width: Int) -> String {
        guard displayWidth(text) > width else { return text }
        var result = ""
        var used = 0
        for character in text {
            let cells = displayWidth(character)
            if used + cells > width - 1 { break }
            result.append(character)
            used += cells
        }
        return result + "…"
    }

    /// Cells `text` takes on a terminal.
    public static func displayWidth(_ text: String) -> Int {
        text.reduce(0) { $0 + displayWidth($1) }
    }

    /// Cells one grapheme takes: 0 for a mark or format character alone, 2 for East Asian wide and
    /// full-width characters and emoji, else 1.
    public static func displayWidth(_ character: Character) -> Int {
        guard let first = character.unicodeScalars.first else { return 0 }
        switch first.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if character.unicodeScalars.count > 1,
            character.unicodeScalars.contains(where: { $0.value == 0xFE0F })
        {
            return 2  // emoji presentation selector
        }
        if first.properties.isEmojiPresentation { return 2 }
        return isWide(first.value) ? 2 : 1
    }

    private static func isWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
            0xFFE0...0xFFE6, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}
