import NIOCore
import NIOPosix

// Run Swift Concurrency on NIO's event loops, so a request does not hop between the I/O threads and
// the concurrency pool on every await. Must happen before any task starts.
_ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

// What `AsyncParsableCommand.main()` does; spelled out because top-level code would pick the
// synchronous `ParsableCommand.main()`.
do {
    var command = try FederationNodeCommand.parseAsRoot()
    if let node = command as? FederationNodeCommand {
        try await node.serve()
    } else {
        try command.run()
    }
} catch {
    FederationNodeCommand.exit(withError: error)
}
