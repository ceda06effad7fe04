import FederationTop
import Testing

/// What the Stats tab derives from snapshots: req/s between two of them, the p99 of decisions.
@Suite struct SnapshotTests {
    func snapshot(at ms: Int64, total: Int64?) -> TopSnapshot {
        var s = TopSnapshot()
        s.fetchedAtMs = ms
        if let total { s.cluster = .init(gateway: "cluster", totalRequests: total) }
        return s
    }

    @Test func requestsPerSecondFromTwoSnapshots() {
        let a = snapshot(at: 10_000, total: 100)
        #expect(TopSnapshot.requestRate(from: a, to: snapshot(at: 12_000, total: 150)) == 25)
        #expect(TopSnapshot.requestRate(from: a, to: snapshot(at: 10_500, total: 100)) == 0)
        // No earlier snapshot, no time passed, a missing total, a total that went down: no rate.
        #expect(TopSnapshot.requestRate(from: nil, to: a) == nil)
        #expect(TopSnapshot.requestRate(from: a, to: snapshot(at: 10_000, total: 200)) == nil)
        #expect(TopSnapshot.requestRate(from: a, to: snapshot(at: 11_000, total: nil)) == nil)
        #expect(TopSnapshot.requestRate(from: a, to: snapshot(at: 11_000, total: 50)) == nil)
    }

    @Test func p99OfTheRecentDecisions() {
        var s = TopSnapshot()
        #expect(s.decisionLatencyP99 == nil)
        s.decisions = (1...200).map {
            .init(gateway: "g", timeMs: Int64($0), requestId: "r\($0)", latencyMs: Double($0))
        }
        #expect(s.decisionLatencyP99?.ms == 198)
        #expect(s.decisionLatencyP99?.count == 200)
        s.decisions = [.init(gateway: "g", timeMs: 1, requestId: "x", latencyMs: 7)]
        #expect(s.decisionLatencyP99?.ms == 7)
    }

    @Test func successRate() {
        #expect(TopSnapshot.Stats(gateway: "g").successRate == nil)
        #expect(TopSnapshot.Stats(gateway: "g", successfulRequests: 3, failedRequests: 1).successRate == 0.75)
    }
}
