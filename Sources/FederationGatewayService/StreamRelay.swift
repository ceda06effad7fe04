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
    /// Whether the relayed text is kept (for a stream that may be continued elsewhere).
    var keepsText = false
    /// The content relayed so far (when ``keepsText``).
    var text = ""
    /// False once the stream carried anything a continuation could not reproduce: a second
    /// choice, a tool or function call.
    var onlyText = true

    mutating func count(_ chunk: ByteBuffer) {
        guard let events = try? parser.feed(chunk) else { return }
        for event in events where !event.isDone {
            let json = Array(event.data.utf8).withUnsafeBytes { JSONParser.parse($0) }
            guard let json else { continue }
            if let usage = UsageCount.tokens(inUsage: json["usage"]) { usageTokens = usage }
            for choice in json["choices"]?.arrayValue ?? [] {
                let delta = choice["delta"]
                let text = delta?["content"]?.stringValue ?? choice["text"]?.stringValue
                if keepsText {
                    let index = choice["index"]?.doubleValue ?? 0
                    let calls = [delta?["tool_calls"], delta?["function_call"]].contains {
                        $0 != nil && $0 != .null
                    }
                    if index != 0 || calls { onlyText = false }
                    if let text { self.text += text }
                }
                if let text, !text.isEmpty {
                    tokens += 1
                    if firstTokenAt == nil { firstTokenAt = .now }
                }
            }
        }
    }
}

/// The relay's state, used by one task at a time (the relay task, then the response writer).
final class RelayState: @unchecked Sendable {  // writer, counter, aligner: one task at a time
    var writer: any ResponseBodyWriter
    var counter = StreamTokenCounter()
    /// Whole events only, when the stream may be continued on another node.
    var aligner: SSEEventAligner?

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
        _ call: Call, upstream first: UpstreamStream, relay: RelayState, attempt firstAttempt: Attempt,
        overhead: Duration, waited: Duration, lifecycle: RequestLifecycle
    ) async {
        var lifecycle = lifecycle
        state.streamStarted()
        var upstream = first
        var attempt = firstAttempt
        if call.resumable {
            relay.counter.keepsText = true
            relay.aligner = SSEEventAligner()
        }
        var end = RelayEnd.completed
        /// The failed attempt's outcome is already reported (it was replaced, or resuming failed).
        var accounted = false
        var resumeProblem: String?
        var resumedOnce = false
        while true {
            end = await pump(call, upstream: upstream, relay: relay)
            guard case .nodeFailed = end, call.resumable, !resumedOnce, relay.counter.onlyText else { break }
            resumedOnce = true
            // The node broke off: account for it, then continue the answer on another node.
            report(
                attempt, ok: false, status: nil, latency: ContinuousClock.now - upstream.nodeStarted,
                tokens: nil)
            load.end(attempt.node)
            releaseProbeSlot(attempt)
            accounted = true
            let resumed = await resume(
                call, text: relay.counter.text, tokens: relay.counter.tokens, lifecycle: &lifecycle)
            switch resumed {
            case .failure(let problem):
                metrics.streamResumeFailures.increment()
                resumeProblem = problem.description
            case .success(let next):
                metrics.streamsResumed.increment()
                logger.info(
                    "stream resumed on another node",
                    metadata: [
                        "request_id": .string(call.request.id), "from": .string(attempt.node.rawValue),
                        "node": .string(next.attempt.node.rawValue),
                        "tokens_relayed": .stringConvertible(relay.counter.tokens),
                    ])
                upstream = next.upstream
                attempt = next.attempt
                relay.aligner = SSEEventAligner()
                accounted = false
            }
            if resumeProblem != nil { break }
        }
        let now = ContinuousClock.now
        let latency = now - call.request.receivedAt
        let nodeTime = now - upstream.nodeStarted
        let tokens = relay.usageTokens ?? relay.tokens
        if !accounted {
            load.end(attempt.node)
            releaseProbeSlot(attempt)
        }
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
                let resumeNote =
                    resumeProblem.map { "; it could not be continued on another node: \($0)" } ?? ""
                failure = OpenAIError(
                    status: .badGateway,
                    message:
                        "The node \(attempt.node) stopped in the middle of the stream (\(why)); the answer is incomplete\(resumeNote).",
                    type: "server_error", code: "stream_interrupted")
                if !accounted { report(attempt, ok: false, status: nil, latency: nodeTime, tokens: nil) }
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

    /// Relays `upstream` to the client until it ends, the node breaks off or the client goes away.
    private func pump(_ call: Call, upstream: UpstreamStream, relay: RelayState) async -> RelayEnd {
        let pump: @Sendable () async throws -> Void = {
            while let chunk = try await upstream.next() {
                var out = chunk
                if relay.aligner != nil {
                    guard let events = relay.aligner?.complete(chunk) else { continue }
                    out = events
                }
                try await Self.write(out, relay)
            }
            if let rest = relay.aligner?.rest() { try await Self.write(rest, relay) }
        }
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
            return .completed
        } catch is ClientGone {
            return .clientGone
        } catch is CancellationError {
            return .clientGone
        } catch {
            return call.disconnect?.isGone == true ? .clientGone : .nodeFailed(Self.describe(error))
        }
    }

    private static func write(_ chunk: ByteBuffer, _ relay: RelayState) async throws {
        relay.count(chunk)
        do {
            try await relay.writer.write(chunk)
        } catch {
            throw ClientGone()
        }
    }

    /// Continues a broken-off stream on another node that declares it can (catalog label
    /// `federation.resume`), not tried yet: the same routing, the continuation body, a new attempt.
    private func resume(
        _ call: Call, text: String, tokens: Int, lifecycle: inout RequestLifecycle
    ) async -> Result<(upstream: UpstreamStream, attempt: Attempt), ResumeProblem> {
        guard ContinuousClock.now < call.deadline else { return .failure("the request's deadline passed") }
        guard let body = StreamResume.continuation(of: call.body, text: text, tokens: tokens) else {
            return .failure("the request cannot be continued (n > 1, or no tokens left)")
        }
        let capability = call.request.routing.capability
        let unable = StreamResume.unable(capability, in: view.currentSnapshot.snapshot.catalog)
        let decision: RouteDecision
        do {
            decision = try route(call.request.routing, excluding: Set(lifecycle.nodesTried).union(unable))
        } catch {
            return .failure("no other node that declares federation.resume for \(capability) can serve it")
        }
        if decision.isProbe, !(await takeProbeSlot(decision.target.node)) {
            return .failure("the only candidate is half-open and its probe slots are taken")
        }
        var next = call
        next.body = body
        advance(&lifecycle, .resumed(decision.target.node))
        let attempt = Attempt(
            node: decision.target.node, region: decision.target.region, number: lifecycle.attempts,
            isProbe: decision.isProbe, strategy: decision.strategy, score: decision.target.score)
        let result = await send(next, to: decision.target, attempt: attempt)
        guard case .streaming(let upstream) = result.outcome else {
            return .failure("\(attempt.node) did not answer with a stream")
        }
        return .success((upstream, attempt))
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

/// Why a broken-off stream was not continued (part of the client's error message).
struct ResumeProblem: Error, ExpressibleByStringInterpolation, CustomStringConvertible {
    var description: String
    init(stringLiteral value: String) { description = value }
    init(_ value: String) { description = value }
}

extension OpenAIError {
    /// `data: {"error":{…}}` — how an OpenAI stream reports an error; the official clients raise it.
    static func streamErrorFrame(_ error: OpenAIError) -> ByteBuffer {
        var frame = ByteBuffer(string: "data: ")
        frame.writeString(error.jsonText)
        frame.writeString("\n\n")
        return frame
    }
}
