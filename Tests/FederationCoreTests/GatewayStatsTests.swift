import Testing

@testable import FederationCore

@Suite struct GatewayStatsTests {
    @Test func countsRequestsTokensAndAverageLatencyOfSuccesses() {
        var acc = StatsAccumulator()
        #expect(acc.stats == GatewayStats())
        for _ in 0..<4 { acc.begin() }
        acc.finish(success: true, latency: .milliseconds(100), tokens: 10)
        acc.finish(success: true, latency: .milliseconds(300), tokens: nil)
        acc.finish(success: false, latency: .seconds(30), tokens: 99)
        let stats = acc.stats
        #expect(stats.totalRequests == 4)
        #expect(stats.successfulRequests == 2)
        #expect(stats.failedRequests == 1)
        #expect(stats.inFlight == 1)
        #expect(stats.totalTokens == 10, "tokens of failed requests are not counted")
        #expect(stats.averageLatency == .milliseconds(200), "a 30 s failure does not skew the average")
    }

    @Test func activeStreamsGoDownAgainAndNeverBelowZero() {
        var acc = StatsAccumulator()
        acc.streamStarted()
        acc.streamStarted()
        #expect(acc.stats.activeStreams == 2)
        acc.streamEnded()
        #expect(acc.stats.activeStreams == 1)
        acc.streamEnded()
        acc.streamEnded()
        #expect(acc.stats.activeStreams == 0)
    }

    @Test func mergeSumsCountsAndWeightsTheAverageByCount() {
        var a = StatsAccumulator()
        for ms in [100, 100] {
            a.begin()
            a.finish(success: true, latency: .milliseconds(ms), tokens: 5)
        }
        a.streamStarted()
        var b = StatsAccumulator()
        for _ in 0..<6 {
            b.begin()
            b.finish(success: true, latency: .milliseconds(300), tokens: 1)
        }
        b.begin()
        b.finish(success: false, latency: .zero)
        b.streamStarted()
        b.streamStarted()

        var cluster = a
        cluster.merge(b)
        let s = cluster.stats
        #expect(s.totalRequests == 9)
        #expect(s.successfulRequests == 8)
        #expect(s.failedRequests == 1)
        #expect(s.totalTokens == 16)
        #expect(s.activeStreams == 3)
        // (2 × 100 + 6 × 300) / 8 = 250, not the plain mean of averages (200).
        #expect(s.averageLatency == .milliseconds(250))

        var fromPublished = StatsAccumulator(a.stats)
        fromPublished.merge(b.stats)
        #expect(fromPublished.stats == s)
    }

    @Test func mergingEmptyStatsChangesNothing() {
        var acc = StatsAccumulator()
        acc.begin()
        acc.finish(success: true, latency: .milliseconds(42), tokens: 3)
        let before = acc.stats
        acc.merge(GatewayStats())
        #expect(acc.stats == before)
        #expect(StatsAccumulator().averageLatency == .zero)
    }

    @Test func codableUsesSnakeCaseAndMilliseconds() throws {
        let stats = GatewayStats(
            totalRequests: 10, successfulRequests: 7, failedRequests: 2, totalTokens: 700,
            averageLatency: .milliseconds(12.5), activeStreams: 1)
        let json = try CoreStateJSON.encode(stats)
        #expect(
            json
                == #"{"active_streams":1,"average_latency_ms":12.5,"failed_requests":2,"successful_requests":7,"#
                + #""total_requests":10,"total_tokens":700}"#)
        #expect(try CoreStateJSON.roundTrip(stats) == stats)
        #expect(try CoreStateJSON.decode(GatewayStats.self, "{}") == GatewayStats())
        #expect(throws: DecodingError.self) {
            try CoreStateJSON.decode(GatewayStats.self, #"{"average_latency_ms": -1}"#)
        }
    }
}
