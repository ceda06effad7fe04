import Testing

@testable import FederationCore

/// Randomised clusters (seeded, so failures reproduce) checked against invariants that must hold
/// for every decision.
@Suite("Routing properties")
struct PropertyTests {
    static let regions: [(String, PrivacyLevel, Double)] = [
        ("us-west", .internal, 0.8), ("eu-west", .confidential, 0.6), ("ap-south", .public, 0.3),
        ("gov", .restricted, 0.9),
    ]

    func randomCluster(_ random: SeededRandomSource, strategy: LoadBalanceStrategy) -> ClusterBuilder {
        var cluster = ClusterBuilder()
        cluster.policy.strategy = strategy
        for (name, privacy, cost) in Self.regions {
            cluster.policy.regions[name] = RegionSettings(privacy: privacy, cost: cost)
        }
        let states = HealthState.allCases
        for i in 0..<(2 + random.next(below: 20)) {
            let region = Self.regions[random.next(below: Self.regions.count)].0
            let override: PrivacyLevel? =
                random.next(below: 5) == 0 ? PrivacyLevel.allCases[random.next(below: 4)] : nil
            cluster.node(
                "n\(i)", region: region,
                capabilities: random.next(below: 3) == 0 ? [.embed] : [.generate, .code],
                gpu: random.next(below: 2) == 0, privacy: override,
                state: states[random.next(below: states.count)], p50: Double(1 + random.next(below: 6000)),
                throughput: Double(random.next(below: 200)))
            if random.next(below: 4) == 0 {
                cluster.openCircuit("n\(i)", until: Timestamp(milliseconds: .max))
            }
            cluster.inFlight[NodeId("n\(i)")] = random.next(below: 10)
        }
        return cluster
    }

    @Test(
        "no decision violates privacy, picks an open circuit, a tried node, or a QoS limit",
        arguments: LoadBalanceStrategy.allCases)
    func invariants(strategy: LoadBalanceStrategy) {
        let random = SeededRandomSource(seed: 2026)
        let r = router(seed: 3)
        var decisions = 0
        for _ in 0..<300 {
            let cluster = randomCluster(random, strategy: strategy)
            let snapshot = cluster.snapshot
            for _ in 0..<10 {
                let privacy = PrivacyLevel.allCases[random.next(below: 4)]
                let maxLatency: Double? =
                    random.next(below: 3) == 0 ? Double(100 + random.next(below: 3000)) : nil
                let req = request(
                    random.next(below: 2) == 0 ? .generate : .embed, privacy: privacy,
                    origin: Self.regions[random.next(below: 4)].0, key: "k\(random.next(below: 50))",
                    maxLatencyMs: maxLatency)
                var tried = Set<NodeId>()
                for node in snapshot.catalog.nodes.keys where random.next(below: 6) == 0 {
                    tried.insert(node)
                }
                guard let decision = try? r.route(req, in: snapshot, excluding: tried) else { continue }
                decisions += 1
                let chosen = snapshot.candidates(for: req.capability).first { $0.id == decision.target.node }!
                #expect(chosen.privacy >= privacy, "privacy \(chosen.privacy) < \(privacy)")
                #expect(cluster.circuits[chosen.id]?.state != .open, "open circuit \(chosen.id) picked")
                #expect(!tried.contains(chosen.id), "tried node \(chosen.id) picked again")
                if let maxLatency { #expect(chosen.estimatedLatencyMs! <= maxLatency) }
                #expect(chosen.estimatedLatencyMs! < snapshot.policy.maxLatencyMs)
                if chosen.healthState == .unhealthy { #expect(decision.panic) }
                #expect((0...1).contains(decision.target.score))
            }
        }
        #expect(decisions > 300, "too few successful decisions (\(decisions)) to mean anything")
    }

    @Test("route and explain agree: the chosen node is listed as eligible")
    func routeMatchesExplain() throws {
        let random = SeededRandomSource(seed: 11)
        let r = router()
        for _ in 0..<200 {
            let snapshot = randomCluster(random, strategy: .leastLatency).snapshot
            let req = request(privacy: .public)
            let explained = r.candidates(for: req, in: snapshot)
            guard let decision = try? r.route(req, in: snapshot) else {
                #expect(!explained.contains { $0.eligible })
                continue
            }
            let entry = explained.first { $0.target.node == decision.target.node }
            #expect(entry?.eligible == true)
            #expect(explained.filter(\.eligible).count == decision.eligibleCount)
            for rejected in explained where !rejected.eligible { #expect(rejected.rejection != nil) }
        }
    }
}

@Suite("Policy evaluation paths")
struct PolicyPathTests {
    @Test("the statically dispatched built-ins and the generic loop agree on every candidate")
    func pathsAgree() {
        let random = SeededRandomSource(seed: 99)
        for round in 0..<200 {
            var document = RoutingPolicyDocument()
            document.weights.health = Double(random.next(below: 4))
            document.weights.latency = Double(random.next(below: 3))
            document.weights.cost = Double(random.next(below: 3))
            document.weights.locality = Double(random.next(below: 2))
            document.maxLatencyMs = Double(500 + random.next(below: 5000))
            document.tenantAffinity = ["acme": [NodeId("n\(random.next(below: 5))")]]
            let fast = CompositePolicy(document: document)
            let generic = fast.genericOnly
            #expect(fast.standard != nil && generic.standard == nil)
            for i in 0..<10 {
                let node = candidate(
                    "n\(i % 5)", region: ["us", "eu"][random.next(below: 2)], gpu: random.next(below: 2) == 0,
                    privacy: PrivacyLevel.allCases[random.next(below: 4)], cost: random.nextUnit(),
                    state: HealthState.allCases[random.next(below: 4)],
                    p50: random.next(below: 5) == 0 ? nil : Double(random.next(below: 6000)),
                    throughput: Double(random.next(below: 100)), failures: random.next(below: 3))
                let req = request(
                    privacy: PrivacyLevel.allCases[random.next(below: 4)],
                    costTolerance: random.next(below: 101),
                    origin: random.next(below: 3) == 0 ? nil : "eu",
                    tenant: random.next(below: 2) == 0 ? "acme" : nil,
                    maxLatencyMs: random.next(below: 3) == 0 ? Double(random.next(below: 3000)) : nil,
                    minThroughput: random.next(below: 4) == 0 ? 50 : nil,
                    preferGPU: random.next(below: 2) == 0)
                let a = fast.evaluate(node, for: req)
                let b = generic.evaluate(node, for: req)
                #expect(a.rejectedBy == b.rejectedBy, "round \(round)")
                if a.rejectedBy == nil {
                    #expect(abs(a.score - b.score) < 1e-12, "round \(round): \(a.score) vs \(b.score)")
                    #expect(abs(a.score - fast.score(node, for: req)) < 1e-12)
                }
            }
        }
    }
}
