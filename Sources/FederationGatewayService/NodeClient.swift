import AsyncHTTPClient
import FederationConfig
import FederationCore
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// The gateway's own HTTP client to nodes (not `HTTPClient.shared`): a connection pool sized for
/// many concurrent streams per node, connect and read timeouts from the configuration, no
/// redirects, no decompression (bytes are passed through as the node sent them). A `Service`, so
/// it shuts down after the server stopped.
final class NodeClient: Service, Sendable {
    /// For `https` nodes (TLS), and what the lean pool does not speak.
    let http: HTTPClient
    /// Plain-`http` nodes: the lean pool (NodeConnectionPool).
    let pool: NodeConnectionPool
    private let endpoints = Mutex<[String: NodeEndpoint]>([:])

    init(settings: GatewaySettings) {
        pool = NodeConnectionPool(
            settings: .init(
                connectTimeout: settings.connectTimeout, readTimeout: settings.readTimeout,
                maxConnectionsPerNode: settings.maxConnectionsPerNode))
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
        pool.shutdown()
        try await http.shutdown()
    }

    /// Where a catalog endpoint (`http://host:port[/prefix]`) points, parsed once per endpoint.
    func endpoint(_ text: String) -> NodeEndpoint {
        if let known = endpoints.withLock({ $0[text] }) { return known }
        let parsed = NodeEndpoint(text)
        endpoints.withLock { cache in
            if cache.count >= 65_536 { cache.removeAll() }  // endpoints come and go; bounded
            cache[text] = parsed
        }
        return parsed
    }

    /// The request for the lean pool: `{prefix}{path}` with the client's end-to-end headers.
    static func request(
        to address: NodeAddress, prefix: String, path: String, clientHeaders: HTTPFields, requestId: String,
        body: ByteBuffer
    ) -> NodeRequest {
        var headers = HTTPHeaders()
        headers.reserveCapacity(clientHeaders.count + 3)
        headers.add(name: "Host", value: address.description)
        addForwarded(clientHeaders, requestId: requestId, bodyLength: body.readableBytes, to: &headers)
        return NodeRequest(
            address: address,
            head: HTTPRequestHead(version: .http1_1, method: .POST, uri: prefix + path, headers: headers),
            body: body)
    }

    /// The client's end-to-end headers for the node, then the gateway's request id and the
    /// body's length (the client's own `X-Request-Id`, if any, was read into the request's id).
    static func addForwarded(
        _ clientHeaders: HTTPFields, requestId: String, bodyLength: Int, to headers: inout HTTPHeaders
    ) {
        for field in clientHeaders {
            let name = field.name.canonicalName
            if notForwarded.contains(name) || name == "x-request-id" { continue }
            headers.add(name: name, value: field.value)
        }
        headers.add(name: "X-Request-Id", value: requestId)
        headers.add(name: "Content-Length", value: String(bodyLength))
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
        addForwarded(clientHeaders, requestId: requestId, bodyLength: body.readableBytes, to: &headers)
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

    /// How a failed exchange of the lean pool is classified for retries and the circuits.
    static func failure(_ error: NodeExchangeError) -> FailureKind {
        switch error {
        case .cancelled: .cancelled
        case .readTimeout, .deadline: .timeoutBeforeFirstByte
        case .connectTimeout, .connectFailed, .closedBeforeAnswer, .closed, .tooLarge, .invalidResponse:
            .connectFailed
        }
    }

    /// `Retry-After` in seconds (the HTTP-date form is not used by inference servers), bounded.
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        guard let text = headers.first(name: "retry-after"), let seconds = Double(text.trimmed),
            seconds >= 0, seconds <= 86_400
        else { return nil }
        return Duration.seconds(checked: seconds)
    }
}

/// A node's endpoint as the gateway reaches it: plain `http` through the lean pool, anything else
/// (`https`) through AsyncHTTPClient.
enum NodeEndpoint: Sendable, Equatable {
    case plain(NodeAddress, prefix: String)
    case other

    /// `http://host[:port][/prefix]` (a name, an IPv4 address, or IPv6 in brackets); anything else
    /// is `.other`.
    init(_ text: String) {
        guard text.lowercased().hasPrefix("http://") else {
            self = .other
            return
        }
        let rest = text.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        var prefix = String(rest.dropFirst(authority.count))
        guard !prefix.contains("?"), !prefix.contains("#"), !authority.contains("@") else {
            self = .other
            return
        }
        while prefix.hasSuffix("/") { prefix.removeLast() }
        var host = Substring(authority)
        var port = 80
        let bracketed = host.hasPrefix("[")
        if bracketed {
            guard let close = host.firstIndex(of: "]") else {
                self = .other
                return
            }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let value = Int(after.dropFirst()), (1...65_535).contains(value)
                else {
                    self = .other
                    return
                }
                port = value
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard let value = Int(host[host.index(after: colon)...]), (1...65_535).contains(value) else {
                self = .other
                return
            }
            port = value
            host = host[..<colon]
        }
        guard !host.isEmpty else {
            self = .other
            return
        }
        self = .plain(NodeAddress(host: String(host), port: port), prefix: prefix)
    }
}
