import FederationCore
import FederationHTTP
import Hummingbird
import Synchronization

/// One routing decision this replica made and how the request ended: what `GET /v1/decisions`
/// lists (newest first) and `fedctl top` shows in its Routing tab.
public struct RoutingDecisionRecord: Sendable, Equatable, Encodable {
    /// When the request ended, in milliseconds since the Unix epoch.
    public var timeMs: Int64
    public var requestId: String
    public var capability: Capability
    public var model: ModelId?
    /// The node of the last attempt; nil when routing found none.
    public var node: NodeId?
    public var region: RegionId?
    /// The strategy that picked the node.
    public var strategy: LoadBalanceStrategy?
    /// The chosen node's composite score in 0…1.
    public var score: Double?
    public var attempts: Int
    /// The HTTP status the client received.
    public var status: Int
    public var latencyMs: Double
    public var streamed: Bool
    /// The OpenAI error code when the request failed.
    public var error: String?

    public init(
        timeMs: Int64, requestId: String, capability: Capability, model: ModelId? = nil, node: NodeId? = nil,
        region: RegionId? = nil, strategy: LoadBalanceStrategy? = nil, score: Double? = nil, attempts: Int,
        status: Int, latencyMs: Double, streamed: Bool, error: String? = nil
    ) {
        self.timeMs = timeMs
        self.requestId = requestId
        self.capability = capability
        self.model = model
        self.node = node
        self.region = region
        self.strategy = strategy
        self.score = score
        self.attempts = attempts
        self.status = status
        self.latencyMs = latencyMs
        self.streamed = streamed
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case timeMs = "time_ms", requestId = "request_id", capability, model, node, region, strategy, score
        case attempts, status, latencyMs = "latency_ms", streamed, error
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(timeMs, forKey: .timeMs)
        try c.encode(requestId, forKey: .requestId)
        try c.encode(capability.description, forKey: .capability)
        try c.encode(model?.rawValue, forKey: .model)
        try c.encode(node?.rawValue, forKey: .node)
        try c.encode(region?.rawValue, forKey: .region)
        try c.encode(strategy?.rawValue, forKey: .strategy)
        try c.encode(score.flatMap { $0.isFinite ? $0 : nil }, forKey: .score)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(status, forKey: .status)
        try c.encode(latencyMs.isFinite ? latencyMs : 0, forKey: .latencyMs)
        try c.encode(streamed, forKey: .streamed)
        try c.encode(error, forKey: .error)
    }
}

/// The last `capacity` routing decisions of this replica in a fixed ring under a `Mutex`: O(1) per
/// request and no allocation beyond the entry (its strings are the request's own), so it is cheap
/// on the hot path. Old entries are overwritten.
public final class DecisionLog: Sendable {
    /// The ring size, also the most `GET /v1/decisions?limit=` returns.
    public static let defaultCapacity = 256

    private struct Ring {
        var entries: [RoutingDecisionRecord?]
        var next = 0
        var recorded: UInt64 = 0
    }
    private let ring: Mutex<Ring>
    public let capacity: Int

    public init(capacity: Int = DecisionLog.defaultCapacity) {
        self.capacity = max(1, capacity)
        ring = Mutex(Ring(entries: Array(repeating: nil, count: max(1, capacity))))
    }

    public func record(_ decision: RoutingDecisionRecord) {
        ring.withLock { ring in
            ring.entries[ring.next] = decision
            ring.next = ring.next + 1 == ring.entries.count ? 0 : ring.next + 1
            ring.recorded &+= 1
        }
    }

    /// The last `limit` decisions (clamped to 0…capacity), newest first, and how many were
    /// recorded since the replica started.
    public func recent(limit: Int) -> (decisions: [RoutingDecisionRecord], recorded: UInt64) {
        ring.withLock { ring in
            let count = ring.entries.count
            let wanted = Int(min(UInt64(max(0, min(limit, count))), ring.recorded))
            var result: [RoutingDecisionRecord] = []
            result.reserveCapacity(wanted)
            var index = ring.next
            for _ in 0..<wanted {
                index = index == 0 ? count - 1 : index - 1
                if let entry = ring.entries[index] { result.append(entry) }
            }
            return (result, ring.recorded)
        }
    }
}

/// Records every finished request that `beforeRouting` reached — first in the chain, so it runs
/// last on the way out and also sees requests a later middleware refused.
struct DecisionRecorder: GatewayMiddleware {
    let log: DecisionLog
    var name: String { "decisions" }

    func afterInference(_ request: GatewayRequest, outcome: GatewayOutcome) async {
        log.record(Self.entry(request, outcome))
    }

    func onError(_ request: GatewayRequest, error: OpenAIError, outcome: GatewayOutcome) async {
        log.record(Self.entry(request, outcome))
    }

    static func entry(_ request: GatewayRequest, _ outcome: GatewayOutcome) -> RoutingDecisionRecord {
        RoutingDecisionRecord(
            timeMs: SystemClock().now().milliseconds, requestId: request.id,
            capability: request.routing.capability, model: request.routing.model, node: outcome.node,
            region: outcome.region, strategy: outcome.strategy, score: outcome.score,
            attempts: outcome.attempts, status: outcome.status,
            latencyMs: max(0, outcome.latency.milliseconds),
            streamed: outcome.streamed,
            error: outcome.succeeded ? nil : (outcome.errorCode ?? "http_\(outcome.status)"))
    }
}

/// `GET /v1/decisions?limit=N` (default 50, at most the ring's size).
struct DecisionList: Encodable {
    var gateway: String
    var capacity: Int
    var recorded: UInt64
    var decisions: [RoutingDecisionRecord]

    static let defaultLimit = 50

    /// The list for a request's `limit` parameter; a limit that is not a positive integer is a 400
    /// naming it (above the ring's size it is clamped).
    static func answer(limit text: String?, gateway: String, log: DecisionLog) throws(OpenAIError) -> Self {
        var limit = defaultLimit
        if let text {
            guard let value = Int(text), value > 0 else {
                throw OpenAIError.invalid(
                    "limit must be a positive integer (at most \(log.capacity)); got '\(text.prefix(32))'.",
                    param: "limit")
            }
            limit = min(value, log.capacity)
        }
        let (decisions, recorded) = log.recent(limit: limit)
        return DecisionList(
            gateway: gateway, capacity: log.capacity, recorded: recorded, decisions: decisions)
    }
}
