import AsyncHTTPClient
import FederationNode
import FederationOpenAI
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Starts a node on a free port (a real server), runs `body` with a client for it, and stops the node,
/// also when `body` throws.
func withNode(
    _ configure: (inout NodeConfiguration) -> Void = { _ in },
    _ body: @Sendable (NodeClient) async throws -> Void
) async throws {
    var configuration = NodeConfiguration()
    configuration.port = 0
    configuration.tokensPerSecond = 0
    configuration.crashAction = { _ in }
    configure(&configuration)
    var logger = Logger(label: "node-test")
    logger.logLevel = .warning
    let app = try buildNodeApplication(configuration: configuration, logger: logger)
    try await app.test(.live) { testClient in
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init())
        let client = NodeClient(port: testClient.port!, http: http)
        do {
            try await body(client)
            try await http.shutdown()
        } catch {
            try? await http.shutdown()
            throw error
        }
    }
}

/// A small HTTP client for a node under test.
struct NodeClient: Sendable {
    let port: Int
    let http: HTTPClient

    struct Reply: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: ByteBuffer

        var text: String { String(buffer: body) }
        var bytes: [UInt8] { Array(body.readableBytesView) }
        var json: JSONValue { (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))) ?? .null }
        /// `error.param` of an OpenAI-style error.
        var errorParam: String? { json["error"]?["param"]?.stringValue }
        var errorCode: String? { json["error"]?["code"]?.stringValue }
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func request(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json",
        timeout: TimeAmount = .seconds(30)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await http.execute(request, timeout: timeout)
        let collected = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return Reply(status: Int(response.status.code), headers: response.headers, body: collected)
    }

    func post(_ path: String, json: String, timeout: TimeAmount = .seconds(30)) async throws -> Reply {
        try await request(.POST, path, body: Array(json.utf8), timeout: timeout)
    }

    func get(_ path: String) async throws -> Reply {
        try await request(.GET, path)
    }

    func health() async throws -> JSONValue {
        try await get("/health").json
    }

    /// One received SSE frame and when it arrived (from the request's start).
    struct Frame: Sendable {
        let data: String
        let arrival: ContinuousClock.Instant
        var json: JSONValue { (try? JSONDecoder().decode(JSONValue.self, from: Data(data.utf8))) ?? .null }
    }

    /// Posts and reads the event stream frame by frame, noting each frame's arrival time.
    func stream(
        _ path: String, json: String
    ) async throws -> (status: Int, contentType: String?, frames: [Frame]) {
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await http.execute(request, timeout: .seconds(30))
        var parser = SSEParser()
        var frames: [Frame] = []
        for try await buffer in response.body {
            let now = ContinuousClock.now
            for event in try parser.feed(buffer) {
                frames.append(Frame(data: event.data, arrival: now))
            }
        }
        return (Int(response.status.code), response.headers.first(name: "Content-Type"), frames)
    }
}

/// A chat request body.
func chatBody(
    model: String = "fed-chat", prompt: String = "Hello there", maxTokens: Int? = nil, stream: Bool = false
)
    -> String
{
    var fields = ["\"model\":\"\(model)\"", "\"messages\":[{\"role\":\"user\",\"content\":\"\(prompt)\"}]"]
    if let maxTokens { fields.append("\"max_tokens\":\(maxTokens)") }
    if stream { fields.append("\"stream\":true") }
    return "{" + fields.joined(separator: ",") + "}"
}

/// A thread-safe list tests append to from concurrent tasks and callbacks.
final class Recorder<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])

    func append(_ item: Element) { items.withLock { $0.append(item) } }
    var all: [Element] { items.withLock { $0 } }
}

/// Runs `operation` and notes when it finished.
func timed<Value: Sendable>(
    _ operation: () async throws -> Value
) async throws -> (Value, ContinuousClock.Instant) {
    let value = try await operation()
    return (value, ContinuousClock.now)
}

/// Whether `operation` threw.
func failed(_ operation: () async throws -> Void) async -> Bool {
    do {
        try await operation()
        return false
    } catch {
        return true
    }
}
