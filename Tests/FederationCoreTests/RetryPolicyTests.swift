import Testing

@testable import FederationCore

@Suite struct RetryPolicyTests {
    let noJitter = RetryPolicy(jitter: 0)

    @Test func backoffDoublesUpToTheCap() {
        let random = SeededRandomSource(seed: 1)
        let delays = (1...7).map { noJitter.delay(forRetry: $0, retryAfter: nil, random: random) }
        #expect(
            delays == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                .milliseconds(1600), .seconds(2), .seconds(2),
            ])
        #expect(noJitter.delay(forRetry: 0, random: random) == .milliseconds(100))
        #expect(noJitter.delay(forRetry: Int.max, random: random) == .seconds(2))
    }

    @Test func jitterStaysWithinTwentyPercentAndActuallySpreads() {
        let policy = RetryPolicy()
        let random = SeededRandomSource(seed: 7)
        for retry in 1...6 {
            let base = noJitter.delay(forRetry: retry, random: random).milliseconds
            let samples = (0..<2000).map { _ in policy.delay(forRetry: retry, random: random).milliseconds }
            let low = samples.min()!
            let high = samples.max()!
            #expect(low >= base * 0.8 - 1e-6, "retry \(retry)")
            #expect(high <= min(base * 1.2, 2000) + 1e-6, "retry \(retry)")
            #expect(low < base * 0.82, "retry \(retry): jitter reaches down")
            if base * 1.2 <= 2000 {
                #expect(high > base * 1.18, "retry \(retry): jitter reaches up")
            } else {
                #expect(high == 2000, "retry \(retry): capped")
            }
        }
    }

    @Test func sameSeedSameDelays() {
        let policy = RetryPolicy()
        let first = SeededRandomSource(seed: 99)
        let second = SeededRandomSource(seed: 99)
        let a = (1...5).map { policy.delay(forRetry: $0, random: first) }
        let b = (1...5).map { policy.delay(forRetry: $0, random: second) }
        #expect(a == b)
    }

    @Test func retryAfterRaisesTheWaitButNotBeyondMaxDelay() {
        let random = SeededRandomSource(seed: 3)
        #expect(
            noJitter.delay(forRetry: 1, retryAfter: .milliseconds(500), random: random) == .milliseconds(500))
        #expect(noJitter.delay(forRetry: 1, retryAfter: .seconds(120), random: random) == .seconds(2))
        // A Retry-After shorter than the backoff does not shorten it.
        #expect(
            noJitter.delay(forRetry: 3, retryAfter: .milliseconds(50), random: random) == .milliseconds(400))
        #expect(
            noJitter.delay(forRetry: 1, retryAfter: .milliseconds(-5), random: random) == .milliseconds(100))
        // With jitter, Retry-After is a floor.
        let policy = RetryPolicy()
        for _ in 0..<500 {
            let delay = policy.delay(forRetry: 1, retryAfter: .milliseconds(700), random: random)
            #expect(delay == .milliseconds(700))
        }
    }

    @Test func retryBudget() {
        let policy = RetryPolicy()
        #expect((0...4).map { policy.allowsRetry(afterRetries: $0) } == [true, true, true, false, false])
        #expect(!RetryPolicy(maxRetries: 0).allowsRetry(afterRetries: 0))
    }

    @Test func retriabilityTable() {
        let table: [(FailureKind, Bool)] = [
            (.connectFailed, true),
            (.timeoutBeforeFirstByte, true),
            (.timeoutAfterFirstByte, false),
            (.cancelled, false),
            (.invalidResponse, true),
            (.httpStatus(429, retryAfter: .seconds(1)), true),
            (.httpStatus(429, retryAfter: nil), true),
            (.httpStatus(500, retryAfter: nil), true),
            (.httpStatus(502, retryAfter: nil), true),
            (.httpStatus(503, retryAfter: .seconds(5)), true),
            (.httpStatus(504, retryAfter: nil), true),
            (.httpStatus(599, retryAfter: nil), true),
            (.httpStatus(400, retryAfter: nil), false),
            (.httpStatus(401, retryAfter: nil), false),
            (.httpStatus(403, retryAfter: nil), false),
            (.httpStatus(404, retryAfter: nil), false),
            (.httpStatus(408, retryAfter: nil), false),
            (.httpStatus(413, retryAfter: nil), false),
            (.httpStatus(428, retryAfter: nil), false),
            (.httpStatus(430, retryAfter: nil), false),
            (.httpStatus(499, retryAfter: nil), false),
            (.httpStatus(600, retryAfter: nil), false),
        ]
        for (kind, retriable) in table {
            #expect(kind.isRetriable(afterStreamedTokens: false) == retriable, "\(kind)")
            #expect(!kind.isRetriable(afterStreamedTokens: true), "\(kind) after a streamed token")
        }
    }

    @Test func nodeFaultTable() {
        #expect(FailureKind.connectFailed.isNodeFault)
        #expect(FailureKind.timeoutBeforeFirstByte.isNodeFault)
        #expect(FailureKind.timeoutAfterFirstByte.isNodeFault)
        #expect(FailureKind.invalidResponse.isNodeFault)
        #expect(FailureKind.httpStatus(503, retryAfter: nil).isNodeFault)
        #expect(!FailureKind.httpStatus(429, retryAfter: nil).isNodeFault)
        #expect(!FailureKind.httpStatus(400, retryAfter: nil).isNodeFault)
        #expect(!FailureKind.cancelled.isNodeFault)
        #expect(FailureKind.httpStatus(429, retryAfter: .seconds(3)).retryAfter == .seconds(3))
        #expect(FailureKind.connectFailed.retryAfter == nil)
        #expect("\(FailureKind.httpStatus(503, retryAfter: .seconds(2)))" == "HTTP 503 (retry after 2000 ms)")
    }

    @Test func codableSnakeCaseWithDefaultsAndValidation() throws {
        let decoded = try CoreStateJSON.decode(RetryPolicy.self, #"{"max_retries": 1, "base_delay_ms": 250}"#)
        #expect(decoded.maxRetries == 1)
        #expect(decoded.baseDelay == .milliseconds(250))
        #expect(decoded.maxDelay == .seconds(2))
        #expect(decoded.jitter == 0.2)
        #expect(try CoreStateJSON.roundTrip(RetryPolicy()) == RetryPolicy())
        let encoded = try CoreStateJSON.encode(RetryPolicy())
        #expect(
            encoded
                == #"{"base_delay_ms":100,"jitter":0.2,"max_delay_ms":2000,"max_retries":3,"multiplier":2}"#)
        #expect(throws: DecodingError.self) {
            try CoreStateJSON.decode(RetryPolicy.self, #"{"jitter": 1.5}"#)
        }
        #expect(throws: DecodingError.self) {
            try CoreStateJSON.decode(RetryPolicy.self, #"{"max_retries": -1}"#)
        }
        #expect(throws: DecodingError.self) {
            try CoreStateJSON.decode(RetryPolicy.self, #"{"base_delay_ms": 3000}"#)
        }
    }
}
