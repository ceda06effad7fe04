import Testing

@testable import FederationTop

/// Frames rendered from fixed snapshots, compared as text.
@Suite struct RendererTests {
    static let sizes: [(cols: Int, rows: Int)] = [
        (160, 40), (120, 30), (100, 16), (80, 24), (60, 10), (40, 8), (20, 5), (5, 3), (1, 1), (0, 0),
        (30, 2),
    ]

    /// Exactly `rows` lines, each exactly `cols` display columns, no control characters.
    func checkShape(_ frame: [String], _ size: (cols: Int, rows: Int), _ what: String) {
        #expect(frame.count == size.rows, "\(what) \(size): \(frame.count) lines")
        for (index, line) in frame.enumerated() {
            #expect(TextLayout.width(line) == size.cols, "\(what) \(size) line \(index): '\(line)'")
            #expect(!line.unicodeScalars.contains { TextLayout.isControl($0) }, "\(what) line \(index)")
        }
    }

    @Test func everyTabAtEverySizeHasTheExactShape() {
        for tab in UIState.Tab.allCases {
            for size in Self.sizes {
                checkShape(
                    TopRenderer.render(Fixtures.snapshot, state: UIState(tab: tab), size: size), size,
                    "\(tab)")
                checkShape(
                    TopRenderer.render(TopSnapshot(), state: UIState(tab: tab), size: size), size,
                    "empty \(tab)")
            }
        }
    }

    func frame(
        _ tab: UIState.Tab, _ size: (cols: Int, rows: Int), _ snapshot: TopSnapshot = Fixtures.snapshot,
        scroll: Int = 0
    )
        -> String
    {
        TopRenderer.render(snapshot, state: UIState(tab: tab, scroll: [tab: scroll]), size: size).map {
            // Trailing blanks are padding; compare without them.
            var line = $0
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }
}
