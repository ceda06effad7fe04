import FederationCore
import FederationHTTP
import FederationState
import Foundation
import NIOCore

/// The body of `POST /v1/route` and `POST /v1/candidates`:
///
/// ```json
/// {"capability": "generate", "model": "llama", "qos": {"privacy": "confidential"},
///  "tenant": "acme", "origin_region": "eu-west", "affinity_key": "session-7",
///  "exclude": ["node-a"], "request_id": "r-1"}
/// ```
///
/// Only `capability` is required. Unknown fields are ignored (forward compatibility).
struct RouteQuery: Decodable, Sendable {
    var capability: Capability
    var model: ModelId?
    var qos: QoSRequirements?
    var tenant: String?
    var originRegion: RegionId?
    var affinityKey: String?
    var exclude: [NodeId]?
    var requestId: String?

    enum CodingKeys: String, CodingKey {
        case capability, model, qos, tenant, originRegion = "origin_region", affinityKey = "affinity_key"
        case exclude, requestId = "request_id"
    }

    /// The longest free-form value (tenant, affinity key, request id) accepted.
    static let maximumTextLength = 256

    /// Checks what decoding cannot: identifiers and lengths. Throws a 400 naming the field.
    func validated() throws -> RouteQuery {
        if let model, let problem = Identifier.problem(with: model.rawValue, kind: "model") {
            throw OpenAIError.invalid(
                "Invalid value for 'model': \(problem).", param: "model", code: "invalid_value")
        }
        if let originRegion,
            let problem = Identifier.problem(with: originRegion.rawValue, kind: "origin_region")
        {
            throw OpenAIError.invalid(
                "Invalid value for 'origin_region': \(problem).", param: "origin_region",
                code: "invalid_value")
        }
        for (index, node) in (exclude ?? []).enumerated() {
            if let problem = Identifier.problem(with: node.rawValue, kind: "node id") {
                throw OpenAIError.invalid(
                    "Invalid value for 'exclude[\(index)]': \(problem).", param: "exclude[\(index)]",
                    code: "invalid_value")
            }
        }
        for (field, value) in [("tenant", tenant), ("affinity_key", affinityKey), ("request_id", requestId)] {
            guard let value else { continue }
            if value.isEmpty || value.utf8.count > Self.maximumTextLength {
                throw OpenAIError.invalid(
                    "Invalid value for '\(field)': it must be 1…\(Self.maximumTextLength) bytes long.",
                    param: field, code: "invalid_value")
            }
        }
        return self
    }

    /// The engine's request. The request id is the body's, else `X-Request-Id`, else a new UUID.
    func inferenceRequest(headerRequestId: String?) -> InferenceRequest {
        let header = headerRequestId.flatMap {
            $0.isEmpty || $0.utf8.count > Self.maximumTextLength ? nil : $0
        }
        return InferenceRequest(
            requestId: requestId ?? header ?? UUID().uuidString.lowercased(), capability: capability,
            model: model, qos: qos ?? QoSRequirements(), tenantId: tenant, originRegion: originRegion,
            affinityKey: affinityKey)
    }

    /// The nodes to exclude, as the engine wants them.
    var excluded: Set<NodeId> { Set(exclude ?? []) }
}

/// The answer of `POST /v1/route`.
struct RouteAnswer: Encodable, Sendable {
    var requestId: String
    var target: RouteTarget
    var strategy: LoadBalanceStrategy
    var eligibleCount: Int
    var panic: Bool
    var probe: Bool
    var freshness: ViewFreshness

    init(requestId: String, decision: RouteDecision, freshness: ViewFreshness) {
        self.requestId = requestId
        self.target = decision.target
        self.strategy = decision.strategy
        self.eligibleCount = decision.eligibleCount
        self.panic = decision.panic
        self.probe = decision.isProbe
        self.freshness = freshness
    }

    enum CodingKeys: String, CodingKey {
        case requestId = "request_id", node, region, endpoint, model, score
        case estimatedLatencyMs = "estimated_latency_ms", strategy, eligibleCount = "eligible_count", panic,
            probe
        case snapshotVersions = "snapshot_versions", snapshotAgeMs = "snapshot_age_ms"
        case snapshotStale = "snapshot_stale"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(requestId, forKey: .requestId)
        try c.encode(target.node, forKey: .node)
        try c.encode(target.region, forKey: .region)
        try c.encode(target.endpoint, forKey: .endpoint)
        try c.encode(target.model, forKey: .model)
        try c.encode(target.score, forKey: .score)
        try c.encode(target.estimatedLatencyMs, forKey: .estimatedLatencyMs)
        try c.encode(strategy, forKey: .strategy)
        try c.encode(eligibleCount, forKey: .eligibleCount)
        try c.encode(panic, forKey: .panic)
        try c.encode(probe, forKey: .probe)
        try freshness.encodeFlat(
            into: &c, versions: .snapshotVersions, age: .snapshotAgeMs, stale: .snapshotStale)
    }
}

/// The body decoding of `POST /v1/route` and `/v1/candidates` as a function of bytes, for the fuzz
/// target (`federation-fuzz`): everything the handler does with the body before it routes.
public enum RouteQueryDecoder {
    /// Decodes and validates a body; throws the 400 the handler would answer.
    public static func decode(_ bytes: [UInt8]) throws -> InferenceRequest {
        let query = try decodeJSON(RouteQuery.self, from: ByteBuffer(bytes: bytes)).validated()
        _ = query.excluded
        return query.inferenceRequest(headerRequestId: nil)
    }
}
