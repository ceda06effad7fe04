import FederationCore
import FederationHTTP
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The gateway's lean HTTP/1.1 client to plain-`http` nodes: keep-alive connections pooled per
/// node, each exchange driven by one handler on the connection's event loop, so that a proxied
/// request costs one hop into the pipeline's task (when the answer, or a stream's first chunk, is
/// there) instead of AsyncHTTPClient's several (docs/BENCHMARKS.md, "Where the time goes").
///
/// What it does and does not do: no redirects, no decompression, no `Expect: 100-continue`; an
/// informational (1xx) head is skipped. A non-streamed answer is read whole (bounded); a 2xx
/// `text/event-stream` answer is handed over at its first chunk and then relayed with backpressure
/// (a slow client stops the reads from the node, so nothing piles up in the gateway). Timeouts run
/// on the event loop: connect, the request's deadline (for a stream until its first chunk) and the
/// read timeout (the longest silence from the node). At most `maxConnectionsPerNode` connections
/// are open to one node; an attempt beyond that fails at once, as a connect failure, and is retried
/// on another node.
final class NodeConnectionPool: Sendable {
    struct Settings: Sendable {
        var connectTimeout: Duration
        var readTimeout: Duration
        var maxConnectionsPerNode: Int
        /// How long an idle keep-alive connection is kept.
        var idleTimeout: Duration = .seconds(60)
    }

    let settings: Settings
    private let group: MultiThreadedEventLoopGroup
    private let state = Mutex(PoolState())

    private struct PoolState {
        var idle: [NodeAddress: [NodeConnection]] = [:]
        var open: [NodeAddress: Int] = [:]
        var closed = false
    }

    init(settings: Settings, group: MultiThreadedEventLoopGroup = .singleton) {
        self.settings = settings
        self.group = group
    }

    /// Sends `request` and returns the node's answer: complete, or for an event stream its head and
    /// first chunk. A request on a kept-alive connection that the node closed before answering
    /// (it timed the idle connection out as the request went) is sent once more on a new one.
    ///
    /// When `disconnect` fires (the client went away) the connection is closed, so the node sees
    /// its client leave too, and the exchange ends with ``NodeExchangeError/cancelled``.
    func execute(
        _ request: NodeRequest, deadline: NIODeadline, bodyLimit: Int, errorBodyLimit: Int,
        disconnect: ClientDisconnect? = nil
    ) async throws(NodeExchangeError) -> NodeResponse {
        while true {
            if disconnect?.isGone == true { throw .cancelled }
            let (connection, reused) = try await acquire(request.address, deadline: deadline)
            do {
                return try await connection.exchange(
                    request, deadline: deadline, readTimeout: settings.readTimeout, bodyLimit: bodyLimit,
                    errorBodyLimit: errorBodyLimit, disconnect: disconnect)
            } catch .closedBeforeAnswer where reused {
                continue
            } catch {
                throw error
            }
        }
    }

    /// Closes every idle connection and refuses new ones (at shutdown, after the server stopped).
    func shutdown() {
        let idle = state.withLock { state -> [NodeConnection] in
            state.closed = true
            defer { state.idle.removeAll() }
            return state.idle.values.flatMap { $0 }
        }
        for connection in idle { connection.close() }
    }

    /// An idle connection to `address` (preferring one on the calling event loop) or a new one.
    /// - Returns: the connection and whether it was kept alive from an earlier exchange.
    private func acquire(
        _ address: NodeAddress, deadline: NIODeadline
    ) async throws(NodeExchangeError) -> (NodeConnection, Bool) {
        let current = MultiThreadedEventLoopGroup.currentEventLoop
        let limit = settings.maxConnectionsPerNode
        enum Pick { case idle(NodeConnection), connect, refused, closed }
        let pick = state.withLock { state -> Pick in
            if state.closed { return .closed }
            if var idle = state.idle[address], !idle.isEmpty {
                let index = idle.lastIndex { $0.eventLoop === current } ?? idle.index(before: idle.endIndex)
                let connection = idle.remove(at: index)
                state.idle[address] = idle
                return .idle(connection)
            }
            let open = state.open[address, default: 0]
            guard open < limit else { return .refused }
            state.open[address] = open + 1
            return .connect
        }
        switch pick {
        case .idle(let connection):
            return (connection, true)
        case .closed:
            throw .connectFailed("the gateway is shutting down")
        case .refused:
            throw .connectFailed(
                "\(limit) connections to \(address) are busy (gateway.max_connections_per_node)")
        case .connect:
            do {
                return (try await connect(address, on: current ?? group.next(), deadline: deadline), false)
            } catch {
                state.withLock { $0.open[address, default: 1] -= 1 }
                throw error
            }
        }
    }

    private func connect(
        _ address: NodeAddress, on loop: any EventLoop, deadline: NIODeadline
    ) async throws(NodeExchangeError) -> NodeConnection {
        let remaining = deadline - .now()
        let timeout = min(
            TimeAmount.nanoseconds(settings.connectTimeout.saturatingNanoseconds),
            max(.milliseconds(1), remaining))
        let idleTimeout = TimeAmount.nanoseconds(settings.idleTimeout.saturatingNanoseconds)
        let future = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            // A TCP-level option (`.socketOption(.tcp_nodelay)` would be SOL_SOCKET's option 1,
            // SO_DEBUG: silently set as root, refused (EACCES) as any other user, e.g. in Docker).
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        leftOverBytesStrategy: .fireError)
                    try channel.pipeline.syncOperations.addHandler(ExchangeHandler())
                }
            }
            .connect(host: address.host, port: address.port)
            .flatMapThrowing { [weak self] channel -> NodeConnection in
                // On the channel's loop, before any exchange: the handler learns how to hand the
                // connection back, and a closed connection is forgotten.
                let handler = try channel.pipeline.syncOperations.handler(type: ExchangeHandler.self)
                let connection = NodeConnection(
                    channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
                handler.onReusable = { [weak self] in
                    self?.release(connection, address: address, idleTimeout: idleTimeout)
                }
                channel.closeFuture.whenComplete { [weak self] _ in
                    self?.forget(connection, address: address)
                }
                return connection
            }
        do {
            return try await future.get()
        } catch {
            if case ChannelError.connectTimeout = error { throw .connectTimeout }
            throw .connectFailed("\(error)")
        }
    }

    /// Keeps a connection whose exchange ended cleanly for the next request (on its event loop).
    private func release(_ connection: NodeConnection, address: NodeAddress, idleTimeout: TimeAmount) {
        let kept = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.idle[address, default: []].append(connection)
            return true
        }
        if kept {
            connection.handler.value.closeWhenIdle(for: idleTimeout)
        } else {
            connection.close()
        }
    }

    private func forget(_ connection: NodeConnection, address: NodeAddress) {
        state.withLock { state in
            state.open[address, default: 1] -= 1
            if state.open[address] == 0 { state.open[address] = nil }
            if var idle = state.idle[address], let index = idle.firstIndex(where: { $0 === connection }) {
                idle.remove(at: index)
                state.idle[address] = idle.isEmpty ? nil : idle
            }
        }
    }

    /// Open connections per node (tests).
    var openConnections: [NodeAddress: Int] { state.withLock { $0.open } }

    /// The channels of the idle connections to `address` (tests).
    func idleChannels(to address: NodeAddress) -> [any Channel] {
        state.withLock { $0.idle[address, default: []].map(\.channel) }
    }
}

/// Host and port of a plain-`http` node, and the path prefix of its endpoint.
struct NodeAddress: Hashable, Sendable, CustomStringConvertible {
    var host: String
    var port: Int
    var description: String { "\(host):\(port)" }
}

/// One request to a node: where, the head and the whole body.
struct NodeRequest: Sendable {
    var address: NodeAddress
    var head: HTTPRequestHead
    var body: ByteBuffer
}

/// A node's answer as the pool hands it over.
struct NodeResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    /// The whole body (a non-streamed answer; cut at the error-body limit for a non-2xx one).
    var body: ByteBuffer
    /// A 2xx event stream: its first chunk is in `body`, the rest comes from here.
    var stream: NodeBodyStream?
    /// The connection a stream is read from (closing it ends the stream).
    var connection: NodeConnection?
}

/// Why an exchange with a node came to nothing.
enum NodeExchangeError: Error, Sendable, Equatable {
    case connectTimeout
    case connectFailed(String)
    /// The node was silent longer than the read timeout.
    case readTimeout
    /// The request's deadline passed before the answer (or a stream's first chunk) was complete.
    case deadline
    /// The node closed the connection before its answer began.
    case closedBeforeAnswer
    /// The node closed the connection in the middle of its answer.
    case closed
    /// A non-streamed 2xx answer beyond the gateway's limit.
    case tooLarge(limit: Int)
    /// The node sent something that is not HTTP/1.1.
    case invalidResponse(String)
    /// The waiting task was cancelled (the client went away).
    case cancelled
}

/// A pooled connection: the channel and its exchange handler (used on the channel's loop only).
final class NodeConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<ExchangeHandler>

    init(channel: any Channel, handler: NIOLoopBound<ExchangeHandler>) {
        self.channel = channel
        self.handler = handler
    }

    var eventLoop: any EventLoop { channel.eventLoop }

    func close() { channel.close(promise: nil) }

    /// One exchange; the task's cancellation closes the connection (the node sees the client leave).
    func exchange(
        _ request: NodeRequest, deadline: NIODeadline, readTimeout: Duration, bodyLimit: Int,
        errorBodyLimit: Int, disconnect: ClientDisconnect?
    ) async throws(NodeExchangeError) -> NodeResponse {
        let token = disconnect?.whenGone { [channel] in channel.close(promise: nil) }
        defer { disconnect?.cancelWhenGone(token) }
        let promise = channel.eventLoop.makePromise(of: NodeResponse.self)
        let handler = self.handler
        let start = { @Sendable in
            handler.value.start(
                request, promise: promise, deadline: deadline,
                readTimeout: .nanoseconds(readTimeout.saturatingNanoseconds), bodyLimit: bodyLimit,
                errorBodyLimit: errorBodyLimit)
        }
        if channel.eventLoop.inEventLoop { start() } else { channel.eventLoop.execute(start) }
        do {
            return try await withTaskCancellationHandler {
                var response = try await promise.futureResult.get()
                if response.stream != nil { response.connection = self }
                return response
            } onCancel: {
                self.channel.close(promise: nil)
            }
        } catch let error as NodeExchangeError {
            throw Task.isCancelled || disconnect?.isGone == true ? .cancelled : error
        } catch {
            throw Task.isCancelled || disconnect?.isGone == true ? .cancelled : .invalidResponse("\(error)")
        }
    }
}

/// The rest of a node's event stream after its first chunk, with backpressure: the connection
/// reads from the node only while fewer than a few chunks wait for the relay. Dropping the
/// sequence before its end closes the connection.
typealias NodeBodyStream = NIOThrowingAsyncSequenceProducer<
    ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, StreamReadControl
>

/// Resumes or stops the connection's reads for the stream's consumer (any thread → the loop).
/// Each carries the exchange it belongs to: a late call about an earlier stream on a kept-alive
/// connection must not touch the exchange now running on it.
struct StreamReadControl: NIOAsyncSequenceProducerDelegate {
    let handler: NIOLoopBound<ExchangeHandler>
    let exchange: UInt64

    func produceMore() {
        let handler = self.handler
        let exchange = self.exchange
        handler.eventLoop.execute { handler.value.resumeReading(exchange: exchange) }
    }

    func didTerminate() {
        let handler = self.handler
        let exchange = self.exchange
        handler.eventLoop.execute { handler.value.consumerGone(exchange: exchange) }
    }
}

/// Drives one exchange at a time on a keep-alive connection. Lives on its channel's event loop.
final class ExchangeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private enum State {
        /// No exchange (an idle keep-alive connection).
        case idle
        /// Request sent; waiting for the head.
        case awaitingHead(Exchange)
        /// A non-streamed answer being read whole.
        case collecting(Exchange, Answer)
        /// A 2xx event stream whose head arrived; waiting for its first chunk.
        case awaitingFirstChunk(Exchange, Answer)
        /// Relaying a stream to its consumer.
        case streaming(NodeBodyStream.Source)
        /// The connection is closing or closed.
        case closed
    }

    private struct Exchange {
        var promise: EventLoopPromise<NodeResponse>
        var bodyLimit: Int
        var errorBodyLimit: Int
    }

    private struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: ByteBuffer
        var keepAlive: Bool
        var truncated = false
    }

    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var deadlineTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var readTimeout = TimeAmount.seconds(30)
    private var lastRead = NIODeadline.now()
    private var readTimer: Scheduled<Void>?
    private var keepAliveAfterStream = false
    /// Counts the exchanges on this connection (see ``StreamReadControl``).
    private var exchangeNumber: UInt64 = 0
    /// Reads held back while the stream's consumer is behind.
    private var readsPaused = false
    private var readPending = false
    /// Called (on the loop) when an exchange ended cleanly and the connection may serve another.
    var onReusable: (() -> Void)?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func start(
        _ request: NodeRequest, promise: EventLoopPromise<NodeResponse>, deadline: NIODeadline,
        readTimeout: TimeAmount, bodyLimit: Int, errorBodyLimit: Int
    ) {
        guard let context, case .idle = state, context.channel.isActive else {
            promise.fail(NodeExchangeError.closedBeforeAnswer)
            return
        }
        idleTimer?.cancel()
        idleTimer = nil
        exchangeNumber &+= 1
        state = .awaitingHead(
            Exchange(promise: promise, bodyLimit: bodyLimit, errorBodyLimit: errorBodyLimit))
        let loop = context.eventLoop.assumeIsolated()
        deadlineTimer = loop.scheduleTask(deadline: deadline) { [self] in self.fail(.deadline) }
        self.readTimeout = readTimeout
        lastRead = .now()
        armReadTimer()
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if request.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(request.body))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastRead = .now()
        let part = unwrapInboundIn(data)
        switch (state, part) {
        case (.awaitingHead(let exchange), .head(let head)):
            let status = Int(head.status.code)
            if status < 200 { return }  // 100 Continue, 103 Early Hints: the real head follows
            let answer = Answer(
                status: status, headers: head.headers, body: context.channel.allocator.buffer(capacity: 0),
                keepAlive: head.isKeepAlive)
            let isStream =
                (200...299).contains(status)
                && (head.headers.first(name: "content-type")?.lowercased().hasPrefix("text/event-stream")
                    ?? false)
            state = isStream ? .awaitingFirstChunk(exchange, answer) : .collecting(exchange, answer)
        case (.collecting(let exchange, var answer), .body(var buffer)):
            let success = (200...299).contains(answer.status)
            let limit = success ? exchange.bodyLimit : exchange.errorBodyLimit
            if answer.body.readableBytes + buffer.readableBytes > limit {
                if success {
                    fail(.tooLarge(limit: limit))
                    return
                }
                let room = limit - answer.body.readableBytes
                if room > 0, let slice = buffer.readSlice(length: room) {
                    answer.body.writeImmutableBuffer(slice)
                }
                answer.truncated = true
            } else if answer.body.readableBytes == 0 {
                answer.body = buffer
            } else {
                answer.body.writeBuffer(&buffer)
            }
            state = .collecting(exchange, answer)
        case (.collecting(let exchange, let answer), .end):
            state = .idle
            cancelTimers()
            // Back in the pool before the waiting task resumes: its next request finds it there.
            endOfAnswer(keepAlive: answer.keepAlive && !answer.truncated, context: context)
            exchange.promise.succeed(
                NodeResponse(status: answer.status, headers: answer.headers, body: answer.body, stream: nil))
        case (.awaitingFirstChunk(let exchange, let answer), .body(let buffer)):
            guard buffer.readableBytes > 0 else { return }
            deadlineTimer?.cancel()
            deadlineTimer = nil
            let produced = NodeBodyStream.makeSequence(
                backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false,
                delegate: StreamReadControl(
                    handler: NIOLoopBound(self, eventLoop: context.eventLoop), exchange: exchangeNumber))
            keepAliveAfterStream = answer.keepAlive
            state = .streaming(produced.source)
            exchange.promise.succeed(
                NodeResponse(
                    status: answer.status, headers: answer.headers, body: buffer, stream: produced.sequence))
        case (.awaitingFirstChunk, .end):
            fail(.closed)  // an empty event stream is a broken one
        case (.streaming(let source), .body(let buffer)):
            switch source.yield(buffer) {
            case .produceMore: break
            case .stopProducing: readsPaused = true
            case .dropped: fail(.closed)
            }
        case (.streaming(let source), .end):
            state = .idle
            cancelTimers()
            source.finish()
            endOfAnswer(keepAlive: keepAliveAfterStream, context: context)
        case (.idle, _), (.closed, _):
            // Bytes nobody asked for (a node answering twice): the connection is not trustworthy.
            if case .idle = state { close(context) }
        default:
            fail(.invalidResponse("unexpected \(part) while \(state)"))
        }
    }

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        switch state {
        case .awaitingHead: fail(.closedBeforeAnswer)
        case .idle, .closed: state = .closed
        default: fail(.closed)
        }
        cancelTimers()
        idleTimer?.cancel()
        onReusable = nil  // it holds the connection, which holds this handler
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(.invalidResponse("\(error)"))
    }

    /// The stream's consumer wants more.
    func resumeReading(exchange: UInt64) {
        guard exchange == exchangeNumber else { return }
        resumeReads()
    }

    /// The stream's consumer went away before the end: the rest of the answer has no reader.
    func consumerGone(exchange: UInt64) {
        guard exchange == exchangeNumber, case .streaming = state else { return }
        fail(.closed)
    }

    private func resumeReads() {
        readsPaused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    /// After an exchange: idle connections close themselves after `timeout`.
    func closeWhenIdle(for timeout: TimeAmount) {
        guard let context, case .idle = state else { return }
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            if case .idle = self.state, let context = self.context { self.close(context) }
        }
    }

    private func endOfAnswer(keepAlive: Bool, context: ChannelHandlerContext) {
        // A read held back for the stream's consumer is issued now, or the connection would
        // never read its next answer.
        resumeReads()
        if keepAlive, context.channel.isActive {
            onReusable?()
        } else {
            close(context)
        }
    }

    private func armReadTimer() {
        guard let context else { return }
        let due = lastRead + readTimeout
        readTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
            switch self.state {
            case .idle, .closed: return
            default: break
            }
            // While the relay holds reads back, silence is the client's, not the node's.
            if self.readsPaused || NIODeadline.now() < self.lastRead + self.readTimeout {
                self.armReadTimer()
            } else {
                self.fail(.readTimeout)
            }
        }
    }

    private func cancelTimers() {
        deadlineTimer?.cancel()
        deadlineTimer = nil
        readTimer?.cancel()
        readTimer = nil
    }

    /// Ends the current exchange with `error` and closes the connection.
    private func fail(_ error: NodeExchangeError) {
        let previous = state
        state = .closed
        cancelTimers()
        switch previous {
        case .awaitingHead(let exchange), .collecting(let exchange, _), .awaitingFirstChunk(let exchange, _):
            exchange.promise.fail(error)
        case .streaming(let source):
            source.finish(error)
        case .idle, .closed:
            break
        }
        if let context { close(context) }
    }

    private func close(_ context: ChannelHandlerContext) {
        state = .closed
        context.close(promise: nil)
    }
}
