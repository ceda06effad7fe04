import Testing

@testable import FederationCore

@Suite("Route failures: every cause named, code by precedence")
struct RouteFailureTests {
    var regions: [String: RegionSettings] {
        [
            "eu-west": RegionSettings(privacy: .confidential, cost: 0.6),
            "us-west": RegionSettings(privacy: .internal, cost: 0.5),
        ]
    }

    func failure(_ cluster: ClusterBuilder, _ request: InferenceRequest) -> FederationError? {
        do {
            _ = try router().route(request, in: cluster.snapshot)
            return nil
        } catch {
            return error
        }
    }

    @Test("open circuits on nodes that pass privacy, the rest below privacy: all_nodes_unhealthy naming both")
    func circuitsAndPrivacy() throws {
        var cluster = ClusterBuilder()
        cluster.policy.regions = regions
        cluster.node("a", region: "eu-west")
        cluster.node("b", region: "eu-west")
        cluster.node("c", region: "us-west")
        cluster.openCircuit("a")
        cluster.openCircuit("b")
        let error = try #require(failure(cluster, request(privacy: .confidential)))
        #expect(error.code == "all_nodes_unhealthy", "waiting for a or b can succeed: \(error)")
        #expect(
            error.message.contains(
                "circuit open: a, b; privacy below confidential: c (internal, region us-west)"),
            "\(error.message)")
    }

    @Test(
        "open circuits on nodes that also fail privacy: privacy_violation, and the circuits are still named")
    func circuitsThatFailPrivacyToo() throws {
        var cluster = ClusterBuilder()
        cluster.policy.regions = regions
        cluster.node("a", region: "us-west")
        cluster.node("c", region: "us-west")
        cluster.openCircuit("a")
        let error = try #require(failure(cluster, request(privacy: .confidential)))
        #expect(error.code == "privacy_violation", "\(error)")
        #expect(error.message.contains("circuit open: a"), "\(error.message)")
        #expect(error.message.contains("privacy below confidential: a (internal, region us-west), c ("))
    }

    @Test("privacy and a QoS rule together: qos_violation naming both causes")
    func privacyAndLatency() throws {
        var cluster = ClusterBuilder()
        cluster.policy.regions = regions
        cluster.node("slow", region: "eu-west", p50: 900)
        cluster.node("open", region: "us-west", p50: 10)
        let error = try #require(failure(cluster, request(privacy: .confidential, maxLatencyMs: 100)))
        #expect(error.code == "qos_violation", "\(error)")
        #expect(error.message.contains("privacy below confidential: open"), "\(error.message)")
        #expect(error.message.contains("slow ("), "\(error.message)")
    }

    @Test("an unhealthy node (panic threshold 0) makes it all_nodes_unhealthy, with its reason")
    func unhealthy() throws {
        var cluster = ClusterBuilder()
        cluster.policy.panicThreshold = 0
        cluster.node("sick", state: .unhealthy)
        let error = try #require(failure(cluster, request()))
        #expect(error.code == "all_nodes_unhealthy")
        #expect(error.message.contains("unhealthy: sick"), "\(error.message)")
    }

    @Test("many nodes are named up to the limit, then counted")
    func manyNodes() throws {
        var cluster = ClusterBuilder()
        for i in 0..<30 {
            cluster.node("n\(i)")
            cluster.openCircuit("n\(i)")
        }
        let error = try #require(failure(cluster, request()))
        #expect(error.code == "all_nodes_unhealthy")
        let named = (0..<30).filter { error.message.contains("n\($0),") || error.message.contains("n\($0) ") }
        #expect(named.count == RouteFailure.namedNodeLimit, "\(error.message)")
        #expect(error.message.contains("… and 10 more"), "\(error.message)")
    }

    @Test("the limit spans causes: later causes are counted once the budget is spent")
    func limitAcrossCauses() {
        var failure = RouteFailure()
        for i in 0..<25 { failure.add(.circuitOpen, node: NodeId("a\(i)"), label: "circuit open") }
        failure.add(.policy(2), node: "c", label: "privacy below confidential", detail: "internal")
        #expect(
            failure.message.hasSuffix("… and 5 more; privacy below confidential: 1 node(s)"),
            "\(failure.message)")
    }
}
