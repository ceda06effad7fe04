import Testing

@testable import FederationCore

@Suite struct LatencyWindowTests {
    @Test func emptyWindowHasNoStatistics() {
        let window = LatencyWindow()
        #expect(window.capacity == 256)
        #expect(window.count == 0)
        #expect(window.isEmpty)
        #expect(window.p50 == nil)
        #expect(window.p99 == nil)
        #expect(window.throughput == nil)
        #expect(window.percentiles([50, 99]) == [nil, nil])
    }

    @Test func nearestRankOnTenSamples() {
        var window = LatencyWindow()
        // Recorded out of order on purpose: percentiles must sort.
        for ms in [7, 3, 10, 1, 9, 2, 8, 5, 4, 6] { window.record(.milliseconds(ms)) }
        #expect(window.count == 10)
        #expect(window.percentile(0) == .milliseconds(1))
        #expect(window.percentile(10) == .milliseconds(1))
        #expect(window.percentile(11) == .milliseconds(2))
        #expect(window.p50 == .milliseconds(5))
        #expect(window.percentile(51) == .milliseconds(6))
        #expect(window.percentile(90) == .milliseconds(9))
        #expect(window.p99 == .milliseconds(10))
        #expect(window.percentile(100) == .milliseconds(10))
    }

    @Test func percentilesAreRealNotAMovingAverage() {
        var window = LatencyWindow()
        for _ in 0..<98 { window.record(.milliseconds(10)) }
        window.record(.milliseconds(2000))
        window.record(.milliseconds(3000))
        #expect(window.p50 == .milliseconds(10))
        // Rank ceil(0.99 × 100) = 99: the second-largest sample.
        #expect(window.p99 == .milliseconds(2000))
        #expect(window.percentile(100) == .milliseconds(3000))
    }

    @Test func ringKeepsOnlyTheMostRecentSamples() {
        var window = LatencyWindow(capacity: 3)
        for ms in 1...5 { window.record(.milliseconds(ms), tokens: ms * 10) }
        #expect(window.count == 3)
        #expect(window.samples.map(\.latency) == [.milliseconds(3), .milliseconds(4), .milliseconds(5)])
        #expect(window.samples.map(\.tokens) == [30, 40, 50])
        #expect(window.percentile(0) == .milliseconds(3))
        window.removeAll()
        #expect(window.isEmpty)
        window.record(.milliseconds(9))
        #expect(window.samples.map(\.latency) == [.milliseconds(9)])
    }

    @Test func percentilesMatchSortedReferenceOnSeededData() {
        let random = SeededRandomSource(seed: 42)
        var window = LatencyWindow()
        var all: [Duration] = []
        for _ in 0..<1000 {
            // 1 µs resolution, up to 5 s, heavy tail.
            let micros = Int64(random.nextUnit() * random.nextUnit() * 5_000_000)
            let latency = Duration.microseconds(micros)
            all.append(latency)
            window.record(latency)
        }
        let reference = all.suffix(256).sorted()
        #expect(window.count == 256)
        for p in [1, 5, 10, 25, 50, 75, 90, 95, 99, 100] {
            let rank = max(1, (p * reference.count + 99) / 100)  // ceil(p × N / 100)
            #expect(window.percentile(Double(p)) == reference[rank - 1], "p\(p)")
        }
        #expect(window.percentiles([50, 99]) == [reference[127], reference[253]])
    }

    @Test func throughputIsTotalTokensOverTotalSeconds() {
        var window = LatencyWindow()
        window.record(.seconds(1), tokens: 100)
        window.record(.seconds(3), tokens: 100)
        // Samples without token counts (probes) do not dilute throughput.
        window.record(.milliseconds(500))
        let throughput = window.throughput
        #expect(throughput == 50)
        // Not the mean of per-request rates (100 and 33.3 → 66.7).
        #expect(throughput != (100 + 100.0 / 3) / 2)
    }

    @Test func throughputEdgeCases() {
        var window = LatencyWindow(capacity: 2)
        window.record(.milliseconds(200))
        #expect(window.throughput == nil)
        window.record(.zero, tokens: 10)
        #expect(window.throughput == nil, "zero seconds cannot give a rate")
        window.record(.milliseconds(250), tokens: 0)
        // The window holds (0 ms, 10) and (250 ms, 0): 10 tokens / 0.25 s.
        #expect(window.throughput == 40)
        window.record(.milliseconds(250), tokens: 50)
        // The window holds (250 ms, 0) and (250 ms, 50): 50 tokens / 0.5 s.
        #expect(window.throughput == 100)
    }

    @Test func invalidInputIsClamped() {
        var window = LatencyWindow(capacity: 0)
        #expect(window.capacity == 1)
        window.record(.milliseconds(-5), tokens: -3)
        #expect(window.samples == [LatencyWindow.Sample(latency: .zero, tokens: nil)])
        #expect(window.p50 == .zero)
    }
}

@Test func latencyWindowNanosecondConversionClampsAtTheEdges() {
    #expect(LatencyWindow.nanoseconds(of: .milliseconds(1.5)) == 1_500_000)
    #expect(LatencyWindow.nanoseconds(of: .seconds(-1)) == 0)
    #expect(LatencyWindow.nanoseconds(of: .seconds(Int64.max)) == .max)
    var window = LatencyWindow(capacity: 2)
    window.record(LatencyWindow.Sample(latency: .seconds(Int64.max)))
    #expect(window.p50 == .nanoseconds(Int64.max))
}
