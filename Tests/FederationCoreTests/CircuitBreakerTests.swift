import Testing

@testable import FederationCore

@Suite struct CircuitBreakerTests {
    let config = CircuitBreakerConfiguration()
    let clock = ManualClock(Timestamp(milliseconds: 1_700_000_000_000))
    let closed = CircuitRecord(node: "eu-central-gpu-02")

    func failures(_ count: Int, _ record: CircuitRecord, at time: Timestamp) -> CircuitRecord {
        (0..<count).reduce(record) { r, _ in CircuitBreaker.recordFailure(r, at: time, config: config) }
    }

    /// A circuit opened at the clock's time and moved to its half-open deadline.
    func halfOpen() -> CircuitRecord {
        let open = failures(5, closed, at: clock.now())
        clock.set(open.openUntil!)
        return open
    }

    @Test func fifthConsecutiveFailureOpens() {
        let t = clock.now()
        let four = failures(4, closed, at: t)
        #expect(four.state == .closed)
        #expect(four.consecutiveFailures == 4)
        #expect(CircuitBreaker.transition(from: closed, to: four, at: t) == nil)
        let open = CircuitBreaker.recordFailure(four, at: t, config: config)
        #expect(open.state == .open)
        #expect(open.trips == 1)
        #expect(open.openedAt == t)
        #expect(open.openUntil == t.advanced(by: .seconds(30)))
        #expect(CircuitBreaker.transition(from: four, to: open, at: t) == .init(from: .closed, to: .open))
    }

    @Test func successWhileClosedResetsTheCount() {
        let t = clock.now()
        var r = failures(4, closed, at: t)
        r = CircuitBreaker.recordSuccess(r, at: t, config: config)
        #expect(r.consecutiveFailures == 0)
        r = failures(4, r, at: t)
        #expect(r.state == .closed)
    }

    @Test func openTurnsHalfOpenExactlyAtTheDeadline() {
        let t = clock.now()
        let open = failures(5, closed, at: t)
        #expect(open.effectiveState(at: t.advanced(by: .milliseconds(29_999))) == .open)
        #expect(open.effectiveState(at: t.advanced(by: .seconds(30))) == .halfOpen)
    }

    @Test func outcomesWhileOpenChangeNothing() {
        let t = clock.now()
        let open = failures(5, closed, at: t)
        let later = t.advanced(by: .seconds(10))
        // Late reports from requests sent before it opened neither extend nor shorten it.
        #expect(CircuitBreaker.recordFailure(open, at: later, config: config) == open)
        #expect(failures(20, open, at: later) == open)
        #expect(CircuitBreaker.recordSuccess(open, at: later, config: config) == open)
    }

    @Test func threeProbeSuccessesCloseAndResetTrips() {
        var r = halfOpen()
        let t = clock.now()
        let before = r
        r = CircuitBreaker.recordSuccess(r, at: t, config: config)
        r = CircuitBreaker.recordSuccess(r, at: t, config: config)
        #expect(r.state == .halfOpen, "two successes are not enough")
        #expect(CircuitBreaker.transition(from: before, to: r, at: t) == nil)
        r = CircuitBreaker.recordSuccess(r, at: t, config: config)
        #expect(r == CircuitRecord(node: closed.node))
        #expect(r.trips == 0)
        #expect(CircuitBreaker.transition(from: before, to: r, at: t) == .init(from: .halfOpen, to: .closed))
    }

    @Test func probeFailureReopensForLonger() {
        var r = halfOpen()
        let t = clock.now()
        let before = r
        r = CircuitBreaker.recordSuccess(r, at: t, config: config)
        r = CircuitBreaker.recordFailure(r, at: t, config: config)
        #expect(r.state == .open)
        #expect(r.trips == 2)
        #expect(r.halfOpenSuccesses == 0)
        #expect(r.openUntil == t.advanced(by: .seconds(60)))
        #expect(CircuitBreaker.transition(from: before, to: r, at: t) == .init(from: .halfOpen, to: .open))
    }

    @Test func openTimeGrowsWithEachTripUpToTheCap() {
        var r = failures(5, closed, at: clock.now())
        var openTimes: [Int64] = []
        for _ in 0..<7 {
            let opened = r.openedAt!
            openTimes.append(r.openUntil!.milliseconds - opened.milliseconds)
            clock.set(r.openUntil!)
            // The deadline passed: one probe, and it fails.
            r = CircuitBreaker.recordFailure(r, at: clock.now(), config: config)
        }
        #expect(openTimes == [30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000])
        #expect(r.trips == 8)
    }

    @Test func openDurationFormula() {
        #expect(config.openDuration(forTrip: 0) == .seconds(30))
        #expect(config.openDuration(forTrip: 1) == .seconds(30))
        #expect(config.openDuration(forTrip: 4) == .seconds(240))
        #expect(config.openDuration(forTrip: 5) == .seconds(300))
        #expect(config.openDuration(forTrip: Int.max) == .seconds(300))
        let flat = CircuitBreakerConfiguration(backoffMultiplier: 1)
        #expect(flat.openDuration(forTrip: 1_000_000) == .seconds(30))
        let gentle = CircuitBreakerConfiguration(resetTimeout: .seconds(10), backoffMultiplier: 1.5)
        #expect(gentle.openDuration(forTrip: 3) == .milliseconds(22_500))
    }

    @Test func reopeningNeverShortensALaterDeadline() {
        let t = clock.now()
        // Half-open as recorded by a replica whose clock runs ahead: it stamped a deadline that,
        // on this clock, is still 10 minutes away.
        let farDeadline = t.advanced(by: .seconds(600))
        let skewed = CircuitRecord(
            node: closed.node, state: .halfOpen, openedAt: t,
            openUntil: farDeadline, trips: 1)
        // A probe failure computed here gives trip 2 → now + 60 s, which is earlier: kept at 600 s.
        let reopened = CircuitBreaker.recordFailure(skewed, at: t, config: config)
        #expect(reopened.state == .open)
        #expect(reopened.trips == 2)
        #expect(reopened.openUntil == farDeadline)
        // When the new deadline is the later one, it wins.
        let near = CircuitRecord(
            node: closed.node, state: .halfOpen, openedAt: t, openUntil: t.advanced(by: .seconds(5)), trips: 1
        )
        #expect(
            CircuitBreaker.recordFailure(near, at: t, config: config).openUntil
                == t.advanced(by: .seconds(60)))
    }

    @Test func outOfOrderReportsDoNotShortenTheOpenPeriod() {
        let t = clock.now()
        // The probe failure observed at t+40 s is processed first and opens for trip 2 (60 s)...
        let probing = halfOpen()
        let reportedLate = clock.now().advanced(by: .seconds(40))
        let reopened = CircuitBreaker.recordFailure(probing, at: reportedLate, config: config)
        let deadline = reportedLate.advanced(by: .seconds(60))
        #expect(reopened.openUntil == deadline)
        // ...then an older failure (observed at t+30 s, earlier) arrives: it must not move the
        // deadline to t+30 s + anything shorter, nor extend it.
        let older = CircuitBreaker.recordFailure(reopened, at: t.advanced(by: .seconds(30)), config: config)
        #expect(older.openUntil == deadline)
        #expect(older == reopened)
    }

    @Test func forceOpenExtendsButNeverShortens() {
        let t = clock.now()
        let open = failures(5, closed, at: t)  // open until t + 30 s
        let shorter = CircuitBreaker.forceOpen(open, until: t.advanced(by: .seconds(10)), at: t)
        #expect(shorter.openUntil == t.advanced(by: .seconds(30)))
        let longer = CircuitBreaker.forceOpen(closed, until: t.advanced(by: .seconds(3600)), at: t)
        #expect(longer.state == .open)
        #expect(longer.trips == 0)
        #expect(longer.effectiveState(at: t.advanced(by: .seconds(3599))) == .open)
        #expect(CircuitBreaker.reset(longer) == CircuitRecord(node: closed.node))
    }

    @Test func configurationDecodesSnakeCaseWithDefaultsAndValidates() throws {
        let json = #"{"failure_threshold": 3, "reset_timeout_ms": 5000, "half_open_max_probes": 1}"#
        let decoded = try CoreStateJSON.decode(CircuitBreakerConfiguration.self, json)
        #expect(decoded.failureThreshold == 3)
        #expect(decoded.resetTimeout == .seconds(5))
        #expect(decoded.halfOpenMaxProbes == 1)
        #expect(decoded.halfOpenSuccessThreshold == 3)
        #expect(decoded.maxOpenDuration == .seconds(300))
        #expect(try CoreStateJSON.roundTrip(decoded) == decoded)
        let encoded = try CoreStateJSON.encode(CircuitBreakerConfiguration())
        #expect(encoded.contains(#""reset_timeout_ms":30000"#))
        #expect(encoded.contains(#""max_open_duration_ms":300000"#))
        #expect(throws: DecodingError.self) {
            try CoreStateJSON.decode(CircuitBreakerConfiguration.self, #"{"backoff_multiplier": 0.5}"#)
        }
        #expect(throws: DecodingError.self) {
            try CoreStateJSON.decode(CircuitBreakerConfiguration.self, #"{"max_open_duration_ms": 1000}"#)
        }
        #expect(CircuitBreakerConfiguration().validationProblem == nil)
    }
}

@Suite struct CircuitBreakerPropertyTests {
    @Test(arguments: [5, 6, 7, 99, 2024] as [UInt64])
    func invariantsHoldOnRandomTraffic(seed: UInt64) {
        let random = SeededRandomSource(seed: seed)
        // Collected and asserted once: an #expect per step would make this test slow.
        var violations: [String] = []
        func check(_ ok: Bool, _ message: @autoclosure () -> String = "") {
            if !ok && violations.count < 10 { violations.append(message()) }
        }
        let config = CircuitBreakerConfiguration()
        var record = CircuitRecord(node: "n")
        var now = Timestamp(milliseconds: 1_700_000_000_000)
        var transitions: Set<String> = []
        for step in 0..<5000 {
            now = now.advanced(by: .milliseconds(Int64(random.next(below: 4000))))
            let before = record
            switch random.next(below: 10) {
            case 0..<3: record = CircuitBreaker.recordFailure(record, at: now, config: config)
            case 3..<7: record = CircuitBreaker.recordSuccess(record, at: now, config: config)
            default: record = CircuitBreaker.normalized(record, at: now, config: config)
            }
            let state = record.effectiveState(at: now)
            if let t = CircuitBreaker.transition(from: before, to: record, at: now) {
                transitions.insert("\(t.from)→\(t.to)")
            }
            check((state == .closed) == (record.trips == 0), "step \(step)")
            if state == .closed { check(record.consecutiveFailures < config.failureThreshold) }
            if before.effectiveState(at: now) == .open {
                check(record == before, "step \(step): outcomes while open change nothing")
            }
            if record.state == .open, let openedAt = record.openedAt, let openUntil = record.openUntil {
                let openFor = openUntil.duration(since: openedAt)
                check(openFor >= config.resetTimeout && openFor <= config.maxOpenDuration, "step \(step)")
            }
            if before.state == .open, record.state == .open, let old = before.openUntil {
                check(record.openUntil! >= old, "step \(step): a deadline never moves earlier")
            }
        }
        #expect(violations.isEmpty, "\(violations)")
        // The walk really went through every edge (else the invariants prove little).
        #expect(transitions == ["closed→open", "half_open→open", "half_open→closed"])
    }
}

/// Failures in a row expire: one older than `failureWindow` before the next does not count.
@Suite struct CircuitFailureWindowTests {
    let config = CircuitBreakerConfiguration(failureWindow: .seconds(60))
    let t0 = Timestamp(milliseconds: 1_700_000_000_000)

    @Test func aStrayFailureLongAgoDoesNotBringTheTripForward() {
        var r = CircuitBreaker.recordFailure(CircuitRecord(node: "n"), at: t0, config: config)
        #expect(r.consecutiveFailures == 1)
        #expect(r.lastFailureAt == t0)
        // Six minutes of probes only (they leave a closed circuit alone), then an outage.
        let outage = t0.advanced(by: .seconds(360))
        for i in 0..<4 {
            r = CircuitBreaker.recordFailure(
                r, at: outage.advanced(by: .milliseconds(i * 10)), config: config)
        }
        #expect(r.state == .closed, "the 4th failure of the outage must not open it")
        #expect(r.consecutiveFailures == 4)
        r = CircuitBreaker.recordFailure(r, at: outage.advanced(by: .milliseconds(40)), config: config)
        #expect(r.state == .open, "the 5th does")
    }

    @Test func failuresWithinTheWindowOfEachOtherKeepCounting() {
        var r = CircuitRecord(node: "n")
        for i in 0..<5 {
            r = CircuitBreaker.recordFailure(r, at: t0.advanced(by: .seconds(i * 59)), config: config)
        }
        #expect(r.state == .open)
    }

    @Test func theWindowEdgeAndASuccessReset() {
        var r = CircuitBreaker.recordFailure(CircuitRecord(node: "n"), at: t0, config: config)
        r = CircuitBreaker.recordFailure(r, at: t0.advanced(by: .milliseconds(59_999)), config: config)
        #expect(r.consecutiveFailures == 2)
        r = CircuitBreaker.recordFailure(
            r, at: t0.advanced(by: .milliseconds(59_999 + 60_000)), config: config)
        #expect(r.consecutiveFailures == 1, "exactly one window after the previous failure starts again")
        r = CircuitBreaker.recordSuccess(r, at: t0.advanced(by: .seconds(200)), config: config)
        #expect(r.consecutiveFailures == 0 && r.lastFailureAt == nil)
    }

    @Test func theWindowIsConfigurable() throws {
        let decoded = try CoreStateJSON.decode(
            CircuitBreakerConfiguration.self, #"{"failure_window_ms": 1500}"#)
        #expect(decoded.failureWindow == .milliseconds(1500))
        #expect(CircuitBreakerConfiguration().failureWindow == .seconds(60))
        #expect(try CoreStateJSON.roundTrip(decoded) == decoded)
        #expect(
            CircuitBreakerConfiguration(failureWindow: .zero).validationProblem?.contains("failure_window_ms")
                == true)
    }
}
