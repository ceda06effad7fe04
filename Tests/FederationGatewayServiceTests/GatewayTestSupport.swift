import AsyncHTTPClient
import FederationConfig
import FederationCore
import FederationGatewayService
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

/// A demo node for a test: where it runs and what the catalog says about it.
struct NodeSpec: Sendable {
    var id: String
    var region: String = "local"
    var privacy: PrivacyLevel? = nil
    var models: [ServedModel] = [ServedModel(name: "m1", capabilities: [.generate, .code])]
    /// The node's catalog labels (e.g. `federation.resume`).
    var labels: [String: String] = [:]
    var configure: @Sendable (inout NodeConfiguration) -> Void = { _ in }
}

/// A running in-process node.
struct RunningNode: Sendable {
    let spec: NodeSpec
    let url: String
    var id: NodeId { NodeId(spec.id) }
}

/// One test's world: a namespace on the shared redis-server, a Redis client, an HTTP client.
struct GatewayWorld: Sendable {
    let server: RedisServerProcess
    let keys: FederationKeys
    let redis: RedisClient
    let http: HTTPClient

    var catalog: RedisCatalogStore { RedisCatalogStore(client: redis, keys: keys) }

    /// A configuration for this namespace: gateway on a free port, fast health timings.
    func configuration(
        _ configure: (inout FederationConfiguration) -> Void = { _ in }
    ) -> FederationConfiguration {
        var c = FederationConfiguration()
        c.namespace = keys.namespace
        c.redisURL = server.url
        c.gateway.listen = Listen(host: "127.0.0.1", port: 0)
        c.gateway.retry = RetryPolicy(maxRetries: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50))
        c.gateway.connectTimeout = .seconds(1)
        c.gateway.readTimeout = .seconds(5)
        c.health.listen = Listen(host: "127.0.0.1", port: 0)
        c.health.probeInterval = .milliseconds(200)
        c.health.probeTimeout = .milliseconds(500)
        c.health.circuit = CircuitBreakerConfiguration(
            resetTimeout: .seconds(30), maxOpenDuration: .seconds(60), probeTimeout: .seconds(5))
        configure(&c)
        return c
    }

    /// Registers `node` in the catalog.
    func register(_ node: RunningNode) async throws {
        for model in node.spec.models {
            try await catalog.register(
                node: NodeInfo(
                    id: node.id, region: RegionId(node.spec.region), endpoint: node.url,
                    privacy: node.spec.privacy, labels: node.spec.labels),
                model: ModelId(model.name), capabilities: model.capabilities)
        }
    }

    /// Publishes the default routing policy (round robin unless said otherwise).
    func publishPolicy(_ configure: (inout RoutingPolicyDocument) -> Void = { _ in }) async throws {
        var document = RoutingPolicyDocument()
        document.strategy = .roundRobin
        configure(&document)
        _ = try await RedisPolicyStore(client: redis, keys: keys).putPolicy(document)
    }

    /// Starts every node of `specs` (in-process, on free ports), registers them, runs `body`.
    func withNodes<T: Sendable>(
        _ specs: [NodeSpec], _ body: ([RunningNode]) async throws -> T
    ) async throws -> T {
        try await startNodes(specs[...], running: [], body)
    }

    private func startNodes<T: Sendable>(
        _ specs: ArraySlice<NodeSpec>, running: [RunningNode], _ body: ([RunningNode]) async throws -> T
    ) async throws -> T {
        guard let spec = specs.first else {
            for node in running { try await register(node) }
            try await publishPolicy()
            return try await body(running)
        }
        var configuration = NodeConfiguration()
        configuration.nodeId = spec.id
        configuration.region = spec.region
        configuration.port = 0
        configuration.tokensPerSecond = 0
        configuration.models = spec.models
        configuration.crashAction = { _ in }
        spec.configure(&configuration)
        let box = PortBox()
        let app = try buildNodeApplication(configuration: configuration, logger: testLogger("node")) {
            box.report($0)
        }
        return try await withService(app) {
            let node = RunningNode(spec: spec, url: "http://127.0.0.1:\(await box.port())")
            return try await startNodes(specs.dropFirst(), running: running + [node], body)
        }
    }

    /// The gateways' logger in tests: errors only (the request log writes every 5xx at warning, and
    /// these tests make many on purpose).
    static let gatewayLogger: Logger = {
        var logger = Logger(label: "gateway")
        logger.logLevel = .error
        return logger
    }()

    /// Runs a gateway while `body` runs; `body` gets its base URL once its view holds every
    /// registered node.
    func withGateway<T: Sendable>(
        _ configuration: FederationConfiguration? = nil, id: String? = nil, expectNodes: Int = 1,
        registry: PrometheusCollectorRegistry = .init(), _ body: (String) async throws -> T
    ) async throws -> T {
        let box = PortBox()
        var tuning = GatewayTuning(gatewayId: id ?? uniqueNamespace("gw"))
        tuning.view = FederationView.Configuration(backstopInterval: .seconds(2))
        let group = try buildGatewayApplication(
            configuration: configuration ?? self.configuration(), redis: redis, registry: registry,
            logger: Self.gatewayLogger, tuning: tuning, onServerRunning: { box.report($0) })
        return try await withService(group) {
            let base = "http://127.0.0.1:\(await box.port())"
            try await eventually("the gateway's view holds \(expectNodes) node(s)") {
                // /v1/nodes, not /v1/models: with API keys configured the model list needs one.
                let (status, text, _) = try await request(.GET, base + "/v1/nodes")
                guard status == 200,
                    let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                    let nodes = json["nodes"] as? [[String: Any]]
                else { return false }
                guard nodes.count >= expectNodes else { return false }
                return try await request(.GET, base + "/readyz").status == 200
            }
            let result = try await body(base)
            // Every request of the test ran through a legal lifecycle.
            let metrics = try await request(.GET, base + "/metrics").text
            let violations = metrics.split(separator: "\n").first {
                $0.hasPrefix("federation_gateway_lifecycle_violations_total ")
            }
            if violations?.hasSuffix(" 0") != true {
                throw TestFailure("request lifecycle violations: \(violations ?? "metric missing")")
            }
            return result
        }
    }

    /// Runs the health service in-process while `body` runs.
    func withHealth<T: Sendable>(
        _ configuration: FederationConfiguration, _ body: () async throws -> T
    ) async throws
        -> T
    {
        var options = HealthServiceOptions()
        options.catalogPollInterval = .milliseconds(100)
        options.leaseRenewInterval = .milliseconds(200)
        options.leaseDuration = .seconds(2)
        options.writeInterval = .milliseconds(100)
        let app = try buildHealthApplication(
            configuration: configuration, redis: redis, registry: .init(), logger: testLogger("health"),
            options: options)
        return try await withService(app) { try await body() }
    }

    /// An HTTP request; returns status, headers and body text.
    @discardableResult
    func request(
        _ method: HTTPMethod, _ url: String, body: String? = nil, headers: [(String, String)] = [],
        timeout: Duration = .seconds(20)
    ) async throws -> (status: Int, text: String, headers: HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await http.execute(request, timeout: .milliseconds(timeout.wholeMilliseconds))
        let collected = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: collected), response.headers)
    }

    /// A chat completion through `base`.
    func chat(
        _ base: String, model: String = "m1", stream: Bool = false, maxTokens: Int = 4,
        headers: [(String, String)] = []
    ) async throws -> (status: Int, text: String, headers: HTTPHeaders) {
        try await request(
            .POST, base + "/v1/chat/completions",
            body:
                #"{"model":"\#(model)","messages":[{"role":"user","content":"hello"}],"max_tokens":\#(maxTokens),"stream":\#(stream)}"#,
            headers: headers)
    }

    /// The node's own `/health` (its counters: `in_flight`, `requests` per path).
    func nodeHealth(_ node: RunningNode) async throws -> [String: Any] {
        let (_, text, _) = try await request(.GET, node.url + "/health")
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    /// Inference requests `node` received on `path`, by its own count.
    func received(_ node: RunningNode, _ path: String) async throws -> Int {
        ((try await nodeHealth(node))["requests"] as? [String: Any])?[path] as? Int ?? 0
    }

    /// Sets a node's faults through its admin API.
    func setFaults(_ node: RunningNode, _ json: String) async throws {
        let (status, text, _) = try await request(.POST, node.url + "/admin/faults", body: json)
        guard status == 200 else { throw TestFailure("faults not set on \(node.spec.id): \(status) \(text)") }
    }
}

/// Runs `body` in a fresh namespace with a Redis client and an HTTP client, closing both after.
func withGatewayWorld<T: Sendable>(
    server: RedisServerProcess = .shared, _ body: (GatewayWorld) async throws -> T
) async throws -> T {
    let keys = FederationKeys(namespace: uniqueNamespace("g"))
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(
        idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
    let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    do {
        let result = try await RedisClient.withClient(configuration: server.configuration(poolSize: 4)) {
            redis in
            try await body(GatewayWorld(server: server, keys: keys, redis: redis, http: http))
        }
        try await http.shutdown()
        return result
    } catch {
        try? await http.shutdown()
        throw error
    }
}

extension HTTPHeaders {
    var node: String? { first(name: "X-Federation-Node") }
    var attempts: Int? { first(name: "X-Federation-Attempts").flatMap { Int($0) } }
}

/// A precondition of a test did not hold.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
