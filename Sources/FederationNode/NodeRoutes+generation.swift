import FederationCore
import FederationHTTP
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
        let stream: Bool
        let includeUsage: Bool
    }

    func chatCompletion(_ request: Request) async throws -> Response {
        try await serveInference(request) { buffer in
            let body = try ChatCompletionRequest.decode(from: buffer)
            guard !body.messages.isEmpty else {
                throw OpenAIError.invalid(
                    "'messages' must contain at least one message.", param: "messages", code: "invalid_value")
            }
            let param = body.maxCompletionTokens != nil ? "max_completion_tokens" : "max_tokens"
            let requested = body.maxCompletionTokens ?? body.maxTokens
            return Generation(
                kind: .chat, model: try self.model(named: body.model, for: [.generate, .code]).name,
                prompt: body.prompt,
                maxTokens: try validatedMaxTokens(
                    requested, param: param, default: self.configuration.defaultMaxTokens),
                explicitMaxTokens: requested != nil, stream: body.stream ?? false,
                includeUsage: body.streamOptions?.includeUsage ?? false)
        } respond: { generation, permit in
            try await self.generate(generation, permit: permit)
        }
    }

    func completion(_ request: Request) async throws -> Response {
        try await serveInference(request) { buffer in
            let body = try decodeJSON(CompletionRequest.self, from: buffer)
            let defaultMaxTokens = self.configuration.defaultMaxTokens
            return Generation(
                kind: .text, model: try self.model(named: body.model, for: [.generate, .code]).name,
                prompt: body.prompt.texts.joined(separator: "\n"),
                maxTokens: try validatedMaxTokens(
                    body.maxTokens, param: "max_tokens", default: defaultMaxTokens),
                explicitMaxTokens: body.maxTokens != nil, stream: body.stream ?? false,
                includeUsage: body.streamOptions?.includeUsage ?? false)
        } respond: { generation, permit in
            try await self.generate(generation, permit: permit)
        }
    }

    /// Answers in one JSON body or as a paced event stream; the permit is released when the answer is done.
    func generate(_ generation: Generation, permit: AdmissionQueue.Permit) async throws -> Response {
        let tokens = DeterministicText.tokens(for: generation.prompt, count: generation.maxTokens)
        let promptTokens = max(1, DeterministicText.tokenCount(generation.prompt))
        // Generating exactly max_tokens is "length" when the client set the limit, a natural "stop" otherwise.
        let finishReason = generation.explicitMaxTokens ? "length" : "stop"
        let id = makeId(prefix: generation.kind == .chat ? "chatcmpl" : "cmpl")
        let created = now

        guard generation.stream else {
            defer { permit.release() }
            if configuration.tokensPerSecond > 0 {
                try await Task.sleep(for: .seconds(Double(tokens.count) / configuration.tokensPerSecond))
            }
            let json = CompletionJSON.response(
                kind: generation.kind, id: id, created: created, model: generation.model,
                text: tokens.joined(),
                finishReason: finishReason, promptTokens: promptTokens, completionTokens: tokens.count)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: json)))
        }

        let stall = faults.stall
        return Response(
            status: .ok, headers: SSEWriter.headers,
            body: ResponseBody { writer in
                defer { permit.release() }
                let kind = generation.kind
                let model = generation.model
                if kind == .chat {
                    let first = CompletionJSON.chunk(
                        kind: kind, id: id, created: created, model: model, content: "", role: true)
                    try await SSEWriter.send(first, to: &writer)
                }
                let clock = ContinuousClock()
                var start = clock.now
                for (index, token) in tokens.enumerated() {
                    if let stall, index == stall.afterTokens {
                        self.faults.recordStall()
                        // A stall (unlike normal pacing) does not hold up a graceful shutdown.
                        try await cancelWhenGracefulShutdown {
                            try await Task.sleep(for: .seconds(stall.seconds))
                        }
                        start = start.advanced(by: .seconds(stall.seconds))
                    }
                    if self.configuration.tokensPerSecond > 0 {
                        let due = start.advanced(
                            by: .seconds(Double(index + 1) / self.configuration.tokensPerSecond))
                        try await Task.sleep(until: due, clock: clock)
                    }
                    let chunk = CompletionJSON.chunk(
                        kind: kind, id: id, created: created, model: model, content: token)
                    try await SSEWriter.send(chunk, to: &writer)
                }
                let last = CompletionJSON.chunk(
                    kind: kind, id: id, created: created, model: model, content: kind == .chat ? nil : "",
                    finishReason: finishReason)
                try await SSEWriter.send(last, to: &writer)
                if generation.includeUsage {
                    let usage = CompletionJSON.usageChunk(
                        kind: kind, id: id, created: created, model: model, prompt: promptTokens,
                        completion: tokens.count)
                    try await SSEWriter.send(usage, to: &writer)
                }
                try await SSEWriter.finish(&writer)
            })
    }
}
