import FederationConfig
import FederationCore
import FederationHTTP
import FederationRedis
import FederationState
import Hummingbird
import Logging
import Prometheus

/// Builds the `federation-catalog` HTTP application over Redis: the JSON admin API, `/healthz`,
/// `/readyz` (Redis answers PING), `/metrics`, and two background services: the lease reaper and
/// the restorer that keeps the catalog's own copy and writes it back into a Redis that lost it.
///
/// Tests start it in-process with `configuration.catalog.listen.port = 0`; the executable runs it
/// with `runService()`. The caller owns `redis` (and closes it after the application stopped).
/// Any number of catalog processes may serve one namespace (docs/CATALOG.md).
/// - Parameters:
///   - reapInterval: how often expired leases are looked for.
///   - restoreInterval: how often the stored catalog version is compared with the known one.
///   - onServerRunning: called with the bound port once the server listens.
public func buildCatalogApplication(
    configuration: FederationConfiguration, redis: RedisClient, registry: PrometheusCollectorRegistry,
    logger: Logger = Logger(label: "federation-catalog"),
    reapInterval: Duration = .seconds(1), restoreInterval: Duration = .milliseconds(500),
    onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let keys = FederationKeys(namespace: configuration.namespace)
    return buildCatalogApplication(
        configuration: configuration, catalog: RedisCatalogStore(client: redis, keys: keys),
        registry: registry, logger: logger, reapInterval: reapInterval, restoreInterval: restoreInterval,
        readiness: { await redisReadiness(redis) }, onServerRunning: onServerRunning)
}

/// Builds the catalog over any store (e.g. `InMemoryCatalogStore`).
/// - Parameters:
///   - readiness: what `/readyz` checks (by default, nothing: always ready).
public func buildCatalogApplication(
    configuration: FederationConfiguration, catalog: any CatalogStore,
    registry: PrometheusCollectorRegistry, logger: Logger = Logger(label: "federation-catalog"),
    clock: any FederationClock = SystemClock(), reapInterval: Duration = .seconds(1),
    restoreInterval: Duration = .milliseconds(500),
    readiness: @escaping @Sendable () async -> Readiness = { Readiness(checks: [:]) },
    onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let metrics = CatalogMetrics(registry: registry)
    let writer = CatalogWriter(
        catalog: catalog, mirror: CatalogMirror(), clock: clock, metrics: metrics, logger: logger)
    // The configuration loader does not check the default lease: at least one second.
    let api = CatalogAPI(
        writer: writer, maxBodyBytes: configuration.catalog.maxBodyBytes,
        defaultLease: .seconds(max(1, configuration.catalog.defaultLeaseSeconds)))
    let router = Router()
    router.addOpenAIErrors()  // unknown routes: a JSON 404, like every other error
    router.add(middleware: CatalogErrorMiddleware(metrics: metrics, logger: logger))
    router.addOperationalRoutes(service: "federation-catalog", registry: registry, readiness: readiness)
    let v1 = router.group("v1").add(middleware: AdminTokenMiddleware(token: configuration.adminToken))
    api.addRoutes(to: v1)
    let listen = configuration.catalog.listen
    var app = Application(
        router: router, server: configuration.server.httpServer(logger: logger),
        configuration: configuration.server.applicationConfiguration(
            address: .hostname(listen.host, port: listen.port), serverName: "federation-catalog",
            logger: logger),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? listen.port) },
        logger: logger)
    app.addServices(
        RepeatingTask.catalogRestorer(writer: writer, interval: restoreInterval, logger: logger),
        RepeatingTask.leaseReaper(writer: writer, interval: reapInterval, logger: logger))
    return app
}

/// `/readyz`: Redis answers PING.
func redisReadiness(_ redis: RedisClient) async -> Readiness {
    Readiness(checks: ["redis": await redis.readinessCheck()])
}

/// Turns failures into OpenAI-style JSON: Redis unavailable → 503 `redis_unavailable`, a
/// ``FederationError`` → its status; counts 400/413 as validation failures.
struct CatalogErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: CatalogMetrics
    let logger: Logger

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as OpenAIError {
            if error.status == .badRequest || error.status == .contentTooLarge {
                metrics.validationFailures.increment()
            }
            throw error
        } catch let error as RedisError {
            throw unavailable(
                request, error, log: "redis unavailable", code: "redis_unavailable",
                message: "The catalog cannot reach Redis (\(error)); retry shortly.")
        } catch let error as CatalogBehindError {
            throw unavailable(
                request, error, log: "catalog behind in Redis", code: "catalog_restoring",
                message: "Redis lost the catalog and it is being restored (\(error)); retry shortly.")
        } catch let error as FederationError {
            if error.httpStatus == 400 { metrics.validationFailures.increment() }
            throw OpenAIError(error)
        }
    }

    /// A 503 with `Retry-After: 1` for a Redis that cannot take the write now; counted and logged.
    private func unavailable(
        _ request: Request, _ error: any Error, log: Logger.Message, code: String, message: String
    ) -> OpenAIError {
        metrics.redisFailures.increment()
        logger.warning(log, metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
        return OpenAIError(
            status: .serviceUnavailable, message: message, type: "server_error", code: code,
            headers: [.retryAfter: "1"])
    }
}
