import FederationHTTP
import Hummingbird
import NIOCore
import ServiceLifecycle

/// The path every inference request takes: fault dice → body → parse → FIFO admission → latency → answer.
extension NodeRuntime {
    /// Serves one inference request.
    ///
    /// - `parse` turns the collected body into what `respond` needs, throwing 400s for bad input.
    /// - `respond` produces the answer; it owns the permit (a concurrency slot) and must release it
    ///   when done (a dropped permit releases itself).
    ///
    /// Hummingbird does not cancel a handler when its client disconnects, so the two waits that can
    /// be long — the hang fault and the admission queue — run inside
    /// `consumeWithCancellationOnInboundClose`, which cancels them when the connection closes (and
    /// closes the connection after the response). The common path (a free slot, no fault) skips it
    /// and keeps the connection alive.
    func serveInference<Parsed: Sendable>(
        _ request: Request,
        parse: @Sendable (ByteBuffer) throws -> Parsed,
        respond: @Sendable (Parsed, AdmissionQueue.Permit) async throws -> Response
    ) async throws -> Response {
        let decision = faults.decide()
        if decision == .proceed, let permit = admission.tryAcquire() {
            let parsed = try parse(try await request.collectBody(limit: configuration.maxBodyBytes))
            try await firstByteLatency()
            return try await respond(parsed, permit)
        }
        switch decision {
        case .proceed, .hang:
            break
        case .crash, .rateLimit, .error:
            // Bad input is still reported as such; otherwise the injected failure.
            _ = try parse(try await request.collectBody(limit: configuration.maxBodyBytes))
            throw injectedFailure(decision)
        }
        let limit = configuration.maxBodyBytes
        var response = try await request.body.consumeWithCancellationOnInboundClose { body in
            let parsed = try parse(try await Self.collect(body, limit: limit))
            if decision == .hang { try await self.hang() }
            // Waiting in the queue: leave it if the client disconnects or the node shuts down.
            let permit = try await cancelWhenGracefulShutdown { try await self.admission.acquire() }
            try await self.firstByteLatency()
            return try await respond(parsed, permit)
        }
        // Hummingbird closes the connection after this response; say so, so that clients do not
        // put it back in their pool and fail the next request on it.
        response.headers[.connection] = "close"
        return response
    }

    /// The error (or crash) an injected fault stands for.
    private func injectedFailure(_ decision: FaultDecision) -> OpenAIError {
        switch decision {
        case .crash(let reason):
            logger.critical("crash fault fired", metadata: ["reason": "\(reason)"])
            configuration.crashAction(reason)
            return OpenAIError(
                status: .serviceUnavailable, message: "The node crashed (injected fault: \(reason)).",
                type: "server_error", code: "node_crashed")
        case .rateLimit(let seconds):
            return OpenAIError(
                status: .tooManyRequests,
                message: "Rate limit reached (injected fault); retry after \(seconds) s.",
                type: "requests", code: "rate_limit_exceeded", headers: [.retryAfter: String(seconds)])
        case .error(let status):
            return OpenAIError(
                status: .init(code: status),
                message: "Injected fault: this node answers \(status) on purpose.",
                type: status < 500 ? "invalid_request_error" : "server_error", code: "injected_fault")
        case .proceed, .hang:
            return OpenAIError(
                status: .internalServerError, message: "No failure to inject.", type: "server_error")
        }
    }

    /// Sleeps for one sample of the configured latency distribution.
    private func firstByteLatency() async throws {
        guard !configuration.latency.isZero else { return }
        let delay = configuration.latency.sampleMilliseconds(using: random)
        if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
    }

    /// Holds the request without answering until it is cancelled (client gone, or node shutting down).
    private func hang() async throws -> Never {
        hangingCount.add(1, ordering: .relaxed)
        defer { hangingCount.subtract(1, ordering: .relaxed) }
        logger.debug("hang fault: holding request")
        try await cancelWhenGracefulShutdown {
            repeat { try await Task.sleep(for: .seconds(3600)) } while !Task.isCancelled
        }
        throw CancellationError()
    }

    /// Collects a body stream up to `limit` bytes, else 413.
    static func collect(_ body: RequestBody, limit: Int) async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw OpenAIError.tooLarge(limit: limit)
        }
    }
}
