import CHiredis

#if canImport(Glibc)
    import Glibc
#endif

/// One hiredis context, used by exactly one thread (a ``RedisWorker`` or the subscriber's).
///
/// Every call blocks. Any error is sticky in hiredis, so after one the context is freed and the
/// next call reconnects — unless the reconnect backoff says to wait, then it fails fast with
/// ``RedisError/reconnecting(endpoint:retryIn:lastError:)``.
final class RedisConnection {
    let configuration: RedisConfiguration
    private var context: UnsafeMutablePointer<redisContext>?
    private var backoff: ReconnectBackoff
    private var nextAttempt: ContinuousClock.Instant?
    private var lastError = ""
    /// Successful connects so far (the first is 1); lets owners notice a reconnect.
    private(set) var connects = 0
    /// Shared with the other connections of a pool (nil for a connection of its own).
    private let pool: RedisPoolState?
    /// The pool's connect count when this connection's last connect failed.
    private var poolConnectsAtFailure = 0
    /// Finds the master on each connect when ``RedisConfiguration/sentinel`` is set.
    private let discovery: RedisSentinelDiscovery?
    /// Counts `+switch-master` announcements (nil without Sentinels, or for a one-off connection).
    private let watch: RedisSentinelWatch?
    /// The watch's count when this connection connected, and when its last connect failed.
    private var connectedGeneration = 0
    private var generationAtFailure = 0
    /// The address connected to (or last tried): the master's once the Sentinels named it.
    private(set) var endpoint: String

    init(configuration: RedisConfiguration, pool: RedisPoolState? = nil, watch: RedisSentinelWatch? = nil) {
        self.configuration = configuration
        self.pool = pool
        self.watch = watch
        self.discovery =
            watch?.discovery
            ?? configuration.sentinel.map {
                RedisSentinelDiscovery(configuration: configuration, sentinel: $0)
            }
        self.endpoint = configuration.endpoint
        self.backoff = ReconnectBackoff(
            initial: configuration.initialReconnectDelay, maximum: configuration.maximumReconnectDelay)
        RedisConnection.ignoreSIGPIPE
    }

    deinit { close() }

    /// `signal(SIGPIPE, SIG_IGN)` exactly once per process (hiredis writes with plain `write()`).
    static let ignoreSIGPIPE: Void = chiredis_ignore_sigpipe()

    var isConnected: Bool { context != nil }

    /// The socket, for callers that poll it (the subscriber); -1 when not connected.
    var fileDescriptor: Int32 { context?.pointee.fd ?? -1 }

    func close() {
        if let context { redisFree(context) }
        context = nil
    }

    /// True when a Sentinel announced a new master since this connection connected: it must be
    /// replaced (the server it talks to may be a demoted master now).
    var isStale: Bool {
        guard let watch, context != nil else { return false }
        return watch.generation != connectedGeneration
    }

    /// Connects (AUTH, SELECT) when not connected; throws when the backoff says to wait or it fails.
    func ensureConnected() throws(RedisError) {
        if let context {
            if !isStale && !Self.peerClosed(context.pointee.fd) { return }
            // The server closed this idle connection (restart, timeout, CLIENT KILL), or the
            // Sentinels switched the master: replace it before sending, so the command is not lost
            // on a connection known to be dead or sent to a server that is no longer the master.
            close()
        }
        let now = ContinuousClock.now
        // Another connection of the pool reached the server since this one failed: the server is
        // back, so waiting out this connection's own backoff would only fail commands for nothing.
        if let pool, pool.connects > poolConnectsAtFailure { nextAttempt = nil }
        // A Sentinel announced a new master since the failure: try it at once.
        if let watch, watch.generation != generationAtFailure { nextAttempt = nil }
        if let nextAttempt, now < nextAttempt {
            throw .reconnecting(endpoint: endpoint, retryIn: nextAttempt - now, lastError: lastError)
        }
        do {
            try connect()
            backoff.reset()
            nextAttempt = nil
            connects += 1
            pool?.noteConnected()
        } catch {
            close()
            poolConnectsAtFailure = pool?.connects ?? 0
            generationAtFailure = watch?.generation ?? 0
            lastError = error.description
            nextAttempt = ContinuousClock.now + backoff.nextDelay()
            throw error
        }
    }

    /// True when an idle connection's socket is readable or hung up: with no reply pending, that
    /// means the server closed it (or sent something we did not ask for).
    static func peerClosed(_ fd: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) != 0
    }

    /// How long until a reconnect may be attempted (zero when connected or due).
    var reconnectDelay: Duration {
        guard context == nil, let nextAttempt else { return .zero }
        return max(.zero, nextAttempt - ContinuousClock.now)
    }

    private func connect() throws(RedisError) {
        // Read before asking the Sentinels: a switch announced while connecting makes the next
        // command reconnect again rather than being missed.
        let generation = watch?.generation ?? 0
        var host = configuration.host
        var port = configuration.port
        if let discovery {
            let master = try discovery.masterAddress()
            host = master.host
            port = master.port
            endpoint = master.description
        }
        guard
            let ctx = redisConnectWithTimeout(
                host, Int32(clamping: port), configuration.connectTimeout.cTimeval)
        else { throw .connectionFailed(endpoint: endpoint, detail: "out of memory") }
        context = ctx
        if ctx.pointee.err != 0 {
            throw .connectionFailed(endpoint: endpoint, detail: Self.errorString(ctx))
        }
        _ = redisSetTimeout(ctx, configuration.commandTimeout.cTimeval)
        _ = redisEnableKeepAlive(ctx)
        if let password = configuration.password {
            var auth = RedisCommand("AUTH")
            if let user = configuration.username { auth = auth.appending(user) }
            auth = auth.appending(password)
            let reply: RedisValue
            do { reply = try execute(auth) } catch {
                throw .connectionFailed(endpoint: endpoint, detail: "AUTH: \(error)")
            }
            if let message = reply.errorMessage {
                throw .authenticationFailed(user: configuration.username, message: message)
            }
        }
        if configuration.database != 0 {
            let reply: RedisValue
            do { reply = try execute(RedisCommand("SELECT", String(configuration.database))) } catch {
                throw .connectionFailed(endpoint: endpoint, detail: "SELECT: \(error)")
            }
            if let message = reply.errorMessage {
                throw .connectionFailed(
                    endpoint: endpoint, detail: "SELECT \(configuration.database): \(message)")
            }
        }
        if discovery != nil { try checkMasterRole() }
        connectedGeneration = generation
    }

    /// A server the Sentinels still name as master may already be demoted (or not yet promoted):
    /// only a server that says `ROLE` master is used.
    private func checkMasterRole() throws(RedisError) {
        let reply: RedisValue
        do { reply = try execute(RedisCommand("ROLE")) } catch {
            throw .connectionFailed(endpoint: endpoint, detail: "ROLE: \(error)")
        }
        do throws(RedisSentinelError) {
            let role = try SentinelReplies.role(reply, address: endpoint)
            if role != "master" { throw RedisSentinelError.notMaster(address: endpoint, role: role) }
        } catch {
            throw .connectionFailed(endpoint: endpoint, detail: error.description)
        }
    }

    /// Sends one command and waits for its reply. Error replies are returned as ``RedisValue/error(_:)``.
    func execute(_ command: RedisCommand) throws(RedisError) -> RedisValue {
        try pipeline(CollectionOfOne(command))[0]
    }

    /// Sends all commands in one write and reads all replies (one round trip).
    func pipeline<C: Collection<RedisCommand>>(_ commands: C) throws(RedisError) -> [RedisValue] {
        guard let ctx = context else { throw .closed }
        for command in commands { append(command, to: ctx) }
        var replies: [RedisValue] = []
        replies.reserveCapacity(commands.count)
        for command in commands {
            var raw: UnsafeMutableRawPointer?
            if redisGetReply(ctx, &raw) != REDIS_OK || raw == nil {
                let error = failure(ctx, command: command)
                if let raw { freeReplyObject(raw) }
                close()
                throw error
            }
            let reply = raw!.assumingMemoryBound(to: redisReply.self)
            replies.append(RedisValue(copying: reply))
            freeReplyObject(raw)
        }
        // Written to a replica (a master demoted under us): the next command reconnects, asking
        // the Sentinels for the current master.
        if replies.contains(where: { $0.errorMessage?.contains("READONLY") == true }) { close() }
        return replies
    }

    /// Appends a command to the output buffer (no I/O). The arguments are laid out in one buffer;
    /// hiredis copies them into its output buffer before returning.
    func append(_ command: RedisCommand, to ctx: UnsafeMutablePointer<redisContext>) {
        let count = command.arguments.count
        var flat: [UInt8] = []
        flat.reserveCapacity(command.arguments.reduce(1) { $0 + $1.count })
        var offsets: [Int] = []
        var lengths: [Int] = []
        offsets.reserveCapacity(count)
        lengths.reserveCapacity(count)
        for argument in command.arguments {
            offsets.append(flat.count)
            lengths.append(argument.count)
            flat.append(contentsOf: argument)
        }
        flat.append(0)  // never empty, so every pointer is valid even for empty arguments
        flat.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!)
            var pointers: [UnsafePointer<CChar>?] = offsets.map {
                (base + $0).assumingMemoryBound(to: CChar.self)
            }
            pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { argvlen in
                    _ = redisAppendCommandArgv(ctx, Int32(count), argv.baseAddress, argvlen.baseAddress)
                }
            }
        }
    }

    /// The context's current hiredis context pointer, for the subscriber's own read loop.
    var rawContext: UnsafeMutablePointer<redisContext>? { context }

    func failure(_ ctx: UnsafeMutablePointer<redisContext>, command: RedisCommand) -> RedisError {
        let text = Self.errorString(ctx)
        if ctx.pointee.err == REDIS_ERR_IO && text.contains("temporarily unavailable") {
            return .timeout(command: command.description, after: configuration.commandTimeout)
        }
        return .connectionLost(endpoint: endpoint, detail: text.isEmpty ? "unknown error" : text)
    }

    static func errorString(_ ctx: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: ctx.pointee.errstr) { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
    }
}

extension RedisValue {
    /// Copies a hiredis reply tree (the caller frees it, exactly once).
    init(copying reply: UnsafePointer<redisReply>) {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            self = .bulk(r.len == 0 ? [] : Array(UnsafeRawBufferPointer(start: r.str, count: r.len)))
        case REDIS_REPLY_STATUS:
            self = .status(
                String(decoding: UnsafeRawBufferPointer(start: r.str, count: r.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            self = .error(String(decoding: UnsafeRawBufferPointer(start: r.str, count: r.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            self = .integer(r.integer)
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(r.elements)
            for index in 0..<r.elements {
                if let element = chiredis_reply_element(reply, index) {
                    elements.append(RedisValue(copying: element))
                } else {
                    elements.append(.null)
                }
            }
            self = .array(elements)
        default:
            self = .null
        }
    }
}

extension Duration {
    /// As a C `timeval` (microsecond precision).
    var cTimeval: timeval {
        let (seconds, attoseconds) = components
        return timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
