import FederationConfig
import FederationCore
import FederationHTTP
import FederationRedis
import FederationState
import Hummingbird
import Logging
import Prometheus

/// Builds `federation-router`: the owner of the routing policy and the place to ask "where would
/// this request go, and why".
///
/// Routes: `POST /v1/route`, `POST /v1/candidates`, `GET|PUT|PATCH /v1/policy`, `GET /healthz`,
/// `GET /readyz`, `GET /metrics` (docs/ROUTER.md). Background services, run by the application's
/// service group: the `FederationView` (the same synced snapshot the gateways route from) and
/// the policy owner (publishes the configured policy when Redis has none, and again if Redis
/// loses it).
///
/// Tests run it in-process with `configuration.router.listen.port = 0`; the executable runs it
/// with `runService()` (graceful on SIGTERM/SIGINT).
/// - Parameters:
///   - configuration: the shared configuration; `policy` is published at first start,
///     `router.listen` is where it listens, `adminToken` guards policy writes when set.
///   - redis: the client for loads and writes (the caller owns it and closes it after the app
///     stops); the view opens a subscriber connection of its own with the same configuration.
///   - registry: where the router's metrics are registered; `/metrics` emits it.
///   - logger: the service's logger (structured metadata: request_id, capability, node, tenant).
///   - clock: time for circuit deadlines and policy timestamps.
///   - tuning: timings and limits outside the configuration file (tests shorten them).
///   - onServerRunning: called with the bound port once the server listens.
/// - Throws: `FederationError.invalidInput` when the configuration cannot be used.
public func buildRouterApplication(
    configuration: FederationConfiguration,
    redis: RedisClient,
    registry: PrometheusCollectorRegistry,
    logger: Logger = Logger(label: "federation-router"),
    clock: any FederationClock = SystemClock(),
    tuning: RouterTuning = .init(),
    onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    if let problem = Identifier.problem(with: configuration.namespace, kind: "namespace") {
        throw FederationError.invalidInput("configuration: \(problem)")
    }
    if let problem = configuration.policy.validationProblem {
        throw FederationError.invalidInput("configuration: policy: \(problem)")
    }
    let keys = FederationKeys(namespace: configuration.namespace)
    let policyStore = RedisPolicyStore(client: redis, keys: keys, clock: clock)
    let view = FederationView(
        catalog: RedisCatalogStore(client: redis, keys: keys, clock: clock),
        health: RedisHealthStore(client: redis, keys: keys, clock: clock),
        policy: policyStore,
        gateways: RedisGatewayStore(client: redis, keys: keys),
        changes: RedisChangeFeed(configuration: redis.configuration, keys: keys, logger: logger),
        configuration: tuning.view, clock: clock, logger: logger)
    let metrics = RouterMetrics(registry: registry)
    let owner = PolicyOwner(
        store: policyStore, view: view, initial: configuration.policy, tuning: tuning, metrics: metrics,
        logger: logger)
    let queries = RouteQueries(view: view, clock: clock, metrics: metrics, tuning: tuning, logger: logger)

    let router = Router()
    router.addOpenAIErrors()  // unknown routes: a JSON 404, like every other error
    // HTTP request metrics through swift-metrics (the executable bootstraps it into `registry`).
    router.add(middleware: MetricsMiddleware())
    router.post("/v1/route") { request, _ in try await queries.route(request) }
    router.post("/v1/candidates") { request, _ in try await queries.candidates(request) }
    router.addPolicyRoutes(
        owner: owner, view: view, adminToken: configuration.adminToken, tuning: tuning, metrics: metrics)
    router.addRouterOperationalRoutes(
        view: view, registry: registry, metrics: metrics, staleAfter: tuning.staleAfter)

    let listen = configuration.router.listen
    let startupLogger = logger
    return Application(
        router: router, server: configuration.server.httpServer(logger: logger),
        configuration: configuration.server.applicationConfiguration(
            address: .hostname(listen.host, port: listen.port), serverName: "federation-router",
            logger: logger),
        services: [view, owner],
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? listen.port
            startupLogger.notice(
                "federation-router listening",
                metadata: [
                    "host": .string(listen.host), "port": .stringConvertible(port),
                    "namespace": .string(keys.namespace), "redis": .string(redis.configuration.endpoint),
                ])
            await onServerRunning(port)
        },
        logger: logger)
}

/// Timings and limits of the router that are not part of the shared configuration file. The
/// defaults suit production; tests shorten some of them.
public struct RouterTuning: Sendable {
    /// The view's loops (backstop re-sync, in-flight polling).
    public var view: FederationView.Configuration
    /// How often the router checks that Redis still holds a policy (and republishes its last
    /// document when Redis lost it, e.g. after a restart without persistence).
    public var policyCheckInterval: Duration
    /// A view older than this (time since its last successful load) is reported as stale.
    public var staleAfter: Duration
    /// How long a policy write waits for the router's own view to apply the new version before
    /// answering (`applied: false` after that; the change is stored either way).
    public var policyApplyTimeout: Duration
    /// Largest request body of the JSON APIs (route, candidates, policy).
    public var maxBodyBytes: Int

    public init(
        view: FederationView.Configuration = .init(), policyCheckInterval: Duration = .seconds(5),
        staleAfter: Duration = .seconds(15), policyApplyTimeout: Duration = .seconds(2),
        maxBodyBytes: Int = 256 << 10
    ) {
        self.view = view
        self.policyCheckInterval = policyCheckInterval
        self.staleAfter = staleAfter
        self.policyApplyTimeout = policyApplyTimeout
        self.maxBodyBytes = maxBodyBytes
    }
}
