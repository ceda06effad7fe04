import Testing

@testable import FederationCore

/// The reference's end-to-end scenario, driven through the real pieces: catalog state, health
/// trackers fed with observations, circuit breakers fed with failures, a snapshot, the router.
@Suite("Full federation flow (reference scenario)")
struct FullFlowTests {
    let clock = ManualClock()

    func scenario() -> (CatalogState, [NodeId: HealthTracker]) {
        var catalog = CatalogState()
        func node(_ id: String, _ region: String) -> NodeInfo {
            NodeInfo(id: NodeId(id), region: RegionId(region), endpoint: "http://127.0.0.1:8000")
        }
        catalog.register(
            node: node("us-west-gpu", "us-west"), model: "whisper-v3", capabilities: [.transcribe])
        catalog.register(
            node: node("eu-west-gpu", "eu-west"), model: "whisper-v3", capabilities: [.transcribe])
        catalog.register(
            node: node("us-east-gpu", "us-east"), model: "llama-70b", capabilities: [.generate, .code])
        catalog.register(node: node("embed-us", "us-west"), model: "bge-large", capabilities: [.embed])
        catalog.register(node: node("embed-eu", "eu-west"), model: "bge-large", capabilities: [.embed])

        var trackers: [NodeId: HealthTracker] = [:]
        func report(_ id: String, _ ms: Int, times: Int) {
            var tracker = trackers[NodeId(id)] ?? HealthTracker(node: NodeId(id))
            for _ in 0..<times { tracker.recordSuccess(latency: .milliseconds(ms), at: clock.now()) }
            trackers[NodeId(id)] = tracker
        }
        report("us-west-gpu", 45, times: 3)
        report("eu-west-gpu", 120, times: 3)
        report("us-east-gpu", 100, times: 1)
        report("embed-us", 15, times: 3)
        report("embed-eu", 15, times: 3)
        return (catalog, trackers)
    }

    @Test func referenceScenario() throws {
        let (catalog, trackers) = scenario()
        #expect(catalog.models.count == 3)
        #expect(trackers[NodeId("us-west-gpu")]?.state == .healthy)
        #expect(trackers[NodeId("us-east-gpu")]?.state == .unknown, "one success is not enough for Healthy")
        #expect(trackers.count == 5)

        let snapshot = FederationSnapshot(catalog: catalog, health: trackers.mapValues(\.snapshot))
        let router = RoutingEngine(clock: clock, random: SeededRandomSource(seed: 1))

        // 1. transcribe: two candidates, the faster us-west wins
        let transcribe = InferenceRequest(requestId: "t", capability: .transcribe, tenantId: "acme")
        let candidates = router.candidates(for: transcribe, in: snapshot)
        #expect(candidates.count == 2 && candidates.allSatisfy(\.eligible))
        #expect(try router.route(transcribe, in: snapshot).target.node == "us-west-gpu")
        #expect(candidates[0].target.estimatedLatencyMs == 45)

        // 2. generate: the only node, even though its health is still Unknown
        let generate = try router.route(InferenceRequest(requestId: "g", capability: .generate), in: snapshot)
        #expect(generate.target.node == "us-east-gpu")
        #expect(generate.target.model == "llama-70b")

        // 3. embed: two candidates
        #expect(
            router.candidates(for: InferenceRequest(requestId: "e", capability: .embed), in: snapshot).count
                == 2)

        // 4. five failures open the breaker, and routing moves to eu-west
        var circuit = CircuitRecord(node: "us-west-gpu")
        for i in 0..<5 {
            #expect(circuit.state == .closed, "still closed after \(i) failures")
            circuit = CircuitBreaker.recordFailure(circuit, at: clock.now())
        }
        #expect(circuit.state == .open)
        let broken = snapshot.replacing(circuits: [circuit.node: circuit])
        #expect(try router.route(transcribe, in: broken).target.node == "eu-west-gpu")

        // 5. after the reset timeout the breaker is half-open: us-west gets a probe
        clock.advance(by: .seconds(30))
        let probe = try router.route(transcribe, in: broken)
        #expect(probe.target.node == "us-west-gpu" && probe.isProbe)
    }
}
