import FederationCore
import Synchronization
import Testing

@Suite struct RetryBudgetTests {
    final class ManualClock: FederationClock {
        let ms = Mutex<Int64>(1_000_000)
        func now() -> Timestamp { Timestamp(milliseconds: ms.withLock { $0 }) }
        func advance(_ delta: Int64) { ms.withLock { $0 += delta } }
    }

    @Test func retriesAreBoundedByTheRatioOfRecentRequests() {
        let clock = ManualClock()
        let budget = RetryBudget(ratio: 0.2, minPerSecond: 0, windowSeconds: 10, clock: clock)
        for _ in 0..<100 { budget.recordRequest() }
        var granted = 0
        for _ in 0..<100 where budget.withdraw() { granted += 1 }
        #expect(granted == 20)
    }

    @Test func theFloorLetsAQuietGatewayRetry() {
        let clock = ManualClock()
        let budget = RetryBudget(ratio: 0.2, minPerSecond: 1, windowSeconds: 10, clock: clock)
        var granted = 0
        for _ in 0..<50 where budget.withdraw() { granted += 1 }
        #expect(granted == 10)
    }

    @Test func oldRequestsAndRetriesFallOutOfTheWindow() {
        let clock = ManualClock()
        let budget = RetryBudget(ratio: 0.5, minPerSecond: 0, windowSeconds: 10, clock: clock)
        for _ in 0..<10 { budget.recordRequest() }
        for _ in 0..<5 { #expect(budget.withdraw()) }
        #expect(!budget.withdraw())
        clock.advance(11_000)
        #expect(!budget.withdraw(), "no recent requests, no floor: nothing to retry against")
        budget.recordRequest()
        budget.recordRequest()
        #expect(budget.withdraw())
        #expect(!budget.withdraw())
    }
}
