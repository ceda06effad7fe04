import Hummingbird
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Tells a request handler that its client went away, so that it can stop work the client will
/// never read (Hummingbird does not cancel a handler when its connection closes). Every server
/// built with ``ServerLimits/httpServer(logger:)`` has one per connection; a handler finds its
/// own with ``of(_:)`` from the request context's channel, and runs long work in
/// ``cancellingWhenGone(_:)``. Unlike `consumeWithCancellationOnInboundClose`, watching this way
/// keeps the keep-alive connection usable for the next request.
///
/// "Gone" means the connection's input was closed (the client closed its socket, e.g. `curl -m`
/// giving up) or the connection closed. A client that half-closes its side on purpose and still
/// waits for the answer is treated as gone too (as Go's net/http does); HTTP clients do not do that.
public final class ClientDisconnect: Sendable {
    private struct State {
        var gone = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var actions: [Int: @Sendable () -> Void] = [:]
    }

    private let state = Mutex(State())
    private static let connections = Mutex<[ObjectIdentifier: ClientDisconnect]>([:])

    init() {}

    /// The signal of the connection `channel` belongs to; nil when it was not built with the
    /// shared server limits (e.g. HummingbirdTesting's `.router` mode).
    public static func of(_ channel: any Channel) -> ClientDisconnect? {
        connections.withLock { $0[ObjectIdentifier(channel)] }
    }

    /// Whether the client is gone already.
    public var isGone: Bool { state.withLock { $0.gone } }

    /// Runs `operation`, cancelling it when the client goes away (it then throws
    /// `CancellationError`, and so does this).
    public func cancellingWhenGone<Value: Sendable>(
        _ operation: @Sendable () async throws -> Value
    ) async throws -> Value {
        try await withoutActuallyEscaping(operation) { operation in
            try await withThrowingTaskGroup(of: Value?.self) { group in
                defer { group.cancelAll() }
                group.addTask {
                    await self.waitUntilGone()
                    return nil
                }
                group.addTask { try await operation() }
                if case .some(.some(let value)) = try await group.next() { return value }
                throw CancellationError()
            }
        }
    }

    /// Runs `action` once when the client goes away — at once, before returning nil, when it is
    /// gone already. Cheaper than ``cancellingWhenGone(_:)`` (no tasks): the gateway closes its
    /// connection to the node this way. Returns the token for ``cancelWhenGone(_:)``.
    public func whenGone(_ action: @escaping @Sendable () -> Void) -> Int? {
        let token = state.withLock { state -> Int? in
            if state.gone { return nil }
            state.nextWaiter += 1
            state.actions[state.nextWaiter] = action
            return state.nextWaiter
        }
        if token == nil { action() }
        return token
    }

    /// Forgets the action registered under `token` (the work it would stop has ended).
    public func cancelWhenGone(_ token: Int?) {
        guard let token else { return }
        _ = state.withLock { $0.actions.removeValue(forKey: token) }
    }

    /// Returns when the client is gone, or when the calling task is cancelled.
    func waitUntilGone() async {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.gone || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    func fire() {
        let (waiters, actions) = state.withLock { state in
            state.gone = true
            defer {
                state.waiters = [:]
                state.actions = [:]
            }
            return (state.waiters, state.actions)
        }
        for waiter in waiters.values { waiter.resume() }
        for action in actions.values { action() }
    }

    static func register(_ signal: ClientDisconnect, for channel: any Channel) {
        connections.withLock { $0[ObjectIdentifier(channel)] = signal }
    }

    static func unregister(_ channel: any Channel) {
        _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }
}

/// Fires the connection's ``ClientDisconnect`` when its input closes or the connection closes.
final class ClientDisconnectHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let signal = ClientDisconnect()

    func handlerAdded(context: ChannelHandlerContext) {
        ClientDisconnect.register(signal, for: context.channel)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        ClientDisconnect.unregister(context.channel)
        signal.fire()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { signal.fire() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        signal.fire()
        ClientDisconnect.unregister(context.channel)
        context.fireChannelInactive()
    }
}

/// A request context that keeps its connection, so a handler can tell when its client went away
/// (``ClientDisconnect``): the node's and the gateway's routers use it.
public struct ConnectionRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's connection.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// The connection's disconnect signal (nil on a server not built with the shared limits).
    public var clientDisconnect: ClientDisconnect? { ClientDisconnect.of(channel) }
}
