import AsyncHTTPClient
import FederationConfig
import FederationCore
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// The gateway's own HTTP client to nodes (not `HTTPClient.shared`): a connection pool sized for
/// many concurrent streams per node, connect and read timeouts from the configuration, no
/// redirects, no decompression (bytes are passed through as the node sent them). A `Service`, so
/// it shuts down after the server stopped.
final class NodeClient: Service, Sendable {
    let http: HTTPClient

    init(settings: GatewaySettings) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.httpVersion = .http1Only
        configuration.timeout = .init(
            connect: .milliseconds(settings.connectTimeout.wholeMilliseconds),
            read: .milliseconds(settings.readTimeout.wholeMilliseconds))
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: settings.maxConnectionsPerNode)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func run() async throws {
        try? await gracefulShutdown()
        try await http.shutdown()
    }

    /// Headers never forwarded to a node: hop-by-hop ones (RFC 9110 §7.6.1), the ones the client
    /// recomputes, and the client's credentials (the node never sees the gateway's API key).
    static let notForwarded: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "host", "content-length", "authorization", "expect",
    ]

    /// Headers of a node's answer never passed to the client (hop-by-hop, and the length the
    /// gateway's server sets itself).
    static let notReturned: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "content-length", "date", "server",
    ]

    /// The request to `{endpoint}{path}` with the client's end-to-end headers and `body`.
    static func request(
        endpoint: String, path: String, clientHeaders: HTTPFields, requestId: String, body: ByteBuffer
    ) -> HTTPClientRequest {
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        var headers = HTTPHeaders()
        headers.reserveCapacity(clientHeaders.count + 2)
        for field in clientHeaders {
            let name = field.name.canonicalName
            if notForwarded.contains(name) || name == "x-request-id" { continue }
            headers.add(name: name, value: field.value)
        }
        headers.replaceOrAdd(name: "X-Request-Id", value: requestId)
        headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        request.headers = headers
        request.body = .bytes(body)
        return request
    }

    /// The end-to-end headers of a node's answer, for the client.
    static func clientHeaders(from headers: HTTPHeaders) -> HTTPFields {
        var fields = HTTPFields()
        fields.reserveCapacity(headers.count + 6)
        for (name, value) in headers {
            let lowered = name.lowercased()
            if notReturned.contains(lowered) { continue }
            if let fieldName = HTTPField.Name(name) {
                fields.append(HTTPField(name: fieldName, value: value))
            }
        }
        return fields
    }

    /// How an error thrown before the node's response head arrived is classified: a timeout or a
    /// failure to connect (which includes a connection the node closed before answering).
    static func failureBeforeHead(_ error: any Error) -> FailureKind {
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout, .deadlineExceeded, .connectTimeout:
                return error == .connectTimeout ? .connectFailed : .timeoutBeforeFirstByte
            case .cancelled:
                return .cancelled
            default:
                return .connectFailed
            }
        }
        if error is CancellationError { return .cancelled }
        return .connectFailed
    }

    /// `Retry-After` in seconds (the HTTP-date form is not used by inference servers), bounded.
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        guard let text = headers.first(name: "retry-after"), let seconds = Double(text.trimmed),
            seconds >= 0, seconds <= 86_400
        else { return nil }
        return Duration.seconds(checked: seconds)
    }
}
