import ArgumentParser
import FederationConfig
import FederationRedis
import FederationRouterService
import FederationServiceKit
import Hummingbird
import Logging

/// `federation-router`: owns the routing policy and answers route/explain queries with the same
/// engine the gateways use. Runs until SIGTERM/SIGINT, then shuts down gracefully.
@main
struct FederationRouterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federation-router",
        abstract: "Owns the routing policy; answers route and explain queries (docs/ROUTER.md).",
        discussion:
            "Settings come from the shared YAML file (--config), then FED_* environment variables, then "
            + "these flags; each overrides the one before. The router listens on router.listen (default "
            + "127.0.0.1:7103).")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration: FederationConfiguration
        do {
            configuration = try options.configuration(for: .router)
        } catch {
            throw ValidationError("\(error)")
        }
        let redisConfiguration: RedisConfiguration
        do {
            redisConfiguration = try RedisConfiguration(url: configuration.redisURL)
        } catch {
            throw ValidationError(error.description)
        }
        let registry = ProcessBootstrap.run(service: "federation-router", logLevel: configuration.logLevel)
        let logger = Logger(label: "federation-router")
        let redis = RedisClient(configuration: redisConfiguration, logger: Logger(label: "federation.redis"))
        do {
            let app = try buildRouterApplication(
                configuration: configuration, redis: redis, registry: registry, logger: logger)
            try await app.runService()
        } catch {
            await redis.close()
            throw error
        }
        await redis.close()
        logger.notice("federation-router stopped")
    }
}
