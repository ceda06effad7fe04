import Logging
import Synchronization

/// A small pool of Redis connections, each owned by its own thread, usable from async code.
///
/// Blocking hiredis calls run on the pool's threads, never on Swift's cooperative pool. Commands
/// that callers send concurrently to one connection are written and read as one pipeline
/// (automatic pipelining); each caller still gets exactly its own replies. A failed
/// connection is replaced on the next command, with capped exponential backoff and jitter between
/// attempts (commands fail fast with ``RedisError/reconnecting(endpoint:retryIn:lastError:)``
/// meanwhile). Commands are not retried automatically: the caller knows whether one is idempotent.
public final class RedisClient: Sendable {
    /// The configuration the pool was built with.
    public let configuration: RedisConfiguration
    private let workers: [RedisWorker]
    private let nextWorker = Atomic<Int>(0)
    private let logger: Logger
    private let pool: RedisPoolState
    private let unreplicated = RedisCounter()

    /// Starts `configuration.poolSize` connection threads; connections are opened lazily.
    public init(configuration: RedisConfiguration, logger: Logger = Logger(label: "federation.redis")) {
        self.configuration = configuration
        self.logger = logger
        let pool = RedisPoolState(settle: configuration.availabilitySettle)
        self.pool = pool
        let watch = configuration.sentinel.map {
            RedisSentinelWatch(configuration: configuration, sentinel: $0, logger: logger)
        }
        self.sentinelWatch = watch
        watch?.start()
        let prefix = configuration.sentinel == nil ? "redis-\(configuration.endpoint)" : "redis-sentinel"
        self.workers = (0..<max(1, configuration.poolSize)).map {
            RedisWorker(
                configuration: configuration, name: "\(prefix)-\($0)", pool: pool, sentinelWatch: watch)
        }
    }

    /// Follows `+switch-master` when ``RedisConfiguration/sentinel`` is set.
    private let sentinelWatch: RedisSentinelWatch?

    /// Whether Redis is available as this client sees it, with its outage and recovery counts:
    /// down at the first connection failure, up again once commands succeed and no connection
    /// failed for ``RedisConfiguration/availabilitySettle``. One Redis restart is one outage and
    /// one recovery however many pooled connections reconnect (see ``RedisAvailability``).
    public var availability: RedisAvailability { pool.current() }

    deinit {
        for worker in workers { worker.requestStop() }
        sentinelWatch?.stop()
    }

    /// Runs `body` with a client and closes it afterwards, also when `body` throws.
    @discardableResult
    public static func withClient<T: Sendable>(
        configuration: RedisConfiguration, logger: Logger = Logger(label: "federation.redis"),
        isolation: isolated (any Actor)? = #isolation, _ body: (RedisClient) async throws -> T
    ) async throws -> T {
        let client = RedisClient(configuration: configuration, logger: logger)
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    /// Finishes queued commands, then stops the threads and closes the connections.
    public func close() async {
        for worker in workers { await worker.shutdownWithoutBlockingThePool() }
        await sentinelWatch?.stopAndWait()
    }

    private func worker() -> RedisWorker {
        let start = nextWorker.add(1, ordering: .relaxed).newValue
        var best = workers[start % workers.count]
        var bestLoad = best.pending.load(ordering: .relaxed)
        if bestLoad == 0 { return best }
        for offset in 1..<workers.count {
            let candidate = workers[(start + offset) % workers.count]
            let load = candidate.pending.load(ordering: .relaxed)
            if load < bestLoad {
                best = candidate
                bestLoad = load
            }
        }
        return best
    }

    /// Sends one command; an error reply is thrown as ``RedisError/server(command:message:)``.
    @discardableResult
    public func command(_ command: RedisCommand) async throws(RedisError) -> RedisValue {
        let reply = try await send(command)
        if let message = reply.errorMessage { throw .server(command: command.description, message: message) }
        return reply
    }

    /// Sends one text command, e.g. `try await client.command("HSET", key, "f", "v")`.
    @discardableResult
    public func command(_ arguments: String...) async throws(RedisError) -> RedisValue {
        try await command(RedisCommand(arguments: arguments.map { Array($0.utf8) }))
    }

    /// Sends one command and returns the reply as is (error replies included).
    public func send(_ command: RedisCommand) async throws(RedisError) -> RedisValue {
        try Self.checkPoolable([command])
        return try await worker().pipeline([command])[0]
    }

    /// Commands that change connection state would leak into the next caller's commands.
    static let connectionStateCommands: Set<String> = [
        "SELECT", "AUTH", "HELLO", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR", "RESET", "QUIT",
        "WATCH",
    ]

    static func checkPoolable(_ commands: [RedisCommand]) throws(RedisError) {
        for command in commands where connectionStateCommands.contains(command.name) {
            throw .unsupportedCommand(command.name)
        }
    }

    /// Sends all commands in one write and reads all replies: one round trip. Replies come back in
    /// order; error replies are values in the array, not thrown. Not atomic (see ``transaction(_:)``).
    public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RedisValue] {
        if commands.isEmpty { return [] }
        try Self.checkPoolable(commands)
        return try await worker().pipeline(commands)
    }

    /// Runs the commands atomically in `MULTI`/`EXEC`, in one round trip, and returns `EXEC`'s
    /// replies. Throws ``RedisError/transactionFailed(_:)`` when a command is rejected while queuing.
    @discardableResult
    public func transaction(_ commands: [RedisCommand]) async throws(RedisError) -> [RedisValue] {
        let replies = try await pipeline([RedisCommand("MULTI")] + commands + [RedisCommand("EXEC")])
        for (index, reply) in replies.dropLast().enumerated() {
            if let message = reply.errorMessage {
                let command = index == 0 ? "MULTI" : commands[index - 1].description
                throw .transactionFailed("\(command) was rejected: \(message)")
            }
        }
        switch replies.last! {
        case .array(let results): return results
        case .null: throw .transactionFailed("aborted because a WATCHed key changed")
        case .error(let message): throw .transactionFailed(message)
        case let other: throw .unexpectedReply(command: "EXEC", reply: other.description)
        }
    }

    /// Runs a Lua script by `EVALSHA`, loading it with `SCRIPT LOAD` when Redis answers `NOSCRIPT`
    /// (first use, after a restart or `SCRIPT FLUSH`). An error reply is thrown.
    @discardableResult
    public func evalScript(
        _ script: RedisScript, keys: [String] = [], arguments: [String] = [], mustReplicate: Bool = false
    ) async throws(RedisError) -> RedisValue {
        try await evalScript(
            script, keys: keys.map { Array($0.utf8) }, arguments: arguments.map { Array($0.utf8) },
            mustReplicate: mustReplicate)
    }

    /// ``evalScript(_:keys:arguments:)`` with binary keys and arguments.
    ///
    /// With `mustReplicate` and a ``RedisSentinelConfiguration/replicaWait`` configured, a script
    /// that succeeded is followed by `WAIT 1 <ms>` on the same connection: it returns once a replica
    /// acknowledged the write, or after the wait. A wait that ends with no replica is logged as a
    /// warning and counted in ``unreplicatedWrites``; the write stands on the master (it is not
    /// undone, and the call does not fail): a failover before the replica catches up can lose it.
    @discardableResult
    public func evalScript(
        _ script: RedisScript, keys: [[UInt8]], arguments: [[UInt8]], mustReplicate: Bool = false
    ) async throws(RedisError) -> RedisValue {
        let evalsha = script.evalsha(keys: keys, arguments: arguments)
        let logger = self.logger
        let replicaWait = mustReplicate ? configuration.sentinel?.replicaWait : nil
        let unreplicated = self.unreplicated
        let reply = try await worker().run { connection throws(RedisError) in
            let reply = try Self.evalLoading(script, evalsha, on: connection, logger: logger)
            guard let replicaWait, reply.errorMessage == nil else { return reply }
            let milliseconds = replicaWait.clampedMilliseconds
            let acknowledged = try connection.execute(RedisCommand("WAIT", "1", String(milliseconds)))
            if let message = acknowledged.errorMessage {
                throw .server(command: "WAIT 1 \(milliseconds)", message: message)
            }
            if (acknowledged.int ?? 0) < 1 {
                unreplicated.value.add(1, ordering: .relaxed)
                logger.warning(
                    "no replica acknowledged a write within the replica wait; a failover now could lose it",
                    metadata: ["script": "\(script.sha1.prefix(12))", "wait_ms": "\(milliseconds)"])
            }
            return reply
        }
        if let message = reply.errorMessage {
            throw .server(command: "EVALSHA \(script.sha1.prefix(12))", message: message)
        }
        return reply
    }

    /// Writes whose `WAIT` ended with no replica acknowledging them (see
    /// ``evalScript(_:keys:arguments:mustReplicate:)``).
    public var unreplicatedWrites: Int { unreplicated.value.load(ordering: .relaxed) }

    /// `EVALSHA`, loading the script on `NOSCRIPT`; runs on the connection's thread.
    private static func evalLoading(
        _ script: RedisScript, _ evalsha: RedisCommand, on connection: RedisConnection, logger: Logger
    ) throws(RedisError) -> RedisValue {
        try connection.ensureConnected()
        var reply = try connection.execute(evalsha)
        // Load on NOSCRIPT; retried because another client may flush scripts in between.
        for _ in 0..<3 {
            guard let message = reply.errorMessage, message.hasPrefix("NOSCRIPT") else { return reply }
            logger.debug("loading Lua script", metadata: ["sha1": "\(script.sha1)"])
            let load = try connection.execute(script.loadCommand)
            if let loadError = load.errorMessage { return .error("SCRIPT LOAD failed: \(loadError)") }
            reply = try connection.execute(evalsha)
        }
        return reply
    }
}

extension Duration {
    /// Whole milliseconds, at least 1, clamped to a day (never traps).
    var clampedMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        if seconds >= 86_400 { return 86_400_000 }
        return max(1, max(0, seconds) * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
