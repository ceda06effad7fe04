import FederationCtl
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

extension RendererTests {
    /// The frames the golden tests compare with, by name (tab, size, snapshot).
    static var goldenCases:
        [(name: String, tab: UIState.Tab, size: (cols: Int, rows: Int), snapshot: TopSnapshot, scroll: Int)]
    {
        var down = Fixtures.snapshot
        down.errors[.catalog] =
            "the catalog at http://127.0.0.1:7101 is not reachable (connection refused); start it with ./scripts/cluster up"
        down.nodes = []
        down.models = []
        var empty = TopSnapshot()
        empty.fetchedAtMs = Fixtures.now
        empty.sources = Fixtures.snapshot.sources
        return [
            ("catalog-100x12", .catalog, (100, 12), Fixtures.snapshot, 0),
            ("catalog-scrolled-100x8", .catalog, (100, 8), Fixtures.snapshot, 2),
            ("health-100x7", .health, (100, 7), Fixtures.snapshot, 0),
            ("routing-120x7", .routing, (120, 7), Fixtures.snapshot, 0),
            ("routing-narrow-48x7", .routing, (48, 7), Fixtures.snapshot, 0),
            ("circuits-90x7", .circuits, (90, 7), Fixtures.snapshot, 0),
            ("stats-100x12", .stats, (100, 12), Fixtures.snapshot, 0),
            ("policies-70x8", .policies, (70, 8), Fixtures.snapshot, 0),
            ("catalog-down-80x8", .catalog, (80, 8), down, 0),
            ("stats-empty-80x5", .stats, (80, 5), empty, 0),
            ("routing-empty-80x5", .routing, (80, 5), empty, 0),
        ]
    }

    @Test(.disabled("prints the golden frames; enable it to regenerate GoldenFrameTests"))
    func printGoldenFrames() {
        for item in Self.goldenCases {
            print("=== \(item.name)")
            print(frame(item.tab, item.size, item.snapshot, scroll: item.scroll))
            print("=== end")
        }
    }
}

extension RendererTests {
    @Test func theGauge() {
        #expect(TopFormat.gauge(0.5, width: 10) == "[█████░░░░░]")
        #expect(TopFormat.gauge(1, width: 4) == "[████]")
        #expect(TopFormat.gauge(0, width: 4) == "[░░░░]")
        #expect(TopFormat.gauge(0.999, width: 10) == "[█████████░]")  // never full before 100 %
        #expect(TopFormat.gauge(7, width: 3) == "[███]")
        #expect(TopFormat.gauge(-1, width: 3) == "[░░░]")
        #expect(TopFormat.gauge(nil, width: 3) == "[···]")
        #expect(TopFormat.gauge(.nan, width: 3) == "[···]")
        #expect(TopFormat.gauge(0.5, width: -2) == "[]")
    }

    @Test func truncationCountsDisplayColumnsAndOutsideTextCannotReachTheTerminal() {
        #expect(TextLayout.truncate("abcdef", to: 4) == "abc…")
        #expect(TextLayout.truncate("abc", to: 3) == "abc")
        #expect(TextLayout.truncate("abc", to: 0) == "")
        #expect(TextLayout.width("日本語") == 6)
        #expect(TextLayout.truncate("日本語", to: 4) == "日…")
        #expect(TextLayout.width(TextLayout.fit("日本語", to: 4)) == 4)
        #expect(TextLayout.width("e\u{301}") == 1)
        // An escape sequence in a node's error message is shown, not executed.
        #expect(TextLayout.sanitize("bad\u{1B}[2Jnode\u{7}\u{9B}") == "bad?[2Jnode??")
        var s = Fixtures.snapshot
        s.errors[.catalog] = "evil \u{1B}]0;title\u{7} 日本語 " + String(repeating: "x", count: 500)
        s.nodes[0].id = "node\u{1B}[31m-red"
        for size in [(cols: 80, rows: 12), (cols: 33, rows: 9)] {
            let frame = TopRenderer.render(s, state: UIState(tab: .catalog), size: size)
            checkShape(frame, size, "hostile")
            #expect(frame.contains { $0.contains("node?[31m-red") })
        }
    }

    @Test func numbersFromOutsideNeverTrap() {
        #expect(TopFormat.number(1e300) == "huge")
        #expect(TopFormat.number(.infinity) == "-")
        #expect(TopFormat.number(-0.04) == "0.0")
        #expect(TopFormat.number(-0.06) == "-0.1")
        #expect(TopFormat.clock(.min) != "")
        #expect(TopFormat.number(2.345, digits: 2) == "2.35")
        #expect(TopFormat.span(.max) != "")
        #expect(TopFormat.ago(.min, now: .max) == "-")
        #expect(TopFormat.clock(-1) == "23:59:59")
        #expect(JSON.number(1e300).int64 == nil)
        #expect(JSON.number(.nan).double == nil)
    }
}
