import CHiredis
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a ``RedisSubscriber`` reports.
public enum RedisSubscriberEvent: Sendable, Equatable {
    /// The first subscription is in place; messages published from now on arrive.
    case subscribed
    /// The subscription was lost and is back. Messages published in between are lost: owners must
    /// re-sync their state from the hashes now.
    case reconnected
    /// The connection was lost (the text says why); a reconnect is under way.
    case disconnected(String)
    /// A message on a subscribed channel (`pattern` is set for pattern subscriptions).
    case message(channel: String, payload: [UInt8], pattern: String?)
}

/// A pub/sub subscriber on its own connection and its own thread, that survives Redis restarts.
///
/// The thread polls the socket with a timeout (and a wake-up pipe), so ``stop()`` takes effect at
/// once. After any error it reconnects with capped exponential backoff and jitter, subscribes
/// again and emits ``RedisSubscriberEvent/reconnected``. A silent connection is detected by a
/// `PING` after `pingInterval` of quiet. Events are delivered through ``events`` (one consumer).
public final class RedisSubscriber: Sendable {
    /// The events, in order. Finishes after ``stop()``.
    public let events: AsyncStream<RedisSubscriberEvent>
    private let continuation: AsyncStream<RedisSubscriberEvent>.Continuation
    private let configuration: RedisConfiguration
    /// The servers subscribed to, one at a time; after a failure the next one is tried (the
    /// Sentinels, for a ``RedisSentinelWatch``). One entry, ``configuration``, otherwise.
    private let endpoints: [RedisConfiguration]
    /// When set, events go here (on the subscriber's thread) instead of ``events``.
    private let handler: (@Sendable (RedisSubscriberEvent) -> Void)?
    private let channels: [String]
    private let patterns: [String]
    private let pingInterval: Duration
    private let logger: Logger
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let state = Mutex(State())
    private let connected = Atomic<Bool>(false)
    private let dropped = Atomic<Int>(0)
    private let finished = DispatchSemaphore(value: 0)

    private struct State {
        var started = false
        var stopping = false
    }

    /// - Parameters:
    ///   - bufferLimit: events kept while the consumer is slow; older ones beyond it are dropped
    ///     (and counted in ``droppedEvents``) — versioned state recovers through re-sync.
    public convenience init(
        configuration: RedisConfiguration, channels: [String], patterns: [String] = [],
        pingInterval: Duration = .seconds(5), bufferLimit: Int = 10_000,
        logger: Logger = Logger(label: "federation.redis.subscriber")
    ) {
        self.init(
            endpoints: [configuration], channels: channels, patterns: patterns, pingInterval: pingInterval,
            bufferLimit: bufferLimit, logger: logger, handler: nil)
    }

    /// A subscriber that tries `endpoints` in turn, delivering to `handler` when one is given.
    init(
        endpoints: [RedisConfiguration], channels: [String], patterns: [String] = [],
        pingInterval: Duration = .seconds(5), bufferLimit: Int = 10_000,
        logger: Logger = Logger(label: "federation.redis.subscriber"),
        handler: (@Sendable (RedisSubscriberEvent) -> Void)?
    ) {
        (events, continuation) = AsyncStream.makeStream(
            of: RedisSubscriberEvent.self, bufferingPolicy: .bufferingNewest(bufferLimit))
        self.configuration = endpoints[0]
        self.endpoints = endpoints
        self.handler = handler
        self.channels = channels
        self.patterns = patterns
        self.pingInterval = pingInterval
        self.logger = logger
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { fatalError("pipe() failed: \(errno)") }
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        (wakeRead, wakeWrite) = (fds[0], fds[1])
        RedisConnection.ignoreSIGPIPE
    }

    deinit {
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
    }

    /// Runs `body` with a started subscriber and stops it afterwards (waiting for its thread).
    @discardableResult
    public static func withSubscriber<T: Sendable>(
        configuration: RedisConfiguration, channels: [String], patterns: [String] = [],
        pingInterval: Duration = .seconds(5), logger: Logger = Logger(label: "federation.redis.subscriber"),
        isolation: isolated (any Actor)? = #isolation, _ body: (RedisSubscriber) async throws -> T
    ) async throws -> T {
        let subscriber = RedisSubscriber(
            configuration: configuration, channels: channels, patterns: patterns, pingInterval: pingInterval,
            logger: logger)
        subscriber.start()
        do {
            let result = try await body(subscriber)
            await subscriber.stopAndWait()
            return result
        } catch {
            await subscriber.stopAndWait()
            throw error
        }
    }

    /// True while subscribed.
    public var isConnected: Bool { connected.load(ordering: .relaxed) }

    /// Events dropped because the consumer fell more than `bufferLimit` behind.
    public var droppedEvents: Int { dropped.load(ordering: .relaxed) }

    /// Starts the subscriber thread (once).
    public func start() {
        let first = state.withLock { state in
            defer { state.started = true }
            return !state.started && !state.stopping
        }
        guard first else { return }
        continuation.onTermination = { [weak self] _ in self?.stop() }
        let thread = Thread { [self] in
            self.runLoop()
            self.connected.store(false, ordering: .relaxed)
            self.continuation.finish()
            self.finished.signal()
        }
        thread.name = "redis-subscriber"
        thread.start()
    }

    /// Asks the thread to stop (returns at once); ``events`` finishes shortly after.
    public func stop() {
        let wasRunning = state.withLock { state in
            defer { state.stopping = true }
            return state.started && !state.stopping
        }
        if wasRunning {
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        } else {
            continuation.finish()
        }
    }

    /// ``stop()`` and waits (off the cooperative pool) until the thread has ended.
    public func stopAndWait() async {
        let started = state.withLock { $0.started }
        stop()
        guard started else { return }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let waiter = Thread { [self] in
                self.finished.wait()
                self.finished.signal()  // later waiters pass too
                done.resume()
            }
            waiter.start()
        }
    }

    /// ``stop()`` and blocks until the thread has ended (from a thread that may block).
    func stopAndWaitBlocking() {
        let started = state.withLock { $0.started }
        stop()
        guard started else { return }
        finished.wait()
        finished.signal()  // later waiters pass too
    }

    private var stopping: Bool { state.withLock { $0.stopping } }

    /// Waits up to `duration` or until ``stop()``; returns false when stopping.
    private func sleep(_ duration: Duration) -> Bool {
        var fd = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(
            clamping: max(
                1,
                duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000))
        _ = poll(&fd, 1, milliseconds)
        return !stopping
    }

    func emit(_ event: RedisSubscriberEvent) {
        if let handler { return handler(event) }
        if case .dropped = continuation.yield(event) { dropped.add(1, ordering: .relaxed) }
    }

    private func runLoop() {
        // Subscribed to a Sentinel-managed master: follow `+switch-master` on a watch of our own.
        let watch = configuration.sentinel.map {
            RedisSentinelWatch(configuration: configuration, sentinel: $0, logger: logger)
        }
        watch?.start()
        defer { watch?.stopAndWaitBlocking() }
        var endpointIndex = 0
        var connection = RedisConnection(configuration: endpoints[0], watch: watch)
        defer { connection.close() }
        /// After a failure with several endpoints, the next one (with a fresh backoff).
        func rotate() {
            guard endpoints.count > 1 else { return }
            connection.close()
            endpointIndex = (endpointIndex + 1) % endpoints.count
            connection = RedisConnection(configuration: endpoints[endpointIndex], watch: watch)
        }
        var everSubscribed = false
        var session = SubscriberSession(pingInterval: pingInterval, pongTimeout: configuration.commandTimeout)
        while !stopping {
            if !connection.isConnected {
                do throws(RedisError) {
                    try connection.ensureConnected()
                    try subscribe(connection)
                } catch {
                    connection.close()
                    logger.debug("subscriber connect failed", metadata: ["error": "\(error)"])
                    var delay = max(
                        connection.reconnectDelay,
                        endpoints.count > 1 ? .milliseconds(100) : .milliseconds(10))
                    // With Sentinels, look again soon: a `+switch-master` ends the backoff at once.
                    if watch != nil { delay = min(delay, .milliseconds(250)) }
                    rotate()
                    guard sleep(delay) else { return }
                    continue
                }
                connected.store(true, ordering: .relaxed)
                session = SubscriberSession(
                    pingInterval: pingInterval, pongTimeout: configuration.commandTimeout)
                emit(everSubscribed ? .reconnected : .subscribed)
                if everSubscribed {
                    logger.info("subscriber reconnected", metadata: ["endpoint": "\(connection.endpoint)"])
                }
                everSubscribed = true
            }
            if let problem = readOnce(connection, session: &session) {
                connection.close()
                connected.store(false, ordering: .relaxed)
                logger.warning("subscriber connection lost", metadata: ["error": "\(problem)"])
                emit(.disconnected(problem))
                rotate()
            }
        }
    }

    private func subscribe(_ connection: RedisConnection) throws(RedisError) {
        let commands =
            channels.map { RedisCommand("SUBSCRIBE", $0) } + patterns.map { RedisCommand("PSUBSCRIBE", $0) }
        for reply in try connection.pipeline(commands) {
            if let message = reply.errorMessage { throw .server(command: "SUBSCRIBE", message: message) }
        }
    }

    /// Waits for data (or the poll timeout) and handles whatever arrived. Returns a problem text
    /// when the connection must be replaced, nil otherwise (also when stopping).
    private func readOnce(_ connection: RedisConnection, session: inout SubscriberSession) -> String? {
        guard let ctx = connection.rawContext else { return "not connected" }
        var fds = [
            pollfd(fd: ctx.pointee.fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        ]
        let ready = poll(&fds, 2, 250)
        if ready < 0 { return errno == EINTR ? nil : "poll failed: \(errno)" }
        if fds[1].revents != 0 { return nil }  // woken by stop()
        if connection.isStale { return "a Sentinel announced a new master" }
        let now = ContinuousClock.now
        if fds[0].revents == 0 {
            switch session.onIdle(now: now) {
            case .nothing: return nil
            case .sendPing:
                connection.append(RedisCommand("PING"), to: ctx)
                var done: Int32 = 0
                while done == 0 {
                    if redisBufferWrite(ctx, &done) != REDIS_OK {
                        return "write failed: \(RedisConnection.errorString(ctx))"
                    }
                }
                return nil
            case .dead: return "no PONG within \(configuration.commandTimeout)"
            }
        }
        if redisBufferRead(ctx) != REDIS_OK {
            let text = RedisConnection.errorString(ctx)
            return text.isEmpty ? "read failed" : text
        }
        session.onActivity(now: now)
        while true {
            var raw: UnsafeMutableRawPointer?
            if redisGetReplyFromReader(ctx, &raw) != REDIS_OK {
                return "protocol error: \(RedisConnection.errorString(ctx))"
            }
            guard let raw else { return nil }
            let value = RedisValue(copying: raw.assumingMemoryBound(to: redisReply.self))
            freeReplyObject(raw)
            handle(value)
        }
    }

    private func handle(_ value: RedisValue) {
        guard let parts = value.array, let kind = parts.first?.string else { return }
        switch kind {
        case "message" where parts.count == 3:
            emit(.message(channel: parts[1].string ?? "", payload: parts[2].bytes ?? [], pattern: nil))
        case "pmessage" where parts.count == 4:
            emit(
                .message(
                    channel: parts[2].string ?? "", payload: parts[3].bytes ?? [], pattern: parts[1].string))
        default:
            break  // subscribe confirmations, pong
        }
    }
}

/// The subscriber's keep-alive rule, apart from I/O: after `pingInterval` without traffic send a
/// PING; when no traffic follows within `pongTimeout`, the connection is dead.
struct SubscriberSession {
    enum Action: Equatable { case nothing, sendPing, dead }
    let pingInterval: Duration
    let pongTimeout: Duration
    private var lastActivity = ContinuousClock.now
    private var pingSentAt: ContinuousClock.Instant?

    init(pingInterval: Duration, pongTimeout: Duration) {
        self.pingInterval = pingInterval
        self.pongTimeout = pongTimeout
    }

    mutating func onActivity(now: ContinuousClock.Instant) {
        lastActivity = now
        pingSentAt = nil
    }

    mutating func onIdle(now: ContinuousClock.Instant) -> Action {
        if let pingSentAt {
            return now - pingSentAt > pongTimeout ? .dead : .nothing
        }
        if now - lastActivity >= pingInterval {
            pingSentAt = now
            return .sendPing
        }
        return .nothing
    }
}
