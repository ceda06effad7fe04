import AsyncHTTPClient
import FederationCore
import FederationHTTP
import FederationOpenAI
import HTTPTypes
import Hummingbird
import NIOCore

/// A node's event stream whose head and first chunk arrived. Owned by one task at a time: the
/// attempt that read the first chunk, then the relay.
final class UpstreamStream: @unchecked Sendable {  // source, first chunk: one task at a time
    let headers: HTTPFields
    let status: Int
    private var source: Source
    var first: ByteBuffer?
    var nodeStarted = ContinuousClock.now

    private enum Source {
        /// AsyncHTTPClient (an `https` node); `response` keeps the body alive.
        case client(HTTPClientResponse, HTTPClientResponse.Body.AsyncIterator)
        /// The lean pool (a plain-`http` node).
        case pool(NodeBodyStream.AsyncIterator)
    }

    init(response: HTTPClientResponse, headers: HTTPFields, status: Int) {
        self.headers = headers
        self.status = status
        self.source = .client(response, response.body.makeAsyncIterator())
    }

    /// A stream from the lean pool, whose first chunk came with the head.
    init(
        stream: NodeBodyStream, first: ByteBuffer, connection: NodeConnection?, headers: HTTPFields,
        status: Int
    ) {
        self.headers = headers
        self.status = status
        self.source = .pool(stream.makeAsyncIterator())
        self.first = first
        self.connection = connection
    }

    /// The pool's connection the stream comes from (nil for AsyncHTTPClient's).
    private(set) var connection: NodeConnection?

    /// Reads the first chunk (an empty stream counts as a broken one).
    func readFirst() async throws {
        guard let chunk = try await nextFromSource() else { throw StreamEnded() }
        first = chunk
    }

    func next() async throws -> ByteBuffer? {
        if let first {
            self.first = nil
            return first
        }
        return try await nextFromSource()
    }

    private func nextFromSource() async throws -> ByteBuffer? {
        switch source {
        case .client(let response, var iterator):
            let chunk = try await iterator.next()
            source = .client(response, iterator)
            return chunk
        case .pool(let iterator):
            return try await iterator.next()
        }
    }

    struct StreamEnded: Error {}
}

/// Tokens of a relayed event stream, counted from the frames as they pass: one per non-empty
/// content delta or text of each choice; a usage chunk's count wins when the node sends one.
struct StreamTokenCounter: Sendable {
    var parser = SSEParser()
    var tokens = 0
    var usageTokens: Int?
    var firstTokenAt: ContinuousClock.Instant?

    mutating func count(_ chunk: ByteBuffer) {
        guard let events = try? parser.feed(chunk) else { return }
        for event in events where !event.isDone {
            let json = Array(event.data.utf8).withUnsafeBytes { JSONParser.parse($0) }
            guard let json else { continue }
            if let usage = UsageCount.tokens(inUsage: json["usage"]) { usageTokens = usage }
            for choice in json["choices"]?.arrayValue ?? [] {
                let text = choice["delta"]?["content"]?.stringValue ?? choice["text"]?.stringValue
                if let text, !text.isEmpty {
                    tokens += 1
                    if firstTokenAt == nil { firstTokenAt = .now }
                }
            }
        }
    }
}

/// The relay's state, used by one task at a time (the relay task, then the response writer).
final class RelayState: @unchecked Sendable {  // writer and counter: one task at a time (relay, then finish)
    var writer: any ResponseBodyWriter
    var counter = StreamTokenCounter()

    init(writer: any ResponseBodyWriter) { self.writer = writer }

    var tokens: Int { counter.tokens }
    var usageTokens: Int? { counter.usageTokens }
    var firstTokenAt: ContinuousClock.Instant? { counter.firstTokenAt }
    func count(_ chunk: ByteBuffer) { counter.count(chunk) }
}

extension GatewayPipeline {
    /// The client's answer for a node's event stream: the head now, then every chunk as it arrives
    /// (each awaited write is backpressure from the client's socket). When the client goes away
    /// the upstream request is cancelled at once; when the node breaks off, the client gets an
    /// OpenAI-style error event instead of a hang.
    func streamResponse(
        _ call: Call, upstream: UpstreamStream, attempt: Attempt, waited: Duration,
        lifecycle: RequestLifecycle
    ) -> Response {
        let headStart = ContinuousClock.now
        let overhead = max(.zero, (headStart - call.request.receivedAt) - waited)
        var headers = upstream.headers
        federationHeaders(
            into: &headers, id: call.request.id, attempt: attempt, attempts: lifecycle.attempts,
            overhead: overhead)
        headers[.cacheControl] = "no-cache"
        return Response(
            status: .init(code: upstream.status), headers: headers,
            body: ResponseBody { writer in
                let relay = RelayState(writer: writer)
                await self.relay(
                    call, upstream: upstream, relay: relay, attempt: attempt, overhead: overhead,
                    waited: waited, lifecycle: lifecycle)
                try await relay.writer.finish(nil)
            })
    }

    private enum RelayEnd {
        case completed
        case clientGone
        case nodeFailed(String)
    }

    private func relay(
        _ call: Call, upstream: UpstreamStream, relay: RelayState, attempt: Attempt, overhead: Duration,
        waited: Duration, lifecycle: RequestLifecycle
    ) async {
        var lifecycle = lifecycle
        state.streamStarted()
        let pump: @Sendable () async throws -> Void = {
            while let chunk = try await upstream.next() {
                relay.count(chunk)
                do {
                    try await relay.writer.write(chunk)
                } catch {
                    throw ClientGone()
                }
            }
        }
        var end = RelayEnd.completed
        do {
            if let disconnect = call.disconnect, let connection = upstream.connection {
                // The lean pool's stream ends when its connection closes: no watcher task needed.
                let token = disconnect.whenGone { connection.close() }
                defer { disconnect.cancelWhenGone(token) }
                try await pump()
            } else if let disconnect = call.disconnect {
                try await disconnect.cancellingWhenGone(pump)
            } else {
                try await pump()
            }
        } catch is ClientGone {
            end = .clientGone
        } catch is CancellationError {
            end = .clientGone
        } catch {
            end = call.disconnect?.isGone == true ? .clientGone : .nodeFailed(Self.describe(error))
        }
        let now = ContinuousClock.now
        let latency = now - call.request.receivedAt
        let nodeTime = now - upstream.nodeStarted
        let tokens = relay.usageTokens ?? relay.tokens
        load.end(attempt.node)
        releaseProbeSlot(attempt)
        state.streamEnded()
        let capability = call.request.routing.capability
        metrics.recordStream(
            node: attempt.node, capability: capability,
            ttft: relay.firstTokenAt.map { $0 - call.request.receivedAt }, tokens: relay.tokens,
            duration: relay.firstTokenAt.map { now - $0 } ?? .zero)
        switch end {
        case .completed:
            advance(&lifecycle, .completedOK)
            report(attempt, ok: true, status: upstream.status, latency: nodeTime, tokens: tokens)
            state.finish(success: true, latency: latency, tokens: tokens)
            metrics.recordRequest(
                node: attempt.node, capability: capability, status: upstream.status, duration: latency,
                overhead: overhead)
            await chain.finish(
                call.request, ran: call.ran,
                outcome: GatewayOutcome(
                    status: upstream.status, node: attempt.node, region: attempt.region,
                    attempts: lifecycle.attempts, latency: latency, overhead: overhead, tokens: tokens,
                    streamed: true, strategy: attempt.strategy, score: attempt.score),
                error: nil)
        case .clientGone, .nodeFailed:
            var failure: OpenAIError
            if case .nodeFailed(let why) = end {
                failure = OpenAIError(
                    status: .badGateway,
                    message:
                        "The node \(attempt.node) stopped in the middle of the stream (\(why)); the answer is incomplete.",
                    type: "server_error", code: "stream_interrupted")
                report(attempt, ok: false, status: nil, latency: nodeTime, tokens: nil)
                let frame = OpenAIError.streamErrorFrame(failure)
                try? await relay.writer.write(frame)
            } else {
                metrics.clientDisconnects.increment()
                failure = OpenAIError(
                    status: .init(code: 499), message: "client closed request", code: "client_closed")
            }
            advance(&lifecycle, .fatalFailure(.internal(failure.message)))
            state.finish(success: false, latency: latency, tokens: nil)
            metrics.recordRequest(
                node: attempt.node, capability: capability, status: Int(failure.status.code),
                duration: latency,
                overhead: overhead)
            await chain.finish(
                call.request, ran: call.ran,
                outcome: GatewayOutcome(
                    status: Int(failure.status.code), node: attempt.node, region: attempt.region,
                    attempts: lifecycle.attempts, latency: latency, overhead: overhead, tokens: tokens,
                    streamed: true, errorCode: failure.code, strategy: attempt.strategy, score: attempt.score),
                error: failure)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? NodeExchangeError {
            switch error {
            case .readTimeout: return "no data within the read timeout"
            case .closed, .closedBeforeAnswer: return "the node closed the connection"
            default: return "\(error)"
            }
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout: return "no data within the read timeout"
            case .remoteConnectionClosed: return "the node closed the connection"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

/// Writing to the client failed: it went away.
struct ClientGone: Error {}

extension OpenAIError {
    /// `data: {"error":{…}}` — how an OpenAI stream reports an error; the official clients raise it.
    static func streamErrorFrame(_ error: OpenAIError) -> ByteBuffer {
        var frame = ByteBuffer(string: "data: ")
        frame.writeString(error.jsonText)
        frame.writeString("\n\n")
        return frame
    }
}
