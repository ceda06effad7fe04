/// The blocking parts of ``RedisServerProcess`` (start, kill, wait for exit) for async tests: each
/// runs through ``blocking(_:)`` on a thread of its own, never on the cooperative pool.
extension RedisServerProcess {
    /// Kills the server (SIGKILL) and waits until it is gone, off the cooperative pool.
    public func kill() async {
        await blocking { self.kill() }
    }

    /// (Re)starts the server on the same port and directory, off the cooperative pool.
    public func start(timeout: Duration = .seconds(10)) async throws {
        try await blocking { try self.start(timeout: timeout) }
    }

    /// Stops the server and removes its directory, off the cooperative pool.
    public func stopAndRemove() async {
        await blocking { self.stopAndRemove() }
    }
}

/// Starts a `redis-server` of its own for `body` and stops and removes it afterwards (also when
/// `body` throws); starting and stopping run off the cooperative pool.
public func withRedisServer<T: Sendable>(
    persistent: Bool = false, password: String? = nil, extraArguments: [String] = [],
    _ body: (RedisServerProcess) async throws -> T
) async throws -> T {
    let server = try await blocking {
        try RedisServerProcess(persistent: persistent, password: password, extraArguments: extraArguments)
    }
    do {
        let result = try await body(server)
        await server.stopAndRemove()
        return result
    } catch {
        await server.stopAndRemove()
        throw error
    }
}
