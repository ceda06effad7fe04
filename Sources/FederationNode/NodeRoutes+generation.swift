import FederationCore
import FederationHTTP
import FederationOpenAI
import Hummingbird
import NIOCore
import ServiceLifecycle

/// `POST /v1/chat/completions` and `POST /v1/completions`: deterministic text at a configured token rate.
extension NodeRuntime {
    /// What one generation request asked for, whichever endpoint it came through.
    struct Generation: Sendable {
        let kind: CompletionJSON.Kind
        let model: String
        let prompt: String
        let maxTokens: Int
        let explicitMaxTokens: Bool
        /// `n`: how many choices, generated side by side (at the token rate each).
        let choices: Int
        let stream: Bool
        let includeUsage: Bool
        /// The partial answer to continue (`continue_final_message`), nil for a new answer.
        var continuation: String? = nil
    }

    func chatCompletion(
        _ request: Request, gone: @autoclosure () -> ClientDisconnect?
    ) async throws -> Response {
        let disconnect = gone()
        return try await serveInference(request, gone: disconnect) { buffer in
            let body = try ChatCompletionRequest.decode(from: buffer)
            let param = body.maxCompletionTokens != nil ? "max_completion_tokens" : "max_tokens"
            let requested = body.maxCompletionTokens ?? body.maxTokens
            let maxTokens = try validatedMaxTokens(
                requested, param: param, default: self.configuration.defaultMaxTokens)
            let choices = try body.sampling.validatedChoiceCount()
            return Generation(
                kind: .chat, model: try self.model(named: body.model, for: [.generate, .code]).name,
                prompt: body.prompt, maxTokens: maxTokens, explicitMaxTokens: requested != nil,
                choices: choices, stream: body.stream ?? false,
                includeUsage: body.streamOptions?.includeUsage ?? false, continuation: body.continuation)
        } hold: { generation in
            self.pacing(generation)
        } respond: { generation, permit in
            try await self.generate(generation, permit: permit, gone: disconnect)
        }
    }

    func completion(_ request: Request, gone: @autoclosure () -> ClientDisconnect?) async throws -> Response {
        let disconnect = gone()
        return try await serveInference(request, gone: disconnect) { buffer in
            let body = try decodeJSON(CompletionRequest.self, from: buffer)
            let maxTokens = try validatedMaxTokens(
                body.maxTokens, param: "max_tokens", default: self.configuration.defaultMaxTokens)
            let choices = try body.sampling.validatedChoiceCount()
            return Generation(
                kind: .text, model: try self.model(named: body.model, for: [.generate, .code]).name,
                prompt: body.prompt.texts.joined(separator: "\n"), maxTokens: maxTokens,
                explicitMaxTokens: body.maxTokens != nil, choices: choices, stream: body.stream ?? false,
                includeUsage: body.streamOptions?.includeUsage ?? false)
        } hold: { generation in
            self.pacing(generation)
        } respond: { generation, permit in
            try await self.generate(generation, permit: permit, gone: disconnect)
        }
    }

    /// How long a non-streamed answer holds its slot before it is sent (zero for streams: they
    /// return at once and pace while writing).
    func pacing(_ generation: Generation) -> Duration {
        guard !generation.stream, configuration.tokensPerSecond > 0 else { return .zero }
        // maxTokens ≤ 16384 and the rate > 0 are checked, so this is a bounded number of seconds.
        return .seconds(Double(generation.maxTokens) / configuration.tokensPerSecond)
    }

    /// The tokens of choice `index`: choice 0 is the prompt's text (as without `n`), the others
    /// are derived from the prompt and their index, so choices differ.
    static func tokens(for generation: Generation, choice index: Int) -> [String] {
        if index == 0, let partial = generation.continuation {
            return DeterministicText.continuation(
                of: partial, for: generation.prompt, count: generation.maxTokens)
        }
        let seed = index == 0 ? generation.prompt : generation.prompt + "\u{1}choice \(index)"
        return DeterministicText.tokens(for: seed, count: generation.maxTokens)
    }

    /// Answers in one JSON body or as a paced event stream; the permit is released when the answer is done.
    /// - Parameter gone: the client's disconnect signal: a stream stops (and frees its slot) as soon
    ///   as the client goes away, not at its next token's write.
    func generate(
        _ generation: Generation, permit: AdmissionQueue.Permit, gone: ClientDisconnect? = nil
    ) async throws -> Response {
        let choices = (0..<generation.choices).map { Self.tokens(for: generation, choice: $0) }
        let promptTokens = max(1, DeterministicText.tokenCount(generation.prompt))
        let completionTokens = choices.reduce(0) { $0 + $1.count }
        // Generating exactly max_tokens is "length" when the client set the limit, a natural "stop" otherwise.
        let finishReason = generation.explicitMaxTokens ? "length" : "stop"
        let id = makeId(prefix: generation.kind == .chat ? "chatcmpl" : "cmpl")
        let created = now

        guard generation.stream else {
            defer { permit.release() }
            let pacing = pacing(generation)
            if pacing > .zero { try await Task.sleep(for: pacing) }
            let json = CompletionJSON.response(
                kind: generation.kind, id: id, created: created, model: generation.model,
                texts: choices.map { $0.joined() }, finishReason: finishReason, promptTokens: promptTokens,
                completionTokens: completionTokens)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: json)))
        }

        let stall = faults.stall
        let crashAfter = faults.crashAfterTokens
        return Response(
            status: .ok, headers: SSEWriter.headers,
            body: ResponseBody { writer in
                defer { permit.release() }
                let kind = generation.kind
                let model = generation.model
                if kind == .chat {
                    for choice in choices.indices {
                        let first = CompletionJSON.chunk(
                            kind: kind, id: id, created: created, model: model, index: choice, content: "",
                            role: true)
                        try await SSEWriter.send(first, to: &writer)
                    }
                }
                let clock = ContinuousClock()
                var start = clock.now
                for step in 0..<generation.maxTokens {
                    if let stall, step == stall.afterTokens {
                        self.faults.recordStall()
                        // A stall (unlike normal pacing) does not hold up a graceful shutdown.
                        try await cancelWhenGracefulShutdown {
                            try await Task.sleep(for: .seconds(stall.seconds))
                        }
                        start = start.advanced(by: .seconds(stall.seconds))
                    }
                    if self.configuration.tokensPerSecond > 0 {
                        let due = start.advanced(
                            by: .seconds(Double(step + 1) / self.configuration.tokensPerSecond))
                        if let gone {
                            try await gone.cancellingWhenGone {
                                try await Task.sleep(until: due, clock: clock)
                            }
                        } else {
                            try await Task.sleep(until: due, clock: clock)
                        }
                    }
                    for (choice, tokens) in choices.enumerated() {
                        let chunk = CompletionJSON.chunk(
                            kind: kind, id: id, created: created, model: model, index: choice,
                            content: tokens[step])
                        try await SSEWriter.send(chunk, to: &writer)
                    }
                    if let crashAfter, step + 1 == crashAfter {
                        self.faults.recordCrash()
                        self.configuration.crashAction("crash_after_tokens=\(crashAfter) reached")
                        // Where the crash action returns (in-process tests), the stream is cut.
                        throw MidStreamCrash()
                    }
                }
                for choice in choices.indices {
                    let last = CompletionJSON.chunk(
                        kind: kind, id: id, created: created, model: model, index: choice,
                        content: kind == .chat ? nil : "", finishReason: finishReason)
                    try await SSEWriter.send(last, to: &writer)
                }
                if generation.includeUsage {
                    let usage = CompletionJSON.usageChunk(
                        kind: kind, id: id, created: created, model: model, prompt: promptTokens,
                        completion: completionTokens)
                    try await SSEWriter.send(usage, to: &writer)
                }
                try await SSEWriter.finish(&writer)
            })
    }
}

/// The mid-stream crash fault fired: the stream ends without its last chunk.
struct MidStreamCrash: Error {}
