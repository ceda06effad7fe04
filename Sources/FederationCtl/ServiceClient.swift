import AsyncHTTPClient
import FederationCore
import Foundation
import NIOCore
import NIOHTTP1

/// One answer of a service: status, headers, body.
public struct ServiceResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body as JSON (nil when it is not JSON).
    public var json: JSON? { JSON.parse(body) }
    public var text: String { String(decoding: body, as: UTF8.self) }
    public func header(_ name: String) -> String? { headers.first(name: name) }
}

/// fedctl's HTTP client for the services: AsyncHTTPClient with short timeouts (connect 2 s, the
/// answer `timeout`), no redirects, no decompression, a refused connect failing at once. Every
/// transport failure becomes ``CtlError/unreachable(service:url:reason:)`` naming the service and
/// URL; ``call(_:_:_:body:admin:headers:)`` also turns non-2xx answers into
/// ``CtlError/service(service:url:status:code:message:)`` with the service's own message.
public struct ServiceClient: Sendable {
    public let urls: ServiceURLs
    let http: HTTPClient

    /// Runs `body` with a client of its own, shut down afterwards. `readTimeout` (default: the
    /// answer timeout) bounds the silence while a body arrives, also between a stream's chunks.
    public static func with<T: Sendable>(
        _ urls: ServiceURLs, readTimeout: Duration? = nil, _ body: (ServiceClient) async throws -> T
    ) async throws -> T {
        let connect = min(urls.timeout, .seconds(2))
        let read = readTimeout ?? urls.timeout
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(
                connect: .milliseconds(Int64(saturating: connect.milliseconds)),
                read: .milliseconds(Int64(saturating: read.milliseconds))),
            decompression: .disabled)
        configuration.connectionPool.retryConnectionEstablishment = false
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let client = ServiceClient(urls: urls, http: http)
        do {
            let result = try await body(client)
            try? await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// Sends one request and returns whatever the service answered; throws only when it did not
    /// answer (``CtlError/unreachable(service:url:reason:)``).
    public func send(
        _ service: ServiceKind, _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil,
        admin: Bool = false, headers: [(String, String)] = [], maximumBytes: Int = 32 << 20
    ) async throws -> ServiceResponse {
        let base = urls.url(of: service)
        let request = makeRequest(base + path, method, body: body, admin: admin, headers: headers)
        do {
            let response = try await http.execute(request, timeout: timeAmount(urls.timeout))
            let collected = try await response.body.collect(upTo: maximumBytes)
            return ServiceResponse(
                status: Int(response.status.code), headers: response.headers,
                body: Array(collected.readableBytesView))
        } catch {
            throw CtlError.unreachable(
                service: service, url: base, reason: Self.reason(error, timeout: urls.timeout))
        }
    }

    /// Like ``send(_:_:_:body:admin:headers:maximumBytes:)``, but a non-2xx answer throws
    /// ``CtlError/service(service:url:status:code:message:)``.
    public func call(
        _ service: ServiceKind, _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil,
        admin: Bool = false, headers: [(String, String)] = []
    ) async throws -> ServiceResponse {
        let response = try await send(service, method, path, body: body, admin: admin, headers: headers)
        guard (200...299).contains(response.status) else { throw Self.error(service, urls, response) }
        return response
    }

    /// Sends a request whose answer is a stream: `onHead` gets the head of a 2xx answer, then
    /// `onChunk` every piece of the body as it arrives. A non-2xx answer throws its error.
    /// `idleTimeout` bounds the silence between chunks.
    public func stream(
        _ service: ServiceKind, _ method: HTTPMethod, _ path: String, body: [UInt8]?,
        headers: [(String, String)] = [], idleTimeout: Duration,
        onHead: (ServiceResponse) async throws -> Void, onChunk: ([UInt8]) async throws -> Void
    ) async throws {
        let base = urls.url(of: service)
        let request = makeRequest(base + path, method, body: body, admin: false, headers: headers)
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeAmount(idleTimeout))
        } catch {
            throw CtlError.unreachable(
                service: service, url: base, reason: Self.reason(error, timeout: idleTimeout))
        }
        let head = ServiceResponse(status: Int(response.status.code), headers: response.headers, body: [])
        guard (200...299).contains(head.status) else {
            let collected = try? await response.body.collect(upTo: 1 << 20)
            var failed = head
            failed.body = collected.map { Array($0.readableBytesView) } ?? []
            throw Self.error(service, urls, failed)
        }
        try await onHead(head)
        do {
            for try await chunk in response.body { try await onChunk(Array(chunk.readableBytesView)) }
        } catch let error as CtlError {
            throw error
        } catch {
            throw CtlError.failed(
                "the stream from the \(CtlError.name(service)) at \(base) broke off: "
                    + Self.reason(error, timeout: idleTimeout))
        }
    }

    private func makeRequest(
        _ url: String, _ method: HTTPMethod, body: [UInt8]?, admin: Bool, headers: [(String, String)]
    ) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: "fedctl")
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        if admin, let token = urls.adminToken {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        return request
    }

    private func timeAmount(_ duration: Duration) -> TimeAmount {
        .milliseconds(Int64(saturating: duration.milliseconds))
    }

    /// The service's error answer as a ``CtlError``: its OpenAI-style `error.message` and `code`,
    /// else the body's first 300 bytes.
    static func error(_ service: ServiceKind, _ urls: ServiceURLs, _ response: ServiceResponse) -> CtlError {
        let error = response.json?["error"]
        var message = error?["message"]?.string ?? error?.string
        if message == nil {
            let text = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
            message = text.isEmpty ? "(no body)" : String(text.prefix(300))
        }
        if response.status == 401 || response.status == 403, urls.adminToken == nil {
            message! += " (pass --admin-token or set FED_ADMIN_TOKEN)"
        }
        return .service(
            service: service, url: urls.url(of: service), status: response.status,
            code: error?["code"]?.string, message: message!)
    }

    /// A short reason for a transport failure: `connection refused`, `no answer within 5 s`, ….
    static func reason(_ error: any Error, timeout: Duration) -> String {
        if let error = error as? HTTPClientError,
            error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            return "no answer within \(Format.duration(timeout))"
        }
        let text = String(describing: error)
        let lower = text.lowercased()
        if lower.contains("refused") { return "connection refused" }
        if lower.contains("timeout") || lower.contains("timedout") {
            return "no answer within \(Format.duration(timeout))"
        }
        if lower.contains("resolve") || lower.contains("lookup") || lower.contains("unknown host")
            || lower.contains("nodename")
        {
            return "host name not found"
        }
        if lower.contains("reset") { return "connection reset" }
        return text
    }
}
