import FederationCore
import FederationRedis
import FederationState
import FederationTestSupport
import Synchronization
import Testing

/// Issue 8: a view traded its populated catalog for the empty one of a Redis that had lost its
/// data, while the catalog owner was about to restore it. Now it holds the last catalog for a
/// grace period, says so, and takes the empty one only when it persists.
@Suite(.serialized) struct ViewCatalogGraceTests {
    @Test func keepsTheLastCatalogThroughARestoreAndNeverPublishesAnEmptyOne() async throws {
        try await withRedisServer(persistent: false) { server in
            let keys = FederationKeys(namespace: uniqueNamespace("grace"))
            let published = NodeCounts()
            try await RedisClient.withClient(configuration: server.configuration()) { client in
                let catalog = RedisCatalogStore(client: client, keys: keys)
                let view = FederationView(
                    redis: client, keys: keys,
                    configuration: .init(
                        backstopInterval: .seconds(60), inFlightInterval: nil,
                        catalogGracePeriod: .seconds(60),
                        onUpdate: { published.record($0.catalog.nodes.count) }))
                try await running([view]) {
                    for index in 0..<3 {
                        try await catalog.register(
                            node: node("n\(index)"), model: "m", capabilities: [.generate])
                    }
                    #expect(await view.waitUntil { $0.versions.catalog == 3 && view.status.connected })
                    let known = try await catalog.loadRecords().value
                    await server.kill()
                    try await server.start()  // empty: no persistence
                    #expect(await view.waitUntil(timeout: .seconds(30)) { _ in view.status.isHoldingCatalog })
                    #expect(view.snapshot.catalog.nodes.count == 3, "the last catalog is kept")
                    #expect(view.status.catalogHolds == 1)
                    // the catalog owner restores what it knew
                    let restored = try await catalog.restore(known, knownVersion: 3)
                    #expect(restored == CatalogRestoration(version: 4, restoredNodes: 3))
                    #expect(
                        await view.waitUntil { $0.versions.catalog == 4 && !view.status.isHoldingCatalog })
                    #expect(view.snapshot.catalog.nodes.count == 3)
                    let counts = published.values
                    let first = try #require(counts.firstIndex(of: 3))
                    #expect(
                        counts[first...].allSatisfy { $0 == 3 }, "an empty catalog was published: \(counts)")
                }
            }
        }
    }

    @Test func takesTheEmptyCatalogWhenItOutlastsTheGracePeriod() async throws {
        try await withRedisServer(persistent: false) { server in
            let keys = FederationKeys(namespace: uniqueNamespace("grace"))
            try await RedisClient.withClient(configuration: server.configuration()) { client in
                let catalog = RedisCatalogStore(client: client, keys: keys)
                let view = FederationView(
                    redis: client, keys: keys,
                    configuration: .init(
                        backstopInterval: .seconds(60), inFlightInterval: nil, catalogGracePeriod: .seconds(1)
                    ))
                try await running([view]) {
                    try await catalog.register(node: node("n1"), model: "m", capabilities: [.generate])
                    #expect(await view.waitUntil { $0.versions.catalog == 1 && view.status.connected })
                    await server.kill()
                    try await server.start()
                    let held = ContinuousClock.now
                    #expect(await view.waitUntil(timeout: .seconds(30)) { _ in view.status.isHoldingCatalog })
                    #expect(
                        await view.waitUntil(timeout: .seconds(30)) {
                            $0.catalog.nodes.isEmpty && $0.versions.catalog == 0
                        })
                    #expect(
                        ContinuousClock.now - held >= .seconds(1), "accepted before the grace period ended")
                    #expect(!view.status.isHoldingCatalog)
                }
            }
        }
    }
}

/// Node counts of published snapshots, recorded from any thread.
final class NodeCounts: Sendable {
    private let storage = Mutex<[Int]>([])
    func record(_ count: Int) { storage.withLock { $0.append(count) } }
    var values: [Int] { storage.withLock { $0 } }
}
