import Testing

@testable import FederationCore

@Suite("Policies")
struct PolicyTests {
    let req = request()

    @Test("health scores: healthy 1, degraded 0.5 falling to 0.3, unknown 0.3, unhealthy 0")
    func healthScores() {
        let policy = HealthPolicy()
        #expect(policy.weight == 2.0)
        #expect(policy.score(candidate(state: .healthy), for: req) == 1.0)
        #expect(policy.score(candidate(state: .degraded, failures: 0), for: req) == 0.5)
        #expect(policy.score(candidate(state: .degraded, failures: 1), for: req) == 0.4)
        #expect(policy.score(candidate(state: .degraded, failures: 2), for: req) == 0.3)
        #expect(policy.score(candidate(state: .degraded, failures: 7), for: req) == 0.3)
        #expect(policy.score(candidate(state: .unknown), for: req) == 0.3)
        #expect(policy.score(candidate(state: nil), for: req) == 0.3)
        #expect(policy.score(candidate(state: .unhealthy), for: req) == 0.0)
    }

    @Test(
        "latency: 1 - p50/max, ineligible at or above max, unmeasured 0.5",
        arguments: [
            (45.0, 0.991), (120.0, 0.976), (200.0, 0.96), (4000.0, 0.2),
        ])
    func latencyFormula(p50: Double, expected: Double) {
        let policy = LatencyPolicy()
        #expect(abs(policy.score(candidate(p50: p50), for: req) - expected) < 1e-9)
        #expect(policy.isEligible(candidate(p50: p50), for: req))
    }

    @Test func latencyBoundaries() {
        let policy = LatencyPolicy(maxLatencyMs: 5000)
        #expect(policy.isEligible(candidate(p50: 4999.9), for: req))
        #expect(!policy.isEligible(candidate(p50: 5000), for: req))
        #expect(policy.score(candidate(p50: 5000), for: req) == 0)
        #expect(policy.score(candidate(p50: 9000), for: req) == 0)
        #expect(policy.rejection(candidate(p50: 6000), for: req)?.contains("6000 ms") == true)
        #expect(policy.score(candidate(p50: nil), for: req) == 0.5)
        #expect(policy.isEligible(candidate(p50: nil), for: req))
    }

    @Test("privacy eligibility matrix: node level must be >= request level")
    func privacyMatrix() {
        let policy = PrivacyPolicy()
        for node in PrivacyLevel.allCases {
            for needed in PrivacyLevel.allCases {
                let eligible = policy.isEligible(candidate(privacy: node), for: request(privacy: needed))
                #expect(eligible == (node >= needed), "node \(node) request \(needed)")
            }
        }
        let reason = policy.rejection(candidate(privacy: .public), for: request(privacy: .confidential))
        #expect(reason?.contains("public") == true && reason?.contains("confidential") == true)
    }

    @Test("locality: same region 0.8, other region 0.4, unknown origin 0.5")
    func locality() {
        let policy = LocalityPolicy()
        #expect(abs(policy.score(candidate(region: "eu"), for: request(origin: "eu")) - 0.8) < 1e-12)
        #expect(abs(policy.score(candidate(region: "us"), for: request(origin: "eu")) - 0.4) < 1e-12)
        #expect(policy.score(candidate(region: "us"), for: request()) == 0.5)
        let strong = LocalityPolicy(sameRegionBoost: 0.9, crossRegionPenalty: 0.9)
        #expect(strong.score(candidate(region: "eu"), for: request(origin: "eu")) == 1.0)
        #expect(strong.score(candidate(region: "us"), for: request(origin: "eu")) == 0.0)
    }

    @Test(
        "cost bands",
        arguments: [(0, 1.0), (30, 1.0), (31, 0.6), (50, 0.6), (51, 0.3), (70, 0.3), (71, 0.0), (100, 0.0)])
    func costBands(tolerance: Int, alpha: Double) {
        #expect(CostPolicy.cheapnessWeight(costTolerance: tolerance) == alpha)
    }

    @Test("low tolerance prefers the cheap node, high tolerance the fast one")
    func costTradeOff() {
        let policy = CostPolicy()
        let cheapSlow = candidate("cheap", cost: 0.2, p50: 2000)
        let dearFast = candidate("dear", cost: 0.9, p50: 50)
        #expect(
            policy.score(cheapSlow, for: request(costTolerance: 10))
                > policy.score(dearFast, for: request(costTolerance: 10)))
        #expect(
            policy.score(dearFast, for: request(costTolerance: 90))
                > policy.score(cheapSlow, for: request(costTolerance: 90)))
        // exact formula at tolerance 20: alpha 1 → 1 - cost
        #expect(abs(policy.score(cheapSlow, for: request(costTolerance: 20)) - 0.8) < 1e-12)
        // at 40: 0.6 * (1 - 0.9) + 0.4 * (1 - 50/5000)
        #expect(abs(policy.score(dearFast, for: request(costTolerance: 40)) - (0.06 + 0.4 * 0.99)) < 1e-12)
    }

    @Test("QoS max_latency and min_throughput are hard limits; unmeasured nodes pass")
    func qosLimits() {
        let policy = QoSPolicy()
        #expect(!policy.isEligible(candidate(p50: 300), for: request(maxLatencyMs: 200)))
        #expect(policy.isEligible(candidate(p50: 200), for: request(maxLatencyMs: 200)))
        #expect(policy.isEligible(candidate(p50: nil), for: request(maxLatencyMs: 200)))
        #expect(!policy.isEligible(candidate(throughput: 20), for: request(minThroughput: 50)))
        #expect(policy.isEligible(candidate(throughput: 50), for: request(minThroughput: 50)))
        #expect(policy.isEligible(candidate(throughput: nil), for: request(minThroughput: 50)))
        #expect(
            policy.rejection(candidate(p50: 300), for: request(maxLatencyMs: 200))?.contains("max_latency")
                == true)
    }

    @Test("prefer_gpu: GPU 1.0, CPU 0.5; without the preference both 1.0")
    func preferGPU() {
        let policy = QoSPolicy()
        #expect(policy.score(candidate(gpu: true), for: request(preferGPU: true)) == 1.0)
        #expect(policy.score(candidate(gpu: false), for: request(preferGPU: true)) == 0.5)
        #expect(policy.score(candidate(gpu: false), for: request(preferGPU: false)) == 1.0)
    }

    @Test("tenant affinity is a preference, never a requirement")
    func tenantAffinity() {
        let policy = TenantAffinityPolicy(preferences: ["acme": ["a"]])
        #expect(policy.score(candidate("a"), for: request(tenant: "acme")) == 1.0)
        #expect(policy.score(candidate("b"), for: request(tenant: "acme")) == 0.5)
        #expect(policy.score(candidate("a"), for: request(tenant: "other")) == 0.5)
        #expect(policy.score(candidate("a"), for: request()) == 0.5)
        #expect(policy.isEligible(candidate("b"), for: request(tenant: "acme")))
    }

    @Test("composite: weighted mean in [0, 1], eligible only if every policy agrees")
    func composite() {
        let composite = CompositePolicy.enterpriseDefault
        #expect(composite.policies.map(\.name) == ["health", "latency", "privacy", "locality", "cost"])
        let node = candidate(cost: 0.5, p50: 100)
        // (2*1 + 0.98 + 1 + 0.5 + (0.6*0.5 + 0.4*0.98)) / 6
        let expected = (2 * 1.0 + 0.98 + 1 + 0.5 + (0.3 + 0.4 * 0.98)) / 6
        #expect(abs(composite.score(node, for: req) - expected) < 1e-12)
        #expect(composite.rejection(node, for: req) == nil)
        let rejected = composite.rejection(candidate(privacy: .public), for: req)
        #expect(rejected?.policy == "privacy")
        let breakdown = composite.breakdown(node, for: req)
        #expect(breakdown.count == 5 && breakdown[0] == PolicyScore(policy: "health", weight: 2, score: 1))
    }

    @Test("a custom policy plugs into the composite")
    func customPolicy() {
        final class OnlyEven: RoutingPolicy {
            var name: String { "only_even" }
            var weight: Double { 1 }
            func score(_ c: CandidateNode, for r: InferenceRequest) -> Double { 1 }
            func rejection(_ c: CandidateNode, for r: InferenceRequest) -> String? {
                c.id.rawValue.hasSuffix("1") ? "odd node" : nil
            }
        }
        let composite = CompositePolicy.enterpriseDefault.with(OnlyEven())
        #expect(
            composite.rejection(candidate("n1"), for: req)
                == Rejection(policy: "only_even", reason: "odd node"))
        #expect(composite.rejection(candidate("n2"), for: req) == nil)
    }

    @Test("zero-weight policies keep their eligibility rule but add nothing to the score")
    func zeroWeight() {
        var document = RoutingPolicyDocument()
        document.weights = PolicyWeights()
        document.weights.latency = 0
        let composite = CompositePolicy(document: document)
        #expect(composite.rejection(candidate(p50: 6000), for: req)?.policy == "latency")
        let fast = composite.score(candidate(p50: 10), for: req)
        let slow = composite.score(candidate(p50: 4000), for: req)
        // only cost still sees speed
        #expect(fast > slow)
        document.weights.cost = 0
        let flat = CompositePolicy(document: document)
        #expect(
            abs(flat.score(candidate(p50: 10), for: req) - flat.score(candidate(p50: 4000), for: req)) < 1e-12
        )
    }
}
