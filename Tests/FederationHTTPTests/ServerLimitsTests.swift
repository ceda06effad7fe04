import FederationCore
import FederationHTTP
import FederationTestSupport
import Hummingbird
import Logging
import ServiceLifecycle
import Testing

/// A real server built the way every service builds it (`ServerLimits.httpServer` and
/// `applicationConfiguration`), driven by raw TCP clients. Run as a service rather than with
/// HummingbirdTesting's `.live`, which rebuilds the configuration without the connection cap.
func withLimitedServer(
    _ limits: ServerLimits, _ body: @Sendable (_ port: Int) async throws -> Void
) async throws {
    let router = Router()
    router.get("ok") { _, _ in "ok" }
    var logger = Logger(label: "server-limits-test")
    logger.logLevel = .warning
    let (ports, announce) = AsyncStream<Int>.makeStream()
    let app = Application(
        router: router, server: limits.httpServer(logger: logger),
        configuration: limits.applicationConfiguration(
            address: .hostname("127.0.0.1", port: 0), serverName: "limits-test", logger: logger),
        onServerRunning: { channel in announce.yield(channel.localAddress?.port ?? 0) },
        logger: logger)
    let services = ServiceGroup(
        configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await services.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        do {
            try await body(port)
        } catch {
            await services.triggerGracefulShutdown()
            throw error
        }
        await services.triggerGracefulShutdown()
        try await group.waitForAll()
    }
}

let plainRequest = "GET /ok HTTP/1.1\r\nHost: test\r\n\r\n"

@Suite("Server limits: header-read timeout, idle timeout, connection cap")
struct ServerLimitsTests {
    @Test("a slowloris client trickling a header byte every 200 ms is closed after the header timeout")
    func slowloris() async throws {
        try await withLimitedServer(ServerLimits(headerTimeout: .seconds(1), idleTimeout: .seconds(60))) {
            port in
            // Before the connect: the server's timer starts when it accepts, which a loaded machine
            // may do well before the client's connect call returns.
            let start = ContinuousClock.now
            let connection = try await RawConnection.connectAndSend(
                port: port, "GET /ok HTTP/1.1\r\nHost: test\r\nX-Slow: ")
            // Far more bytes than the timeout allows time for; the server must not wait for them.
            for _ in 0..<150 where !connection.isClosed {
                try? await connection.send("a")
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(connection.isClosed, "the server held a trickling connection for 30 s")
            // A floor the server guarantees, not a speed threshold.
            #expect(ContinuousClock.now - start >= .seconds(1))
            #expect(connection.text.hasPrefix("HTTP/1.1 408"), "\(connection.text)")
            await connection.close()
        }
    }

    @Test("a header that completes in time is served on the same connection")
    func promptHeader() async throws {
        try await withLimitedServer(ServerLimits(headerTimeout: .seconds(1), idleTimeout: .seconds(60))) {
            port in
            let connection = try await RawConnection.connectAndSend(port: port, plainRequest)
            #expect(try await connection.waitFor("\r\n\r\nok", timeout: .seconds(30)), "\(connection.text)")
            // Past the header timeout: a connection whose head arrived is not closed by it.
            try await Task.sleep(for: .milliseconds(1500))
            #expect(!connection.isClosed)
            await connection.close()
        }
    }

    @Test("an idle keep-alive connection is closed after the idle timeout")
    func idleKeepAlive() async throws {
        try await withLimitedServer(ServerLimits(headerTimeout: .seconds(30), idleTimeout: .seconds(1))) {
            port in
            let connection = try await RawConnection.connect(port: port)
            try await connection.send(plainRequest)
            #expect(try await connection.waitFor("\r\n\r\nok", timeout: .seconds(30)))
            // (That a connection is not closed before its idle timeout is shown by promptHeader.)
            #expect(try await connection.waitUntilClosed(timeout: .seconds(30)), "idle connection kept open")
        }
    }

    @Test("beyond the cap a connection is not served until one closes; the others still are")
    func connectionCap() async throws {
        let limits = ServerLimits(headerTimeout: .seconds(60), idleTimeout: .seconds(60), maxConnections: 2)
        try await withLimitedServer(limits) { port in
            let first = try await RawConnection.connect(port: port)
            let second = try await RawConnection.connect(port: port)
            for connection in [first, second] {
                try await connection.send(plainRequest)
                #expect(try await connection.waitFor("\r\n\r\nok", timeout: .seconds(30)))
            }
            let third = try await RawConnection.connect(port: port)
            try await third.send(plainRequest)
            // The two held connections are still answered while the third waits.
            try await first.send(plainRequest)
            #expect(try await first.waitFor("\r\n\r\nok", occurrences: 2, timeout: .seconds(30)))
            try await Task.sleep(for: .milliseconds(500))
            #expect(third.text.isEmpty, "served beyond the cap: \(third.text)")
            await second.close()
            #expect(
                try await third.waitFor("\r\n\r\nok", timeout: .seconds(30)), "not served after a slot freed")
            await first.close()
            await third.close()
        }
    }
}
