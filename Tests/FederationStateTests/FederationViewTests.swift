import FederationCore
import FederationRedis
import FederationState
import FederationTestSupport
import Testing

/// Runs `view` for the duration of `body`, then cancels it and waits for it to end.
func running<T: Sendable>(_ views: [FederationView], _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
        for view in views { group.addTask { try await view.run() } }
        defer { group.cancelAll() }
        return try await body()
    }
}

@Suite struct FederationViewTests {
    let server = RedisServerProcess.shared

    @Test func followsWritesThroughEvents() async throws {
        let keys = FederationKeys(namespace: uniqueNamespace())
        try await RedisClient.withClient(configuration: server.configuration()) { client in
            let catalog = RedisCatalogStore(client: client, keys: keys)
            let health = RedisHealthStore(client: client, keys: keys)
            let policy = RedisPolicyStore(client: client, keys: keys)
            try await catalog.register(node: node("pre"), model: "m", capabilities: [.generate])
            // the backstop is long: only events (and the initial load) can explain what the view sees
            let view = FederationView(
                redis: client, keys: keys,
                configuration: .init(backstopInterval: .seconds(60), inFlightInterval: nil))
            try await running([view]) {
                #expect(await view.waitUntil { $0.catalog.nodes["pre"] != nil })
                #expect(await view.waitUntil { _ in view.status.connected })
                try await catalog.register(node: node("n1"), model: "m", capabilities: [.generate, .code])
                try await health.putHealth(NodeHealth(node: "n1", state: .healthy, latencyP50Ms: 12))
                try await health.putCircuit(CircuitRecord(node: "n1", state: .open))
                var document = RoutingPolicyDocument()
                document.strategy = .roundRobin
                try await policy.putPolicy(document)
                #expect(
                    await view.waitUntil { $0.versions == SnapshotVersions(catalog: 2, health: 2, policy: 1) }
                )
                let snapshot = view.snapshot
                #expect(snapshot.candidates(for: .code).map(\.id) == ["n1"])
                #expect(snapshot.candidates(for: .generate).first { $0.id == "n1" }?.healthState == .healthy)
                #expect(snapshot.circuits["n1"]?.state == .open)
                #expect(snapshot.policy.strategy == .roundRobin && snapshot.policy.version == 1)
                #expect(view.status.malformedMessages == 0)
                #expect(view.status.ageOfLastSync()! < .seconds(5))
            }
        }
    }

    @Test func twoViewsSeeTheSameStateFromOneWriter() async throws {
        let keys = FederationKeys(namespace: uniqueNamespace())
        try await RedisClient.withClient(configuration: server.configuration()) { client in
            let config = FederationView.Configuration(backstopInterval: .seconds(60), inFlightInterval: nil)
            let first = FederationView(redis: client, keys: keys, configuration: config)
            let second = FederationView(redis: client, keys: keys, configuration: config)
            let catalog = RedisCatalogStore(client: client, keys: keys)
            let health = RedisHealthStore(client: client, keys: keys)
            try await running([first, second]) {
                #expect(await first.waitUntil { _ in first.status.connected && second.status.connected })
                for index in 0..<20 {
                    try await catalog.register(node: node("n\(index)"), model: "m", capabilities: [.generate])
                    try await health.putHealth(NodeHealth(node: NodeId("n\(index)"), state: .healthy))
                }
                let target = SnapshotVersions(catalog: 20, health: 20, policy: 0)
                #expect(await first.waitUntil { $0.versions == target })
                #expect(await second.waitUntil { $0.versions == target })
                #expect(first.snapshot.catalog == second.snapshot.catalog)
                #expect(first.snapshot.health == second.snapshot.health)
                #expect(first.snapshot.catalog.nodes.count == 20)
            }
        }
    }

    @Test func convergesThroughTheBackstopWhenEventsAreDropped() async throws {
        let keys = FederationKeys(namespace: uniqueNamespace())
        try await RedisClient.withClient(configuration: server.configuration()) { client in
            let view = FederationView(
                redis: client, keys: keys,
                configuration: .init(backstopInterval: .milliseconds(300), inFlightInterval: nil))
            try await running([view]) {
                #expect(await view.waitUntil { _ in view.status.connected })
                // a writer that "forgets" to publish: hashes and version only
                try await client.transaction([
                    RedisCommand("HSET", keys.health("silent"), "state", "unhealthy", "reason", "no events"),
                    RedisCommand("SADD", keys.healthIndex, "silent"),
                    RedisCommand("INCR", keys.version(.health)),
                ])
                #expect(
                    await view.waitUntil(timeout: .seconds(5)) { $0.health["silent"]?.state == .unhealthy })
                #expect(view.snapshot.versions.health == 1)
            }
        }
    }

    @Test func malformedAndHostileMessagesAreCountedAndIgnored() async throws {
        let keys = FederationKeys(namespace: uniqueNamespace())
        try await RedisClient.withClient(configuration: server.configuration()) { client in
            let view = FederationView(
                redis: client, keys: keys,
                configuration: .init(backstopInterval: .seconds(60), inFlightInterval: nil))
            try await running([view]) {
                #expect(await view.waitUntil { _ in view.status.connected })
                var rng = SplitMix(seed: 3)
                let hostile: [[UInt8]] = [
                    Array("not json".utf8), Array("{".utf8), Array("null".utf8), Array("[]".utf8),
                    Array(#"{"family":"catalog","version":"seven","kind":"register"}"#.utf8),
                    Array(#"{"family":"catalog","version":-4,"kind":"register"}"#.utf8),
                    // a policy event: valid only on the policy channel
                    Array(#"{"family":"policy","version":5,"kind":"policy"}"#.utf8),
                    Array(#"{"family":"catalog","version":1,"kind":"x","node":"\u0000evil node"}"#.utf8),
                    Array(repeating: UInt8(ascii: "x"), count: 2 << 20),  // 2 MiB
                    (0..<512).map { _ in UInt8(truncatingIfNeeded: rng.next()) },  // binary garbage
                ]
                var published = 0
                for family in FederationFamily.allCases {
                    for payload in hostile {
                        if family == .policy && payload == hostile[6] { continue }  // valid there
                        try await client.command(
                            RedisCommand(arguments: [
                                Array("PUBLISH".utf8), Array(keys.events(family).utf8), payload,
                            ]))
                        published += 1
                    }
                }
                // anyone may publish on the reports channel; the view does not listen there
                try await client.command("PUBLISH", keys.healthReports, "garbage")
                #expect(await view.waitUntil { _ in view.status.malformedMessages == published })
                // a well-formed event about a node nobody knows: harmless (it only causes a reload)
                try await client.command(
                    "PUBLISH", keys.events(.health),
                    #"{"family":"health","version":999,"kind":"health","node":"ghost"}"#)
                // and the view still follows real writes
                try await RedisCatalogStore(client: client, keys: keys).register(
                    node: node("after"), model: "m", capabilities: [.embed])
                #expect(await view.waitUntil { $0.catalog.nodes["after"] != nil })
                #expect(view.snapshot.health["ghost"] == nil)
                #expect(view.status.malformedMessages == published)
            }
        }
    }

    @Test func invalidStoredRecordsAreSkippedAndCounted() async throws {
        let keys = FederationKeys(namespace: uniqueNamespace())
        try await RedisClient.withClient(configuration: server.configuration()) { client in
            try await RedisHealthStore(client: client, keys: keys).putHealth(
                NodeHealth(node: "good", state: .healthy))
            try await client.command("HSET", keys.health("bad"), "state", "sparkling")
            try await client.command("SADD", keys.healthIndex, "bad")
            let view = FederationView(redis: client, keys: keys, configuration: .init(inFlightInterval: nil))
            try await running([view]) {
                #expect(await view.waitUntil { $0.health["good"] != nil })
                #expect(view.snapshot.health["bad"] == nil)
                #expect(view.status.invalidRecords >= 1)
            }
        }
    }

    @Test func loadsClusterInFlightFromGateways() async throws {
        let keys = FederationKeys(namespace: uniqueNamespace())
        try await RedisClient.withClient(configuration: server.configuration()) { client in
            let gateways = RedisGatewayStore(client: client, keys: keys)
            try await gateways.heartbeat(GatewayHeartbeat(id: "gw-1", at: SystemClock().now()))
            try await gateways.adjustInFlight(gateway: "gw-1", node: "n1", by: 4)
            let view = FederationView(
                redis: client, keys: keys, configuration: .init(inFlightInterval: .milliseconds(100)))
            try await running([view]) {
                #expect(await view.waitUntil { $0.inFlight["n1"] == 4 })
                try await gateways.adjustInFlight(gateway: "gw-1", node: "n1", by: -3)
                #expect(await view.waitUntil { $0.inFlight["n1"] == 1 })
            }
        }
    }

    @Test func worksOverInMemoryStores() async throws {
        let bus = InMemoryEventBus()
        let catalog = InMemoryCatalogStore(bus: bus)
        let health = InMemoryHealthStore(bus: bus)
        let view = FederationView(
            catalog: catalog, health: health, policy: InMemoryPolicyStore(bus: bus),
            gateways: InMemoryGatewayStore(),
            changes: bus, configuration: .init(backstopInterval: .seconds(60)))
        try await running([view]) {
            #expect(await view.waitUntil { _ in view.status.connected })
            try await catalog.register(node: node("n1"), model: "m", capabilities: [.generate])
            try await health.putHealth(NodeHealth(node: "n1", state: .healthy))
            #expect(await view.waitUntil { $0.candidates(for: .generate).first?.healthState == .healthy })
        }
    }
}

@Suite(.serialized) struct FederationViewRestartTests {
    @Test func resyncsAfterRedisRestartsAndLosesNothingInHashes() async throws {
        try await withRedisServer(persistent: true) { server in
            let keys = FederationKeys(namespace: "fed")
            try await RedisClient.withClient(configuration: server.configuration()) { client in
                let catalog = RedisCatalogStore(client: client, keys: keys)
                let view = FederationView(
                    redis: client, keys: keys,
                    configuration: .init(backstopInterval: .seconds(60), inFlightInterval: nil))
                try await running([view]) {
                    try await catalog.register(node: node("before"), model: "m", capabilities: [.generate])
                    #expect(await view.waitUntil { $0.catalog.nodes["before"] != nil })
                    #expect(await view.waitUntil { _ in view.status.connected })
                    await server.kill()
                    #expect(await view.waitUntil { _ in !view.status.connected })
                    #expect(view.snapshot.catalog.nodes["before"] != nil)  // keeps serving the last view
                    try await server.start()
                    // written while the view's subscriber is still reconnecting, and without an event
                    try await RedisClient.withClient(configuration: server.configuration(poolSize: 1)) {
                        writer in
                        try await writer.transaction([
                            RedisCommand("HSET", keys.health("during"), "state", "degraded"),
                            RedisCommand("SADD", keys.healthIndex, "during"),
                            RedisCommand("INCR", keys.version(.health)),
                        ])
                    }
                    #expect(await view.waitUntil { $0.health["during"]?.state == .degraded })
                    #expect(await view.waitUntil { _ in view.status.resyncs >= 1 && view.status.connected })
                    #expect(view.snapshot.catalog.nodes["before"] != nil)  // the AOF kept it
                    try await catalog.register(node: node("after"), model: "m", capabilities: [.generate])
                    #expect(await view.waitUntil { $0.catalog.nodes["after"] != nil })
                }
            }
        }
    }

    @Test func followsARedisThatLostItsDataAndRestartedVersionsFromOne() async throws {
        try await withRedisServer(persistent: false) { server in
            let keys = FederationKeys(namespace: "fed")
            try await RedisClient.withClient(configuration: server.configuration()) { client in
                let catalog = RedisCatalogStore(client: client, keys: keys)
                // no grace: the empty catalog is taken at once (ViewCatalogGraceTests cover the grace)
                let view = FederationView(
                    redis: client, keys: keys,
                    configuration: .init(
                        backstopInterval: .seconds(60), inFlightInterval: nil, catalogGracePeriod: .zero))
                try await running([view]) {
                    for index in 0..<5 {
                        try await catalog.register(
                            node: node("old\(index)"), model: "m", capabilities: [.generate])
                    }
                    #expect(await view.waitUntil { $0.versions.catalog == 5 && view.status.connected })
                    await server.kill()
                    try await server.start()  // empty: no persistence
                    #expect(await view.waitUntil { $0.catalog.nodes.isEmpty && $0.versions.catalog == 0 })
                    try await catalog.register(node: node("new"), model: "m", capabilities: [.generate])
                    #expect(
                        await view.waitUntil {
                            $0.catalog.nodes.keys.sorted() == ["new"] && $0.versions.catalog == 1
                        })
                }
            }
        }
    }
}
