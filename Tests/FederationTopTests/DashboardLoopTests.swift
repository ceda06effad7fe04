import Testing

@testable import FederationTop

/// The program's loop without a terminal: keys, snapshots and resizes in, frames out.
@Suite struct DashboardLoopTests {
    func expectHandled(
        _ loop: inout DashboardLoop, _ event: TopProgram.Event, size: () -> (cols: Int, rows: Int),
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let goesOn = loop.handle(event, size: size)
        #expect(goesOn, "\(event) ended the program", sourceLocation: sourceLocation)
    }

    func expectQuit(
        _ loop: inout DashboardLoop, _ event: TopProgram.Event, size: () -> (cols: Int, rows: Int),
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let goesOn = loop.handle(event, size: size)
        #expect(!goesOn, "\(event) did not end the program", sourceLocation: sourceLocation)
    }

    func loop(rows: Int = 10) -> DashboardLoop {
        DashboardLoop(options: TopOptions(), size: (80, rows))
    }

    @Test func keysSwitchTabsScrollWithinTheListAndQuit() {
        var loop = loop()
        expectHandled(&loop, .snapshot(Fixtures.snapshot), size: { (80, 10) })
        _ = loop.frame(force: true)
        expectHandled(&loop, .input(Array("3".utf8)), size: { (80, 10) })
        #expect(loop.ui.tab == .routing)
        // The routing list has 3 rows and 10 − 3 − 1 header = 6 fit: nothing to scroll.
        expectHandled(&loop, .input(Array("jjjj".utf8)), size: { (80, 10) })
        #expect(loop.ui.offset == 0)
        expectHandled(&loop, .input(Array("1".utf8)), size: { (80, 10) })
        // Catalog: 3 nodes + blank + header + 2 models = 7 rows, 6 fit: one step of scroll.
        expectHandled(&loop, .input(Array("jjj".utf8)), size: { (80, 10) })
        #expect(loop.ui.offset == 1)
        let scrolled = loop.frame(force: false)
        #expect(scrolled.contains("2–7 of 7"))
        #expect(!scrolled.contains("\u{1B}[2J"))  // a diff, not a repaint
        expectHandled(&loop, .input([0x1B, 0x5B, 0x41]), size: { (80, 10) })  // ↑
        #expect(loop.ui.offset == 0)
        expectHandled(&loop, .input([0x09, 0x09]), size: { (80, 10) })
        #expect(loop.ui.tab == .routing)
        expectHandled(&loop, .input([0x1B, 0x5B, 0x5A]), size: { (80, 10) })
        #expect(loop.ui.tab == .health)
        expectQuit(&loop, .input(Array("q".utf8)), size: { (80, 10) })
        var other = self.loop()
        expectQuit(&other, .input([0x03]), size: { (80, 10) })
        expectQuit(&other, .signal(15), size: { (80, 10) })
        expectQuit(&other, .inputClosed, size: { (80, 10) })
    }

    @Test func snapshotsGiveTheRateAndAResizeRepaints() {
        var loop = loop()
        var first = Fixtures.snapshot
        first.requestsPerSecond = nil
        expectHandled(&loop, .snapshot(first), size: { (80, 10) })
        #expect(loop.snapshot.requestsPerSecond == nil)
        var second = first
        second.fetchedAtMs += 2_000
        second.cluster?.totalRequests += 50
        expectHandled(&loop, .snapshot(second), size: { (80, 10) })
        #expect(loop.snapshot.requestsPerSecond == 25)
        _ = loop.frame(force: true)
        let unchanged = loop.frame(force: false)
        #expect(unchanged.isEmpty)  // nothing changed, nothing written
        expectHandled(&loop, .resize, size: { (50, 6) })
        #expect(loop.needsFullRedraw)
        let repaint = loop.frame(force: loop.needsFullRedraw)
        #expect(repaint.hasPrefix("\u{1B}[H\u{1B}[2J"))
        #expect(loop.differ.previous.count == 6)
        let shown = loop.differ.previous
        #expect(shown.allSatisfy { TextLayout.width($0) == 50 })
    }
}
