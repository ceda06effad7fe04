import FederationHTTP
import Hummingbird
import NIOCore
import ServiceLifecycle

/// The path every inference request takes: fault dice → body → parse → FIFO admission → latency → answer.
extension NodeRuntime {
    /// Serves one inference request.
    ///
    /// - `gone` is the connection's disconnect signal (nil when the server has none), looked up only
    ///   for an answer that waits.
    /// - `parse` turns the collected body into what `respond` needs, throwing 400s for bad input.
    /// - `hold` is how long `respond` will keep the permit before its answer is complete (a
    ///   non-streamed generation's pacing); streams return at once and free the permit when a write
    ///   to a closed connection fails.
    /// - `respond` produces the answer; it owns the permit (a concurrency slot) and must release it
    ///   when done (a dropped permit releases itself).
    ///
    /// Hummingbird does not cancel a handler when its client disconnects. On the common path (a
    /// free slot, no fault) an answer that waits at all — latency plus `hold` — runs inside
    /// ``ClientDisconnect/cancellingWhenGone(_:)``, which cancels it (and frees the slot) when the
    /// client goes away and keeps the connection alive otherwise. The hang fault and the admission
    /// queue wait before the body is read, inside `consumeWithCancellationOnInboundClose` (which
    /// closes the connection after the response).
    func serveInference<Parsed: Sendable>(
        _ request: Request,
        gone: @autoclosure () -> ClientDisconnect?,
        parse: @Sendable (ByteBuffer) throws -> Parsed,
        hold: @Sendable (Parsed) -> Duration = { _ in .zero },
        respond: @Sendable (Parsed, AdmissionQueue.Permit) async throws -> Response
    ) async throws -> Response {
        countRequest(request.uri.path)
        let decision = faults.decide()
        if decision == .proceed, let permit = admission.tryAcquire() {
            let parsed = try parse(try await request.collectBody(limit: configuration.maxBodyBytes))
            let latency = sampledLatency()
            guard latency + hold(parsed) > .zero, let gone = gone() else {
                try await sleep(latency)
                return try await respond(parsed, permit)
            }
            return try await gone.cancellingWhenGone {
                try await self.sleep(latency)
                return try await respond(parsed, permit)
            }
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
        return closing(
            try await request.body.consumeWithCancellationOnInboundClose { body in
                let parsed = try parse(try await Self.collect(body, limit: limit))
                if decision == .hang { try await self.hang() }
                // Waiting in the queue: leave it if the client disconnects or the node shuts down.
                let permit = try await cancelWhenGracefulShutdown { try await self.admission.acquire() }
                try await self.sleep(self.sampledLatency())
                return try await respond(parsed, permit)
            })
    }

    /// Hummingbird closes the connection after a response produced inside
    /// `consumeWithCancellationOnInboundClose`; say so, so that clients do not put it back in their
    /// pool and fail the next request on it.
    private func closing(_ response: Response) -> Response {
        var response = response
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

    /// One sample of the configured first-byte latency, bounded to 0…1 h (a heavy-tailed
    /// distribution can draw an infinite or absurd value).
    func sampledLatency() -> Duration {
        guard !configuration.latency.isZero else { return .zero }
        let milliseconds = configuration.latency.sampleMilliseconds(using: random)
        guard milliseconds.isFinite, milliseconds > 0 else { return .zero }
        return .microseconds(Int64(min(milliseconds, 3_600_000) * 1000))
    }

    private func sleep(_ duration: Duration) async throws {
        if duration > .zero { try await Task.sleep(for: duration) }
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
