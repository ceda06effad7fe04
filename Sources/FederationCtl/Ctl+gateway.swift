import Foundation

/// A request sent through a gateway by `fedctl infer` / `fedctl stream`.
public struct InferRequest: Sendable, Equatable {
    public var capability: String
    public var model: String
    public var input: String
    public var maxTokens: Int?
    /// `X-Federation-*` headers (privacy, region, …) as given.
    public var headers: [String: String] = [:]

    public init(capability: String = "generate", model: String, input: String, maxTokens: Int? = nil) {
        self.capability = capability
        self.model = model
        self.input = input
        self.maxTokens = maxTokens
    }

    /// The gateway path and body for the capability: chat for `generate`/`code`, embeddings for
    /// `embed`, the native `/v1/infer` for anything else.
    public func endpoint(stream: Bool) -> (path: String, body: JSON) {
        switch capability {
        case "generate", "code":
            var body: [String: JSON] = [
                "model": .string(model), "messages": [["role": "user", "content": .string(input)]],
            ]
            if let maxTokens { body["max_tokens"] = .number(Double(maxTokens)) }
            if stream { body["stream"] = true }
            return ("/v1/chat/completions", .object(body))
        case "embed":
            return ("/v1/embeddings", ["model": .string(model), "input": .string(input)])
        default:
            return (
                "/v1/infer",
                ["capability": .string(capability), "model": .string(model), "input": .string(input)]
            )
        }
    }
}

/// Decodes Server-Sent Events incrementally: bytes in, the `data` of every complete event out.
public struct SSEDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var data: [String] = []

    public init() {}

    /// Feeds bytes; returns the data of the events they completed.
    public mutating func feed(_ bytes: [UInt8]) -> [String] {
        buffer += bytes
        var events: [String] = []
        while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
            var line = Array(buffer[..<newline])
            buffer.removeSubrange(...newline)
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if line.isEmpty {
                if !data.isEmpty { events.append(data.joined(separator: "\n")) }
                data = []
            } else if line.starts(with: Array("data:".utf8)) {
                var value = line.dropFirst(5)
                if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
                data.append(String(decoding: value, as: UTF8.self))
            }
        }
        return events
    }
}

extension Ctl {
    /// `fedctl infer`: one request through the gateway; the answer and who served it.
    public func infer(_ request: InferRequest) async throws -> String {
        let (path, body) = request.endpoint(stream: false)
        let started = ContinuousClock.now
        let response = try await client.call(
            .gateway, .POST, path, body: Self.bytes(body), headers: request.headers.sorted { $0.key < $1.key }
        )
        let elapsed = (ContinuousClock.now - started).milliseconds
        let answer = try self.body(response, from: .gateway)
        let node = response.header("X-Federation-Node")
        let region = response.header("X-Federation-Region")
        let attempts = response.header("X-Federation-Attempts")
        let requestId = response.header("X-Request-Id")
        if json {
            return JSON.object([
                "status": .number(Double(response.status)), "node": node.map(JSON.string) ?? .null,
                "region": region.map(JSON.string) ?? .null,
                "attempts": attempts.flatMap { Double($0) }.map(JSON.number) ?? .null,
                "request_id": requestId.map(JSON.string) ?? .null, "latency_ms": .number(elapsed.rounded()),
                "response": answer,
            ]).text()
        }
        return Self.renderAnswer(answer, capability: request.capability) + "\n"
            + "— served by \(node ?? "?") (\(region ?? "?")), attempts \(attempts ?? "?"), "
            + "\(Format.milliseconds(elapsed)), request \(requestId ?? "-")"
    }

    static func renderAnswer(_ answer: JSON, capability: String) -> String {
        if let content = answer["choices"]?.array?.first?["message"]?["content"]?.string { return content }
        if let embedding = answer["data"]?.array?.first?["embedding"]?.array {
            let head = embedding.prefix(4).map(\.cellText).joined(separator: ", ")
            return "embedding: \(embedding.count) dimensions [\(head)\(embedding.count > 4 ? ", …" : "")]"
        }
        if let output = answer["output"] { return output.string ?? output.text() }
        return answer.text()
    }

    /// `fedctl stream`: a streamed chat completion; `write` gets every token as it arrives (the
    /// executable flushes each), then a summary line. `--json`: every event's data as one line,
    /// then `{"summary":{…}}`.
    public func stream(_ request: InferRequest, idleTimeout: Duration, write: (String) -> Void) async throws {
        let (path, body) = request.endpoint(stream: true)
        let started = ContinuousClock.now
        var firstToken: Duration?
        var tokens = 0
        var head: ServiceResponse?
        var decoder = SSEDecoder()
        var done = false
        var streamError: JSON?
        try await client.stream(
            .gateway, .POST, path, body: Self.bytes(body),
            headers: request.headers.sorted { $0.key < $1.key },
            idleTimeout: idleTimeout, onHead: { head = $0 },
            onChunk: { bytes in
                for data in decoder.feed(bytes) {
                    if data == "[DONE]" {
                        done = true
                        if json { write("[DONE]\n") }
                        continue
                    }
                    let event = JSON.parse(data)
                    if json { write((event?.text(pretty: false) ?? data) + "\n") }
                    if let error = event?["error"], error != .null {
                        streamError = error
                        continue
                    }
                    guard let content = event?["choices"]?.array?.first?["delta"]?["content"]?.string,
                        !content.isEmpty
                    else { continue }
                    tokens += 1
                    if firstToken == nil { firstToken = ContinuousClock.now - started }
                    if !json { write(content) }
                }
            })
        let elapsed = ContinuousClock.now - started
        let node = head?.header("X-Federation-Node")
        let region = head?.header("X-Federation-Region")
        let attempts = head?.header("X-Federation-Attempts")
        if json {
            write(
                JSON.object([
                    "summary": .object([
                        "tokens": .number(Double(tokens)),
                        "elapsed_ms": .number(elapsed.milliseconds.rounded()),
                        "first_token_ms": firstToken.map { .number($0.milliseconds.rounded()) } ?? .null,
                        "node": node.map(JSON.string) ?? .null, "region": region.map(JSON.string) ?? .null,
                        "attempts": attempts.flatMap { Double($0) }.map(JSON.number) ?? .null,
                        "done": .bool(done), "error": streamError ?? .null,
                    ])
                ]).text(pretty: false) + "\n")
        } else {
            write(
                "\n— \(tokens) token(s) in \(Format.duration(elapsed))"
                    + (firstToken.map { " (first after \(Format.duration($0)))" } ?? "")
                    + " from \(node ?? "?") (\(region ?? "?")), attempts \(attempts ?? "?")\n")
        }
        if let streamError {
            throw CtlError.service(
                service: .gateway, url: urls.gateway, status: 502, code: streamError["code"]?.string,
                message: "the stream broke off: "
                    + (streamError["message"]?.cellText ?? streamError.text(pretty: false)))
        }
        if !done {
            throw CtlError.failed("the stream from the gateway at \(urls.gateway) ended without [DONE]")
        }
    }

    /// `fedctl stats`: every live replica and the cluster total (`--replica`: only this gateway).
    public func stats(replicaOnly: Bool) async throws -> String {
        let path = replicaOnly ? "/v1/stats" : "/v1/stats?scope=cluster"
        let answer = try body(try await client.call(.gateway, .GET, path), from: .gateway)
        return json ? answer.text() : Self.renderStats(answer)
    }

    public static func renderStats(_ answer: JSON) -> String {
        var table = Table([
            .init("GATEWAY"), .init("REQUESTS", .right), .init("OK", .right), .init("FAILED", .right),
            .init("SUCCESS", .right), .init("TOKENS", .right), .init("AVG LATENCY", .right),
            .init("STREAMS", .right),
        ])
        func add(_ name: String, _ stats: JSON) {
            let ok = stats["successful_requests"]?.double ?? 0
            let failed = stats["failed_requests"]?.double ?? 0
            let finished = ok + failed
            table.add([
                name, stats["total_requests"]?.cellText ?? "-", stats["successful_requests"]?.cellText ?? "-",
                stats["failed_requests"]?.cellText ?? "-",
                finished > 0 ? String(format: "%.1f%%", ok / finished * 100) : "-",
                stats["total_tokens"]?.cellText ?? "-",
                Format.milliseconds(stats["average_latency_ms"]?.double),
                stats["active_streams"]?.cellText ?? "-",
            ])
        }
        if answer["scope"]?.string == "cluster" {
            for replica in answer["replicas"]?.array ?? [] {
                add(replica["gateway"]?.cellText ?? "?", replica)
            }
            add("TOTAL (\(answer["live_replicas"]?.cellText ?? "?") live)", answer)
            var text = table.render()
            if let unreadable = answer["unreadable_replicas"]?.int, unreadable > 0 {
                text += "\n\(unreadable) replica heartbeat(s) could not be read"
            }
            return text
        }
        add(answer["gateway"]?.cellText ?? "this replica", answer)
        return table.render()
    }
}
