import FederationConfig
import FederationCore
import FederationGatewayService
import FederationHTTP
import HTTPTypes
import Logging
import Synchronization
import Testing

/// Keeps every log line (level, message, metadata) in memory.
final class CapturedLog: Sendable {
    struct Line: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    private let storage = Mutex<[Line]>([])
    var lines: [Line] { storage.withLock { $0 } }
    func append(_ line: Line) { storage.withLock { $0.append(line) } }

    var logger: Logger {
        Logger(label: "test.request-log") { _ in Handler(log: self) }
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            var fields: [String: String] = [:]
            for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
                fields[key] = "\(value)"
            }
            log.append(Line(level: event.level, message: "\(event.message)", metadata: fields))
        }
    }
}

@Suite struct RequestLogMiddlewareTests {
    static let key = "sk-secret-never-logged-42"

    func request(tenant: String? = "acme") -> GatewayRequest {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(Self.key)"
        return GatewayRequest(
            id: "req-9", path: "/v1/chat/completions",
            routing: InferenceRequest(requestId: "req-9", capability: .generate, tenantId: tenant),
            headers: headers)
    }

    @Test func oneStructuredLineAtTheLevelOfTheOutcome() async throws {
        let log = CapturedLog()
        let middleware = RequestLogMiddleware(logger: log.logger)
        await middleware.afterInference(
            request(),
            outcome: GatewayOutcome(
                status: 200, node: NodeId("eu-gpu-1"), region: RegionId("eu-west"), attempts: 2,
                latency: .microseconds(12_345), overhead: .microseconds(412), tokens: 77, streamed: true))
        await middleware.onError(
            request(),
            error: .rateLimited(
                RateLimitDenial(
                    tenant: "acme", kind: .requests, limit: 1, used: 1, requested: 1, retryAfter: .seconds(3))
            ),
            outcome: GatewayOutcome(status: 429))
        await middleware.onError(
            request(tenant: nil),
            error: OpenAIError(status: .serviceUnavailable, message: "m", code: "no_capacity"),
            outcome: GatewayOutcome(status: 503, attempts: 3, errorCode: "no_capacity"))

        let lines = log.lines
        try #require(lines.count == 3)
        #expect(lines.map(\.level) == [.info, .notice, .warning])
        let ok = lines[0].metadata
        #expect(ok["request_id"] == "req-9")
        #expect(ok["tenant"] == "acme")
        #expect(ok["path"] == "/v1/chat/completions")
        #expect(ok["node"] == "eu-gpu-1")
        #expect(ok["region"] == "eu-west")
        #expect(ok["attempts"] == "2")
        #expect(ok["status"] == "200")
        #expect(ok["latency_ms"] == "12.345")
        #expect(ok["overhead_ms"] == "0.412")
        #expect(ok["tokens"] == "77")
        #expect(ok["error"] == nil)
        #expect(lines[1].metadata["error"] == "rate_limit_exceeded")
        #expect(lines[2].metadata["error"] == "no_capacity")
        #expect(lines[2].metadata["tenant"] == "-")
        for line in lines {
            let text = line.message + line.metadata.map { "\($0)=\($1)" }.joined()
            #expect(!text.contains(Self.key))
            #expect(!text.lowercased().contains("authorization"))
        }
    }

    @Test func theStandardChainLogsAUnauthenticatedRequestWithoutItsKey() async throws {
        let log = CapturedLog()
        var settings = GatewaySettings()
        settings.apiKeys = ["the-only-key": "acme"]
        settings.tenants = ["acme": TenantSettings(requestsPerMinute: 1)]
        let chain = GatewayMiddlewareChain(
            try standardMiddleware(
                settings: settings, limiter: TenantRateLimiter(settings: settings), logger: log.logger))
        #expect(chain.middleware.map(\.name) == ["request-log", "auth", "rate-limit"])

        var request = request()
        do {
            _ = try await chain.prepare(&request)
            Issue.record("a wrong key passed")
        } catch {
            #expect(error.ran == 2)
            #expect(error.error.status == .unauthorized)
            await chain.finish(
                request, ran: error.ran, outcome: GatewayOutcome(status: 401, errorCode: error.error.code),
                error: error.error)
        }
        let line = try #require(log.lines.first)
        #expect(line.level == .notice)
        #expect(line.metadata["error"] == "invalid_api_key")
        #expect(line.metadata["tenant"] == "-")
        #expect(!line.metadata.values.contains { $0.contains(Self.key) })
    }
}
