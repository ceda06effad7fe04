import Testing

@testable import FederationCore

@Suite("Routing engine")
struct RouterTests {
    @Test("no node for the capability: no_capacity, 503")
    func noCapacity() {
        var cluster = ClusterBuilder()
        cluster.node("a", capabilities: [.embed])
        #expect(throws: FederationError.noCapacity(.generate, detail: "")) {
            try router().route(request(.generate), in: cluster.snapshot)
        }
        #expect(FederationError.noCapacity(.generate, detail: "").httpStatus == 503)
    }

    @Test("a named model restricts candidates to its deployments")
    func modelFilter() throws {
        var cluster = ClusterBuilder()
        cluster.node("a", model: "llama", p50: 10)
        cluster.node("b", model: "mistral", p50: 500)
        let decision = try router().route(request(model: "mistral"), in: cluster.snapshot)
        #expect(decision.target.node == "b")
        #expect(decision.target.model == "mistral")
        do {
            _ = try router().route(request(model: "gpt-9"), in: cluster.snapshot)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == "no_capacity")
            #expect(error.message.contains("gpt-9"))
        }
    }

    @Test("open circuits are skipped; when every node is open the error is all_nodes_unhealthy")
    func openCircuits() throws {
        var cluster = ClusterBuilder()
        cluster.node("a", p50: 10)
        cluster.node("b", p50: 900)
        cluster.openCircuit("a")
        #expect(try router().route(request(), in: cluster.snapshot).target.node == "b")
        cluster.openCircuit("b")
        #expect(throws: FederationError.self) { try router().route(request(), in: cluster.snapshot) }
        do {
            _ = try router().route(request(), in: cluster.snapshot)
        } catch {
            #expect(error.code == "all_nodes_unhealthy")
            #expect(error.message.contains("circuit"))
        }
    }

    @Test("an open circuit whose deadline passed is half-open: routable, and marked as a probe")
    func halfOpenByTime() throws {
        let clock = ManualClock(Timestamp(milliseconds: 10_000))
        var cluster = ClusterBuilder()
        cluster.node("a")
        cluster.openCircuit("a", until: Timestamp(milliseconds: 20_000))
        #expect(throws: FederationError.self) {
            try router(clock: clock).route(request(), in: cluster.snapshot)
        }
        clock.advance(by: .seconds(10))
        let decision = try router(clock: clock).route(request(), in: cluster.snapshot)
        #expect(decision.target.node == "a")
        #expect(decision.isProbe)
    }

    @Test("unhealthy nodes are ejected while enough healthy ones remain")
    func unhealthyEjected() throws {
        var cluster = ClusterBuilder()
        cluster.node("a", state: .healthy, p50: 900)
        cluster.node("b", state: .healthy, p50: 800)
        cluster.node("c", state: .unhealthy, p50: 5)
        let r = router()
        for _ in 0..<50 {
            let decision = try r.route(request(), in: cluster.snapshot)
            #expect(decision.target.node != "c")
            #expect(!decision.panic)
        }
    }

    @Test("panic threshold: below 50% healthy, unhealthy nodes (closed circuits) serve again")
    func panicThreshold() throws {
        var cluster = ClusterBuilder()
        cluster.policy.strategy = .roundRobin
        cluster.node("a", state: .healthy)
        cluster.node("b", state: .unhealthy)
        cluster.node("c", state: .unhealthy)
        let r = router()
        var seen = Set<NodeId>()
        for _ in 0..<30 {
            let decision = try r.route(request(), in: cluster.snapshot)
            #expect(decision.panic)
            seen.insert(decision.target.node)
        }
        #expect(seen == ["a", "b", "c"])
        // disabled: only the healthy node
        cluster.policy.panicThreshold = 0
        for _ in 0..<10 { #expect(try r.route(request(), in: cluster.snapshot).target.node == "a") }
        // a lone unhealthy node with panic disabled is an error
        var lone = ClusterBuilder()
        lone.policy.panicThreshold = 0
        lone.node("x", state: .unhealthy)
        #expect(throws: FederationError.self) { try r.route(request(), in: lone.snapshot) }
        // an open circuit is never brought back by panic
        var open = ClusterBuilder()
        open.node("x", state: .unhealthy)
        open.node("y", state: .unhealthy)
        open.openCircuit("x")
        for _ in 0..<10 { #expect(try r.route(request(), in: open.snapshot).target.node == "y") }
    }

    @Test("a retry never picks a node already tried; when all were tried the error says so")
    func exclusion() throws {
        var cluster = ClusterBuilder()
        for i in 0..<4 { cluster.node("n\(i)", p50: Double(10 + i)) }
        let r = router()
        var tried = Set<NodeId>()
        for _ in 0..<4 {
            let decision = try r.route(request(), in: cluster.snapshot, excluding: tried)
            #expect(!tried.contains(decision.target.node))
            tried.insert(decision.target.node)
        }
        #expect(tried.count == 4)
        do {
            _ = try r.route(request(), in: cluster.snapshot, excluding: tried)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == "all_nodes_unhealthy")
            #expect(error.message.contains("already tried"))
        }
    }

    @Test("privacy: a confidential request only goes to confidential regions, else privacy_violation")
    func privacyRouting() throws {
        var cluster = ClusterBuilder()
        cluster.policy.regions = [
            "eu-west": RegionSettings(privacy: .confidential, cost: 0.6),
            "us-east": RegionSettings(privacy: .internal, cost: 0.5),
            "ap-south": RegionSettings(privacy: .public, cost: 0.3),
        ]
        cluster.node("eu", region: "eu-west", p50: 400)
        cluster.node("us", region: "us-east", p50: 10)
        cluster.node("ap", region: "ap-south", p50: 5)
        #expect(try router().route(request(privacy: .confidential), in: cluster.snapshot).target.node == "eu")
        do {
            _ = try router().route(request(privacy: .restricted), in: cluster.snapshot)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == "privacy_violation")
            #expect(error.message.contains("restricted"))
        }
        // a per-node override beats its region
        cluster.node("us-vault", region: "us-east", privacy: .restricted, p50: 30)
        #expect(
            try router().route(request(privacy: .restricted), in: cluster.snapshot).target.node == "us-vault")
    }

    @Test("QoS violations name the rule")
    func qosViolation() {
        var cluster = ClusterBuilder()
        cluster.node("slow", p50: 800)
        do {
            _ = try router().route(request(maxLatencyMs: 100), in: cluster.snapshot)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == "qos_violation")
            #expect(error.message.contains("max_latency"))
        }
    }

    @Test("min_score rejects candidates below it")
    func minScore() {
        var cluster = ClusterBuilder()
        cluster.policy.minScore = 0.99
        cluster.node("a", state: .unknown)
        do {
            _ = try router().route(request(), in: cluster.snapshot)
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("min_score"))
        }
    }

    @Test("explain: every candidate with per-policy scores, eligibility and the rejecting policy")
    func explain() {
        var cluster = ClusterBuilder()
        cluster.policy.regions = ["ap": RegionSettings(privacy: .public)]
        cluster.node("good", region: "us", p50: 40)
        cluster.node("public", region: "ap", p50: 40)
        cluster.node("open", region: "us", p50: 40)
        cluster.openCircuit("open")
        let candidates = router().candidates(for: request(), in: cluster.snapshot)
        #expect(
            candidates.map(\.target.node) == ["good", "open", "public"]
                || candidates.first?.target.node == "good")
        let good = candidates.first { $0.target.node == "good" }!
        #expect(good.eligible && good.rejection == nil)
        #expect(
            good.scores.policies.map(\.policy) == [
                "health", "latency", "privacy", "locality", "cost", "qos", "tenant_affinity",
            ])
        #expect(good.scores[policy: "latency"].map { abs($0 - 0.992) < 1e-9 } == true)
        let pub = candidates.first { $0.target.node == "public" }!
        #expect(!pub.eligible && pub.rejection?.policy == "privacy")
        let open = candidates.first { $0.target.node == "open" }!
        #expect(!open.eligible && open.rejection?.policy == "circuit" && open.circuit == .open)
    }

    @Test("the policy document changes decisions: locality weight and origin region")
    func documentDrivesDecision() throws {
        var cluster = ClusterBuilder()
        cluster.node("us", region: "us-west", p50: 40)
        cluster.node("eu", region: "eu-west", p50: 60)
        cluster.policy.strategy = .weightedRandom
        cluster.policy.maxCandidates = 1
        #expect(try router().route(request(origin: "eu-west"), in: cluster.snapshot).target.node == "eu")
        cluster.policy.weights.locality = 0
        #expect(try router().route(request(origin: "eu-west"), in: cluster.snapshot).target.node == "us")
    }
}
