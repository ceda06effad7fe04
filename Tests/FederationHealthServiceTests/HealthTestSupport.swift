import AsyncHTTPClient
import FederationConfig
import FederationCore
import FederationHealthService
import FederationNode
import FederationRedis
import FederationState
import FederationTestSupport
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Prometheus
import ServiceLifecycle
import Synchronization

/// Starts a real federation node on a free port while `body` runs; `body` gets its base URL.
func withNode<T: Sendable>(
    id: String, _ configure: (inout NodeConfiguration) -> Void = { _ in }, _ body: (String) async throws -> T
) async throws -> T {
    var configuration = NodeConfiguration()
    configuration.nodeId = id
    configuration.port = 0
    configuration.tokensPerSecond = 0
    configuration.crashAction = { _ in }
    configure(&configuration)
    let box = PortBox()
    let app = try buildNodeApplication(configuration: configuration, logger: testLogger("node")) {
        box.report($0)
    }
    return try await withService(app) { try await body("http://127.0.0.1:\(await box.port())") }
}

/// One test's world: a namespace on the shared redis-server, a client, an HTTP client.
struct HealthWorld: Sendable {
    let server: RedisServerProcess
    let keys: FederationKeys
    let redis: RedisClient
    let http: HTTPClient

    var store: RedisHealthStore { RedisHealthStore(client: redis, keys: keys) }
    var catalog: RedisCatalogStore { RedisCatalogStore(client: redis, keys: keys) }

    /// The configuration of a fast health service (50 ms probes, short circuit timings).
    func configuration(
        adminToken: String? = nil, resetTimeout: Duration = .milliseconds(400)
    ) -> FederationConfiguration {
        var c = FederationConfiguration()
        c.namespace = keys.namespace
        c.redisURL = server.url
        c.adminToken = adminToken
        c.health.listen = Listen(host: "127.0.0.1", port: 0)
        c.health.probeInterval = .milliseconds(50)
        c.health.probeTimeout = .milliseconds(400)
        c.health.circuit = CircuitBreakerConfiguration(
            resetTimeout: resetTimeout, maxOpenDuration: resetTimeout * 4, probeTimeout: .seconds(2))
        return c
    }

    /// Registers `node` at `endpoint` in the catalog.
    func register(_ node: String, endpoint: String) async throws {
        try await catalog.register(
            node: NodeInfo(id: NodeId(node), region: "local", endpoint: endpoint), model: "m1",
            capabilities: [.generate])
    }

    /// Runs a health service while `body` runs; `body` gets its base URL.
    func withHealth<T: Sendable>(
        _ configuration: FederationConfiguration? = nil, registry: PrometheusCollectorRegistry = .init(),
        options configure: (inout HealthServiceOptions) -> Void = { _ in }, _ body: (String) async throws -> T
    ) async throws -> T {
        let box = PortBox()
        var options = HealthServiceOptions()
        options.catalogPollInterval = .milliseconds(100)
        options.leaseRenewInterval = .milliseconds(200)
        options.leaseDuration = .seconds(2)
        options.onServerRunning = { box.report($0) }
        configure(&options)
        let app = try buildHealthApplication(
            configuration: configuration ?? self.configuration(), redis: redis, registry: registry,
            logger: testLogger("health"), options: options)
        return try await withService(app) { try await body("http://127.0.0.1:\(await box.port())") }
    }

    /// An HTTP request; returns status and body text.
    func request(
        _ method: HTTPMethod, _ url: String, body: String? = nil, token: String? = nil
    ) async throws -> (status: Int, text: String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await http.execute(request, timeout: .seconds(10))
        let collected = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: collected))
    }

    /// JSON object of a GET.
    func json(_ url: String) async throws -> [String: Any] {
        let (_, text) = try await request(.GET, url)
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    /// The node's stored health hash.
    func healthHash(_ node: String) async throws -> [String: String] {
        try await redis.command("HGETALL", keys.health(NodeId(node))).hashFields ?? [:]
    }

    /// The node's stored circuit hash.
    func circuitHash(_ node: String) async throws -> [String: String] {
        try await redis.command("HGETALL", keys.circuit(NodeId(node))).hashFields ?? [:]
    }
}

/// Runs `body` in a fresh namespace with a Redis client and an HTTP client, closing both after.
func withWorld<T: Sendable>(
    server: RedisServerProcess = .shared, _ body: (HealthWorld) async throws -> T
) async throws -> T {
    let keys = FederationKeys(namespace: uniqueNamespace("h"))
    let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
    do {
        let result = try await RedisClient.withClient(configuration: server.configuration(poolSize: 4)) {
            redis in
            try await body(HealthWorld(server: server, keys: keys, redis: redis, http: http))
        }
        try await http.shutdown()
        return result
    } catch {
        try? await http.shutdown()
        throw error
    }
}

/// Collects every event published on `{ns}:events:health` while `body` runs.
func withHealthEvents<T: Sendable>(
    _ world: HealthWorld, _ body: (EventLog) async throws -> T
) async throws -> T {
    let log = EventLog()
    return try await RedisSubscriber.withSubscriber(
        configuration: world.server.configuration(), channels: [world.keys.events(.health)]
    ) { subscriber in
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in subscriber.events {
                    if case .message(_, let payload, _) = event,
                        let parsed = try? FederationEvent.parse(payload, channel: .health)
                    {
                        log.append(parsed)
                    }
                }
            }
            defer { group.cancelAll() }
            _ = try await eventually { subscriber.isConnected }
            return try await body(log)
        }
    }
}

/// Events seen so far.
final class EventLog: Sendable {
    private let events = Mutex<[FederationEvent]>([])
    func append(_ event: FederationEvent) { events.withLock { $0.append(event) } }
    var all: [FederationEvent] { events.withLock { $0 } }
}

extension HealthWorld {
    /// Publishes `payload` on the reports channel.
    func publish(_ payload: String) async throws {
        _ = try await redis.command("PUBLISH", keys.healthReports, payload)
    }

    /// Whether `/metrics` eventually contains every line of `expected`.
    func eventuallyMetrics(_ base: String, contain expected: [String]) async -> Bool {
        let held = try? await eventually {
            let text = try await request(.GET, base + "/metrics").text
            return expected.allSatisfy { text.contains($0) }
        }
        return held == true
    }
}
