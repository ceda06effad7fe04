import FederationCore
import FederationRedis
import FederationState
import FederationTestSupport
import Foundation
import Prometheus
import Testing

@Suite struct FencingTests {
    /// The write scripts themselves refuse a writer whose token the lease key does not hold.
    @Test func writesAreRefusedInsideRedisUnlessTheLeaseHoldsTheToken() async throws {
        try await withWorld { world in
            let fence = LeaseFence(leaseKey: world.keys.healthLeader)
            let store = RedisHealthStore(client: world.redis, keys: world.keys, fence: fence)
            let record = NodeHealth(node: "f-1", state: .healthy, totalSuccesses: 1)
            // No token held: refused before Redis is asked.
            await #expect(throws: LeadershipLost.self) { try await store.putHealth(record) }
            let mine = LeaseToken(holder: "health-a", epoch: 7, nonce: "x")
            fence.set(mine)
            _ = try await world.redis.command("SET", world.keys.healthLeader, mine.description, "PX", "10000")
            try await store.putHealth(record)
            #expect(try await world.healthHash("f-1")["total_successes"] == "1")
            // Another instance took the lease: every kind of write is refused and changes nothing.
            _ = try await world.redis.command("SET", world.keys.healthLeader, "health-b#8#y", "PX", "10000")
            let version = try await world.redis.command("GET", world.keys.version(.health)).string
            var refused = 0
            for write in 0..<3 {
                do {
                    switch write {
                    case 0:
                        try await store.putHealth(
                            NodeHealth(node: "f-1", state: .unhealthy, totalSuccesses: 9))
                    case 1: try await store.putCircuit(CircuitRecord(node: "f-1", state: .open))
                    default: try await store.removeHealth(of: "f-1")
                    }
                } catch let error as LeadershipLost {
                    refused += 1
                    #expect(error.token == mine)
                    #expect(error.description.contains("health-b#8#y"), "\(error)")
                }
            }
            #expect(refused == 3)
            #expect(
                try await world.healthHash("f-1") == [
                    "state": "healthy", "total_successes": "1",
                    "consecutive_successes": "0", "consecutive_failures": "0", "total_failures": "0",
                ])
            #expect(try await world.circuitHash("f-1").isEmpty)
            #expect(try await world.redis.command("GET", world.keys.version(.health)).string == version)
            // The lease expired (nobody holds it): refused too.
            _ = try await world.redis.command("DEL", world.keys.healthLeader)
            await #expect(throws: LeadershipLost.self) { try await store.putHealth(record) }
            // Unfenced stores (a single writer) write as before.
            try await RedisHealthStore(client: world.redis, keys: world.keys).putHealth(record)
        }
    }

    /// Two instances: A acquires the lease and then never renews it (its renewal interval is an
    /// hour: a leader whose renewals stall). Once the lease lapses (the test deletes the key, as
    /// its expiry would), B takes over, and A's writes are refused by the fence at once — A,
    /// still believing it leads, writes nothing while B leads.
    @Test func aLeaderWhoseLeaseLapsedWritesNothingOnceAnotherLeads() async throws {
        try await withWorld { world in
            try await withNode(id: "fe-1") { endpoint in
                try await world.register("fe-1", endpoint: endpoint)
                let registryA = PrometheusCollectorRegistry()
                let a = try await world.startHealth(registry: registryA) {
                    $0.instanceId = "health-a"
                    $0.leaseDuration = .seconds(60)
                    $0.leaseRenewInterval = .seconds(3600)
                }
                do {
                    #expect(
                        try await eventually {
                            (try await world.redis.command("GET", world.keys.healthLeader).string ?? "")
                                .hasPrefix("health-a#")
                        })
                    #expect(try await eventually { try await world.healthHash("fe-1")["state"] == "healthy" })
                    // The lease lapses (as if A's renewals had stalled for its whole duration).
                    _ = try await world.redis.command("DEL", world.keys.healthLeader)
                    let registryB = PrometheusCollectorRegistry()
                    let b = try await world.startHealth(registry: registryB) { $0.instanceId = "health-b" }
                    do {
                        #expect(
                            try await eventually {
                                (try await world.redis.command("GET", world.keys.healthLeader).string ?? "")
                                    .hasPrefix("health-b#")
                            })
                        // A still thinks it leads (it has not renewed since), yet its writes are refused.
                        #expect(
                            try await eventually {
                                metric(registryA, "federation_health_write_refusals_total") >= 1
                            })
                        let writesA = metric(registryA, "federation_health_writes_total")
                        let writesB = metric(registryB, "federation_health_writes_total")
                        let successes = Int(try await world.healthHash("fe-1")["total_successes"] ?? "") ?? 0
                        // B keeps writing (its probes); A writes nothing more.
                        #expect(
                            try await eventually {
                                Int(try await world.healthHash("fe-1")["total_successes"] ?? "") ?? 0
                                    > successes + 3
                            })
                        #expect(metric(registryB, "federation_health_writes_total") > writesB)
                        #expect(metric(registryA, "federation_health_writes_total") == writesA)
                        await b.service.stop()
                    } catch {
                        await b.service.stop()
                        throw error
                    }
                } catch {
                    await a.service.stop()
                    throw error
                }
                await a.service.stop()
            }
        }
    }

    @Test func leaseTokensParse() {
        let token = LeaseToken(holder: "health-x#y", epoch: 12, nonce: "abc")
        #expect(token.description == "health-x#y#12#abc")
        #expect(LeaseToken(parsing: token.description) == token)
        #expect(LeaseToken(parsing: "ghost") == LeaseToken(parsing: "ghost"))
        #expect(LeaseToken(parsing: "ghost").holder == "ghost")
        #expect(LeaseToken(parsing: "ghost").epoch == 0)
        #expect(LeaseToken(parsing: "a#notanumber#n").holder == "a#notanumber#n")
    }
}

/// The value of a counter or gauge without labels in `registry`'s text output (0 when absent).
func metric(_ registry: PrometheusCollectorRegistry, _ name: String) -> Double {
    var buffer: [UInt8] = []
    registry.emit(into: &buffer)
    for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n")
    where line.hasPrefix(name + " ") {
        return Double(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)) ?? 0
    }
    return 0
}
