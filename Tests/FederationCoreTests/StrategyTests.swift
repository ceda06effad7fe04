import Testing

@testable import FederationCore

@Suite("Load-balancing strategies")
struct StrategyTests {
    func cluster(
        _ strategy: LoadBalanceStrategy, nodes: Int, p50: (Int) -> Double = { _ in 50 }
    ) -> ClusterBuilder {
        var cluster = ClusterBuilder()
        cluster.policy.strategy = strategy
        for i in 0..<nodes { cluster.node("n\(i)", p50: p50(i)) }
        return cluster
    }

    @Test("round robin is exactly even and cycles in node order")
    func roundRobin() throws {
        let snapshot = cluster(.roundRobin, nodes: 4, p50: { Double(10 * ($0 + 1)) }).snapshot
        let r = router()
        var counts: [NodeId: Int] = [:]
        var sequence: [NodeId] = []
        for _ in 0..<400 {
            let node = try r.route(request(), in: snapshot).target.node
            counts[node, default: 0] += 1
            if sequence.count < 8 { sequence.append(node) }
        }
        #expect(counts.values.allSatisfy { $0 == 100 })
        #expect(sequence == ["n0", "n1", "n2", "n3", "n0", "n1", "n2", "n3"])
    }

    @Test("round robin counters are per capability and model")
    func roundRobinPerKey() throws {
        var c = cluster(.roundRobin, nodes: 2)
        c.node("e0", capabilities: [.embed])
        let r = router()
        #expect(try r.route(request(.generate), in: c.snapshot).target.node == "n0")
        #expect(try r.route(request(.embed), in: c.snapshot).target.node == "e0")
        #expect(try r.route(request(.generate), in: c.snapshot).target.node == "n1")
    }

    @Test("least latency picks the fastest; equal latencies are shared at random")
    func leastLatency() throws {
        let snapshot = cluster(.leastLatency, nodes: 3, p50: { [80, 20, 60][$0] }).snapshot
        #expect(try router().route(request(), in: snapshot).target.node == "n1")
        let tied = cluster(.leastLatency, nodes: 3).snapshot
        let r = router()
        var counts: [NodeId: Int] = [:]
        for _ in 0..<3000 { counts[try r.route(request(), in: tied).target.node, default: 0] += 1 }
        #expect(counts.count == 3)
        #expect(counts.values.allSatisfy { (850...1150).contains($0) }, "\(counts)")
    }

    @Test("least connections uses the live load estimate and spreads ties")
    func leastConnections() throws {
        let snapshot = cluster(.leastConnections, nodes: 3).snapshot
        let r = router()
        let load = FixedLoad(counts: ["n0": 5, "n1": 1, "n2": 3])
        #expect(try r.route(request(), in: snapshot, load: load).target.node == "n1")
        // with the snapshot's own cluster-wide estimate
        var c = cluster(.leastConnections, nodes: 3)
        c.inFlight = ["n0": 2, "n1": 7, "n2": 0]
        #expect(try r.route(request(), in: c.snapshot).target.node == "n2")
        // simulate load accumulating: picks stay balanced
        var live: [NodeId: Int] = [:]
        for _ in 0..<300 {
            let node = try r.route(request(), in: snapshot, load: FixedLoad(counts: live)).target.node
            live[node, default: 0] += 1
        }
        #expect(live.values.allSatisfy { $0 == 100 })
    }

    @Test("weighted random follows the scores within a tolerance")
    func weightedRandom() throws {
        var c = ClusterBuilder()
        c.policy.strategy = .weightedRandom
        c.node("healthy", state: .healthy, p50: 50)
        c.node("degraded", state: .degraded, p50: 50)
        let snapshot = c.snapshot
        let candidates = router().candidates(for: request(), in: snapshot)
        let scores = Dictionary(uniqueKeysWithValues: candidates.map { ($0.target.node, $0.scores.total) })
        let expectedShare = scores["healthy"]! / (scores["healthy"]! + scores["degraded"]!)
        let r = router(seed: 7)
        var healthy = 0
        let picks = 20_000
        for _ in 0..<picks where try r.route(request(), in: snapshot).target.node == "healthy" {
            healthy += 1
        }
        let share = Double(healthy) / Double(picks)
        #expect(abs(share - expectedShare) < 0.015, "share \(share) expected \(expectedShare)")
        #expect(expectedShare > 0.52, "the healthy node must be favoured")
    }

    @Test("consistent hash: the same key always lands on the same node, in any router instance")
    func consistentHashStable() throws {
        let snapshot = cluster(.consistentHash, nodes: 5).snapshot
        let a = router(seed: 1)
        let b = router(seed: 999)
        for k in 0..<200 {
            let key = "session-\(k)"
            let first = try a.route(request(key: key), in: snapshot).target.node
            #expect(try a.route(request(key: key), in: snapshot).target.node == first)
            #expect(try b.route(request(key: key), in: snapshot).target.node == first)
        }
    }

    @Test("consistent hash pins a known key to a known node (stable across processes and releases)")
    func consistentHashGolden() throws {
        let snapshot = cluster(.consistentHash, nodes: 5).snapshot
        // FNV-1a + SplitMix finaliser are fixed functions: this mapping must never change silently.
        let keys = ["alice", "bob", "carol"]
        let nodes = try keys.map { try router().route(request(key: $0), in: snapshot).target.node.rawValue }
        let expected = keys.map { key -> String in
            let kh = StableHash.fnv1a(key)
            return (0..<5).map { "n\($0)" }.max {
                StableHash.mix(kh, StableHash.fnv1a($0)) < StableHash.mix(kh, StableHash.fnv1a($1))
            }!
        }
        #expect(nodes == expected)
        #expect(StableHash.fnv1a("") == 0xcbf2_9ce4_8422_2325)
        #expect(StableHash.fnv1a("a") == 0xaf63_dc4c_8601_ec8c)
    }

    @Test("consistent hash moves about 1/N keys when a node leaves, and only keys of that node")
    func consistentHashMinimalMovement() throws {
        let before = cluster(.consistentHash, nodes: 10)
        var after = before
        after.circuits = [:]
        after.openCircuit("n3")
        let r = router()
        var moved = 0
        let keys = 5000
        for k in 0..<keys {
            let key = "k\(k)"
            let was = try r.route(request(key: key), in: before.snapshot).target.node
            let now = try r.route(request(key: key), in: after.snapshot).target.node
            if was != now {
                moved += 1
                #expect(was == "n3", "key \(key) moved from \(was), which did not leave")
            }
        }
        let share = Double(moved) / Double(keys)
        #expect(abs(share - 0.1) < 0.02, "moved \(share)")
    }

    @Test("consistent hash spreads keys evenly and bounds load")
    func consistentHashBoundedLoad() throws {
        let snapshot = cluster(.consistentHash, nodes: 4).snapshot
        let r = router()
        var counts: [NodeId: Int] = [:]
        for k in 0..<4000 {
            counts[try r.route(request(key: "u\(k)"), in: snapshot).target.node, default: 0] += 1
        }
        #expect(counts.values.allSatisfy { (850...1150).contains($0) }, "\(counts)")
        // find a key's home, overload it, and the key moves elsewhere
        let home = try r.route(request(key: "sticky"), in: snapshot).target.node
        let overloaded = FixedLoad(counts: [home: 50])
        let moved = try r.route(request(key: "sticky"), in: snapshot, load: overloaded).target.node
        #expect(moved != home)
        let fine = FixedLoad(counts: ["n0": 1, "n1": 1, "n2": 1, "n3": 1])
        #expect(try r.route(request(key: "sticky"), in: snapshot, load: fine).target.node == home)
    }

    @Test("max_candidates keeps only the best-scored nodes for the strategy")
    func maxCandidates() throws {
        var c = cluster(.roundRobin, nodes: 6, p50: { Double(100 * ($0 + 1)) })
        c.policy.maxCandidates = 2
        let r = router()
        var seen = Set<NodeId>()
        for _ in 0..<20 { seen.insert(try r.route(request(), in: c.snapshot).target.node) }
        #expect(seen == ["n0", "n1"])
    }
}
