import FederationCore
import FederationHTTP
import FederationOpenAI
import HTTPTypes
import Hummingbird
import NIOCore

extension GatewayPipeline {
    static let nodeHeader = HTTPField.Name("X-Federation-Node")!
    static let regionHeader = HTTPField.Name("X-Federation-Region")!
    static let attemptsHeader = HTTPField.Name("X-Federation-Attempts")!
    static let overheadHeader = HTTPField.Name("X-Federation-Overhead-Ms")!
    static let requestIdHeader = HTTPField.Name("X-Request-Id")!

    /// The gateway's own headers on every answer.
    func federationHeaders(
        into fields: inout HTTPFields, id: String, attempt: Attempt?, attempts: Int, overhead: Duration?
    ) {
        fields[Self.requestIdHeader] = id
        fields[Self.attemptsHeader] = String(attempts)
        if let attempt {
            fields[Self.nodeHeader] = attempt.node.rawValue
            fields[Self.regionHeader] = attempt.region.rawValue
        }
        if let overhead { fields[Self.overheadHeader] = Self.format(milliseconds: overhead) }
    }

    static func format(milliseconds duration: Duration) -> String {
        let ms = max(0, duration.milliseconds)
        let thousandths = (ms * 1000).rounded()
        let whole = Int64(thousandths / 1000)
        let fraction = Int64(thousandths) - whole * 1000
        let padded = String(fraction)
        return "\(whole)." + String(repeating: "0", count: max(0, 3 - padded.count)) + padded
    }

    /// An error answer before any node answered (or with the gateway's own error).
    func respond(
        _ error: OpenAIError, id: String, attempts: Int, attempt: Attempt? = nil, overhead: Duration? = nil
    )
        -> Response
    {
        var error = error
        federationHeaders(
            into: &error.headers, id: id, attempt: attempt, attempts: attempts, overhead: overhead)
        return error.response()
    }

    /// Ends a failed request: counters, metrics, middleware, the error answer.
    func finish(
        _ request: GatewayRequest, ran: Int, failure: OpenAIError, attempt: Attempt?, waited: Duration,
        tokens: Int?
    ) async -> Response {
        let latency = ContinuousClock.now - request.receivedAt
        let overhead = max(.zero, latency - waited)
        let attempts = attempt?.number ?? 0
        let response = respond(
            failure, id: request.id, attempts: attempts, attempt: attempt, overhead: overhead)
        state.finish(success: false, latency: latency, tokens: nil)
        let status = Int(failure.status.code)
        metrics.recordRequest(
            node: attempt?.node, capability: request.routing.capability, status: status, duration: latency,
            overhead: overhead)
        let outcome = GatewayOutcome(
            status: status, node: attempt?.node, region: attempt?.region, attempts: attempts,
            latency: latency,
            overhead: overhead, tokens: tokens, streamed: request.stream, errorCode: failure.code ?? "error",
            strategy: attempt?.strategy, score: attempt?.score)
        await chain.finish(request, ran: ran, outcome: outcome, error: failure)
        return response
    }

    /// Ends a request the node answered successfully (not streamed).
    func finishSuccess(
        _ call: Call, response: (status: Int, headers: HTTPFields, body: ByteBuffer), attempt: Attempt,
        waited: Duration, tokens: Int?, lifecycle: RequestLifecycle
    ) async -> Response {
        let latency = ContinuousClock.now - call.request.receivedAt
        let overhead = max(.zero, latency - waited)
        var headers = response.headers
        federationHeaders(
            into: &headers, id: call.request.id, attempt: attempt, attempts: lifecycle.attempts,
            overhead: overhead)
        state.finish(success: true, latency: latency, tokens: tokens)
        metrics.recordRequest(
            node: attempt.node, capability: call.request.routing.capability, status: response.status,
            duration: latency, overhead: overhead)
        let outcome = GatewayOutcome(
            status: response.status, node: attempt.node, region: attempt.region, attempts: lifecycle.attempts,
            latency: latency, overhead: overhead, tokens: tokens, streamed: false, strategy: attempt.strategy,
            score: attempt.score)
        await chain.finish(call.request, ran: call.ran, outcome: outcome, error: nil)
        return Response(
            status: .init(code: response.status), headers: headers, body: .init(byteBuffer: response.body))
    }

    /// Hands a node's 3xx/4xx (or, when nothing else could serve, its 5xx/429) to the client as is.
    func finishPassThrough(
        _ call: Call, status: Int, headers: HTTPFields, body: ByteBuffer, attempt: Attempt, waited: Duration,
        attempts: Int? = nil
    ) async -> Response {
        let latency = ContinuousClock.now - call.request.receivedAt
        let overhead = max(.zero, latency - waited)
        var headers = headers
        federationHeaders(
            into: &headers, id: call.request.id, attempt: attempt, attempts: attempts ?? attempt.number,
            overhead: overhead)
        state.finish(success: false, latency: latency, tokens: nil)
        metrics.recordRequest(
            node: attempt.node, capability: call.request.routing.capability, status: status,
            duration: latency,
            overhead: overhead)
        let code = UsageCount.errorCode(inBody: body) ?? "http_\(status)"
        let outcome = GatewayOutcome(
            status: status, node: attempt.node, region: attempt.region, attempts: attempts ?? attempt.number,
            latency: latency, overhead: overhead, streamed: false, errorCode: code,
            strategy: attempt.strategy,
            score: attempt.score)
        let error = OpenAIError(
            status: .init(code: status), message: "node \(attempt.node) answered HTTP \(status)", code: code)
        await chain.finish(call.request, ran: call.ran, outcome: outcome, error: error)
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: body))
    }

    /// No further attempt: answer with the last failure — the node's own answer when it sent one
    /// (a 5xx or 429 passes through with its Retry-After), else 502 or 504.
    func answerLastFailure(
        _ call: Call, _ last: LastFailure, lifecycle: inout RequestLifecycle, waited: Duration
    ) async -> Response {
        let attempts = lifecycle.attempts
        if let answer = last.answer {
            advance(&lifecycle, .fatalFailure(.nodeUnreachable(last.attempt.node, detail: "\(last.kind)")))
            return await finishPassThrough(
                call, status: answer.status, headers: answer.headers, body: answer.body,
                attempt: last.attempt,
                waited: waited, attempts: attempts)
        }
        let tried = lifecycle.nodesTried.map(\.rawValue).joined(separator: ", ")
        let error: FederationError
        switch last.kind {
        case .timeoutBeforeFirstByte, .timeoutAfterFirstByte:
            error = .timeout(settings.readTimeout)
        case .connectionLimit:
            error = .allNodesUnhealthy(
                call.request.routing.capability,
                detail:
                    "every connection this gateway may open to \(last.attempt.node) is busy "
                    + "(gateway.max_connections_per_node = \(settings.maxConnectionsPerNode); tried: \(tried))"
            )
        default:
            error = .nodeUnreachable(
                last.attempt.node, detail: "\(last.kind) after \(attempts) attempt(s) (tried: \(tried))")
        }
        advance(&lifecycle, .fatalFailure(error))
        var failure = OpenAIError(error)
        if case .timeout = error {
            failure.message =
                "No answer from the nodes in time after \(attempts) attempt(s) (tried: \(tried))."
        }
        return await finish(
            call.request, ran: call.ran, failure: failure, attempt: last.attempt, waited: waited, tokens: nil)
    }

    /// The request's deadline passed.
    func timedOut(
        _ call: Call, lifecycle: inout RequestLifecycle, last: LastFailure?, waited: Duration
    ) async
        -> Response
    {
        let timeout = call.deadline - call.request.receivedAt
        advance(&lifecycle, .fatalFailure(.timeout(timeout)))
        var failure = OpenAIError(FederationError.timeout(timeout))
        failure.message =
            "The request did not complete within its deadline of \(timeout.wholeMilliseconds) ms"
            + (lifecycle.attempts > 0
                ? " (\(lifecycle.attempts) attempt(s): \(lifecycle.nodesTried.map(\.rawValue).joined(separator: ", ")))."
                : ".")
        return await finish(
            call.request, ran: call.ran, failure: failure, attempt: last?.attempt, waited: waited, tokens: nil
        )
    }
}

extension UsageCount {
    /// `error.code` of an OpenAI-style error body, when there is one.
    static func errorCode(inBody body: ByteBuffer) -> String? {
        guard body.readableBytes > 0, body.readableBytes <= 1 << 20,
            JSONNesting.problem(in: body.readableBytesView) == nil,
            let json = body.withUnsafeReadableBytes({ FederationOpenAI.JSONParser.parse($0) })
        else { return nil }
        return json["error"]?["code"]?.stringValue
    }
}
