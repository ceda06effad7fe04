import ArgumentParser
import FederationConfig
import FederationRedis
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// The whole life of a service process, shared by every service executable: configuration (file,
/// environment, flags; a bad value stops the process with a message naming it), process bootstrap,
/// one Redis client scoped to the run, the application `build` returns run until SIGTERM/SIGINT
/// with graceful shutdown, then the client closed — also when building or running fails.
public enum ServiceMain {
    public static func run<App: ApplicationProtocol>(
        _ service: ServiceKind, options: ServiceOptions,
        build: (FederationConfiguration, RedisClient, PrometheusCollectorRegistry, Logger) async throws -> App
    ) async throws {
        try await withProcess(service, options: options) { configuration, redis, registry, logger in
            try await build(configuration, redis, registry, logger).runService()
        }
    }

    /// ``run(_:options:build:)`` for a service that is a group of its own (the gateway: the
    /// application plus its drain), run until SIGTERM/SIGINT with graceful shutdown.
    public static func runGroup(
        _ service: ServiceKind, options: ServiceOptions,
        build: (FederationConfiguration, RedisClient, PrometheusCollectorRegistry, Logger) async throws ->
            ServiceGroup
    ) async throws {
        try await withProcess(service, options: options) { configuration, redis, registry, logger in
            let group = try await build(configuration, redis, registry, logger)
            try await ServiceGroup(
                configuration: .init(
                    services: [.init(service: group)], gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger)
            ).run()
        }
    }

    /// Configuration (a bad value stops the process with a message naming it), bootstrap, and one
    /// Redis client around `body`, closed afterwards — also when `body` throws.
    private static func withProcess(
        _ service: ServiceKind, options: ServiceOptions,
        _ body: (FederationConfiguration, RedisClient, PrometheusCollectorRegistry, Logger) async throws ->
            Void
    ) async throws {
        let name = "federation-\(service.rawValue)"
        let configuration: FederationConfiguration
        let redisConfiguration: RedisConfiguration
        do {
            configuration = try options.configuration(for: service)
            redisConfiguration = try RedisConfiguration.federation(configuration)
        } catch {
            throw ValidationError("\(error)")
        }
        let registry = ProcessBootstrap.run(service: name, logLevel: configuration.logLevel)
        let logger = Logger(label: name)
        if let sentinel = redisConfiguration.sentinel {
            logger.notice(
                "Redis through Sentinel: the Sentinels name the master; redis.url's host and port are not used",
                metadata: ["redis": "\(sentinel.summary)"])
        }
        let redis = RedisClient(configuration: redisConfiguration, logger: Logger(label: "\(name).redis"))
        do {
            try await body(configuration, redis, registry, logger)
        } catch {
            await redis.close()
            throw error
        }
        await redis.close()
        logger.notice("\(name) stopped")
    }
}
