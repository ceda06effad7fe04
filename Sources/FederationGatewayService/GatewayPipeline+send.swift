import AsyncHTTPClient
import FederationCore
import FederationHTTP
import FederationOpenAI
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

extension GatewayPipeline {
    /// What one attempt at a node came to.
    enum SendOutcome: Sendable {
        /// A complete non-streamed answer (2xx), with its token count when the body had `usage`.
        case delivered(status: Int, headers: HTTPFields, body: ByteBuffer, tokens: Int?)
        /// A 2xx event stream whose first chunk arrived: relay it.
        case streaming(UpstreamStream)
        /// A 3xx/4xx (not 429) answer: the request is at fault, hand it to the client as is.
        case passThrough(status: Int, headers: HTTPFields, body: ByteBuffer)
        /// The attempt failed; `answer` is the node's own answer when it sent one (5xx, 429).
        case failed(FailureKind, answer: (status: Int, headers: HTTPFields, body: ByteBuffer)?)
    }

    struct SendResult: Sendable {
        var outcome: SendOutcome
        /// Time spent waiting for the node.
        var waited: Duration
    }

    /// Sends the request to `target` and reads its answer (the head and, for a stream, the first
    /// chunk; for anything else the whole body). Accounts the node's in-flight count and reports
    /// the outcome, except for a stream, whose relay does both when it ends.
    func send(_ call: Call, to target: RouteTarget, attempt: Attempt) async -> SendResult {
        let started = ContinuousClock.now
        load.begin(attempt.node)
        var streaming = false
        defer { if !streaming { load.end(attempt.node) } }
        func result(_ outcome: SendOutcome) -> SendResult {
            SendResult(outcome: outcome, waited: ContinuousClock.now - started)
        }
        func failed(
            _ kind: FailureKind, status: Int? = nil, answer: (Int, HTTPFields, ByteBuffer)? = nil
        ) -> SendResult {
            releaseProbeSlot(attempt)
            if kind.isNodeFault {
                report(
                    attempt, ok: false, status: status, latency: ContinuousClock.now - started, tokens: nil)
            }
            return result(.failed(kind, answer: answer.map { (status: $0.0, headers: $0.1, body: $0.2) }))
        }
        if case .plain(let address, let prefix) = nodes.endpoint(target.endpoint) {
            return await sendPlain(
                call, to: address, prefix: prefix, attempt: attempt, started: started, streaming: &streaming,
                result: result, failed: failed)
        }
        let request = NodeClient.request(
            endpoint: target.endpoint, path: call.request.path, clientHeaders: call.request.headers,
            requestId: call.request.id, body: call.body)
        let response: HTTPClientResponse
        do {
            let remaining = call.deadline - ContinuousClock.now
            let deadline = NIODeadline.now() + .nanoseconds(max(1, remaining.saturatingNanoseconds))
            if let disconnect = call.disconnect {
                response = try await disconnect.cancellingWhenGone {
                    try await self.nodes.http.execute(request, deadline: deadline)
                }
            } else {
                response = try await nodes.http.execute(request, deadline: deadline)
            }
        } catch {
            let gone = Task.isCancelled || call.disconnect?.isGone == true
            return failed(gone ? .cancelled : NodeClient.failureBeforeHead(error))
        }
        let status = Int(response.status.code)
        let headers = NodeClient.clientHeaders(from: response.headers)
        if status == 429 || (500...599).contains(status) {
            let body =
                (try? await collect(response, limit: Self.maximumErrorBodyBytes, deadline: call.deadline))
                ?? .init()
            return failed(
                .httpStatus(status, retryAfter: NodeClient.retryAfter(response.headers)), status: status,
                answer: (status, headers, body))
        }
        if !(200...299).contains(status) {
            let body =
                (try? await collect(response, limit: Self.maximumErrorBodyBytes, deadline: call.deadline))
                ?? .init()
            releaseProbeSlot(attempt)
            return result(.passThrough(status: status, headers: headers, body: body))
        }
        let contentType = response.headers.first(name: "content-type")?.lowercased() ?? ""
        if contentType.hasPrefix("text/event-stream") {
            // Wait for the first chunk before answering the client: until then nothing reached
            // it, so a node that fails here can still be replaced by another.
            let upstream = UpstreamStream(response: response, headers: headers, status: status)
            do {
                try await withDeadline(call.deadline) { try await upstream.readFirst() }
            } catch {
                let kind: FailureKind =
                    Task.isCancelled
                    ? .cancelled : (error is DeadlineExceeded ? .timeoutBeforeFirstByte : .connectFailed)
                return failed(kind)
            }
            streaming = true
            upstream.nodeStarted = started
            return result(.streaming(upstream))
        }
        let body: ByteBuffer
        do {
            body = try await collect(response, limit: Self.maximumResponseBytes, deadline: call.deadline)
        } catch {
            // Nothing of it reached the client: retriable like a failure before the first byte.
            if Task.isCancelled { return failed(.cancelled) }
            // A broken-off answer (closed, or over the size limit) counts as a failed connect.
            return failed(error is DeadlineExceeded ? .timeoutBeforeFirstByte : .connectFailed)
        }
        let answer = UsageCount.inspect(body)
        if !answer.isJSON, Self.expectsJSON(path: call.request.path, contentType: headers[.contentType]) {
            return failed(.invalidResponse, status: status)
        }
        releaseProbeSlot(attempt)
        report(
            attempt, ok: true, status: status, latency: ContinuousClock.now - started, tokens: answer.tokens)
        return result(.delivered(status: status, headers: headers, body: body, tokens: answer.tokens))
    }

    /// ``send(_:to:attempt:)`` to a plain-`http` node through the lean pool: one wait for the whole
    /// answer (or a stream's head and first chunk), the timeouts kept on the connection's loop.
    private func sendPlain(
        _ call: Call, to address: NodeAddress, prefix: String, attempt: Attempt,
        started: ContinuousClock.Instant,
        streaming: inout Bool, result: (SendOutcome) -> SendResult,
        failed: (FailureKind, Int?, (Int, HTTPFields, ByteBuffer)?) -> SendResult
    ) async -> SendResult {
        let request = NodeClient.request(
            to: address, prefix: prefix, path: call.request.path, clientHeaders: call.request.headers,
            requestId: call.request.id, body: call.body)
        let remaining = call.deadline - ContinuousClock.now
        let response: NodeResponse
        do {
            response = try await nodes.pool.execute(
                request, deadline: .now() + .nanoseconds(max(1, remaining.saturatingNanoseconds)),
                bodyLimit: Self.maximumResponseBytes, errorBodyLimit: Self.maximumErrorBodyBytes,
                disconnect: call.disconnect)
        } catch {
            return failed(Task.isCancelled ? .cancelled : NodeClient.failure(error), nil, nil)
        }
        let status = response.status
        let headers = NodeClient.clientHeaders(from: response.headers)
        if status == 429 || (500...599).contains(status) {
            return failed(
                .httpStatus(status, retryAfter: NodeClient.retryAfter(response.headers)), status,
                (status, headers, response.body))
        }
        if !(200...299).contains(status) {
            releaseProbeSlot(attempt)
            return result(.passThrough(status: status, headers: headers, body: response.body))
        }
        if let stream = response.stream {
            streaming = true
            let upstream = UpstreamStream(
                stream: stream, first: response.body, connection: response.connection, headers: headers,
                status: status)
            upstream.nodeStarted = started
            return result(.streaming(upstream))
        }
        let answer = UsageCount.inspect(response.body)
        if !answer.isJSON, Self.expectsJSON(path: call.request.path, contentType: headers[.contentType]) {
            // A 200 that is not the JSON the endpoint always answers (a broken node, a proxy's
            // error page): the node's fault, and another node may give a real answer.
            return failed(.invalidResponse, status, nil)
        }
        releaseProbeSlot(attempt)
        report(
            attempt, ok: true, status: status, latency: ContinuousClock.now - started, tokens: answer.tokens)
        return result(
            .delivered(status: status, headers: headers, body: response.body, tokens: answer.tokens))
    }

    /// Whether a 2xx non-streamed answer must be JSON: always on the endpoints whose OpenAI answer
    /// is an object (chat, completions, embeddings, images), and whenever the node says it is JSON.
    /// Transcriptions (`text`, `srt`, `vtt` formats), speech (audio) and `/v1/infer` are checked
    /// only by their content type.
    static func expectsJSON(path: String, contentType: String?) -> Bool {
        switch path {
        case GatewayEndpoint.chatCompletions.path, GatewayEndpoint.completions.path,
            GatewayEndpoint.embeddings.path, GatewayEndpoint.images.path:
            return true
        default:
            return contentType?.lowercased().contains("json") ?? false
        }
    }

    func collect(
        _ response: HTTPClientResponse, limit: Int, deadline: ContinuousClock.Instant
    ) async throws
        -> ByteBuffer
    {
        try await withDeadline(deadline) { try await response.body.collect(upTo: limit) }
    }
}

/// The overall deadline of a request passed while waiting.
struct DeadlineExceeded: Error {}

/// Runs `operation`, cancelling it and throwing ``DeadlineExceeded`` when `deadline` passes first.
func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        defer { group.cancelAll() }
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            return nil
        }
        guard let first = try await group.next() else { throw DeadlineExceeded() }
        guard let value = first else { throw DeadlineExceeded() }
        return value
    }
}

/// Token counts in OpenAI answers: `usage.total_tokens` (else prompt + completion) of a body, and
/// per SSE frame the content deltas and the optional usage chunk.
enum UsageCount {
    /// Bodies up to this size are parsed (for their token count, and to check they are JSON).
    static let inspectedBytes = 1 << 20

    static func tokens(inBody body: ByteBuffer) -> Int? { inspect(body).tokens }

    /// Whether `body` is JSON, and its token count. A body larger than ``inspectedBytes`` is not
    /// parsed: it counts as JSON, without tokens.
    static func inspect(_ body: ByteBuffer) -> (isJSON: Bool, tokens: Int?) {
        guard body.readableBytes <= inspectedBytes else { return (true, nil) }
        guard body.readableBytes > 0,
            body.withUnsafeReadableBytes({ JSONNesting.problem(inBuffer: $0) }) == nil,
            let json = body.withUnsafeReadableBytes({ JSONParser.parse($0) })
        else { return (false, nil) }
        return (true, tokens(inUsage: json["usage"]))
    }

    static func tokens(inUsage usage: JSONValue?) -> Int? {
        guard let usage, case .object = usage else { return nil }
        if let total = usage["total_tokens"]?.doubleValue, let value = Int(checkedCount: total) {
            return value
        }
        let prompt = usage["prompt_tokens"]?.doubleValue.flatMap { Int(checkedCount: $0) } ?? 0
        let completion = usage["completion_tokens"]?.doubleValue.flatMap { Int(checkedCount: $0) } ?? 0
        return prompt + completion
    }
}

extension Int {
    /// A token count from an outside number: whole, 0…1e12, else nil (never traps).
    init?(checkedCount value: Double) {
        guard value.isFinite, value >= 0, value <= 1e12, value == value.rounded(.down) else { return nil }
        self = Int(value)
    }
}

extension Duration {
    /// Whole nanoseconds, saturating at Int64's bounds.
    var saturatingNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? (scaled < 0 ? .min : .max) : sum
    }
}
