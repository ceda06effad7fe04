import FederationNode
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore

/// The demo node's request decoders, reached through its real routes in-process (Hummingbird's
/// router test client, no sockets): every body goes through exactly what a client's would,
/// validation included. A 5xx answer is a failure (faults are off, so only a bug answers one).
public enum NodeTargets {
    /// The node's routes that take a body, by corpus name.
    static let routes: [(name: String, path: String, contentType: String)] = [
        ("node-chat", "/v1/chat/completions", "application/json"),
        ("node-completions", "/v1/completions", "application/json"),
        ("node-embeddings", "/v1/embeddings", "application/json"),
        ("node-speech", "/v1/audio/speech", "application/json"),
        ("node-images", "/v1/images/generations", "application/json"),
        ("node-infer", "/v1/infer", "application/json"),
        ("node-multipart", "/v1/audio/transcriptions", "multipart/form-data; boundary=fuzz"),
        ("node-faults", "/admin/faults", "application/json"),
    ]

    /// Starts a node (no latency, no token pacing, crashes disabled) and runs `body` with its targets.
    public static func withTargets<T: Sendable>(
        _ body: @Sendable ([FuzzTarget]) async throws -> T
    ) async throws -> T {
        var configuration = NodeConfiguration()
        configuration.port = 0
        configuration.tokensPerSecond = 0
        configuration.crashAction = { _ in }
        var logger = Logger(label: "federation-fuzz.node")
        logger.logLevel = .critical
        let app = try buildNodeApplication(configuration: configuration, logger: logger)
        return try await app.test(.router) { client in
            let targets = routes.map { route in
                FuzzTarget(name: route.name) { bytes in
                    await send(client, route.path, contentType: route.contentType, bytes)
                }
            }
            return try await body(targets)
        }
    }

    static func send(
        _ client: any TestClientProtocol, _ path: String, contentType: String, _ bytes: [UInt8]
    ) async -> FuzzOutcome {
        do {
            let status = try await client.execute(
                uri: path, method: .post, headers: [.contentType: contentType], body: ByteBuffer(bytes: bytes)
            ) { $0.status }
            if path == "/admin/faults" {
                _ = try await client.execute(uri: path, method: .delete) { $0.status }
            }
            if status.code >= 500 { return .failure("\(path) answered \(status.code)") }
            return status.code < 300 ? .accepted : .rejected
        } catch {
            return .failure("\(path) threw \(error)")
        }
    }
}
