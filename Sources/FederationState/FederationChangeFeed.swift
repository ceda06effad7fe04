import FederationCore
import FederationRedis
import Logging
import Synchronization

/// What a view hears about changes to the shared state.
public enum FederationChange: Sendable, Equatable {
    /// Listening has started; anything written before may have been missed: sync now.
    case connected
    /// Listening resumed after a loss; events in between are lost: re-sync everything now.
    case resync
    /// Listening stopped (the text says why); a reconnect is under way.
    case disconnected(String)
    /// A family changed.
    case event(FederationEvent)
    /// A message that is not a valid event (counted and ignored by views).
    case malformed(channel: String, problem: String)
}

/// A source of ``FederationChange``s: Redis pub/sub, or an in-memory bus.
public protocol FederationChangeFeed: Sendable {
    /// Starts listening, runs `body` with the changes, stops listening when `body` returns.
    func withChanges<T: Sendable>(_ body: (AsyncStream<FederationChange>) async throws -> T) async throws -> T
}

/// ``FederationChangeFeed`` over a ``RedisSubscriber`` on the three `{ns}:events:*` channels.
public struct RedisChangeFeed: FederationChangeFeed {
    public let configuration: RedisConfiguration
    public let keys: FederationKeys
    public let pingInterval: Duration
    let logger: Logger

    public init(
        configuration: RedisConfiguration, keys: FederationKeys = .init(),
        pingInterval: Duration = .seconds(5),
        logger: Logger = Logger(label: "federation.changes")
    ) {
        self.configuration = configuration
        self.keys = keys
        self.pingInterval = pingInterval
        self.logger = logger
    }

    public func withChanges<T: Sendable>(
        _ body: (AsyncStream<FederationChange>) async throws -> T
    ) async throws -> T {
        let families = Dictionary(
            uniqueKeysWithValues: FederationFamily.allCases.map { (keys.events($0), $0) })
        return try await RedisSubscriber.withSubscriber(
            configuration: configuration, channels: families.keys.sorted(), pingInterval: pingInterval,
            logger: logger
        ) { subscriber in
            let (changes, continuation) = AsyncStream.makeStream(
                of: FederationChange.self, bufferingPolicy: .bufferingNewest(10_000))
            return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
                group.addTask {
                    for await event in subscriber.events {
                        continuation.yield(Self.change(from: event, families: families))
                    }
                    continuation.finish()
                }
                defer { group.cancelAll() }
                return try await body(changes)
            }
        }
    }

    static func change(
        from event: RedisSubscriberEvent, families: [String: FederationFamily]
    ) -> FederationChange {
        switch event {
        case .subscribed: return .connected
        case .reconnected: return .resync
        case .disconnected(let reason): return .disconnected(reason)
        case .message(let channel, let payload, _):
            guard let family = families[channel] else {
                return .malformed(channel: channel, problem: "message on an unexpected channel")
            }
            do throws(FederationError) {
                return .event(try FederationEvent.parse(payload, channel: family))
            } catch {
                return .malformed(channel: channel, problem: error.message)
            }
        }
    }
}

/// An in-process ``FederationChangeFeed`` that the in-memory stores publish to.
public final class InMemoryEventBus: FederationChangeFeed {
    private let listeners = Mutex<(next: Int, all: [Int: AsyncStream<FederationChange>.Continuation])>(
        (0, [:]))

    public init() {}

    /// Delivers `change` to every current listener.
    public func publish(_ change: FederationChange) {
        listeners.withLock { state in
            for continuation in state.all.values { continuation.yield(change) }
        }
    }

    public func withChanges<T: Sendable>(
        _ body: (AsyncStream<FederationChange>) async throws -> T
    ) async throws -> T {
        let (changes, continuation) = AsyncStream.makeStream(of: FederationChange.self)
        let id = listeners.withLock { state in
            let id = state.next
            state.next += 1
            state.all[id] = continuation
            return id
        }
        continuation.yield(.connected)
        defer {
            listeners.withLock { _ = $0.all.removeValue(forKey: id) }
            continuation.finish()
        }
        return try await body(changes)
    }
}
