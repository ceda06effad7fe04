import Synchronization
import Testing

@testable import FederationCore

/// In-flight counts a test changes as its simulated requests start and end.
final class LiveLoad: LoadEstimator {
    private let counts = Mutex<[NodeId: Int]>([:])
    func inFlight(_ node: NodeId) -> Int { counts.withLock { $0[node] ?? 0 } }
    func add(_ node: NodeId, _ delta: Int) { counts.withLock { $0[node, default: 0] += delta } }
}

@Suite("p2c_ewma: power of two choices over peak-EWMA latency")
struct TwoChoicesTests {
    /// `count` healthy nodes `n0…` whose published p50 comes from real requests.
    func cluster(_ count: Int, strategy: LoadBalanceStrategy = .p2cEWMA, p50: Double = 10) -> ClusterBuilder {
        var cluster = ClusterBuilder()
        cluster.policy.strategy = strategy
        for i in 0..<count {
            let id = cluster.node("n\(i)", p50: p50)
            cluster.health[id]?.latencySource = .inference
        }
        return cluster
    }

    /// An open-loop run: a request every `gapMs`, each node answering after `latencyMs(node)`;
    /// answers are observed when they end. Returns the answers per node.
    func simulate(
        _ snapshot: FederationSnapshot, engine: RoutingEngine, clock: ManualClock, requests: Int,
        gapMs: Int64,
        latencyMs: (NodeId) -> Int64
    ) throws -> [NodeId: Int] {
        let load = LiveLoad()
        var pending: [(end: Int64, node: NodeId, took: Int64)] = []
        var counts: [NodeId: Int] = [:]
        let begin = clock.now().milliseconds
        for k in 0..<Int64(requests) {
            let now = begin + k * gapMs
            pending.sort { $0.end < $1.end }
            while let first = pending.first, first.end <= now {
                pending.removeFirst()
                clock.set(Timestamp(milliseconds: first.end))
                engine.observe(first.node, latency: .milliseconds(first.took), ok: true)
                load.add(first.node, -1)
            }
            clock.set(Timestamp(milliseconds: now))
            let node = try engine.route(request(), in: snapshot, load: load).target.node
            counts[node, default: 0] += 1
            load.add(node, 1)
            let took = latencyMs(node)
            pending.append((now + took, node, took))
        }
        return counts
    }

    @Test("a 10× slower node gets less than its capacity share", arguments: [5, 50])
    func slowNodeShare(nodes: Int) throws {
        let clock = ManualClock()
        let engine = router(seed: 7, clock: clock)
        let snapshot = cluster(nodes).snapshot
        let slow: NodeId = "n0"
        // a request every 5 ms (5 nodes) or every 1 ms (50 nodes): about 2 or 10 in flight
        let gap: Int64 = nodes == 5 ? 5 : 1
        let counts = try simulate(
            snapshot, engine: engine, clock: clock, requests: 5_000, gapMs: gap,
            latencyMs: { $0 == slow ? 100 : 10 })
        let capacityShare = 0.1 / (Double(nodes - 1) + 0.1)
        let share = Double(counts[slow] ?? 0) / 5_000
        #expect(share < capacityShare, "slow share \(share), capacity share \(capacityShare): \(counts)")
        #expect(counts.count == nodes, "every fast node served: \(counts)")
    }

    /// The finding from bench/suite/routing.py: a node that has just registered has only the
    /// health probes' round-trip time (fast) as its latency.
    func withNewcomer(_ count: Int, strategy: LoadBalanceStrategy) -> (FederationSnapshot, NodeId) {
        var c = cluster(count, strategy: strategy)
        let newcomer = c.node("new", p50: 1)
        c.health[newcomer]?.latencySource = .probe
        return (c.snapshot, newcomer)
    }

    @Test("a node that has just registered is not herded onto", arguments: [4, 60])
    func newcomerNotHerded(established: Int) throws {
        let burst = 10 * (established + 1)
        for strategy in [LoadBalanceStrategy.leastLatency, .p2cEWMA] {
            let (snapshot, newcomer) = withNewcomer(established, strategy: strategy)
            let engine = router(seed: 3)
            for i in 0..<established { engine.observe(NodeId("n\(i)"), latency: .milliseconds(10), ok: true) }
            let load = LiveLoad()
            var toNewcomer = 0
            // a burst: nothing answers before the last request is routed
            for _ in 0..<burst {
                let node = try engine.route(request(), in: snapshot, load: load).target.node
                load.add(node, 1)
                if node == newcomer { toNewcomer += 1 }
            }
            if strategy == .leastLatency {
                #expect(toNewcomer == burst, "least_latency herds (the known finding)")
            } else {
                // its fair share is 10; random pairs spread it a little
                #expect(toNewcomer <= 15, "newcomer got \(toNewcomer) of \(burst)")
                #expect(toNewcomer >= 1, "the newcomer is still tried")
            }
        }
    }

    @Test("with nothing measured anywhere, the cost is the in-flight count alone")
    func nothingKnown() throws {
        var c = ClusterBuilder()
        c.policy.strategy = .p2cEWMA
        for i in 0..<3 { c.node("n\(i)", p50: nil) }
        let load = FixedLoad(counts: ["n0": 3, "n1": 0, "n2": 3])
        let engine = router(seed: 1)
        // n1 wins every pair it is in: 2 of the 3 pairs
        var counts: [NodeId: Int] = [:]
        for _ in 0..<3_000 {
            counts[try engine.route(request(), in: c.snapshot, load: load).target.node, default: 0] += 1
        }
        let share = Double(counts["n1"] ?? 0) / 3_000
        #expect(share > 0.6 && share < 0.73, "\(counts)")
    }

    @Test("a node that fails fast is avoided; one not seen for a while is tried again")
    func failuresAndDecay() throws {
        let clock = ManualClock()
        let engine = router(seed: 5, clock: clock)
        let snapshot = cluster(3).snapshot
        engine.observe("n0", latency: .milliseconds(1), ok: false)
        engine.observe("n1", latency: .milliseconds(10), ok: true)
        engine.observe("n2", latency: .milliseconds(10), ok: true)
        for _ in 0..<200 { #expect(try engine.route(request(), in: snapshot).target.node != "n0") }
        // a minute later the others still answer in 10 ms, while n0's 1 s has decayed to 2.5 ms
        clock.advance(by: .seconds(60))
        engine.observe("n1", latency: .milliseconds(10), ok: true)
        engine.observe("n2", latency: .milliseconds(10), ok: true)
        var tried = false
        for _ in 0..<200 where try engine.route(request(), in: snapshot).target.node == "n0" { tried = true }
        #expect(tried)
    }

    @Test("one eligible candidate is chosen every time; equal costs are shared at random")
    func tiesAndSingles() throws {
        var single = cluster(100)
        for i in 1..<100 { single.openCircuit("n\(i)") }
        let engine = router(seed: 9)
        for _ in 0..<50 { #expect(try engine.route(request(), in: single.snapshot).target.node == "n0") }
        let small = cluster(1).snapshot
        #expect(try engine.route(request(), in: small).target.node == "n0")

        let pair = cluster(2).snapshot
        var counts: [NodeId: Int] = [:]
        for _ in 0..<2_000 { counts[try engine.route(request(), in: pair).target.node, default: 0] += 1 }
        #expect(counts.values.allSatisfy { (850...1150).contains($0) }, "\(counts)")
    }

    /// 300 nodes in three regions: a third below the request's privacy, every 7th circuit open,
    /// a few unhealthy, 20 already tried, one region not allowed.
    func mixedFleet(nodes: Int) -> (FederationSnapshot, InferenceRequest, Set<NodeId>) {
        var c = ClusterBuilder()
        c.policy.strategy = .p2cEWMA
        let regions = ["us-west", "eu-west", "ap-south"]
        for i in 0..<nodes {
            let privacy: PrivacyLevel = [.public, .confidential, .restricted][i % 3]
            c.node(
                "n\(i)", region: regions[(i / 3) % 3], privacy: privacy,
                state: i % 50 == 1 ? .unhealthy : .healthy)
            if i % 7 == 0 { c.openCircuit("n\(i)") }
        }
        var r = request(privacy: .confidential)
        r.allowedRegions = ["us-west", "eu-west"]
        let excluded = Set((0..<20).map { NodeId("n\($0 * 5)") })
        return (c.snapshot, r, excluded)
    }

    @Test("privacy, regions, open circuits, health and retries are hard filters", arguments: [12, 300])
    func filtersHold(nodes: Int) throws {
        let (snapshot, r, excluded) = mixedFleet(nodes: nodes)
        let engine = router(seed: 11)
        if nodes >= 300 {
            #expect(engine.routeBySampling(r, in: snapshot, excluding: excluded, load: nil) != nil, "sampled")
        }
        let byId = Dictionary(uniqueKeysWithValues: snapshot.candidates(for: .generate).map { ($0.id, $0) })
        var chosen: Set<NodeId> = []
        for _ in 0..<3_000 {
            let decision = try engine.route(r, in: snapshot, excluding: excluded)
            let node = try #require(byId[decision.target.node])
            #expect(node.privacy >= .confidential)
            #expect(node.region != "ap-south")
            #expect(node.circuit == nil)
            #expect(node.healthState != .unhealthy)
            #expect(!excluded.contains(node.id))
            #expect(!decision.panic)
            chosen.insert(node.id)
        }
        let eligible = byId.values.filter {
            $0.privacy >= .confidential && $0.region != "ap-south" && $0.circuit == nil
                && $0.healthState != .unhealthy && !excluded.contains($0.id)
        }
        #expect(chosen == Set(eligible.map(\.id)), "every eligible node is drawn sometimes")
    }

    @Test("when the panic threshold applies, the linear path decides and puts unhealthy nodes back")
    func panicFallsBack() throws {
        var c = cluster(100)
        for i in 0..<60 { c.health[NodeId("n\(i)")]?.state = .unhealthy }
        let engine = router(seed: 2)
        #expect(engine.routeBySampling(request(), in: c.snapshot, excluding: [], load: nil) == nil)
        var unhealthyChosen = 0
        for _ in 0..<200 {
            let decision = try engine.route(request(), in: c.snapshot)
            #expect(decision.panic)
            if let index = Int(decision.target.node.rawValue.dropFirst()), index < 60 { unhealthyChosen += 1 }
        }
        #expect(unhealthyChosen > 0)

        // three unhealthy of 100: sampling proves there is no panic and never draws them
        var few = cluster(100)
        for i in 0..<3 { few.health[NodeId("n\(i)")]?.state = .unhealthy }
        #expect(engine.routeBySampling(request(), in: few.snapshot, excluding: [], load: nil) != nil)
        for _ in 0..<500 {
            let node = try engine.route(request(), in: few.snapshot).target.node
            #expect(!["n0", "n1", "n2"].contains(node))
        }
    }

    @Test("the strategy has its wire name")
    func wireName() throws {
        #expect(try LoadBalanceStrategy(parsing: "P2C_EWMA") == .p2cEWMA)
        #expect(LoadBalanceStrategy.p2cEWMA.description == "p2c_ewma")
    }
}
