import CHiredis
import FederationRedis
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real `redis-server --sentinel` on a free loopback port in its own temporary directory (the
/// Sentinel rewrites its configuration file there), stopped by ``stop()`` or when the test process dies.
public final class RedisSentinelProcess: Sendable {
    public let port: Int
    public let directory: String
    private let process = Mutex<Process?>(nil)

    /// Starts a Sentinel monitoring `master` at `127.0.0.1:masterPort` with quorum `quorum` and
    /// short timeouts (down after `downAfterMs`, failover timeout `failoverTimeoutMs`).
    public init(
        master: String, masterPort: Int, quorum: Int, downAfterMs: Int, failoverTimeoutMs: Int
    ) throws {
        port = try freeLoopbackPort()
        directory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("fed-sentinel-\(getpid())-\(port)-\(UInt32.random(in: 0...UInt32.max))")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let conf = """
            port \(port)
            bind 127.0.0.1
            daemonize no
            protected-mode no
            dir \(directory)
            logfile \(directory)/sentinel.log
            sentinel monitor \(master) 127.0.0.1 \(masterPort) \(quorum)
            sentinel down-after-milliseconds \(master) \(downAfterMs)
            sentinel failover-timeout \(master) \(failoverTimeoutMs)
            sentinel parallel-syncs \(master) 1

            """
        let confPath = directory + "/sentinel.conf"
        try conf.write(toFile: confPath, atomically: true, encoding: .utf8)
        let sentinel = Process()
        sentinel.executableURL = URL(fileURLWithPath: RedisServerProcess.executable)
        sentinel.arguments = [confPath, "--sentinel"]
        sentinel.standardOutput = FileHandle.nullDevice
        sentinel.standardError = FileHandle.nullDevice
        try sentinel.run()
        process.withLock { $0 = sentinel }
        startOrphanWatchdog(for: sentinel.processIdentifier)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if pingPort(port) { return }
            if !sentinel.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        stop()
        throw RedisServerError(message: "redis-sentinel on port \(port) did not answer PING; log \(logFile)")
    }

    public var logFile: String { directory + "/sentinel.log" }

    /// Kills the Sentinel (SIGKILL) and waits until it is gone.
    public func stop() {
        guard let sentinel = process.withLock({ $0 }) else { return }
        Glibc.kill(sentinel.processIdentifier, SIGKILL)
        sentinel.waitUntilExit()
        process.withLock { $0 = nil }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A master, one replica (`--replicaof`) and three Sentinels (quorum 2), all real processes on
/// free loopback ports, with short failover timings. ``withSentinelSet(_:)`` starts it and waits
/// until the replica is in sync and every Sentinel knows it and the other two Sentinels (a
/// failover needs both).
public final class RedisSentinelSet: Sendable {
    public static let masterName = "fedmaster"
    public let master: RedisServerProcess
    public let replica: RedisServerProcess
    public let sentinels: [RedisSentinelProcess]

    init() throws {
        // Redis 7 delays a diskless full sync by 5 s by default; the replica must be in sync first.
        let master = try RedisServerProcess(extraArguments: ["--repl-diskless-sync-delay", "0"])
        self.master = master
        replica = try RedisServerProcess(extraArguments: ["--replicaof", "127.0.0.1", String(master.port)])
        sentinels = try (0..<3).map { _ in
            try RedisSentinelProcess(
                master: RedisSentinelSet.masterName, masterPort: master.port, quorum: 2, downAfterMs: 1000,
                failoverTimeoutMs: 3000)
        }
    }

    /// `127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3` (the `FED_REDIS_SENTINELS` form).
    public var sentinelList: String { sentinels.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") }

    /// A client configuration that finds the master through the Sentinels.
    public func configuration(poolSize: Int = 2) throws -> RedisConfiguration {
        var configuration = RedisConfiguration(
            initialReconnectDelay: .milliseconds(20), maximumReconnectDelay: .milliseconds(500),
            poolSize: poolSize)
        configuration.sentinel = try RedisSentinelConfiguration(
            sentinels: sentinels.map { .init(host: "127.0.0.1", port: $0.port) }, masterName: Self.masterName)
        return configuration
    }

    /// Asks Sentinel `index` for the master's port (nil when it does not know, or is unreachable).
    public func masterPort(askingSentinel index: Int = 0) async -> Int? {
        let configuration = RedisConfiguration(
            host: "127.0.0.1", port: sentinels[index].port, connectTimeout: .milliseconds(500),
            commandTimeout: .milliseconds(500), poolSize: 1)
        return try? await RedisClient.withClient(configuration: configuration) { client in
            let reply = try await client.command("SENTINEL", "get-master-addr-by-name", Self.masterName)
            return reply.array.flatMap { $0.count == 2 ? $0[1].string.flatMap { Int($0) } : nil }
        }
    }

    /// Whether the replica is in sync and every Sentinel sees it and the two other Sentinels.
    public func isReady() async -> Bool {
        let replication =
            try? await RedisClient.withClient(
                configuration: RedisConfiguration(
                    port: replica.port, connectTimeout: .milliseconds(500), poolSize: 1)
            ) { try await $0.command("INFO", "replication").string }
        guard replication?.contains("master_link_status:up") == true else { return false }
        for sentinel in sentinels {
            let configuration = RedisConfiguration(
                host: "127.0.0.1", port: sentinel.port, connectTimeout: .milliseconds(500),
                commandTimeout: .milliseconds(500), poolSize: 1)
            let ready =
                (try? await RedisClient.withClient(configuration: configuration) { client in
                    let fields =
                        try await client.command("SENTINEL", "master", Self.masterName).hashFields ?? [:]
                    return fields["num-slaves"] == "1" && fields["num-other-sentinels"] == "2"
                }) ?? false
            if !ready { return false }
        }
        return true
    }

    /// Log files of every process, for failure messages.
    public var logFiles: [String] { [master.logFile, replica.logFile] + sentinels.map(\.logFile) }

    func stopAndRemove() {
        for sentinel in sentinels {
            sentinel.stop()
            try? FileManager.default.removeItem(atPath: sentinel.directory)
        }
        replica.stopAndRemove()
        master.stopAndRemove()
    }
}

/// Starts a ``RedisSentinelSet``, waits (at most 30 s) until its Sentinels can fail over, runs
/// `body`, and stops and removes every process and directory afterwards, also when `body` throws.
public func withSentinelSet<T: Sendable>(_ body: (RedisSentinelSet) async throws -> T) async throws -> T {
    let set = try await blocking { try RedisSentinelSet() }
    do {
        let deadline = ContinuousClock.now + .seconds(30)
        while !(await set.isReady()) {
            if ContinuousClock.now > deadline {
                throw RedisServerError(
                    message: "the Sentinels did not discover the replica and each other within 30 s; logs: "
                        + set.logFiles.joined(separator: ", "))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let result = try await body(set)
        await blocking { set.stopAndRemove() }
        return result
    } catch {
        await blocking { set.stopAndRemove() }
        throw error
    }
}

/// True when something on `127.0.0.1:port` answers PING with PONG.
func pingPort(_ port: Int) -> Bool {
    let timeout = timeval(tv_sec: 0, tv_usec: 200_000)
    guard let ctx = redisConnectWithTimeout("127.0.0.1", Int32(clamping: port), timeout) else { return false }
    defer { redisFree(ctx) }
    if ctx.pointee.err != 0 { return false }
    _ = redisSetTimeout(ctx, timeout)
    var argument: [CChar] = Array("PING".utf8CString)
    return argument.withUnsafeMutableBufferPointer { buffer in
        var argv: [UnsafePointer<CChar>?] = [UnsafePointer(buffer.baseAddress)]
        var lengths = [4]
        guard let raw = redisCommandArgv(ctx, 1, &argv, &lengths) else { return false }
        defer { freeReplyObject(raw) }
        guard let str = raw.assumingMemoryBound(to: redisReply.self).pointee.str else { return false }
        return String(cString: str) == "PONG"
    }
}
