import FederationConfig
import FederationCore
import FederationGatewayService
import FederationHTTP
import HTTPTypes
import Testing

/// The limiter alone (never synced: it enforces each limit by itself) on a clock the test moves.
@Suite struct TenantRateLimiterTests {
    /// The first instant of a minute window.
    static let windowStart = Timestamp(milliseconds: 28_333_334 * 60_000)

    func limiter(rpm: Int? = nil, tpm: Int? = nil) -> (TenantRateLimiter, ManualClock) {
        let clock = ManualClock(Self.windowStart)
        let limiter = TenantRateLimiter(
            limits: ["acme": TenantLimits(requestsPerMinute: rpm, tokensPerMinute: tpm)], clock: clock)
        return (limiter, clock)
    }

    func admitted(_ limiter: TenantRateLimiter, tokens: Int = 0, upTo attempts: Int = 1_000) -> Int {
        var count = 0
        for _ in 0..<attempts {
            guard limiter.admit(tenant: "acme", reservedTokens: tokens).isAdmitted else { break }
            count += 1
        }
        return count
    }

    func refusal(_ decision: RateLimitDecision) -> RateLimitDenial? {
        if case .denied(let denial) = decision { return denial }
        return nil
    }

    @Test func admitsExactlyTheLimitInAWindowThenSaysWhenToRetry() throws {
        let (limiter, clock) = limiter(rpm: 100)
        #expect(admitted(limiter) == 100)
        let denial = try #require(refusal(limiter.admit(tenant: "acme", reservedTokens: 0)))
        #expect(denial.kind == .requests)
        #expect(denial.limit == 100)
        #expect(denial.used == 100)
        // The next window counts this one as spread over it: 100·(1−f) ≤ 99 from f = 1 % (0.6 s in).
        #expect(denial.retryAfter == .milliseconds(60_600))
        #expect(denial.retryAfterSeconds == 61)

        clock.advance(by: .milliseconds(60_500))
        #expect(!limiter.admit(tenant: "acme", reservedTokens: 0).isAdmitted)
        clock.advance(by: .milliseconds(100))
        #expect(admitted(limiter) == 1)
    }

    @Test func theSlidingEstimateWeighsThePreviousWindowByWhatIsLeftOfIt() {
        let (limiter, clock) = limiter(rpm: 100)
        #expect(admitted(limiter) == 100)
        // Half-way into the next window half of the previous one still counts.
        clock.advance(by: .seconds(90))
        #expect(admitted(limiter) == 50)
        // Two windows later nothing of it is left.
        clock.advance(by: .seconds(90))
        #expect(admitted(limiter) == 100)
    }

    @Test func tokensAreReservedAndSettledWithTheRealCount() throws {
        let (limiter, clock) = limiter(tpm: 1_000)
        #expect(limiter.admit(tenant: "acme", reservedTokens: 500) == .admitted(reservedTokens: 500))
        #expect(limiter.admit(tenant: "acme", reservedTokens: 500).isAdmitted)
        let denial = try #require(refusal(limiter.admit(tenant: "acme", reservedTokens: 500)))
        #expect(denial.kind == .tokens)
        #expect(denial.used == 1_000)
        #expect(denial.requested == 500)

        // The first request used only 100 tokens: 600 are counted, the allowance is not used up.
        limiter.settle(tenant: "acme", reservedTokens: 500, actualTokens: 100)
        #expect(limiter.admit(tenant: "acme", reservedTokens: 500).isAdmitted)
        let again = try #require(refusal(limiter.admit(tenant: "acme", reservedTokens: 500)))
        #expect(again.used == 1_100)
        // 1100·(1−f) < 1000 from f ≈ 9.2 % of the next window: 65.5 s from the start of this one.
        #expect(again.retryAfterSeconds == 66)
        clock.advance(by: .seconds(65))
        #expect(!limiter.admit(tenant: "acme", reservedTokens: 500).isAdmitted)
        clock.advance(by: .seconds(1))
        #expect(limiter.admit(tenant: "acme", reservedTokens: 500).isAdmitted)
    }

    @Test func aReservationIsClampedToTheTokenLimitAndASettlementGoesToItsWindow() {
        let (limiter, clock) = limiter(tpm: 1_000)
        let start = clock.now()
        #expect(limiter.admit(tenant: "acme", reservedTokens: 50_000) == .admitted(reservedTokens: 1_000))
        #expect(!limiter.admit(tenant: "acme", reservedTokens: 1).isAdmitted)
        // Settled 30 s into the next window, for the window it was admitted in.
        clock.advance(by: .seconds(90))
        limiter.settle(tenant: "acme", reservedTokens: 1_000, actualTokens: 0, admittedAt: start)
        // Nothing of the previous window is left: 1000 tokens fit before a refusal.
        #expect(limiter.admit(tenant: "acme", reservedTokens: 999).isAdmitted)
        #expect(limiter.admit(tenant: "acme", reservedTokens: 1).isAdmitted)
        let denial = refusal(limiter.admit(tenant: "acme", reservedTokens: 1))
        #expect(denial?.used == 1_000)
    }

    @Test func bothLimitsApplyAndADeniedRequestCountsNothing() throws {
        let (limiter, _) = limiter(rpm: 3, tpm: 100)
        #expect(limiter.admit(tenant: "acme", reservedTokens: 60).isAdmitted)
        #expect(limiter.admit(tenant: "acme", reservedTokens: 60).isAdmitted)
        let tokens = try #require(refusal(limiter.admit(tenant: "acme", reservedTokens: 60)))
        #expect(tokens.kind == .tokens)
        // The refused request took no request slot: one is left for a request that fits.
        limiter.settle(tenant: "acme", reservedTokens: 60, actualTokens: 0)
        #expect(limiter.admit(tenant: "acme", reservedTokens: 10).isAdmitted)
        let requests = try #require(refusal(limiter.admit(tenant: "acme", reservedTokens: 0)))
        #expect(requests.kind == .requests)
    }

    @Test func tenantsWithoutLimitsAreAlwaysAdmitted() {
        let (limiter, _) = limiter(rpm: 1)
        for _ in 0..<1_000 { #expect(limiter.admit(tenant: "other", reservedTokens: 10).isAdmitted) }
        #expect(limiter.isEmpty == false)
        #expect(TenantRateLimiter(settings: GatewaySettings()).isEmpty)
    }
}

@Suite struct RateLimitMiddlewareTests {
    func request(_ id: String, tenant: String? = "acme", maxTokens: Int? = nil) -> GatewayRequest {
        GatewayRequest(
            id: id, path: "/v1/chat/completions",
            routing: InferenceRequest(requestId: id, capability: .generate, tenantId: tenant),
            maxTokens: maxTokens)
    }

    func limiter(rpm: Int? = nil, tpm: Int? = nil) -> TenantRateLimiter {
        TenantRateLimiter(
            limits: ["acme": TenantLimits(requestsPerMinute: rpm, tokensPerMinute: tpm)],
            clock: ManualClock(TenantRateLimiterTests.windowStart))
    }

    @Test func over600RequestsPerMinuteTheClientGetsOpenAIs429() async throws {
        let middleware = RateLimitMiddleware(limiter: limiter(rpm: 600))
        for index in 0..<600 {
            var request = request("r\(index)")
            try await middleware.beforeRouting(&request)
        }
        var request = request("r600")
        let error = try await #require(throws: OpenAIError.self) {
            try await middleware.beforeRouting(&request)
        }
        #expect(error.status == .tooManyRequests)
        #expect(error.code == "rate_limit_exceeded")
        #expect(error.type == "requests")
        #expect(error.message.hasPrefix("Rate limit reached for requests per minute: limit 600, used 600"))
        #expect(error.message.contains("tenant 'acme'"))
        #expect(error.headers[.retryAfter] == "61")
        #expect(error.headers[HTTPField.Name("x-ratelimit-limit-requests")!] == "600")
        #expect(error.headers[HTTPField.Name("x-ratelimit-remaining-requests")!] == "0")
    }

    @Test func theReservationIsSettledWithTheOutcomesTokens() async throws {
        let middleware = RateLimitMiddleware(limiter: limiter(tpm: 1_000))
        var first = request("a", maxTokens: 600)
        var second = request("b", maxTokens: 600)
        var third = request("c", maxTokens: 600)
        try await middleware.beforeRouting(&first)
        try await middleware.beforeRouting(&second)
        await #expect(throws: OpenAIError.self) { try await middleware.beforeRouting(&third) }
        // Its own rejection reaches its onError too: nothing was reserved for it.
        await middleware.onError(
            third, error: OpenAIError(status: .tooManyRequests, message: "x"),
            outcome: GatewayOutcome(status: 429))
        #expect(middleware.openReservations == 2)

        // The first answer used 50 tokens, the second failed before any: 50 are left counted.
        await middleware.afterInference(first, outcome: GatewayOutcome(status: 200, tokens: 50))
        await middleware.onError(
            second, error: OpenAIError(status: .badGateway, message: "x"),
            outcome: GatewayOutcome(status: 502))
        #expect(middleware.openReservations == 0)
        try await middleware.beforeRouting(&third)
        var fourth = request("d", maxTokens: 900)
        try await middleware.beforeRouting(&fourth)
    }

    @Test func anonymousRequestsAndUnlimitedTenantsPass() async throws {
        let middleware = RateLimitMiddleware(limiter: limiter(rpm: 1))
        for index in 0..<10 {
            var anonymous = request("n\(index)", tenant: nil)
            try await middleware.beforeRouting(&anonymous)
            var other = request("o\(index)", tenant: "other")
            try await middleware.beforeRouting(&other)
        }
        #expect(middleware.openReservations == 0)
    }
}
