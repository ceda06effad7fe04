import ArgumentParser
import FederationTop

/// A stand-alone runner of the dashboard (`fedctl top` runs the same ``TopProgram``).
@main
struct FedTop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fedtop", abstract: "The federation's live terminal dashboard (same as `fedctl top`).")

    @Option(help: "The catalog's base URL.") var catalog = "http://127.0.0.1:7101"
    @Option(help: "The health service's base URL.") var health = "http://127.0.0.1:7102"
    @Option(help: "The router's base URL.") var router = "http://127.0.0.1:7103"
    @Option(name: .customLong("gateway"), help: "A gateway replica's base URL (repeat for each).")
    var gateways: [String] = []
    @Option(name: .customLong("admin-token"), help: "Sent as a bearer token (reads are open).")
    var adminToken: String?
    @Option(help: "Seconds between refreshes (0.1 … 3600).") var interval: Double = 1

    func validate() throws {
        guard interval.isFinite, interval >= 0.1, interval <= 3600 else {
            throw ValidationError("--interval must be a number of seconds in 0.1 … 3600 (got \(interval)).")
        }
    }

    func run() async throws {
        let defaults = TopOptions()
        try await TopProgram.run(
            TopOptions(
                catalog: catalog, health: health, router: router,
                gateways: gateways.isEmpty ? defaults.gateways : gateways, adminToken: adminToken,
                interval: .milliseconds(Int64((interval * 1000).rounded()))))
    }
}
