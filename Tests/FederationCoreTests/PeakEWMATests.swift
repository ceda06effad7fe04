import Testing

@testable import FederationCore

@Suite("Peak-EWMA latency")
struct PeakEWMATests {
    let start = Timestamp(milliseconds: 1_000_000)

    func at(_ ms: Int64) -> Timestamp { Timestamp(milliseconds: start.milliseconds + ms) }

    @Test("a slow observation replaces the estimate at once; faster ones pull it down with time")
    func peakThenDecay() throws {
        let ewma = PeakEWMA(configuration: .init(decay: .seconds(10)))
        #expect(ewma.estimate("a", at: start) == nil)
        ewma.observe("a", latency: .milliseconds(10), ok: true, at: start)
        #expect(ewma.estimate("a", at: start) == 10)
        ewma.observe("a", latency: .milliseconds(200), ok: true, at: at(1))
        #expect(ewma.estimate("a", at: at(1)) == 200)
        // 10 ms answers right after barely move it; spread over time constants they bring it down
        ewma.observe("a", latency: .milliseconds(10), ok: true, at: at(2))
        #expect(try #require(ewma.estimate("a", at: at(2))) > 199)
        for step in 1...60 {
            ewma.observe("a", latency: .milliseconds(10), ok: true, at: at(Int64(step) * 1000))
        }
        let settled = try #require(ewma.estimate("a", at: at(60_000)))
        #expect(settled > 9.9 && settled < 11, "\(settled)")
    }

    @Test("between observations the estimate decays toward zero with the time constant")
    func decaysWhenIdle() throws {
        let ewma = PeakEWMA(configuration: .init(decay: .seconds(10)))
        ewma.observe("a", latency: .milliseconds(100), ok: true, at: start)
        let oneTau = try #require(ewma.estimate("a", at: at(10_000)))
        #expect(abs(oneTau - 100 / 2.718281828) < 0.01, "\(oneTau)")
        // reading does not change it
        #expect(ewma.estimate("a", at: at(10_000)) == oneTau)
    }

    @Test("a failed attempt counts as at least the failure penalty")
    func failurePenalty() {
        let ewma = PeakEWMA(configuration: .init(failurePenalty: .milliseconds(500)))
        ewma.observe("a", latency: .milliseconds(2), ok: false, at: start)
        #expect(ewma.estimate("a", at: start) == 500)
        ewma.observe("b", latency: .milliseconds(900), ok: false, at: start)
        #expect(ewma.estimate("b", at: start) == 900)
    }

    @Test("an observation older than forgetAfter is forgotten, and the table shrinks")
    func forgets() {
        let ewma = PeakEWMA(configuration: .init(forgetAfter: .seconds(60)))
        ewma.observe("old", latency: .milliseconds(5), ok: true, at: start)
        #expect(ewma.estimate("old", at: at(60_000)) != nil)
        #expect(ewma.estimate("old", at: at(60_001)) == nil)
        for i in 0..<PeakEWMA.pruneEvery {
            ewma.observe(NodeId("n\(i % 3)"), latency: .milliseconds(5), ok: true, at: at(61_000))
        }
        #expect(ewma.count == 3)
    }

    @Test("nonsense latencies are clamped, never trapped on")
    func clamps() {
        let ewma = PeakEWMA()
        ewma.observe("a", latency: .milliseconds(-5), ok: true, at: start)
        #expect(ewma.estimate("a", at: start) == 0)
        ewma.observe("b", latency: .seconds(Int64.max), ok: true, at: start)
        #expect(ewma.estimate("b", at: start)?.isFinite == true)
    }
}
