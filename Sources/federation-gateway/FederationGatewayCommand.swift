import ArgumentParser
import FederationGatewayService
import FederationServiceKit
import Foundation

/// `federation-gateway`: the data plane — OpenAI-compatible API in, routed over the synced view,
/// forwarded to real nodes, streamed, retried elsewhere. Runs until SIGTERM/SIGINT, then drains.
@main
struct FederationGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federation-gateway",
        abstract: "The federation's OpenAI-compatible data plane (docs/GATEWAY.md).",
        discussion:
            "Settings come from the shared YAML file (--config), then FED_* environment variables, then "
            + "these flags; each overrides the one before. The gateway listens on gateway.listen (default "
            + "127.0.0.1:8080). Run as many replicas as you like on one Redis: they share circuits, load and "
            + "rate limits through it. FED_GATEWAY_ID names the replica in {ns}:gateways (default: host name "
            + "and a random suffix).")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let tuning = GatewayTuning(gatewayId: ProcessInfo.processInfo.environment["FED_GATEWAY_ID"])
        try await ServiceMain.runGroup(.gateway, options: options) { configuration, redis, registry, logger in
            try buildGatewayApplication(
                configuration: configuration, redis: redis, registry: registry, logger: logger, tuning: tuning
            )
        }
    }
}
