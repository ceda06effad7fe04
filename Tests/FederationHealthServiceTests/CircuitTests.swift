import FederationCore
import FederationState
import FederationTestSupport
import Foundation
import Testing

@Suite struct CircuitTests {
    @Test func operatorOpensAndClosesACircuitWithTheAdminToken() async throws {
        try await withWorld { world in
            try await withNode(id: "op-1") { endpoint in
                try await world.register("op-1", endpoint: endpoint)
                try await world.withHealth(world.configuration(adminToken: "tok")) { base in
                    #expect(try await eventually { try await world.healthHash("op-1")["state"] == "healthy" })
                    let url = base + "/v1/circuits/op-1/open"
                    #expect(try await world.request(.POST, url).status == 401)
                    #expect(try await world.request(.POST, url, token: "wrong").status == 403)
                    let opened = try await world.request(
                        .POST, url, body: #"{"duration_ms":60000}"#, token: "tok")
                    #expect(opened.status == 200)
                    #expect(opened.text.contains(#""state":"open""#))
                    #expect(try await eventually { try await world.circuitHash("op-1")["state"] == "open" })
                    // Healthy probes do not close a circuit that is open (only half-open probes do).
                    try await Task.sleep(for: .milliseconds(300))
                    #expect(try await world.circuitHash("op-1")["state"] == "open")
                    let list = try await world.json(base + "/v1/circuits")
                    #expect((list["circuits"] as? [[String: Any]])?.first?["state"] as? String == "open")
                    let closed = try await world.request(
                        .POST, base + "/v1/circuits/op-1/close", token: "tok")
                    #expect(closed.status == 200)
                    #expect(try await eventually { try await world.circuitHash("op-1")["state"] == "closed" })
                    #expect(
                        try await world.request(.POST, base + "/v1/circuits/ghost/close", token: "tok").status
                            == 404)
                    #expect(
                        try await world.request(.POST, url, body: #"{"duration_ms":-1}"#, token: "tok").status
                            == 400)
                }
            }
        }
    }

    @Test func anExpiredOpenCircuitIsWrittenDownHalfOpenAndHealthyProbesCloseIt() async throws {
        try await withWorld { world in
            try await withNode(id: "op-2") { endpoint in
                try await world.register("op-2", endpoint: endpoint)
                try await withHealthEvents(world) { events in
                    try await world.withHealth(world.configuration(adminToken: "tok")) { base in
                        #expect(
                            try await eventually { try await world.healthHash("op-2")["state"] == "healthy" })
                        let before = events.all.filter { $0.kind == "circuit" }.count
                        let opened = try await world.request(
                            .POST, base + "/v1/circuits/op-2/open", body: #"{"duration_ms":300}"#,
                            token: "tok")
                        #expect(opened.status == 200)
                        // open (operator) → half_open (timer, written with an event) → closed (3 probes).
                        #expect(
                            try await eventually { try await world.circuitHash("op-2")["state"] == "closed" })
                        #expect(
                            try await eventually {
                                events.all.filter { $0.kind == "circuit" }.count >= before + 3
                            })
                        // At least one half-open → closed cycle (a probe that times out on a loaded
                        // machine re-opens the circuit and makes a second one), and none open now.
                        func value(_ text: String, _ series: String) -> Double {
                            text.split(separator: "\n").first { $0.hasPrefix(series + " ") }
                                .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
                        }
                        var metrics = ""
                        let cycled = try? await eventually {
                            metrics = try await world.request(.GET, base + "/metrics").text
                            return value(
                                metrics,
                                #"federation_health_state_transitions_total{kind="circuit",to="half_open"}"#)
                                >= 1
                                && value(
                                    metrics,
                                    #"federation_health_state_transitions_total{kind="circuit",to="closed"}"#)
                                    >= 1
                                && metrics.contains("federation_health_circuits_open 0.0")
                        }
                        #expect(
                            cycled == true,
                            "\(metrics.split(separator: "\n").filter { $0.contains("circuit") })")
                    }
                }
            }
        }
    }

    @Test func probeSlotsAdmitAtMostNConcurrently() async throws {
        try await withWorld { world in
            let slots = ProbeSlots(client: world.redis, keys: world.keys)
            let node: NodeId = "slot-1"
            let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<40 {
                    group.addTask { try await slots.acquire(node: node, max: 3, ttl: .seconds(30)) }
                }
                var count = 0
                for try await ok in group where ok { count += 1 }
                return count
            }
            #expect(admitted == 3)
            #expect(try await slots.taken(node: node) == 3)
            #expect(try await slots.release(node: node) == 2)
            #expect(try await slots.acquire(node: node, max: 3, ttl: .seconds(30)))
            #expect(try await !slots.acquire(node: node, max: 3, ttl: .seconds(30)))
            try await slots.reset(node: node)
            #expect(try await slots.taken(node: node) == 0)
            // A release after a reset never goes negative.
            #expect(try await slots.release(node: node) == 0)
            #expect(try await slots.taken(node: node) == 0)
            // Slots of a vanished holder expire.
            #expect(try await slots.acquire(node: node, max: 1, ttl: .milliseconds(100)))
            #expect(try await eventually { try await slots.acquire(node: node, max: 1, ttl: .seconds(30)) })
        }
    }

    @Test func theHealthServiceResetsProbeSlotsWhenACircuitOpensOrCloses() async throws {
        try await withWorld { world in
            try await withNode(id: "slot-2") { endpoint in
                try await world.register("slot-2", endpoint: endpoint)
                try await world.withHealth(world.configuration(adminToken: "tok")) { base in
                    #expect(
                        try await eventually { try await world.healthHash("slot-2")["state"] == "healthy" })
                    let slots = ProbeSlots(client: world.redis, keys: world.keys)
                    #expect(try await slots.acquire(node: "slot-2", max: 3, ttl: .seconds(30)))
                    _ = try await world.request(.POST, base + "/v1/circuits/slot-2/open", token: "tok")
                    #expect(try await eventually { try await slots.taken(node: "slot-2") == 0 })
                    #expect(try await slots.acquire(node: "slot-2", max: 3, ttl: .seconds(30)))
                    _ = try await world.request(.POST, base + "/v1/circuits/slot-2/close", token: "tok")
                    #expect(try await eventually { try await slots.taken(node: "slot-2") == 0 })
                }
            }
        }
    }
}
