import ArgumentParser
import FederationCatalogService
import FederationServiceKit

/// `federation-catalog`: who serves what. The owner of the catalog keys in Redis (any number of
/// processes per namespace), with a JSON admin API and leases for self-registering nodes
/// (docs/CATALOG.md).
@main
struct FederationCatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federation-catalog",
        abstract: "The federation's catalog: nodes, models, deployments, leases (docs/CATALOG.md).")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceMain.run(.catalog, options: options) { configuration, redis, registry, logger in
            let listen = configuration.catalog.listen
            return buildCatalogApplication(
                configuration: configuration, redis: redis, registry: registry, logger: logger,
                onServerRunning: { port in
                    logger.info(
                        "federation-catalog listening",
                        metadata: [
                            "host": "\(listen.host)", "port": "\(port)",
                            "namespace": "\(configuration.namespace)",
                        ])
                })
        }
    }
}
