import NIOCore
import NIOHTTP1
import NIOPosix

/// A request waiting for a connection of its target.
struct PendingExchange {
    var template: RequestTemplate
    var stream: Bool
    var onHead: (() -> Void)?
    var completion: ExchangeHandler.Completion
}

/// Keep-alive connections to one target, opened on demand up to `maxConnections`; requests beyond
/// that wait in FIFO order (an open-loop run counts that wait in their latency). Event-loop bound:
/// every method must be called on `loop`.
final class TargetPool {
    let target: Target
    let loop: any EventLoop
    private let maxConnections: Int
    private let timeoutNs: UInt64
    private var idle: [ExchangeHandler] = []
    private var all: [ObjectIdentifier: ExchangeHandler] = [:]
    private var connecting = 0
    private var waiting: [PendingExchange] = []
    private var waitingHead = 0

    init(target: Target, loop: any EventLoop, maxConnections: Int, timeoutNs: UInt64) {
        self.target = target
        self.loop = loop
        self.maxConnections = maxConnections
        self.timeoutNs = timeoutNs
    }

    /// Connections open now.
    var openConnections: Int { all.count }

    func submit(_ exchange: PendingExchange) {
        loop.preconditionInEventLoop()
        while let handler = idle.popLast() {
            if handler.isReusable {
                start(exchange, on: handler)
                return
            }
        }
        waiting.append(exchange)
        if all.count + connecting < maxConnections { connect() }
    }

    /// Opens connections until `count` are open (before a run, so warm-up does not pay connects).
    func preconnect(_ count: Int) -> EventLoopFuture<Void> {
        let wanted = min(count, maxConnections) - all.count - connecting
        guard wanted > 0 else { return loop.makeSucceededVoidFuture() }
        let futures = (0..<wanted).map { _ in connect() }
        return EventLoopFuture.andAllComplete(futures, on: loop)
    }

    func closeAll() {
        for handler in all.values { handler.close() }
        idle.removeAll()
    }

    @discardableResult
    private func connect() -> EventLoopFuture<Void> {
        connecting += 1
        let bootstrap = ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ExchangeHandler())
                }
            }
        let promise = loop.makePromise(of: Void.self)
        bootstrap.connect(host: target.host, port: target.port).assumeIsolated().whenComplete { result in
            self.connecting -= 1
            switch result {
            case .success(let channel):
                do {
                    let handler = try channel.pipeline.syncOperations.handler(type: ExchangeHandler.self)
                    let id = ObjectIdentifier(handler)
                    self.all[id] = handler
                    handler.onClose = { [weak self] in self?.closed(id) }
                    self.release(handler)
                } catch {
                    channel.close(promise: nil)
                    self.failNextWaiting(.connect("pipeline: \(error)"))
                }
            case .failure(let error):
                self.failNextWaiting(.connect("\(self.target.host):\(self.target.port): \(error)"))
            }
            promise.succeed()
        }
        return promise.futureResult
    }

    private func start(_ exchange: PendingExchange, on handler: ExchangeHandler) {
        handler.send(
            exchange.template, stream: exchange.stream, timeoutNs: timeoutNs, onHead: exchange.onHead
        ) { [weak self] result in
            exchange.completion(result)
            self?.release(handler)
        }
    }

    /// A connection is free: give it the next waiting request or keep it idle.
    private func release(_ handler: ExchangeHandler) {
        guard handler.isReusable else { return }
        if let next = popWaiting() {
            start(next, on: handler)
        } else {
            idle.append(handler)
        }
    }

    private func closed(_ id: ObjectIdentifier) {
        all[id] = nil
        idle.removeAll { ObjectIdentifier($0) == id }
        if waitingHead < waiting.count, all.count + connecting < maxConnections { connect() }
    }

    private func failNextWaiting(_ failure: ExchangeFailure) {
        popWaiting()?.completion(.failure(failure))
        // Others still waiting get a new attempt (each failed connect fails one request, so a dead
        // target drains its queue instead of hanging the run).
        if waitingHead < waiting.count, all.count + connecting < maxConnections { connect() }
    }

    private func popWaiting() -> PendingExchange? {
        guard waitingHead < waiting.count else { return nil }
        let next = waiting[waitingHead]
        waitingHead += 1
        if waitingHead > 1024, waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
        return next
    }
}
