import FederationCatalogService
import FederationCore
import FederationRedis
import FederationState
import FederationTestSupport
import Foundation
import Synchronization
import Testing

/// Issue 8: after Redis restarted empty the router answered `no_capacity` for 8.3 s, until the
/// nodes renewed. The catalog now writes back what it knows within about a second.
@Suite(.serialized) struct RestoreTests {
    @Test func anEmptyRedisGetsTheCatalogBackWithoutAnyRenewal() async throws {
        try await withRedisServer(persistent: false) { server in
            try await withCatalog(server: server) { catalog in
                try await catalog.register(
                    registration(
                        "permanent",
                        models: [
                            .init(
                                name: "llama-3-8b", capabilities: [.generate], version: "3.1",
                                parameters: 8_000_000_000)
                        ]))
                try await catalog.register(registration("leased", lease: 3600))
                try await catalog.register(registration("deleted"))
                #expect(try await catalog.send(.delete, "/v1/nodes/deleted").status == 200)
                let before = try await RedisCatalogStore(client: catalog.redis, keys: catalog.keys)
                    .loadRecords()
                #expect(before.value.state.nodes.keys.sorted() == ["leased", "permanent"])

                // a view as a router or gateway runs it, recording every catalog it published
                let counts = CountRecorder()
                try await RedisClient.withClient(configuration: server.configuration()) { client in
                    let view = FederationView(
                        redis: client, keys: catalog.keys,
                        configuration: .init(
                            backstopInterval: .seconds(60), inFlightInterval: nil,
                            onUpdate: { snapshot in counts.record(snapshot.catalog.nodes.count) }))
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { try await view.run() }
                        defer { group.cancelAll() }
                        #expect(await view.waitUntil { $0.catalog.nodes.count == 2 && view.status.connected })
                        let caughtUp = try await eventually {
                            catalog.metric("federation_catalog_known_version") == Double(before.version)
                        }
                        #expect(caughtUp, "the catalog's copy never reached version \(before.version)")

                        await server.kill()
                        try await server.start()  // empty: no persistence
                        let restarted = ContinuousClock.now
                        let back = try await eventually(timeout: .seconds(30)) {
                            (try? await catalog.nodeIds()) == ["leased", "permanent"]
                        }
                        let took = ContinuousClock.now - restarted
                        #expect(back, "the catalog did not restore its nodes")
                        print(
                            "restore: catalog back \(took.wholeMilliseconds) ms after Redis restarted empty")

                        let after = try await RedisCatalogStore(client: catalog.redis, keys: catalog.keys)
                            .loadRecords()
                        #expect(after.value.state.nodes == before.value.state.nodes)
                        #expect(after.value.state.models == before.value.state.models, "metadata restored")
                        #expect(after.value.leases == before.value.leases, "the lease keeps its expiry")
                        #expect(after.version == before.version + 1)
                        #expect(catalog.metric("federation_catalog_restores_total") == 1)
                        #expect(catalog.metric("federation_catalog_restored_nodes_total") == 2)

                        #expect(await view.waitUntil { $0.versions.catalog == after.version })
                        let published = counts.values
                        let first = try #require(published.firstIndex(of: 2))
                        #expect(
                            published[first...].allSatisfy { $0 == 2 },
                            "the view published a catalog without the nodes: \(published)")
                    }
                }
            }
        }
    }
}

/// Numbers recorded from any thread.
final class CountRecorder: Sendable {
    private let storage = Mutex<[Int]>([])
    func record(_ value: Int) { storage.withLock { $0.append(value) } }
    var values: [Int] { storage.withLock { $0 } }
}
