import ArgumentParser
import FederationHealthService
import FederationServiceKit

/// `federation-health`: probes every node, applies reports, owns health and circuit state.
@main
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
        var serviceOptions = HealthServiceOptions()
        serviceOptions.leaseEnabled = !noLease
        if let instanceId { serviceOptions.instanceId = instanceId }
        try await ServiceMain.run(.health, options: options) { configuration, redis, registry, logger in
            try buildHealthApplication(
                configuration: configuration, redis: redis, registry: registry, logger: logger,
                options: serviceOptions)
        }
    }
}
