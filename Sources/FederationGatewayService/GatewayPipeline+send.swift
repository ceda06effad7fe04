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
        let request = NodeClient.request(
            endpoint: target.endpoint, path: call.request.path, clientHeaders: call.request.headers,
            requestId: call.request.id, body: call.body)
        let response: HTTPClientResponse
        do {
            let remaining = call.deadline - ContinuousClock.now
            response = try await nodes.http.execute(
                request, deadline: .now() + .nanoseconds(max(1, remaining.saturatingNanoseconds)))
        } catch {
            return failed(Task.isCancelled ? .cancelled : NodeClient.failureBeforeHead(error))
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
        let tokens = UsageCount.tokens(inBody: body)
        releaseProbeSlot(attempt)
        report(attempt, ok: true, status: status, latency: ContinuousClock.now - started, tokens: tokens)
        return result(.delivered(status: status, headers: headers, body: body, tokens: tokens))
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
    static func tokens(inBody body: ByteBuffer) -> Int? {
        guard body.readableBytes > 0, body.readableBytes <= 1 << 20,
            JSONNesting.problem(in: body.readableBytesView) == nil
        else { return nil }
        guard let json = body.withUnsafeReadableBytes({ JSONParser.parse($0) }) else { return nil }
        return tokens(inUsage: json["usage"])
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
