import ArgumentParser
import FederationCatalogService
import FederationConfig
import FederationRedis
import FederationServiceKit
import Hummingbird
import Logging

/// `federation-catalog`: who serves what. The single writer of the catalog keys in Redis, with a
/// JSON admin API and leases for self-registering nodes (docs/CATALOG.md).
struct FederationCatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federation-catalog",
        abstract: "The federation's catalog: nodes, models, deployments, leases (docs/CATALOG.md).")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration: FederationConfiguration
        do {
            configuration = try options.configuration(for: .catalog)
        } catch {
            throw ValidationError("\(error)")
        }
        let registry = ProcessBootstrap.run(service: "federation-catalog", logLevel: configuration.logLevel)
        let logger = Logger(label: "federation-catalog")
        let redisConfiguration: RedisConfiguration
        do {
            redisConfiguration = try RedisConfiguration(url: configuration.redisURL)
        } catch {
            throw ValidationError("\(error)")
        }
        let redis = RedisClient(configuration: redisConfiguration, logger: logger)
        let listen = configuration.catalog.listen
        let app = buildCatalogApplication(
            configuration: configuration, redis: redis, registry: registry, logger: logger,
            onServerRunning: { port in
                logger.info(
                    "federation-catalog listening",
                    metadata: [
                        "host": "\(listen.host)", "port": "\(port)",
                        "namespace": "\(configuration.namespace)",
                        "redis": "\(redisConfiguration.endpoint)",
                    ])
            })
        do {
            // runService() runs the server and the lease reaper in one ServiceGroup and shuts both
            // down gracefully on SIGTERM / SIGINT.
            try await app.runService()
        } catch {
            await redis.close()
            throw error
        }
        await redis.close()
    }
}

// What `AsyncParsableCommand.main()` does; spelled out because top-level code would pick the
// synchronous `ParsableCommand.main()`.
do {
    var command = try FederationCatalogCommand.parseAsRoot()
    if let catalog = command as? FederationCatalogCommand {
        try await catalog.run()
    } else {
        try command.run()
    }
} catch {
    FederationCatalogCommand.exit(withError: error)
}
