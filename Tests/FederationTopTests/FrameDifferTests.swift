import FederationTop
import Testing

/// Redraws rewrite only the lines that changed.
@Suite struct FrameDifferTests {
    @Test func onlyChangedLinesAreWritten() {
        var differ = FrameDiffer()
        let first = ["alpha", "beta ", "gamma"]
        let initial = differ.update(to: first)
        #expect(initial.hasPrefix("\u{1B}[H\u{1B}[2J"))  // nothing on screen yet: a full paint
        #expect(initial.contains("\u{1B}[1;1H\u{1B}[2Kalpha"))
        #expect(initial.contains("\u{1B}[3;1H\u{1B}[2Kgamma"))

        #expect(differ.update(to: first).isEmpty)  // no change, no output

        let second = ["alpha", "BETA!", "gamma"]
        let out = differ.update(to: second)
        #expect(out == "\u{1B}[2;1H\u{1B}[2KBETA!")
        #expect(FrameDiffer.changedRows(from: first, to: second) == [1])
        #expect(differ.previous == second)
    }

    @Test func aResizeOrForceRepaintsEverything() {
        var differ = FrameDiffer()
        _ = differ.update(to: ["a", "b"])
        let grown = differ.update(to: ["a", "b", "c"])
        #expect(grown.hasPrefix("\u{1B}[H\u{1B}[2J"))
        #expect(grown.contains("\u{1B}[1;1H") && grown.contains("\u{1B}[3;1H"))
        let forced = differ.update(to: ["a", "b", "c"], force: true)
        #expect(forced.contains("\u{1B}[2;1H\u{1B}[2Kb"))
        #expect(FrameDiffer.changedRows(from: ["x"], to: ["x", "y"]) == [0, 1])
    }
}
