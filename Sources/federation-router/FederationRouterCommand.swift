import ArgumentParser
import FederationRouterService
import FederationServiceKit

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
        try await ServiceMain.run(.router, options: options) { configuration, redis, registry, logger in
            try buildRouterApplication(
                configuration: configuration, redis: redis, registry: registry, logger: logger)
        }
    }
}
