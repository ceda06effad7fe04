import FederationCore
import FederationRedis
import FederationState
import FederationTestSupport
import Testing

/// The two implementations every contract test runs against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory, redis
    var testDescription: String { rawValue }
}

/// One set of stores over one backend, in a namespace of its own.
struct Stores: Sendable {
    let catalog: any CatalogStore
    let health: any HealthStore
    let policy: any PolicyStore
    let gateways: any GatewayStore
    let feed: any FederationChangeFeed
    let keys: FederationKeys
    let client: RedisClient?

    /// Runs `body` with fresh stores and releases them afterwards.
    static func with<T: Sendable>(
        _ backend: Backend, heartbeatTTL: Duration = .seconds(15), _ body: (Stores) async throws -> T
    ) async throws -> T {
        let keys = FederationKeys(namespace: uniqueNamespace())
        switch backend {
        case .memory:
            let bus = InMemoryEventBus()
            return try await body(
                Stores(
                    catalog: InMemoryCatalogStore(bus: bus), health: InMemoryHealthStore(bus: bus),
                    policy: InMemoryPolicyStore(bus: bus),
                    gateways: InMemoryGatewayStore(heartbeatTTL: heartbeatTTL),
                    feed: bus, keys: keys, client: nil))
        case .redis:
            let server = RedisServerProcess.shared
            return try await RedisClient.withClient(configuration: server.configuration()) { client in
                try await body(
                    Stores(
                        catalog: RedisCatalogStore(client: client, keys: keys),
                        health: RedisHealthStore(client: client, keys: keys),
                        policy: RedisPolicyStore(client: client, keys: keys),
                        gateways: RedisGatewayStore(client: client, keys: keys, heartbeatTTL: heartbeatTTL),
                        feed: RedisChangeFeed(configuration: server.configuration(), keys: keys), keys: keys,
                        client: client))
            }
        }
    }
}

func node(_ id: String, region: String = "us-west", gpu: Bool = true) -> NodeInfo {
    NodeInfo(
        id: NodeId(id), region: RegionId(region), endpoint: "http://\(id).local:8000", gpu: gpu,
        privacy: id.hasSuffix("1") ? .confidential : nil, cost: id.hasSuffix("2") ? 0.25 : nil,
        labels: id.hasSuffix("3") ? ["rack": "r7", "tier": "a b \"c\""] : [:])
}

/// Collects changes from `stream` until `count` events arrived (or 5 s passed).
func collectEvents(_ stream: AsyncStream<FederationChange>, count: Int) async -> [FederationEvent] {
    var events: [FederationEvent] = []
    let deadline = ContinuousClock.now + .seconds(5)
    for await change in stream {
        if case .event(let event) = change { events.append(event) }
        if events.count >= count || ContinuousClock.now > deadline { break }
    }
    return events
}
