import FederationCore
import FederationState
import FederationTestSupport
import Foundation
import Hummingbird
import Testing

@Suite struct ProbeTests {
    @Test func healthyNodeBecomesHealthyWithMeasuredPercentiles() async throws {
        try await withWorld { world in
            try await withNode(id: "n1", { $0.gpu = true }) { endpoint in
                try await world.register("n1", endpoint: endpoint)
                try await world.withHealth { base in
                    let healthy = try await eventually {
                        let hash = try await world.healthHash("n1")
                        return hash["state"] == "healthy" && hash["latency_p50_ms"] != nil
                    }
                    #expect(healthy)
                    let hash = try await world.healthHash("n1")
                    let p50 = Double(hash["latency_p50_ms"] ?? "") ?? -1
                    let p99 = Double(hash["latency_p99_ms"] ?? "") ?? -1
                    #expect(p50 > 0 && p99 >= p50)
                    #expect(hash["queue_depth"] == "0")
                    #expect(hash["gpu_utilization"] != nil)
                    #expect(Int(hash["total_successes"] ?? "") ?? 0 >= 2)
                    // The API shows the same record.
                    // (Eventually: one probe slowed past the latency threshold on a loaded machine
                    // makes the node degraded for a moment.)
                    #expect(
                        try await eventually {
                            try await world.json(base + "/v1/health/n1")["state"] as? String == "healthy"
                        })
                    let list = try await world.json(base + "/v1/health")
                    #expect(list["role"] as? String == "leader")
                    #expect((list["nodes"] as? [[String: Any]])?.count == 1)
                    #expect(try await world.request(.GET, base + "/v1/health/nope").status == 404)
                    let metrics = try await world.request(.GET, base + "/metrics").text
                    #expect(metrics.contains("federation_health_probes_total{outcome=\"success\"}"))
                    let ready = try await world.request(.GET, base + "/readyz")
                    #expect(ready.status == 200 && ready.text.contains("leader"))
                }
            }
        }
    }

    @Test func unhealthyNodeOpensItsCircuitAndRecoversAfterFaultsClear() async throws {
        try await withWorld { world in
            try await withNode(id: "n2") { endpoint in
                try await world.register("n2", endpoint: endpoint)
                try await withHealthEvents(world) { events in
                    try await world.withHealth { base in
                        #expect(
                            try await eventually { try await world.healthHash("n2")["state"] == "healthy" })
                        let fault = try await world.request(
                            .POST, endpoint + "/admin/faults", body: #"{"unhealthy":true}"#)
                        #expect(fault.status == 200)
                        #expect(
                            try await eventually { try await world.healthHash("n2")["state"] == "unhealthy" })
                        #expect(
                            try await eventually {
                                ["open", "half_open"].contains(
                                    try await world.circuitHash("n2")["state"] ?? "")
                            })
                        let circuit = try await world.circuitHash("n2")
                        #expect(["open", "half_open"].contains(circuit["state"] ?? ""))
                        #expect(Int(circuit["trips"] ?? "") ?? 0 >= 1)
                        #expect(try await world.healthHash("n2")["reason"]?.contains("unhealthy") == true)
                        // Degraded came first, then unhealthy; circuit events were published.
                        #expect(
                            try await eventually {
                                events.all.contains { $0.kind == "circuit" && $0.node == "n2" }
                            })
                        #expect(events.all.filter { $0.kind == "health" }.count >= 3)
                        let clear = try await world.request(.DELETE, endpoint + "/admin/faults")
                        #expect(clear.status == 200)
                        // Open → (timer) half-open → three probe successes → closed.
                        #expect(
                            try await eventually { try await world.circuitHash("n2")["state"] == "closed" })
                        #expect(
                            try await eventually { try await world.healthHash("n2")["state"] == "healthy" })
                        let circuits = try await world.json(base + "/v1/circuits/n2")
                        #expect(circuits["state"] as? String == "closed")
                        let metrics = try await world.request(.GET, base + "/metrics").text
                        #expect(
                            metrics.contains(
                                "federation_health_state_transitions_total{kind=\"circuit\",to=\"half_open\"}"
                            ))
                        #expect(metrics.contains("federation_health_probes_total{outcome=\"unhealthy\"}"))
                        // Degraded came before unhealthy.
                        #expect(
                            metrics.contains(
                                #"federation_health_state_transitions_total{kind="health",to="degraded"}"#))
                        #expect(
                            metrics.contains(
                                #"federation_health_state_transitions_total{kind="health",to="unhealthy"}"#))
                    }
                }
            }
        }
    }

    @Test func healthEndpointThatHangsTimesOutAndGoesUnhealthy() async throws {
        // A node whose /health never answers (as a wedged server): the probe deadline must fire.
        let router = Router()
        router.get("/health") { _, _ -> String in
            try await Task.sleep(for: .seconds(2))
            return "{}"
        }
        let box = PortBox()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { box.report($0.localAddress?.port ?? 0) }, logger: testLogger("hang"))
        try await withWorld { world in
            try await withService(app) {
                try await world.register("hang-1", endpoint: "http://127.0.0.1:\(await box.port())")
                var configuration = world.configuration()
                configuration.health.probeTimeout = .milliseconds(150)
                try await world.withHealth(configuration) { base in
                    #expect(
                        try await eventually { try await world.healthHash("hang-1")["state"] == "unhealthy" })
                    #expect(
                        try await eventually {
                            ["open", "half_open"].contains(
                                try await world.circuitHash("hang-1")["state"] ?? "")
                        })
                    #expect(
                        try await world.healthHash("hang-1")["reason"]?.contains("no answer within") == true)
                    let metrics = try await world.request(.GET, base + "/metrics").text
                    #expect(metrics.contains("federation_health_probes_total{outcome=\"timeout\"}"))
                }
            }
        }
    }
}
