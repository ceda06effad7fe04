import NIOCore
import NIOHTTP1

/// Monotonic nanoseconds (CLOCK_MONOTONIC, as NIO's deadlines).
func monotonicNanoseconds() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

/// What came back for one request.
struct ExchangeOutcome: Sendable {
    var status = 0
    /// `X-Federation-Node` and `X-Federation-Attempts` of the response, when present.
    var node: String?
    var attempts: Int?
    /// When the request's first byte was written, its response head arrived, its last byte arrived.
    var sentAt: UInt64 = 0
    var headAt: UInt64 = 0
    var endAt: UInt64 = 0
    /// Arrival time of every complete SSE `data:` frame (streams only).
    var frameTimes: [UInt64] = []
    var sawDone = false
    var bodyBytes = 0
}

/// Why a request got no complete answer.
enum ExchangeFailure: Error, Sendable, Equatable {
    case connect(String)
    case closed
    case timeout
    case io(String)

    /// The key under which failures of this kind are counted in reports.
    var kind: String {
        switch self {
        case .connect: "connect"
        case .closed: "closed by peer"
        case .timeout: "timeout"
        case .io(let description): "io: " + String(description.prefix(80))
        }
    }
}

/// One HTTP/1.1 keep-alive connection doing one exchange at a time. Lives on its channel's event
/// loop; every method must be called there.
final class ExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    typealias Completion = (Result<ExchangeOutcome, ExchangeFailure>) -> Void

    private var context: ChannelHandlerContext?
    private var completion: Completion?
    private var onHead: (() -> Void)?
    private var outcome = ExchangeOutcome()
    private var scanner: SSEFrameScanner?
    private var timeout: Scheduled<Void>?
    private var closeAfterResponse = false

    /// False once the connection closed or will close after the current response.
    private(set) var isReusable = true
    /// Called once when the connection has closed.
    var onClose: (() -> Void)?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    /// Sends `template`; `completion` runs on the event loop when the answer ended or failed.
    /// `stream` scans the body for SSE frames; `onHead` runs when the response head arrives.
    func send(
        _ template: RequestTemplate, stream: Bool, timeoutNs: UInt64, onHead: (() -> Void)? = nil,
        completion: @escaping Completion
    ) {
        guard let context, isReusable, self.completion == nil else {
            completion(.failure(.closed))
            return
        }
        self.completion = completion
        self.onHead = onHead
        outcome = ExchangeOutcome()
        scanner = stream ? SSEFrameScanner() : nil
        outcome.sentAt = monotonicNanoseconds()
        let loop = context.eventLoop.assumeIsolated()
        timeout = loop.scheduleTask(in: .nanoseconds(Int64(clamping: timeoutNs))) { [self] in
            self.finish(.failure(.timeout))
            self.context?.close(promise: nil)
        }
        context.write(wrapOutboundOut(.head(template.head)), promise: nil)
        if let body = template.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard completion != nil else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            outcome.headAt = monotonicNanoseconds()
            outcome.status = Int(head.status.code)
            outcome.node = head.headers.first(name: "X-Federation-Node")
            outcome.attempts = head.headers.first(name: "X-Federation-Attempts").flatMap { Int($0) }
            closeAfterResponse = !head.isKeepAlive
            onHead?()
        case .body(let buffer):
            outcome.bodyBytes += buffer.readableBytes
            if scanner != nil, scanner!.feed(buffer.readableBytesView) > 0 {
                let now = monotonicNanoseconds()
                while outcome.frameTimes.count < scanner!.dataFrames { outcome.frameTimes.append(now) }
            }
        case .end:
            outcome.endAt = monotonicNanoseconds()
            outcome.sawDone = scanner?.sawDone ?? false
            if closeAfterResponse {
                isReusable = false
                context.close(promise: nil)
            }
            finish(.success(outcome))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        isReusable = false
        finish(.failure(.closed))
        onClose?()
        onClose = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        isReusable = false
        finish(.failure(.io(String(describing: error))))
        context.close(promise: nil)
    }

    /// Closes the connection (used at the end of a run).
    func close() {
        isReusable = false
        context?.close(promise: nil)
    }

    private func finish(_ result: Result<ExchangeOutcome, ExchangeFailure>) {
        guard let completion else { return }
        self.completion = nil
        onHead = nil
        timeout?.cancel()
        timeout = nil
        completion(result)
    }
}
