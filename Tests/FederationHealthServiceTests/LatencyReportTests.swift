import FederationCore
import FederationState
import FederationTestSupport
import Foundation
import Testing

@Suite struct LatencyReportTests {
    /// A node whose /health answers in a few ms but whose requests take 90 ms: once reports
    /// arrive, the routing latency (latency_p50_ms) is the 90 ms inference latency, and
    /// `/v1/health` and the hash show the probe round trip beside it.
    @Test func reportedInferenceLatencyReplacesTheProbeRoundTripForRouting() async throws {
        try await withWorld { world in
            try await withNode(id: "lat-1") { endpoint in
                try await world.register("lat-1", endpoint: endpoint)
                try await world.withHealth { base in
                    #expect(
                        try await eventually {
                            try await world.healthHash("lat-1")["latency_source"] == "probe"
                        })
                    let probeOnly = try await world.healthHash("lat-1")
                    #expect(probeOnly["latency_p50_ms"] == probeOnly["probe_latency_p50_ms"])
                    for _ in 0..<5 {
                        let answer = try await world.request(
                            .POST, base + "/v1/reports", body: #"{"node":"lat-1","ok":true,"latency_ms":90}"#)
                        #expect(answer.status == 200, "\(answer.text)")
                    }
                    #expect(
                        try await eventually {
                            try await world.healthHash("lat-1")["latency_source"] == "inference"
                        })
                    let hash = try await world.healthHash("lat-1")
                    #expect(Double(hash["latency_p50_ms"] ?? "") == 90)
                    #expect(Double(hash["inference_latency_p50_ms"] ?? "") == 90)
                    // The probe round trip is kept beside it (its value is the machine's, not asserted).
                    #expect(Double(hash["probe_latency_p50_ms"] ?? "") != nil)
                    let shown = try await world.json(base + "/v1/health/lat-1")
                    #expect(shown["latency_p50_ms"] as? Double == 90)
                    #expect(shown["latency_source"] as? String == "inference")
                    #expect(shown["probe_latency_p50_ms"] as? Double != nil)
                    #expect(shown["inference_latency_p99_ms"] as? Double == 90)
                    // Routing candidates take the estimated latency from the stored record.
                    let stored = try #require(try await world.store.health(of: "lat-1"))
                    let candidate = CandidateNode(
                        info: NodeInfo(id: "lat-1", region: "local", endpoint: endpoint), models: ["m1"],
                        privacy: .public, cost: 1, health: stored, circuit: nil, inFlight: 0)
                    #expect(candidate.estimatedLatencyMs == 90)
                }
            }
        }
    }
}
