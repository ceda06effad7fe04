import FederationConfig
import FederationCore
import FederationHTTP
import FederationRedis
import FederationState
import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// Builds `federation-gateway`: the data plane. Clients call the OpenAI endpoints; the gateway
/// routes each request from its synced `FederationView` with the same `RoutingEngine` as the
/// router (no Redis on the request path), forwards it to the node, streams the answer back,
/// retries elsewhere on retriable failures, and publishes every attempt's outcome so the health
/// service's circuits — shared by every replica — open and close. docs/GATEWAY.md.
///
/// Returns a `ServiceGroup` of the HTTP application and the drain: on SIGTERM the replica first
/// drains (`/readyz` 503, new requests refused, in-flight ones finish within `drain_timeout_ms`,
/// its heartbeat removed), then the server and the background services stop.
/// - Parameters:
///   - configuration: the shared configuration (`gateway:` section, `health.circuit` for probes).
///   - redis: the client for loads, reports and counters (the caller closes it after the run).
///   - registry: where the metrics are registered; `/metrics` emits it.
///   - middleware: extra middleware after the built-in ones (request log, auth, rate limit).
///   - tuning: timings outside the configuration file (tests shorten them).
///   - onServerRunning: called with the bound port once the server listens.
public func buildGatewayApplication(
    configuration: FederationConfiguration,
    redis: RedisClient,
    registry: PrometheusCollectorRegistry,
    logger: Logger = Logger(label: "federation-gateway"),
    middleware: [any GatewayMiddleware] = [],
    tuning: GatewayTuning = .init(),
    onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
) throws -> ServiceGroup {
    if let problem = Identifier.problem(with: configuration.namespace, kind: "namespace") {
        throw FederationError.invalidInput("configuration: \(problem)")
    }
    let settings = configuration.gateway
    let keys = FederationKeys(namespace: configuration.namespace)
    let gatewayId = tuning.gatewayId ?? GatewayTuning.makeId()
    if let problem = Identifier.problem(with: gatewayId, kind: "gateway id") {
        throw FederationError.invalidInput("configuration: \(problem)")
    }
    var viewConfiguration = tuning.view
    viewConfiguration.inFlightInterval = nil  // ReplicaLoad reads the other replicas' counts itself
    let gatewayStore = RedisGatewayStore(client: redis, keys: keys, heartbeatTTL: tuning.heartbeatTTL)
    let view = FederationView(
        catalog: RedisCatalogStore(client: redis, keys: keys),
        health: RedisHealthStore(client: redis, keys: keys),
        policy: RedisPolicyStore(client: redis, keys: keys),
        gateways: nil,
        changes: RedisChangeFeed(configuration: redis.configuration, keys: keys, logger: logger),
        configuration: viewConfiguration, logger: logger)
    let metrics = GatewayMetrics(registry: registry)
    let state = GatewayState(metrics: metrics)
    let nodes = NodeClient(settings: settings)
    let reporter = OutcomeReporter(
        client: redis, keys: keys, batchInterval: tuning.reportBatchInterval, metrics: metrics, logger: logger
    )
    let load = ReplicaLoad(
        gatewayId: gatewayId, store: gatewayStore, interval: tuning.loadSyncInterval, logger: logger)
    let limiter = TenantRateLimiter(settings: settings)
    let builtIn = try standardMiddleware(settings: settings, limiter: limiter, logger: logger)
    let decisions = DecisionLog()
    let pipeline = GatewayPipeline(
        settings: settings, circuit: configuration.health.circuit, view: view, engine: RoutingEngine(),
        nodes: nodes, reporter: reporter, load: load, probes: ProbeSlots(client: redis, keys: keys),
        state: state,
        chain: GatewayMiddlewareChain([DecisionRecorder(log: decisions)] + builtIn + middleware),
        budget: RetryBudget(ratio: settings.retryBudgetRatio, minPerSecond: settings.retryBudgetMinPerSecond),
        gatewayId: gatewayId, logger: logger)
    let heartbeat = GatewayHeartbeatService(
        gatewayId: gatewayId, store: gatewayStore, state: state, interval: tuning.heartbeatInterval,
        logger: logger)
    let rateSync = RateLimitSync(
        limiter: limiter, redis: redis, keys: keys, gatewayId: gatewayId, interval: tuning.loadSyncInterval,
        heartbeatTTL: tuning.heartbeatTTL, logger: logger)

    let router = Router(context: GatewayRequestContext.self)
    router.addOpenAIErrors()
    // No Hummingbird MetricsMiddleware here: it costs a metrics-registry lookup per request, and
    // GatewayMetrics already records every request by node, capability and status.
    for endpoint in GatewayEndpoint.allCases {
        router.post(RouterPath(endpoint.path)) { request, context in
            await pipeline.handle(request, disconnect: context.clientDisconnect, endpoint: endpoint)
        }
    }
    // As OpenAI's: with API keys configured, listing the models needs one too.
    let ring = try APIKeyRing(settings.apiKeys)
    router.get("/v1/models") { request, _ in
        if !ring.isEmpty, case .failure(let error) = ring.tenant(for: request.headers[.authorization]) {
            throw error
        }
        return ModelList(snapshot: view.currentSnapshot.snapshot).response()
    }
    router.get("/v1/nodes") { _, _ in
        jsonResponse(NodeList(snapshot: view.currentSnapshot.snapshot, load: load, now: SystemClock().now()))
    }
    router.get("/v1/stats") { request, _ in
        if request.uri.queryParameters.get("scope") == "cluster" {
            do {
                return jsonResponse(
                    try await ClusterStats.load(store: gatewayStore, now: SystemClock().now()))
            } catch {
                throw OpenAIError(
                    status: .serviceUnavailable,
                    message: "Cluster statistics need Redis, which is unreachable: \(error)",
                    type: "server_error", code: "redis_unavailable")
            }
        }
        return jsonResponse(ReplicaStats(gateway: gatewayId, stats: state.snapshot))
    }
    router.get("/v1/decisions") { request, _ in
        jsonResponse(
            try DecisionList.answer(
                limit: request.uri.queryParameters.get("limit"), gateway: gatewayId, log: decisions))
    }
    router.addOperationalRoutes(
        service: "federation-gateway", registry: registry,
        beforeScrape: { metrics.view.refresh(from: view) },
        readiness: { GatewayReadiness(view: view, staleAfter: tuning.staleAfter, draining: state.isDraining) }
    )

    let listen = settings.listen
    let app = Application(
        router: router, server: configuration.server.httpServer(logger: logger),
        configuration: configuration.server.applicationConfiguration(
            address: .hostname(listen.host, port: listen.port), serverName: "federation-gateway",
            logger: logger),
        services: [view, nodes, reporter, load, heartbeat, rateSync],
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? listen.port
            logger.notice(
                "federation-gateway listening",
                metadata: [
                    "host": .string(listen.host), "port": .stringConvertible(port),
                    "gateway_id": .string(gatewayId),
                    "namespace": .string(keys.namespace), "redis": .string(redis.configuration.endpoint),
                ])
            await onServerRunning(port)
        },
        logger: logger)
    let drain = GatewayDrain(
        state: state, heartbeat: heartbeat, load: load, timeout: settings.drainTimeout, logger: logger)
    return ServiceGroup(
        configuration: .init(services: [.init(service: app), .init(service: drain)], logger: logger))
}

/// Timings of the gateway that are not in the configuration file.
public struct GatewayTuning: Sendable {
    /// The replica's id in `{ns}:gateways` (default: host name + a random suffix).
    public var gatewayId: String?
    /// The view's loops.
    public var view: FederationView.Configuration
    /// How often this replica flushes its in-flight counts and reads the others' (also the rate
    /// limits' reconciliation), ≤ 100 ms.
    public var loadSyncInterval: Duration
    /// How long successful outcomes wait to be published together.
    public var reportBatchInterval: Duration
    public var heartbeatInterval: Duration
    public var heartbeatTTL: Duration
    /// A view older than this is reported stale in `/readyz`.
    public var staleAfter: Duration

    public init(
        gatewayId: String? = nil, view: FederationView.Configuration = .init(),
        loadSyncInterval: Duration = .milliseconds(100), reportBatchInterval: Duration = .milliseconds(5),
        heartbeatInterval: Duration = .seconds(1), heartbeatTTL: Duration = .seconds(5),
        staleAfter: Duration = .seconds(15)
    ) {
        self.gatewayId = gatewayId
        self.view = view
        self.loadSyncInterval = loadSyncInterval
        self.reportBatchInterval = reportBatchInterval
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTTL = heartbeatTTL
        self.staleAfter = staleAfter
    }

    static func makeId() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "gateway"
        let clean = String(
            host.unicodeScalars.filter {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-")
            })
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return "gw-" + (clean.isEmpty ? "host" : String(clean.prefix(40))) + "-" + suffix
    }
}

/// The gateway's request context: Hummingbird's basic one plus the connection (FederationHTTP).
public typealias GatewayRequestContext = ConnectionRequestContext
