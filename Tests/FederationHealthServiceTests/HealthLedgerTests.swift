import FederationCore
import FederationState
import Testing

@testable import FederationHealthService

/// The pure part: what is applied, when a write is due, and what time alone changes.
@Suite struct HealthLedgerTests {
    let t0 = Timestamp(milliseconds: 1_700_000_000_000)

    func ledger() -> HealthLedger {
        var ledger = HealthLedger(
            thresholds: HealthConfiguration(),
            breaker: CircuitBreakerConfiguration(resetTimeout: .seconds(1)),
            writeInterval: .milliseconds(250))
        ledger.setCatalog(["n": "http://127.0.0.1:1"])
        return ledger
    }

    /// Regression: probe successes between request failures used to reset the breaker's count,
    /// so a node whose /health answered but whose requests all failed never tripped.
    @Test func probeSuccessesDoNotResetRequestFailuresWhileClosed() {
        var ledger = ledger()
        for i in 0..<5 {
            let at = t0.advanced(by: .milliseconds(Int64(i) * 100))
            _ = ledger.recordSuccess("n", latency: .milliseconds(5), observedAt: at, now: at, fromProbe: true)
            _ = ledger.recordFailure("n", reason: "gateway: HTTP 503", observedAt: at, now: at)
        }
        #expect(ledger.circuit(of: "n").state == .open)
        // a report (request) success does reset the count while closed
        var other = self.ledger()
        for i in 0..<5 {
            let at = t0.advanced(by: .milliseconds(Int64(i) * 100))
            _ = other.recordSuccess("n", latency: .milliseconds(5), observedAt: at, now: at)
            _ = other.recordFailure("n", reason: "gateway: HTTP 503", observedAt: at, now: at)
        }
        #expect(other.circuit(of: "n").state == .closed)
        // and probe successes still close a half-open circuit (reset timeout 1 s here)
        let later = t0.advanced(by: .seconds(5))
        for k in 0..<3 {
            let at = later.advanced(by: .milliseconds(Int64(k)))
            _ = ledger.recordSuccess("n", latency: .milliseconds(5), observedAt: at, now: at, fromProbe: true)
        }
        #expect(ledger.circuit(of: "n").state == .closed)
    }

    @Test func stateChangesAreDueAtOnceAndCounterChangesAreThrottled() {
        var ledger = ledger()
        let change = ledger.recordSuccess("n", latency: .milliseconds(10), observedAt: t0, now: t0)
        #expect(change.health == nil)  // 1 of 2 fast successes: still unknown
        // Never stored: due at once.
        var writes = ledger.dueWrites(at: t0)
        #expect(writes.count == 1)
        for write in writes { ledger.markWritten(write, at: t0) }
        // Counters changed, state did not (unknown, 1 of 2): throttled.
        _ = ledger.recordFailure("n", reason: "x", observedAt: t0, now: t0)
        #expect(ledger.trackers["n"]?.state == .degraded)
        writes = ledger.dueWrites(at: t0.advanced(by: .milliseconds(10)))
        // unknown → degraded: a state change; the circuit (1 failure, never stored) too.
        #expect(Self.kinds(writes) == ["health", "circuit"])
        for write in writes { ledger.markWritten(write, at: t0.advanced(by: .milliseconds(10))) }
        _ = ledger.recordFailure("n", reason: "x", observedAt: t0, now: t0)  // still degraded, closed
        #expect(ledger.dueWrites(at: t0.advanced(by: .milliseconds(100))).isEmpty)
        #expect(
            Self.kinds(ledger.dueWrites(at: t0.advanced(by: .milliseconds(100)), flush: true)) == [
                "health", "circuit",
            ])
        #expect(
            Self.kinds(ledger.dueWrites(at: t0.advanced(by: .milliseconds(300)))) == ["health", "circuit"])
    }

    static func kinds(_ writes: [LedgerWrite]) -> [String] {
        writes.map { write in
            switch write {
            case .health: "health"
            case .circuit: "circuit"
            case .remove: "remove"
            }
        }
    }

    @Test func fiveFailuresOpenTheCircuitAndTimeTurnsItHalfOpenThenProbesCloseIt() {
        var ledger = ledger()
        var circuitChanges: [CircuitTransition] = []
        for i in 0..<5 {
            let now = t0.advanced(by: .milliseconds(Double(i)))
            if let c = ledger.recordFailure("n", reason: "x", observedAt: now, now: now).circuit {
                circuitChanges.append(c)
            }
        }
        #expect(circuitChanges == [CircuitTransition(from: .closed, to: .open)])
        #expect(ledger.trackers["n"]?.state == .unhealthy)
        let circuit = ledger.dueWrites(at: t0).compactMap { write -> Bool? in
            if case .circuit(let record, let reset) = write, record.state == .open { return reset }
            return nil
        }
        #expect(circuit == [true])  // opening resets the probe slots
        #expect(ledger.advanceTime(to: t0.advanced(by: .milliseconds(500))).isEmpty)
        let later = t0.advanced(by: .seconds(2))
        #expect(
            ledger.advanceTime(to: later).map(\.circuit) == [CircuitTransition(from: .open, to: .halfOpen)])
        for _ in 0..<3 {
            _ = ledger.recordSuccess("n", latency: .milliseconds(5), observedAt: later, now: later)
        }
        #expect(ledger.circuit(of: "n").state == .closed)
    }

    @Test func nodesLeavingTheCatalogAreRemovedAndUnknownOnesIgnored() {
        var ledger = ledger()
        #expect(ledger.knows("n"))
        #expect(!ledger.knows("other"))
        ledger.setCatalog([:])
        #expect(ledger.dueWrites(at: t0) == [.remove("n")])
        ledger.markWritten(.remove("n"), at: t0)
        #expect(ledger.dueWrites(at: t0).isEmpty)
    }

    @Test func restoredRecordsOfNodesNotInTheFirstCatalogAreRemoved() {
        var ledger = HealthLedger(
            thresholds: HealthConfiguration(), breaker: CircuitBreakerConfiguration(),
            writeInterval: .seconds(1))
        ledger.restore(
            HealthTable(
                health: [
                    "gone": NodeHealth(node: "gone", state: .healthy),
                    "n": NodeHealth(node: "n", state: .healthy),
                ],
                circuits: ["stale": CircuitRecord(node: "stale", state: .open)]),
            at: t0)
        let (added, removed) = ledger.setCatalog(["n": "http://127.0.0.1:1"])
        #expect(added == ["n"])
        #expect(removed == ["gone", "stale"])
        #expect(ledger.dueWrites(at: t0) == [.remove("gone"), .remove("stale")])
        #expect(ledger.trackers["n"]?.snapshot.state == .healthy)
    }

    @Test func restoredRecordsAreNotRewrittenUntilTheyChange() {
        var ledger = ledger()
        let stored = NodeHealth(node: "n", state: .healthy, latencyP50Ms: 12, totalSuccesses: 40)
        ledger.restore(HealthTable(health: ["n": stored]), at: t0)
        #expect(ledger.dueWrites(at: t0).isEmpty)
        #expect(ledger.trackers["n"]?.snapshot.totalSuccesses == 40)
        ledger.forgetStored()
        #expect(ledger.dueWrites(at: t0).count == 1)
    }
}

/// What an idle leader's writer tick costs with many nodes whose windows are full: every tick
/// reads every node's snapshot (both windows' percentiles). Printed, not asserted (no
/// wall-clock assertions on a shared machine); the count of writes is asserted.
@Suite struct LedgerTickMeasurement {
    @Test func anIdleTickWithManyFullWindows() {
        let nodes = 200
        var ledger = HealthLedger(
            thresholds: HealthConfiguration(), breaker: CircuitBreakerConfiguration(),
            writeInterval: .milliseconds(250))
        let t0 = Timestamp(milliseconds: 1_700_000_000_000)
        ledger.setCatalog(
            Dictionary(uniqueKeysWithValues: (0..<nodes).map { (NodeId("n\($0)"), "http://x") }))
        for i in 0..<256 {
            let at = t0.advanced(by: .milliseconds(Int64(i)))
            for n in 0..<nodes {
                let latency = Duration.milliseconds(Int64((i * 7 + n) % 90 + 1))
                _ = ledger.recordSuccess(
                    NodeId("n\(n)"), latency: latency, observedAt: at, now: at, fromProbe: true)
                _ = ledger.recordSuccess(NodeId("n\(n)"), latency: latency * 3, observedAt: at, now: at)
            }
        }
        let now = t0.advanced(by: .seconds(1))
        for write in ledger.dueWrites(at: now) { ledger.markWritten(write, at: now) }
        // Idle: nothing changed since the write, so a tick finds nothing due…
        let ticks = 100
        var due = 0
        let elapsed = ContinuousClock().measure {
            for tick in 0..<ticks {
                due += ledger.dueWrites(at: now.advanced(by: .milliseconds(Int64(tick)))).count
            }
        }
        #expect(due == 0)
        // …but it still reads every snapshot: that read is what used to sort every window.
        print("idle writer tick, \(nodes) nodes × 2 full windows of 256: \(elapsed / ticks) per tick")
    }
}
