import ArgumentParser
import FederationCtl
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `fedctl`, the operator's CLI of the federation (docs/FEDCTL.md). The logic lives in
/// FederationCtl; this is the command tree.
@main
struct Fedctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fedctl",
        abstract:
            "Operate the federation: catalog, health, circuits, routing, policy, gateways, the local cluster.",
        discussion: """
            Every subcommand prints a table by default and the service's JSON with --json. Service addresses \
            default to the local cluster (./scripts/cluster up): gateway :8080, catalog :7101, health :7102, \
            router :7103, Redis redis://127.0.0.1:6390, namespace fed. Flags, or FEDCTL_GATEWAY, FEDCTL_CATALOG, \
            FEDCTL_HEALTH, FEDCTL_ROUTER, FEDCTL_REDIS (or FED_REDIS_URL), FEDCTL_NAMESPACE (or FED_NAMESPACE) \
            and FED_ADMIN_TOKEN change them.

            Exit codes: 0 ok; 1 a service answered with an error (its message is printed) or the operation \
            failed; 2 usage; 3 a service is not reachable. docs/FEDCTL.md has every subcommand.
            """,
        subcommands: [
            Register.self, Deregister.self, Nodes.self, Models.self, Health.self, Circuits.self, Circuit.self,
            Route.self, Infer.self, Stream.self, Report.self, Stats.self, Policy.self, Cluster.self, Top.self,
        ])

    /// Parses, runs, and exits with fedctl's documented codes (ArgumentParser's usage code 64
    /// becomes 2).
    static func main() async {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let (status, message) = outcome(of: error)
            if !message.isEmpty {
                Output.write(message + "\n", to: status == 0 ? .standardOutput : .standardError)
            }
            Glibc.exit(status)
        }
    }

    /// The exit status and message for `error` (tests check both).
    static func outcome(of error: any Error) -> (status: Int32, message: String) {
        if let error = error as? CtlError { return (error.exitCode, "fedctl: \(error)") }
        let code = exitCode(for: error)
        let message = fullMessage(for: error)
        if code == .validationFailure { return (2, message) }
        return (code.rawValue, message)
    }
}

/// Writes to stdout/stderr unbuffered (each call is one write, so streamed tokens appear at once).
enum Output {
    static func write(_ text: String, to handle: FileHandle = .standardOutput) {
        handle.write(Data(text.utf8))
    }

    static func print(_ text: String) {
        write(text.hasSuffix("\n") ? text : text + "\n")
    }
}

/// `--json`, on every subcommand that reads a service.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Machine output: the service's JSON (or the shape docs/FEDCTL.md documents).")
    var json = false
}

/// Runs `body` over a ``Ctl`` for `endpoints` and prints what it returns.
func runCtl(
    _ endpoints: Endpoints, _ output: OutputOptions, _ body: (Ctl) async throws -> String
) async throws {
    try await runCtl(endpoints.urls(), output, body)
}

/// Runs `body` over a ``Ctl`` for `urls` and prints what it returns.
func runCtl(_ urls: ServiceURLs, _ output: OutputOptions, _ body: (Ctl) async throws -> String) async throws {
    let text = try await ServiceClient.with(urls) { client in
        try await body(Ctl(client: client, json: output.json))
    }
    Output.print(text)
}
