import CHiredis
import FederationRedis
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real `redis-server` for tests and benchmarks: started on a free loopback port in its own
/// temporary directory, ready once it answers `PING`, stopped by ``stop()`` — and, should the test
/// process die first, by a small watchdog that kills it when the parent is gone.
///
/// ``kill()`` (SIGKILL) and ``start()`` again reuse the same port and directory, for restart tests;
/// with `persistent: true` the server runs with `appendonly yes` (fsync always) so hashes survive.
public final class RedisServerProcess: Sendable {
    /// The TCP port (loopback).
    public let port: Int
    /// The server's working directory (AOF, log).
    public let directory: String
    /// `requirepass`, when set.
    public let password: String?
    /// Whether data survives a restart (AOF).
    public let persistent: Bool
    private let process = Mutex<Process?>(nil)

    /// The executable; `REDIS_SERVER` overrides the default `/usr/bin/redis-server`.
    public static var executable: String {
        ProcessInfo.processInfo.environment["REDIS_SERVER"] ?? "/usr/bin/redis-server"
    }

    /// Starts a server (blocking until it answers PING, at most `startTimeout`).
    public init(
        persistent: Bool = false, password: String? = nil, extraArguments: [String] = [],
        startTimeout: Duration = .seconds(10)
    ) throws {
        self.port = try freeLoopbackPort()
        self.directory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("fed-redis-\(getpid())-\(port)-\(UInt32.random(in: 0...UInt32.max))").path
        self.password = password
        self.persistent = persistent
        self.extraArguments = extraArguments
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try start(timeout: startTimeout)
    }

    private let extraArguments: [String]

    /// One server shared by all tests of this process (started on first use, killed at exit).
    public static let shared: RedisServerProcess = {
        let server = try! RedisServerProcess()
        sharedPid.store(server.pid, ordering: .relaxed)
        atexit {
            let pid = RedisServerProcess.sharedPid.load(ordering: .relaxed)
            if pid > 0 { Glibc.kill(pid, SIGKILL) }
        }
        return server
    }()
    private static let sharedPid = Atomic<Int32>(0)

    /// A client configuration for this server.
    public func configuration(poolSize: Int = 2, commandTimeout: Duration = .seconds(2)) -> RedisConfiguration
    {
        RedisConfiguration(
            host: "127.0.0.1", port: port, password: password, commandTimeout: commandTimeout,
            initialReconnectDelay: .milliseconds(20), maximumReconnectDelay: .milliseconds(500),
            poolSize: poolSize)
    }

    /// `redis://…` for this server.
    public var url: String { "redis://" + (password.map { ":\($0)@" } ?? "") + "127.0.0.1:\(port)" }

    /// The path of the server log (shown in failure messages).
    public var logFile: String { directory + "/redis.log" }

    /// The running server's process id (0 when stopped).
    public var pid: Int32 { process.withLock { $0?.processIdentifier ?? 0 } }

    /// (Re)starts the server on the same port and directory and waits until it answers PING.
    public func start(timeout: Duration = .seconds(10)) throws {
        var arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--dir", directory, "--logfile", logFile,
            "--daemonize", "no", "--save", "", "--protected-mode", "no", "--enable-debug-command", "local",
        ]
        arguments +=
            persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]
        if let password { arguments += ["--requirepass", password] }
        arguments += extraArguments
        let server = Process()
        server.executableURL = URL(fileURLWithPath: Self.executable)
        server.arguments = arguments
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        process.withLock { $0 = server }
        startOrphanWatchdog(for: server.processIdentifier)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if ping() { return }
            if !server.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        stop()
        let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "(no log)"
        throw RedisServerError(
            message: "redis-server on port \(port) did not answer PING; log \(logFile):\n\(log.suffix(2000))")
    }

    /// Kills the server with SIGKILL (a crash: no shutdown save) and waits until it is gone.
    public func kill() {
        guard let server = process.withLock({ $0 }) else { return }
        Glibc.kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
        process.withLock { $0 = nil }
    }

    /// Stops the server and waits until it is gone. It is killed (SIGKILL): a test server has
    /// nothing to save that the AOF (fsync always) does not already hold, and a SIGTERM shutdown
    /// costs seconds per server.
    public func stop() { kill() }

    /// Stops the server and removes its directory.
    public func stopAndRemove() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit {
        if let server = process.withLock({ $0 }), server.isRunning {
            Glibc.kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// True when the server answers PING (AUTH first when it has a password).
    public func ping() -> Bool {
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        guard let ctx = redisConnectWithTimeout("127.0.0.1", Int32(port), tv) else { return false }
        defer { redisFree(ctx) }
        if ctx.pointee.err != 0 { return false }
        _ = redisSetTimeout(ctx, tv)
        tv.tv_sec = 0
        var args = password.map { ["AUTH", $0, "PING"] } ?? ["PING"]
        var ok = false
        func run(_ argv: [String]) -> String? {
            let cStrings = argv.map { strdup($0) }
            defer { cStrings.forEach { free($0) } }
            var pointers = cStrings.map { UnsafePointer<CChar>($0) }
            var lengths = argv.map { $0.utf8.count }
            guard let raw = redisCommandArgv(ctx, Int32(argv.count), &pointers, &lengths) else { return nil }
            defer { freeReplyObject(raw) }
            let reply = raw.assumingMemoryBound(to: redisReply.self).pointee
            guard let str = reply.str else { return nil }
            return String(cString: str)
        }
        if args.count == 3 {
            _ = run(Array(args[0...1]))
            args = ["PING"]
        }
        ok = run(args) == "PONG"
        return ok
    }
}

/// redis-server could not be started or stopped.
public struct RedisServerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// A key namespace no other test uses, e.g. `t-3f9a2c1e`.
public func uniqueNamespace(_ prefix: String = "t") -> String {
    "\(prefix)-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
}
