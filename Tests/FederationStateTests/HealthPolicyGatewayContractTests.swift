import FederationCore
import FederationState
import Testing

@Suite struct HealthStoreContractTests {
    static let sample = NodeHealth(
        node: "gpu-1", state: .degraded, latencyP50Ms: 45.5, latencyP99Ms: 1450.25, throughput: 812.5,
        queueDepth: 3,
        gpuUtilization: 0.82, consecutiveSuccesses: 0, consecutiveFailures: 1, totalSuccesses: 1200,
        totalFailures: 7,
        lastCheck: Timestamp(milliseconds: 1_700_000_000_123), reason: "slow success 1450 ms")
    static let circuit = CircuitRecord(
        node: "gpu-1", state: .open, consecutiveFailures: 5, halfOpenSuccesses: 0,
        openedAt: Timestamp(milliseconds: 1_700_000_000_000),
        openUntil: Timestamp(milliseconds: 1_700_000_030_000), trips: 2)

    @Test(arguments: Backend.allCases)
    func healthAndCircuitRoundTrip(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            #expect(try await stores.health.health(of: "gpu-1") == nil)
            #expect(try await stores.health.putHealth(Self.sample) == 1)
            #expect(try await stores.health.putCircuit(Self.circuit) == 2)
            #expect(try await stores.health.health(of: "gpu-1") == Self.sample)
            #expect(try await stores.health.circuit(of: "gpu-1") == Self.circuit)
            var healed = Self.sample
            healed.state = .healthy
            healed.reason = nil
            healed.latencyP99Ms = nil
            try await stores.health.putHealth(healed)
            try await stores.health.putHealth(NodeHealth(node: "gpu-2"))
            let table = try await stores.health.loadHealth()
            #expect(table.version == 4)
            #expect(table.value.health == ["gpu-1": healed, "gpu-2": NodeHealth(node: "gpu-2")])
            #expect(table.value.circuits == ["gpu-1": Self.circuit])
        }
    }

    @Test(arguments: Backend.allCases)
    func removeForgetsBothRecords(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            try await stores.health.putHealth(Self.sample)
            try await stores.health.putCircuit(Self.circuit)
            #expect(try await stores.health.removeHealth(of: "gpu-1") == 3)
            #expect(try await stores.health.removeHealth(of: "gpu-1") == nil)
            let table = try await stores.health.loadHealth()
            #expect(table.value == HealthTable())
            #expect(table.version == 3)
        }
    }
}

@Suite struct PolicyStoreContractTests {
    @Test(arguments: Backend.allCases)
    func policyRoundTripsWithItsVersion(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            let initial = try await stores.policy.loadPolicy()
            #expect(initial.version == 0 && initial.value == RoutingPolicyDocument())
            var document = RoutingPolicyDocument()
            document.strategy = .consistentHash
            document.regions = ["eu-central": RegionSettings(privacy: .confidential, cost: 0.8)]
            document.tenantAffinity = ["acme": ["gpu-1"]]
            document.version = 99  // ignored: the store assigns versions
            #expect(try await stores.policy.putPolicy(document) == 1)
            #expect(try await stores.policy.putPolicy(document) == 2)
            let loaded = try await stores.policy.loadPolicy()
            document.version = 2
            #expect(loaded.version == 2)
            #expect(loaded.value == document)
            var invalid = document
            invalid.minScore = 7
            await #expect(throws: FederationError.self) { try await stores.policy.putPolicy(invalid) }
        }
    }
}

@Suite struct GatewayStoreContractTests {
    @Test(arguments: Backend.allCases)
    func heartbeatsExpireAfterTheTTL(backend: Backend) async throws {
        try await Stores.with(backend, heartbeatTTL: .seconds(10)) { (stores: Stores) async throws -> Void in
            let now = Timestamp(milliseconds: 1_800_000_000_000)
            try await stores.gateways.heartbeat(
                GatewayHeartbeat(id: "gw-b", at: now, info: ["address": "10.0.0.2:8080"]))
            try await stores.gateways.heartbeat(
                GatewayHeartbeat(id: "gw-a", at: now.advanced(by: .seconds(-20))))
            let live = try await stores.gateways.liveGateways(now: now)
            #expect(live == [GatewayHeartbeat(id: "gw-b", at: now, info: ["address": "10.0.0.2:8080"])])
            #expect(try await stores.gateways.liveGateways(now: now.advanced(by: .seconds(11))).isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func inFlightSumsOverLiveGateways(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            let now = Timestamp(milliseconds: 1_800_000_000_000)
            for id in ["gw-1", "gw-2"] {
                try await stores.gateways.heartbeat(GatewayHeartbeat(id: id, at: now))
            }
            #expect(try await stores.gateways.adjustInFlight(gateway: "gw-1", node: "n1", by: 2) == 2)
            #expect(try await stores.gateways.adjustInFlight(gateway: "gw-2", node: "n1", by: 3) == 3)
            #expect(try await stores.gateways.adjustInFlight(gateway: "gw-2", node: "n1", by: -1) == 2)
            #expect(try await stores.gateways.adjustInFlight(gateway: "gw-1", node: "n2", by: -1) == -1)
            #expect(try await stores.gateways.adjustInFlight(gateway: "gw-dead", node: "n1", by: 50) == 50)
            #expect(try await stores.gateways.clusterInFlight(now: now) == ["n1": 4, "n2": 0])
        }
    }

    @Test(arguments: Backend.allCases)
    func statsCountersAdd(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            try await stores.gateways.incrementStats(["requests_total": 3, "tokens_total": 120])
            try await stores.gateways.incrementStats(["requests_total": 2, "failures_total": 1])
            #expect(
                try await stores.gateways.stats() == [
                    "requests_total": 5, "tokens_total": 120, "failures_total": 1,
                ])
        }
    }

    @Test func redisGatewayHashCarriesTheTTL() async throws {
        try await Stores.with(.redis, heartbeatTTL: .seconds(10)) { (stores: Stores) async throws -> Void in
            try await stores.gateways.heartbeat(GatewayHeartbeat(id: "gw-1", at: SystemClock().now()))
            let ttl = try await stores.client!.command("PTTL", stores.keys.gateway("gw-1")).int ?? -1
            // set, and never longer than configured (how much of it is left depends on machine load)
            #expect((1_000...10_000).contains(ttl))
            try await stores.client!.command("PEXPIRE", stores.keys.gateway("gw-1"), "1")
            try await Task.sleep(for: .milliseconds(20))
            try await stores.gateways.adjustInFlight(gateway: "gw-1", node: "n1", by: 1)
            let refreshed = try await stores.client!.command("PTTL", stores.keys.gateway("gw-1")).int ?? -1
            // an in-flight update renews the expiry (it was 1 ms) and never leaves the hash without one
            #expect((1_000...10_000).contains(refreshed))
        }
    }
}
