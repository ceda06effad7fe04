import Testing

@testable import FederationCore

@Suite struct HealthTrackerTests {
    let node: NodeId = "us-west-gpu-01"
    let t0 = Timestamp(milliseconds: 1_700_000_000_000)

    func at(_ seconds: Int64) -> Timestamp { Timestamp(milliseconds: t0.milliseconds + seconds * 1000) }

    @Test func startsUnknown() {
        let tracker = HealthTracker(node: node)
        let snapshot = tracker.snapshot
        #expect(snapshot.state == .unknown)
        #expect(snapshot.node == node)
        #expect(snapshot.latencyP50Ms == nil)
        #expect(snapshot.lastCheck == nil)
        #expect(HealthScore.score(for: snapshot) == 0.3)
    }

    @Test func oneFastSuccessStaysUnknownTwoMakeHealthy() {
        var tracker = HealthTracker(node: node)
        #expect(tracker.recordSuccess(latency: .milliseconds(40), at: at(0)) == nil)
        #expect(tracker.state == .unknown)
        #expect(tracker.consecutiveSuccesses == 1)
        #expect(tracker.reason == "1 of 2 fast successes needed to become healthy")
        let change = tracker.recordSuccess(latency: .milliseconds(50), at: at(1))
        #expect(change == HealthTransition(from: .unknown, to: .healthy))
        #expect(tracker.state == .healthy)
        #expect(tracker.reason == "2 consecutive successes")
    }

    @Test func exactlyDegradedLatencyIsFastOneMillisecondMoreIsSlow() {
        var tracker = HealthTracker(node: node)
        tracker.recordSuccess(latency: .milliseconds(1000), at: at(0))
        tracker.recordSuccess(latency: .milliseconds(1000), at: at(1))
        #expect(tracker.state == .healthy)
        let change = tracker.recordSuccess(latency: .milliseconds(1001), at: at(2))
        #expect(change == HealthTransition(from: .healthy, to: .degraded))
        #expect(tracker.reason == "slow success 1001 ms > 1000 ms")
        #expect(tracker.consecutiveSuccesses == 0)
        #expect(HealthScore.score(for: tracker.snapshot) == 0.5)
    }

    @Test func slowSuccessFromUnknownDegradesAndResetsFastCount() {
        var tracker = HealthTracker(node: node)
        tracker.recordSuccess(latency: .milliseconds(10), at: at(0))
        tracker.recordSuccess(latency: .milliseconds(1450), at: at(1))
        #expect(tracker.state == .degraded)
        #expect(tracker.reason == "slow success 1450 ms > 1000 ms")
        tracker.recordSuccess(latency: .milliseconds(10), at: at(2))
        #expect(tracker.state == .degraded, "the fast success before the slow one must not count")
        #expect(
            tracker.recordSuccess(latency: .milliseconds(10), at: at(3))
                == .init(from: .degraded, to: .healthy))
    }

    @Test func failuresDegradeThenThirdMakesUnhealthy() {
        var tracker = HealthTracker(node: node)
        #expect(
            tracker.recordFailure(at: at(0), reason: "connection refused")
                == .init(from: .unknown, to: .degraded))
        #expect(tracker.reason == "1 consecutive failure: connection refused")
        #expect(HealthScore.score(for: tracker.snapshot) == 0.4)
        #expect(tracker.recordFailure(at: at(1)) == nil)
        #expect(tracker.state == .degraded)
        #expect(HealthScore.score(for: tracker.snapshot) == 0.3)
        #expect(
            tracker.recordFailure(at: at(2), reason: "HTTP 503") == .init(from: .degraded, to: .unhealthy))
        #expect(tracker.reason == "3 consecutive failures: HTTP 503")
        #expect(tracker.snapshot.consecutiveFailures == 3)
        #expect(HealthScore.score(for: tracker.snapshot) == 0)
    }

    @Test func healthyNodeDegradesOnOneFailure() {
        var tracker = HealthTracker(node: node)
        tracker.recordSuccess(latency: .milliseconds(10), at: at(0))
        tracker.recordSuccess(latency: .milliseconds(10), at: at(1))
        #expect(tracker.recordFailure(at: at(2)) == .init(from: .healthy, to: .degraded))
        #expect(tracker.reason == "1 consecutive failure")
    }

    @Test func aSuccessResetsTheFailureCount() {
        var tracker = HealthTracker(node: node)
        tracker.recordFailure(at: at(0))
        tracker.recordFailure(at: at(1))
        tracker.recordSuccess(latency: .milliseconds(1500), at: at(2))
        #expect(tracker.consecutiveFailures == 0)
        tracker.recordFailure(at: at(3))
        tracker.recordFailure(at: at(4))
        #expect(tracker.state == .degraded, "two failures after a success are not three in a row")
    }

    @Test func unhealthyRecoversOnlyAfterConsecutiveFastSuccesses() {
        var tracker = HealthTracker(node: node)
        for s in 0..<3 { tracker.recordFailure(at: at(Int64(s))) }
        #expect(tracker.state == .unhealthy)
        tracker.recordSuccess(latency: .milliseconds(10), at: at(3))
        #expect(tracker.state == .unhealthy)
        tracker.recordSuccess(latency: .milliseconds(2000), at: at(4))
        #expect(tracker.state == .unhealthy, "a slow success does not lift Unhealthy to Degraded")
        #expect(tracker.reason?.hasPrefix("slow success 2000 ms > 1000 ms") == true)
        tracker.recordSuccess(latency: .milliseconds(10), at: at(5))
        #expect(tracker.state == .unhealthy, "the slow success broke the run")
        #expect(
            tracker.recordSuccess(latency: .milliseconds(10), at: at(6))
                == .init(from: .unhealthy, to: .healthy))
        // Recovered: a single failure now only degrades it.
        tracker.recordFailure(at: at(7))
        #expect(tracker.state == .degraded)
    }

    @Test func customThresholds() {
        var tracker = HealthTracker(
            node: node,
            configuration: .init(
                recoveryThreshold: 1, failureThreshold: 1, degradedLatency: .milliseconds(200)))
        #expect(
            tracker.recordSuccess(latency: .milliseconds(200), at: at(0))
                == .init(from: .unknown, to: .healthy))
        #expect(tracker.recordFailure(at: at(1)) == .init(from: .healthy, to: .unhealthy))
        tracker.recordSuccess(latency: .microseconds(200_500), at: at(2))
        #expect(tracker.reason?.hasPrefix("slow success 200.5 ms > 200 ms") == true)
    }

    @Test func snapshotCarriesWindowGaugesAndCounters() {
        var tracker = HealthTracker(node: node)
        for ms in 1...100 { tracker.recordSuccess(latency: .milliseconds(ms), tokens: 10, at: at(Int64(ms))) }
        tracker.recordFailure(at: at(101))
        tracker.recordProbe(queueDepth: 4, gpuUtilization: 0.75, at: at(102))
        let s = tracker.snapshot
        #expect(s.latencyP50Ms == 50)
        #expect(s.latencyP99Ms == 99)
        // 1000 tokens over (1 + … + 100) ms = 5.05 s.
        #expect(abs(s.throughput! - 1000 / 5.05) < 1e-9)
        #expect(s.queueDepth == 4)
        #expect(s.gpuUtilization == 0.75)
        #expect(s.totalSuccesses == 100)
        #expect(s.totalFailures == 1)
        #expect(s.consecutiveFailures == 1)
        #expect(s.consecutiveSuccesses == 0)
        #expect(s.lastCheck == at(102))
    }

    @Test func probeGaugesAreClampedAndNilKeepsTheLastValue() {
        var tracker = HealthTracker(node: node)
        tracker.recordProbe(queueDepth: -2, gpuUtilization: 1.7, at: at(0))
        #expect(tracker.queueDepth == 0)
        #expect(tracker.gpuUtilization == 1)
        tracker.recordProbe(queueDepth: 3, gpuUtilization: nil, at: at(1))
        #expect(tracker.queueDepth == 3)
        #expect(tracker.gpuUtilization == 1)
        #expect(tracker.state == .unknown, "a probe's gauges are not a success")
        #expect(tracker.totalSuccesses == 0)
    }

    @Test func lastCheckNeverMovesBackwards() {
        var tracker = HealthTracker(node: node)
        tracker.recordFailure(at: at(10))
        tracker.recordSuccess(latency: .milliseconds(5), at: at(3))
        #expect(tracker.lastCheck == at(10))
    }

    @Test func restoringContinuesFromTheStoredRecord() {
        let stored = NodeHealth(
            node: node, state: .unhealthy, latencyP50Ms: 120, latencyP99Ms: 900, throughput: 42,
            queueDepth: 7,
            gpuUtilization: 0.5, consecutiveSuccesses: 1, consecutiveFailures: 0, totalSuccesses: 10,
            totalFailures: 5, lastCheck: at(0), reason: "1 of 2 fast successes needed to become healthy")
        var tracker = HealthTracker(restoring: stored, configuration: .init())
        #expect(tracker.snapshot == stored, "a restored tracker reports the stored record unchanged")
        #expect(tracker.window.isEmpty)
        #expect(
            tracker.recordSuccess(latency: .milliseconds(30), tokens: 60, at: at(1))
                == .init(
                    from: .unhealthy, to: .healthy))
        let s = tracker.snapshot
        #expect(s.totalSuccesses == 11)
        #expect(s.totalFailures == 5)
        #expect(s.latencyP50Ms == 30, "the new window replaces the stored percentiles")
        #expect(s.throughput == 2000)
        #expect(s.queueDepth == 7)
    }

    @Test func configurationDecodesSnakeCaseWithDefaultsAndValidates() throws {
        let json = #"{"recovery_threshold": 4, "degraded_latency_ms": 250}"#
        let config = try CoreStateJSON.decode(HealthConfiguration.self, json)
        #expect(config.recoveryThreshold == 4)
        #expect(config.failureThreshold == 3)
        #expect(config.degradedLatency == .milliseconds(250))
        #expect(config.windowSize == 256)
        #expect(try CoreStateJSON.roundTrip(config) == config)
        #expect(HealthConfiguration().validationProblem == nil)
        #expect(throws: DecodingError.self) {
            try CoreStateJSON.decode(HealthConfiguration.self, #"{"failure_threshold": 0}"#)
        }
        let bad = HealthConfiguration(recoveryThreshold: 0, degradedLatency: .zero, windowSize: 0)
        let problem = try #require(bad.validationProblem)
        #expect(problem.contains("recovery_threshold 0"))
        #expect(problem.contains("degraded_latency_ms"))
        #expect(problem.contains("window_size 0"))
    }

    @Test func healthScoreTable() {
        func score(_ state: HealthState, failures: Int = 0) -> Double {
            HealthScore.score(for: NodeHealth(node: "n", state: state, consecutiveFailures: failures))
        }
        #expect(HealthScore.score(for: nil) == 0.3)
        #expect(score(.unknown) == 0.3)
        #expect(score(.healthy) == 1.0)
        #expect(score(.unhealthy) == 0)
        #expect(score(.degraded, failures: 0) == 0.5)
        #expect(score(.degraded, failures: 1) == 0.4)
        #expect(score(.degraded, failures: 2) == 0.3)
        #expect(score(.degraded, failures: 7) == 0.3)
    }
}

@Suite struct HealthTrackerPropertyTests {
    @Test(arguments: [1, 2, 3, 42, 1234] as [UInt64])
    func invariantsHoldOnRandomObservations(seed: UInt64) {
        let random = SeededRandomSource(seed: seed)
        // Collected and asserted once: an #expect per step would make this test slow.
        var violations: [String] = []
        func check(_ ok: Bool, _ message: @autoclosure () -> String = "") {
            if !ok && violations.count < 10 { violations.append(message()) }
        }
        let config = HealthConfiguration()
        var tracker = HealthTracker(node: "n", configuration: config)
        var time = Timestamp(milliseconds: 0)
        var everSlowOrFailed = false
        var transitions: Set<String> = []
        for step in 1...2000 {
            time = time.advanced(by: .milliseconds(Int64(random.next(below: 5000))))
            let before = tracker.state
            let change: HealthTransition?
            switch random.next(below: 10) {
            case 0..<3:
                everSlowOrFailed = true
                change = tracker.recordFailure(at: time, reason: "boom")
            case 3:
                everSlowOrFailed = true
                change = tracker.recordSuccess(
                    latency: .milliseconds(1001 + random.next(below: 3000)), at: time)
            default:
                change = tracker.recordSuccess(
                    latency: .milliseconds(random.next(below: 1001)), tokens: random.next(below: 100),
                    at: time)
            }
            // The tracker itself (a snapshot sorts the window: checked every 100 steps).
            let s = tracker
            if let change { transitions.insert("\(change.from)→\(change.to)") }
            check((change == nil) == (before == s.state), "step \(step)")
            check(s.totalSuccesses + s.totalFailures == UInt64(step))
            check(s.consecutiveSuccesses == 0 || s.consecutiveFailures == 0)
            if s.consecutiveFailures >= config.failureThreshold { check(s.state == .unhealthy) }
            if s.state == .healthy { check(s.consecutiveSuccesses >= config.recoveryThreshold) }
            if s.state == .degraded { check(s.consecutiveFailures < config.failureThreshold) }
            if s.state == .unknown { check(!everSlowOrFailed) }
            if step % 100 == 0 {
                let snapshot = tracker.snapshot
                check(snapshot.state == s.state && snapshot.consecutiveFailures == s.consecutiveFailures)
                if let p50 = snapshot.latencyP50Ms, let p99 = snapshot.latencyP99Ms { check(p50 <= p99) }
            }
            check(s.lastCheck == time)
        }
        #expect(violations.isEmpty, "\(violations)")
        #expect(transitions.isSuperset(of: ["healthy→degraded", "degraded→unhealthy", "unhealthy→healthy"]))
    }
}
