import ArgumentParser
import FederationCtl
import FederationTop
import Foundation

/// `fedctl top`: the live dashboard (FederationTop, docs/TOP.md) over the same service options as
/// every other subcommand.
struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A live terminal dashboard: catalog, health, routing decisions, circuits, stats, policy.",
        discussion: """
            Tabs: 1 Catalog, 2 Health, 3 Routing (the gateways' recent decisions), 4 Circuits, 5 Stats, \
            6 Policies, ? Help. Keys: 1–6 and ?, Tab / Shift-Tab, j/k or the arrows to scroll, q or Ctrl-C \
            to quit (the terminal is restored). Without --gateway, --also-gateway or FEDCTL_GATEWAY it \
            shows both local replicas (:8080 and :8081). docs/TOP.md.
            """)

    @OptionGroup var endpoints: Endpoints
    @Option(
        name: .customLong("also-gateway"),
        help: "Another gateway replica to show beside --gateway (repeat for each).")
    var alsoGateways: [String] = []
    @Option(help: "Seconds between refreshes (0.1 … 3600).") var interval: Double = 1

    func validate() throws {
        guard interval.isFinite, interval >= 0.1, interval <= 3600 else {
            throw ValidationError("--interval must be a number of seconds in 0.1 … 3600 (got \(interval)).")
        }
        for gateway in alsoGateways where Endpoints.normalizedHTTP(gateway) == nil {
            throw ValidationError("--also-gateway '\(gateway)' is not an http:// or https:// URL with a host")
        }
    }

    /// The replicas to show: `--gateway` (or FEDCTL_GATEWAY) and every `--also-gateway`; both local
    /// replicas when none is named.
    func gatewayURLs(environment: [String: String]) -> [String] {
        let named =
            endpoints.gateway != nil || !(environment[ServiceKind.gateway.environmentVariable] ?? "").isEmpty
        guard named || !alsoGateways.isEmpty else { return TopOptions().gateways }
        return [endpoints.urls(environment: environment).gateway]
            + alsoGateways.compactMap(Endpoints.normalizedHTTP)
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let urls = endpoints.urls(environment: environment)
        try await TopProgram.run(
            TopOptions(
                catalog: urls.catalog, health: urls.health, router: urls.router,
                gateways: gatewayURLs(environment: environment), adminToken: urls.adminToken,
                interval: .milliseconds(Int64((interval * 1000).rounded()))))
    }
}
