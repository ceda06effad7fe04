import ArgumentParser
import FederationHealthService
import FederationRedis
import FederationServiceKit
import Hummingbird
import Logging

/// `federation-health`: probes every node, applies reports, owns health and circuit state.
struct FederationHealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federation-health",
        abstract: "The single writer of node health and circuit breakers (docs/HEALTH.md).")

    @OptionGroup var options: ServiceOptions

    @Flag(name: .customLong("no-lease"), help: "Lead alone, without the leader lease (no standby replicas).")
    var noLease = false

    @Option(name: .customLong("instance-id"), help: "This instance's id in the leader lease.")
    var instanceId: String?

    func run() async throws {
        let configuration = try options.configuration(for: .health)
        let registry = ProcessBootstrap.run(service: "federation-health", logLevel: configuration.logLevel)
        let logger = Logger(label: "federation-health")
        let redis = RedisClient(
            configuration: try RedisConfiguration(url: configuration.redisURL), logger: logger)
        var serviceOptions = HealthServiceOptions()
        serviceOptions.leaseEnabled = !noLease
        if let instanceId { serviceOptions.instanceId = instanceId }
        do {
            let app = try buildHealthApplication(
                configuration: configuration, redis: redis, registry: registry, logger: logger,
                options: serviceOptions)
            // runService() installs SIGTERM/SIGINT handlers and shuts every service down gracefully.
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
    var command = try FederationHealthCommand.parseAsRoot()
    if let health = command as? FederationHealthCommand {
        try await health.run()
    } else {
        try command.run()
    }
} catch {
    FederationHealthCommand.exit(withError: error)
}
