/// Turns the screen showing the previous frame into the next one by rewriting only the lines
/// that changed (cursor to the line, erase it, the text) — no clear, so no flicker.
public struct FrameDiffer: Sendable {
    /// The frame on screen.
    public private(set) var previous: [String] = []

    public init() {}

    /// The rows (0-based) whose text differs; every row when the line count changed.
    public static func changedRows(from old: [String], to new: [String]) -> [Int] {
        guard old.count == new.count else { return Array(new.indices) }
        return new.indices.filter { old[$0] != new[$0] }
    }

    /// The terminal output for `frame` (empty when nothing changed). `force` repaints everything
    /// after clearing the screen (after a resize, when the terminal's content is unknown).
    public mutating func update(to frame: [String], force: Bool = false) -> String {
        var out = ""
        let rows: [Int]
        if force || previous.count != frame.count {
            out += "\u{1B}[H\u{1B}[2J"
            rows = Array(frame.indices)
        } else {
            rows = Self.changedRows(from: previous, to: frame)
        }
        for row in rows {
            // Erase first, then write: a line filling the last column leaves the cursor there, where a
            // trailing erase would take the last character.
            out += "\u{1B}[\(row + 1);1H\u{1B}[2K" + frame[row]
        }
        previous = frame
        return out
    }
}
