import Logging
import ServiceLifecycle

/// A quiet logger for services under test (warnings and worse).
public func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .warning
    return logger
}

/// Runs `service` in a service group of its own while `body` runs, then shuts it down gracefully
/// (also when `body` throws).
public func withService<T: Sendable>(_ service: some Service, _ body: () async throws -> T) async throws -> T
{
    let group = ServiceGroup(
        configuration: .init(services: [service], gracefulShutdownSignals: [], logger: testLogger("group")))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// Where an in-process server listens, reported by its `onServerRunning`.
public final class PortBox: Sendable {
    let ports: AsyncStream<Int>
    let continuation: AsyncStream<Int>.Continuation

    public init() {
        (ports, continuation) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Called from the server's `onServerRunning`.
    public func report(_ port: Int) { continuation.yield(port) }

    /// The port, once the server listens.
    public func port() async -> Int {
        var iterator = ports.makeAsyncIterator()
        return await iterator.next() ?? 0
    }
}
