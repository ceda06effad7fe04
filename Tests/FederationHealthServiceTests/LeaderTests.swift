import FederationCore
import FederationState
import FederationTestSupport
import Foundation
import Testing

@Suite struct LeaderTests {
    @Test func aRestartedServiceContinuesFromTheStoredTrackers() async throws {
        try await withWorld { world in
            try await withNode(id: "rs-1") { endpoint in
                try await world.register("rs-1", endpoint: endpoint)
                try await world.withHealth { _ in
                    let healthy = try await eventually {
                        let hash = try await world.healthHash("rs-1")
                        return hash["state"] == "healthy" && Int(hash["total_successes"] ?? "") ?? 0 >= 5
                    }
                    #expect(healthy)
                }
                let stored = try await world.healthHash("rs-1")
                var quiet = world.configuration()
                quiet.health.probeInterval = .seconds(3600)  // one probe at start, then none
                // On a loaded machine that one probe may be slow: slow is not a failure here (the
                // test is about the stored trackers, not about probe timing).
                quiet.health.probeTimeout = .seconds(10)
                quiet.health.thresholds.degradedLatency = .seconds(10)
                try await world.withHealth(quiet) { base in
                    #expect(
                        try await eventually {
                            (try await world.json(base + "/v1/health"))["role"] as? String == "leader"
                        })
                    let node = try await world.json(base + "/v1/health/rs-1")
                    // A fresh tracker would be unknown with at most one success.
                    #expect(node["state"] as? String == "healthy")
                    #expect(
                        (node["total_successes"] as? Int ?? 0) >= Int(stored["total_successes"] ?? "")
                            ?? Int.max)
                    #expect(node["latency_p50_ms"] != nil)
                }
            }
        }
    }

    @Test func aStandbyTakesOverWhenTheLeaderStopsOrItsLeaseLapses() async throws {
        try await withWorld { world in
            try await withNode(id: "ld-1") { endpoint in
                try await world.register("ld-1", endpoint: endpoint)
                // A lease held by an instance that died: the first service waits for it to lapse.
                _ = try await world.redis.command("SET", world.keys.healthLeader, "ghost", "PX", "1500")
                let a = try await world.startHealth { $0.instanceId = "health-a" }
                let b = try await world.startHealth { $0.instanceId = "health-b" }
                do {
                    func role(_ base: String) async throws -> String? {
                        try await world.json(base + "/v1/health")["role"] as? String
                    }
                    let elected = try await eventually {
                        let first = try await role(a.base)
                        let second = try await role(b.base)
                        return first == "leader" || second == "leader"
                    }
                    #expect(elected)
                    let leaderFirst = try await role(a.base) == "leader" ? a : b
                    let standby = leaderFirst.base == a.base ? b : a
                    #expect(try await role(standby.base) == "standby")
                    let ready = try await world.request(.GET, standby.base + "/readyz")
                    #expect(ready.status == 200 && ready.text.contains("standby"))
                    // Overrides go to the leader only.
                    #expect(
                        try await world.request(.POST, standby.base + "/v1/circuits/ld-1/open").status == 503)
                    #expect(try await eventually { try await world.healthHash("ld-1")["state"] == "healthy" })
                    await leaderFirst.service.stop()
                    #expect(try await eventually { try await role(standby.base) == "leader" })
                    let holder = try await world.redis.command("GET", world.keys.healthLeader).string
                    // The lease holds the new leader's fencing token: id#epoch#nonce.
                    #expect(
                        holder.map { LeaseToken(parsing: $0).holder }
                            == (standby.base == a.base ? "health-a" : "health-b"))
                    #expect(holder.map { LeaseToken(parsing: $0).epoch } ?? 0 >= 2)
                    // The new leader probes and writes.
                    let before = Int(try await world.healthHash("ld-1")["total_successes"] ?? "") ?? 0
                    #expect(
                        try await eventually {
                            Int(try await world.healthHash("ld-1")["total_successes"] ?? "") ?? 0 > before + 2
                        })
                    await standby.service.stop()
                } catch {
                    await a.service.stop()
                    await b.service.stop()
                    throw error
                }
                await a.service.stop()
                await b.service.stop()
            }
        }
    }

    @Test func keepsTrackingWhileRedisIsAwayAndWritesWhenItReturns() async throws {
        try await withRedisServer() { server in
            try await withWorld(server: server) { world in
                try await withNode(id: "rd-1") { endpoint in
                    try await world.register("rd-1", endpoint: endpoint)
                    try await world.withHealth { base in
                        #expect(
                            try await eventually { try await world.healthHash("rd-1")["state"] == "healthy" })
                        await server.kill()
                        _ = try await world.request(
                            .POST, endpoint + "/admin/faults", body: #"{"unhealthy":true}"#)
                        // Still probing and tracking in memory.
                        #expect(
                            try await eventually {
                                (try await world.json(base + "/v1/health/rd-1"))["state"] as? String
                                    == "unhealthy"
                            })
                        let ready = try await world.request(.GET, base + "/readyz")
                        #expect(ready.status == 503)
                        try await server.start()
                        // Redis came back empty (no persistence): catalog and state are written again.
                        #expect(
                            try await eventually {
                                try await world.register("rd-1", endpoint: endpoint)
                                return true
                            })
                        #expect(
                            try await eventually {
                                try await world.healthHash("rd-1")["state"] == "unhealthy"
                            })
                        #expect(try await eventually { try await world.circuitHash("rd-1")["state"] != nil })
                    }
                }
            }
        }
    }
}
