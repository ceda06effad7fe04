import Testing

@testable import FederationCore

/// Probe round trips and inference latency are kept apart; routing uses recent inference latency.
@Suite struct LatencySourceTests {
    let node: NodeId = "us-west-gpu-01"
    let t0 = Timestamp(milliseconds: 1_700_000_000_000)

    func at(_ seconds: Int64) -> Timestamp { t0.advanced(by: .seconds(seconds)) }

    @Test func probesAloneGiveTheProbeRoundTrip() {
        var tracker = HealthTracker(node: node)
        for i in 0..<5 { tracker.recordSuccess(latency: .milliseconds(6), at: at(Int64(i)), source: .probe) }
        let s = tracker.snapshot(at: at(5))
        #expect(s.latencySource == .probe)
        #expect(s.latencyP50Ms == 6)
        #expect(s.probeLatencyP50Ms == 6)
        #expect(s.inferenceLatencyP50Ms == nil)
        #expect(s.throughput == nil)
    }

    @Test func recentReportsWinOverProbesAndStaleOnesDoNot() {
        var tracker = HealthTracker(node: node, configuration: .init(inferenceLatencyMaxAge: .seconds(60)))
        for i in 0..<20 { tracker.recordSuccess(latency: .milliseconds(6), at: at(Int64(i)), source: .probe) }
        for i in 0..<10 { tracker.recordSuccess(latency: .milliseconds(90), tokens: 9, at: at(Int64(i))) }
        let recent = tracker.snapshot(at: at(30))
        #expect(recent.latencySource == .inference)
        #expect(recent.latencyP50Ms == 90, "a node configured at 90 ms shows 90 ms, not its 6 ms /health")
        #expect(recent.probeLatencyP50Ms == 6)
        #expect(recent.inferenceLatencyP99Ms == 90)
        #expect(recent.throughput == 100)
        // 60 s after the newest report, inference latency is no longer recent: back to probe RTT.
        let stale = tracker.snapshot(at: at(9 + 60))
        #expect(stale.latencySource == .probe)
        #expect(stale.latencyP50Ms == 6)
        #expect(stale.inferenceLatencyP50Ms == 90, "still shown, just not used")
        #expect(tracker.snapshot(at: at(9 + 59)).latencySource == .inference)
    }

    @Test func aReportAfterASilenceStartsTheInferenceWindowAfresh() {
        var tracker = HealthTracker(node: node, configuration: .init(inferenceLatencyMaxAge: .seconds(60)))
        for i in 0..<10 { tracker.recordSuccess(latency: .milliseconds(500), at: at(Int64(i))) }
        tracker.recordSuccess(latency: .milliseconds(40), at: at(200))
        let s = tracker.snapshot(at: at(200))
        #expect(s.inferenceLatencyP99Ms == 40, "the old 500 ms samples were dropped")
        #expect(tracker.window.count == 1)
    }

    @Test func aSuccessWithoutLatencyAddsNoSample() {
        var tracker = HealthTracker(node: node)
        tracker.recordSuccess(latency: .milliseconds(40), at: at(0))
        tracker.recordSuccess(latency: nil, at: at(1))
        #expect(tracker.window.count == 1)
        #expect(tracker.totalSuccesses == 2)
        #expect(tracker.snapshot(at: at(1)).latencyP50Ms == 40)
    }

    @Test func maxAgeDecodesAndValidates() throws {
        let config = try CoreStateJSON.decode(
            HealthConfiguration.self, #"{"inference_latency_max_age_ms": 5000}"#)
        #expect(config.inferenceLatencyMaxAge == .seconds(5))
        #expect(try CoreStateJSON.roundTrip(config) == config)
        #expect(
            HealthConfiguration(inferenceLatencyMaxAge: .zero).validationProblem?.contains("inference")
                == true)
    }
}

/// Percentiles are maintained as samples arrive: equal to a sorted reference after every sample.
@Suite struct LatencyWindowMaintenanceTests {
    @Test(arguments: [1, 7, 256] as [Int])
    func percentilesEqualTheSortedReferenceAfterEverySample(capacity: Int) {
        let random = SeededRandomSource(seed: UInt64(capacity))
        var window = LatencyWindow(capacity: capacity)
        var recent: [(Int64, Int?)] = []
        for step in 0..<2000 {
            // Few distinct values, so duplicates are evicted and inserted all the time.
            let ms = Int64(random.next(below: 40))
            let tokens: Int? = random.next(below: 3) == 0 ? nil : random.next(below: 100)
            window.record(.milliseconds(ms), tokens: tokens)
            recent.append((ms, tokens))
            if recent.count > capacity { recent.removeFirst() }
            let sorted = recent.map { $0.0 }.sorted()
            for p in [0.0, 1, 50, 90, 99, 100] {
                let index = LatencyWindow.nearestRankIndex(percent: p, count: sorted.count)
                guard window.percentile(p) == .milliseconds(sorted[index]) else {
                    Issue.record(
                        "step \(step) p\(p): \(String(describing: window.percentile(p))) ≠ \(sorted[index]) ms"
                    )
                    return
                }
            }
            let withTokens = recent.filter { $0.1 != nil }
            let seconds = Double(withTokens.reduce(0) { $0 + $1.0 }) / 1000
            let expected =
                withTokens.isEmpty || seconds == 0
                ? nil : Double(withTokens.reduce(0) { $0 + $1.1! }) / seconds
            guard window.throughput.map({ abs($0 - expected!) < 1e-6 }) ?? (expected == nil) else {
                Issue.record(
                    "step \(step): throughput \(String(describing: window.throughput)) ≠ \(String(describing: expected))"
                )
                return
            }
        }
        window.removeAll()
        #expect(window.p50 == nil && window.throughput == nil)
    }

    /// The micro-measurement of the change: what one writer tick costs per node, reading the
    /// percentiles of a full window, against sorting a copy each time (the old way). Printed, not
    /// asserted (wall-clock speed is not a test on a shared machine).
    @Test func measureSnapshotCostAgainstSortingEachTime() {
        let random = SeededRandomSource(seed: 9)
        var window = LatencyWindow()
        var raw: [Int64] = []
        for _ in 0..<256 {
            let ns = Int64(random.next(below: 200_000_000))
            window.record(.nanoseconds(ns))
            raw.append(ns)
        }
        // Few reads: this runs on one of the test process's two cooperative threads, and 20,000
        // sorts in a debug build held it for 7 s — long enough to starve every async test's
        // timeouts at the start of `swift test`. The per-read figures need no more.
        let reads = 1_000
        let clock = ContinuousClock()
        var sink: Int64 = 0
        let maintained = clock.measure {
            for _ in 0..<reads { sink &+= window.percentiles([50, 99])[0]!.components.attoseconds }
        }
        let sorting = clock.measure {
            for _ in 0..<reads {
                let sorted = raw.sorted()
                sink &+= sorted[127] &+ sorted[253]
            }
        }
        print(
            "LatencyWindow p50+p99 of 256 samples: maintained \(maintained / reads) per read, "
                + "sort per read \(sorting / reads) (sink \(sink % 2))")
        #expect(window.count == 256)
    }
}
