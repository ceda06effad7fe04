import FederationConfig
import FederationCore
import FederationRedis
import FederationRouterService
import FederationState
import FederationTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing

/// One router under test: its Redis namespace, the stores the catalog and health services would
/// write with, and the metrics registry.
struct RouterFixture: Sendable {
    let keys: FederationKeys
    let client: RedisClient
    let catalog: RedisCatalogStore
    let health: RedisHealthStore
    let policy: RedisPolicyStore
    let registry: PrometheusCollectorRegistry
    let server: RedisServerProcess

    /// The reference scenario: whisper (transcribe) in us-west at 45 ms and in eu-west at 120 ms,
    /// both healthy.
    func seedReferenceScenario() async throws {
        try await catalog.register(
            node: .test("us-west-gpu-01", "us-west"), model: "whisper", capabilities: [.transcribe])
        try await catalog.register(
            node: .test("eu-west-gpu-01", "eu-west"), model: "whisper", capabilities: [.transcribe])
        try await health.putHealth(healthy("us-west-gpu-01", p50: 45))
        try await health.putHealth(healthy("eu-west-gpu-01", p50: 120))
    }

    func healthy(_ node: NodeId, p50: Double) -> NodeHealth {
        NodeHealth(
            node: node, state: .healthy, latencyP50Ms: p50, latencyP99Ms: p50 * 2, consecutiveSuccesses: 5)
    }
}

extension NodeInfo {
    static func test(_ id: NodeId, _ region: RegionId, privacy: PrivacyLevel? = nil) -> NodeInfo {
        NodeInfo(id: id, region: region, endpoint: "http://\(id).test:8000", gpu: true, privacy: privacy)
    }
}

extension RouterTuning {
    /// Short intervals for tests; the backstop is long where a test must prove events are used.
    static func testing(backstop: Duration = .seconds(2)) -> RouterTuning {
        RouterTuning(
            view: .init(
                backstopInterval: backstop, inFlightInterval: nil, maximumRetryDelay: .milliseconds(500)),
            policyCheckInterval: .milliseconds(200), staleAfter: .seconds(30),
            policyApplyTimeout: .seconds(10))
    }
}

/// Starts a router over `server` in a fresh namespace, seeds it with `seed`, waits until it is
/// ready, and runs `body` with a test client; stops everything afterwards.
func withRouter(
    server: RedisServerProcess = .shared, namespace: String = uniqueNamespace(), adminToken: String? = nil,
    policy: RoutingPolicyDocument = .init(), tuning: RouterTuning = .testing(), unreachable: Bool = false,
    waitUntilReady: Bool = true,
    seed: @Sendable (RouterFixture) async throws -> Void = { _ in },
    _ body: @Sendable (any TestClientProtocol, RouterFixture) async throws -> Void
) async throws {
    var configuration = FederationConfiguration()
    configuration.namespace = namespace
    configuration.redisURL = server.url
    configuration.adminToken = adminToken
    configuration.policy = policy
    configuration.router.listen = Listen(host: "127.0.0.1", port: 0)
    let keys = FederationKeys(namespace: namespace)
    var redis = server.configuration()
    if unreachable {
        // port 1: nothing listens there (a freed test port could be taken by another test's server)
        redis.port = 1
        configuration.redisURL = "redis://127.0.0.1:1"
    }
    try await RedisClient.withClient(configuration: redis) { client in
        let fixture = RouterFixture(
            keys: keys, client: client, catalog: RedisCatalogStore(client: client, keys: keys),
            health: RedisHealthStore(client: client, keys: keys),
            policy: RedisPolicyStore(client: client, keys: keys),
            registry: PrometheusCollectorRegistry(), server: server)
        try await seed(fixture)
        var logger = Logger(label: "router-test")
        logger.logLevel = .warning
        let app = try buildRouterApplication(
            configuration: configuration, redis: client, registry: fixture.registry, logger: logger,
            tuning: tuning)
        try await app.test(.router) { client in
            if waitUntilReady {
                let ready = try await eventually { try await client.get("/readyz").status == .ok }
                #expect(ready, "the router did not become ready")
            }
            try await body(client, fixture)
        }
    }
}

extension TestClientProtocol {
    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await executeRequest(uri: uri, method: .get, headers: headers, body: nil)
    }

    func send(
        _ method: HTTPRequest.Method, _ uri: String, json: String, headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = "application/json"
        return try await executeRequest(
            uri: uri, method: method, headers: headers, body: ByteBuffer(string: json))
    }

    func route(_ json: String) async throws -> TestResponse { try await send(.post, "/v1/route", json: json) }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON object (empty when it is not one).
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
    }

    /// The `node` of a route answer.
    var node: String? { object["node"] as? String }

    /// The OpenAI error code of an error answer.
    var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
}

/// A document with `change` applied to the defaults.
func policy(_ change: (inout RoutingPolicyDocument) -> Void) -> RoutingPolicyDocument {
    var document = RoutingPolicyDocument()
    change(&document)
    return document
}
