import FederationCatalogService
import FederationConfig
import FederationCore
import FederationGatewayService
import FederationHTTP
import FederationHealthService
import FederationRouterService
import FederationState
import Foundation

/// What one input did to a decoder. A trap is not an outcome: it kills the process, which is the
/// point (CI fails).
public enum FuzzOutcome: Sendable, Equatable {
    /// Decoded and validated.
    case accepted
    /// Refused with the error the service answers with (a 400, a malformed-report error…).
    case rejected
    /// Refused in a way the contract does not allow (an untranslated error, a 5xx): a bug.
    case failure(String)
}

/// One decoder that takes outside bytes, with the name of its corpus folder.
public struct FuzzTarget: Sendable {
    public var name: String
    public var run: @Sendable ([UInt8]) async -> FuzzOutcome

    public init(name: String, run: @escaping @Sendable ([UInt8]) async -> FuzzOutcome) {
        self.name = name
        self.run = run
    }

    /// A synchronous decoder whose only allowed error is `allowed`.
    static func decoder(
        _ name: String, allowing allowed: any Error.Type,
        _ decode: @escaping @Sendable ([UInt8]) throws -> Void
    ) -> FuzzTarget {
        FuzzTarget(name: name) { bytes in
            do {
                try decode(bytes)
                return .accepted
            } catch {
                if type(of: error) == allowed { return .rejected }
                return .failure("untranslated \(type(of: error)): \(error)")
            }
        }
    }

    /// Every decoder of the control plane's inputs that can run in-process without I/O.
    public static let controlPlane: [FuzzTarget] = [
        decoder("route-query", allowing: OpenAIError.self) { _ = try RouteQueryDecoder.decode($0) },
        decoder("policy-document", allowing: OpenAIError.self) { bytes in
            _ = try? PolicyDocumentDecoder.patched(bytes)
            _ = try PolicyDocumentDecoder.document(bytes)
        },
        decoder("registration", allowing: OpenAIError.self) {
            _ = try RegistrationRequest.decodeAndValidate($0)
        },
        decoder("health-report", allowing: FederationError.self) { bytes in
            let report = try HealthReport.parse(bytes)
            // What the health leader does with an accepted report before its ledger.
            let now = SystemClock().now()
            let observed = report.at.map { min(Timestamp(milliseconds: $0), now) } ?? now
            _ = report.latencyMs.map { Duration.milliseconds($0) }
            _ = now.duration(since: observed)
            _ = report.encoded()
        },
        decoder("node-health", allowing: NodeHealthBodyError.self) { _ = try NodeHealthBody.parse($0) },
        decoder("event", allowing: FederationError.self) { bytes in
            for family in FederationFamily.allCases { _ = try? FederationEvent.parse(bytes, channel: family) }
            _ = try FederationEvent.parse(bytes, channel: .catalog)
        },
        decoder("stored-record", allowing: DecodingError.self) { bytes in
            // A Redis hash, written as a JSON object of strings (the harness's own decoding
            // needs the nesting guard too).
            guard JSONNesting.problem(in: bytes) == nil else { return }
            let fields = try JSONDecoder().decode([String: String].self, from: Data(bytes))
            StoredRecordDecoder.decodeAll(id: fields["id"] ?? "n1", fields: fields)
        },
        decoder("gateway-request", allowing: OpenAIError.self) { bytes in
            // The bytes as a body of every endpoint, and their first line as each header's value.
            let line = String(decoding: bytes.prefix { $0 != 0x0A }, as: UTF8.self)
            for name in [
                "X-Federation-Privacy", "X-Federation-Cost-Tolerance", "X-Federation-Max-Latency-Ms",
                "X-Federation-Min-Throughput", "X-Federation-Prefer-Gpu", "X-Federation-Region",
                "X-Federation-Allowed-Regions", "X-Federation-Timeout-Ms", "X-Federation-Session",
                "X-Request-Id",
            ] {
                _ = try? GatewayDecoders.clientRequest(
                    endpoint: .chatCompletions, headers: [(name, line)],
                    body: Array("{\"model\":\"m\"}".utf8),
                    contentType: nil)
            }
            for endpoint in GatewayEndpoint.allCases where endpoint != .chatCompletions {
                _ = try? GatewayDecoders.clientRequest(
                    endpoint: endpoint, headers: [], body: bytes,
                    contentType: "multipart/form-data; boundary=b")
            }
            try GatewayDecoders.clientRequest(
                endpoint: .chatCompletions, headers: [], body: bytes, contentType: nil)
        },
        FuzzTarget(name: "node-answer") { bytes in
            GatewayDecoders.nodeAnswer(bytes, split: bytes.count / 2)
            GatewayDecoders.nodeAnswer(bytes, split: Int(bytes.first ?? 0))
            return .accepted
        },
        decoder("config-yaml", allowing: ConfigurationLoader.Problem.self) { bytes in
            _ = try ConfigurationLoader.parse(yaml: String(decoding: bytes, as: UTF8.self))
        },
    ]
}
