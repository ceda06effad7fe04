import FederationConfig
import FederationCore
import FederationHTTP
import FederationRedis
import FederationState
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// Builds `federation-health`: the single writer of node health and circuit breakers.
///
/// Background services (run by the application's service group, stopped gracefully): the
/// leader lease, the catalog watcher, the active prober, the report listener and the state
/// writer. HTTP: `/v1/health[/{node}]`, `/v1/circuits[/{node}]`, admin
/// `POST /v1/circuits/{node}/open|close` and `POST /v1/reports`, plus `/healthz`, `/readyz`,
/// `/metrics`. See docs/HEALTH.md.
/// - Parameters:
///   - configuration: the shared configuration (its `health` section, namespace, admin token).
///   - redis: the client for every read and write (owned by the caller, who closes it after the
///     application stopped); the report subscription uses its configuration.
///   - registry: where the metrics go (`/metrics` serves it).
///   - logger: the service's logger.
///   - clock: the wall clock for timestamps and circuit deadlines.
///   - options: lease and loop settings (defaults for production).
public func buildHealthApplication(
    configuration: FederationConfiguration, redis: RedisClient, registry: PrometheusCollectorRegistry,
    logger: Logger = Logger(label: "federation-health"), clock: any FederationClock = SystemClock(),
    options: HealthServiceOptions = .init()
) throws -> some ApplicationProtocol {
    let settings = configuration.health
    for problem in [settings.thresholds.validationProblem, settings.circuit.validationProblem].compactMap({
        $0
    }) {
        throw FederationError.invalidInput("health configuration: \(problem)")
    }
    guard Identifier.problem(with: configuration.namespace, kind: "namespace") == nil else {
        throw FederationError.invalidInput("invalid namespace '\(configuration.namespace)'")
    }
    var logger = logger
    logger[metadataKey: "instance"] = .string(options.instanceId)
    let keys = FederationKeys(namespace: configuration.namespace)
    let metrics = HealthMetrics(registry: registry)
    // With the lease, every write is fenced by the lease token (see LeaderLease).
    let fence = options.leaseEnabled ? LeaseFence(leaseKey: keys.healthLeader) : nil
    let store = RedisHealthStore(client: redis, keys: keys, clock: clock, fence: fence)
    let owner = HealthOwner(
        ledger: HealthLedger(
            thresholds: settings.thresholds, breaker: settings.circuit, writeInterval: options.writeInterval),
        metrics: metrics, logger: logger, clock: clock)

    let router = Router()
    router.addOpenAIErrors()  // unknown routes: a JSON 404, like every other error
    router.addOperationalRoutes(service: "federation-health", registry: registry) {
        // The role is information, not a check: a standby that reaches Redis is ready.
        let leader = await owner.leaderId
        let role = await owner.isLeader ? "leader" : "standby (leader: \(leader ?? "none"))"
        return Readiness(checks: ["redis": await redis.readinessCheck()], details: ["role": role])
    }
    HealthRoutes(
        owner: owner, store: store, client: redis, keys: keys, breaker: settings.circuit,
        maxReportBytes: options.maxReportBytes
    ).register(on: router, adminToken: configuration.adminToken)

    let services: [any Service] = [
        LeaderLease(
            client: redis, keys: keys, store: store, fence: fence ?? LeaseFence(leaseKey: keys.healthLeader),
            owner: owner, options: options, logger: logger),
        CatalogWatcher(
            store: RedisCatalogStore(client: redis, keys: keys, clock: clock), owner: owner,
            interval: options.catalogPollInterval, logger: logger),
        ProbeService(
            owner: owner, interval: settings.probeInterval, timeout: settings.probeTimeout, logger: logger),
        ReportService(
            feed: HealthReportFeed(configuration: redis.configuration, keys: keys, logger: logger),
            owner: owner,
            metrics: metrics, logger: logger),
        StateWriter(
            owner: owner, store: store, slots: ProbeSlots(client: redis, keys: keys), client: redis,
            fence: fence, tick: options.tickInterval,
            metrics: metrics, logger: logger),
    ]
    let onServerRunning = options.onServerRunning
    return Application(
        router: router, server: configuration.server.httpServer(logger: logger),
        configuration: configuration.server.applicationConfiguration(
            address: .hostname(settings.listen.host, port: settings.listen.port),
            serverName: "federation-health", logger: logger),
        services: services,
        onServerRunning: { channel in
            await onServerRunning(channel.localAddress?.port ?? settings.listen.port)
        },
        logger: logger)
}
