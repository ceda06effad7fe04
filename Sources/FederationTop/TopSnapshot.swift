import FederationCtl

/// Everything the dashboard shows, as of one fetch: a pure value, so frames can be rendered (and
/// tested) from fixed data. Fields are display-level (strings and numbers as the services sent
/// them); a field a service did not send is nil, never a guess.
public struct TopSnapshot: Sendable, Equatable {
    /// Where a part of the snapshot came from.
    public enum Source: Sendable, Hashable, Comparable, CustomStringConvertible {
        case catalog, health, router
        /// A gateway replica, by its base URL.
        case gateway(String)

        public var description: String {
            switch self {
            case .catalog: return "catalog"
            case .health: return "health"
            case .router: return "router"
            case .gateway(let url): return "gateway \(url)"
            }
        }
    }

    /// A node as the catalog lists it.
    public struct Node: Sendable, Equatable {
        public var id: String
        public var region: String
        public var endpoint: String
        public var gpu: Bool?
        public var privacy: String?
        public var cost: Double?
        public var models: [String]
        public var capabilities: [String]
        /// Unix ms; nil for a permanent registration.
        public var leaseExpiresAt: Int64?

        public init(
            id: String, region: String = "", endpoint: String = "", gpu: Bool? = nil, privacy: String? = nil,
            cost: Double? = nil, models: [String] = [], capabilities: [String] = [],
            leaseExpiresAt: Int64? = nil
        ) {
            self.id = id
            self.region = region
            self.endpoint = endpoint
            self.gpu = gpu
            self.privacy = privacy
            self.cost = cost
            self.models = models
            self.capabilities = capabilities
            self.leaseExpiresAt = leaseExpiresAt
        }
    }

    /// A model as the catalog lists it.
    public struct Model: Sendable, Equatable {
        public var id: String
        public var version: String?
        public var capabilities: [String]
        /// The nodes serving it.
        public var nodes: [String]

        public init(id: String, version: String? = nil, capabilities: [String] = [], nodes: [String] = []) {
            self.id = id
            self.version = version
            self.capabilities = capabilities
            self.nodes = nodes
        }
    }

    /// A node's health as the health service tracks it.
    public struct Health: Sendable, Equatable {
        public var node: String
        public var state: String
        public var latencyP50Ms: Double?
        public var latencyP99Ms: Double?
        public var latencySource: String?
        public var throughput: Double?
        public var queueDepth: Int64?
        public var consecutiveFailures: Int64?
        public var totalSuccesses: Int64?
        public var totalFailures: Int64?
        /// Unix ms of the last probe or report.
        public var lastCheck: Int64?
        public var reason: String?

        public init(
            node: String, state: String, latencyP50Ms: Double? = nil, latencyP99Ms: Double? = nil,
            latencySource: String? = nil, throughput: Double? = nil, queueDepth: Int64? = nil,
            consecutiveFailures: Int64? = nil, totalSuccesses: Int64? = nil, totalFailures: Int64? = nil,
            lastCheck: Int64? = nil, reason: String? = nil
        ) {
            self.node = node
            self.state = state
            self.latencyP50Ms = latencyP50Ms
            self.latencyP99Ms = latencyP99Ms
            self.latencySource = latencySource
            self.throughput = throughput
            self.queueDepth = queueDepth
            self.consecutiveFailures = consecutiveFailures
            self.totalSuccesses = totalSuccesses
            self.totalFailures = totalFailures
            self.lastCheck = lastCheck
            self.reason = reason
        }
    }

    /// A node's circuit breaker (state effective now).
    public struct Circuit: Sendable, Equatable {
        public var node: String
        public var state: String
        public var consecutiveFailures: Int64?
        public var trips: Int64?
        public var openedAt: Int64?
        /// Unix ms when an open circuit turns half-open.
        public var openUntil: Int64?

        public init(
            node: String, state: String, consecutiveFailures: Int64? = nil, trips: Int64? = nil,
            openedAt: Int64? = nil, openUntil: Int64? = nil
        ) {
            self.node = node
            self.state = state
            self.consecutiveFailures = consecutiveFailures
            self.trips = trips
            self.openedAt = openedAt
            self.openUntil = openUntil
        }
    }

    /// One routing decision of one gateway replica (`GET /v1/decisions`).
    public struct Decision: Sendable, Equatable {
        /// The gateway's id (or its URL when it sent none).
        public var gateway: String
        public var timeMs: Int64
        public var requestId: String
        public var capability: String?
        public var model: String?
        public var node: String?
        public var region: String?
        public var strategy: String?
        public var score: Double?
        public var attempts: Int64?
        public var status: Int64?
        public var latencyMs: Double?
        public var streamed: Bool
        public var error: String?

        public init(
            gateway: String, timeMs: Int64, requestId: String, capability: String? = nil,
            model: String? = nil,
            node: String? = nil, region: String? = nil, strategy: String? = nil, score: Double? = nil,
            attempts: Int64? = nil, status: Int64? = nil, latencyMs: Double? = nil, streamed: Bool = false,
            error: String? = nil
        ) {
            self.gateway = gateway
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
    }

    /// Request statistics of one replica or of the cluster.
    public struct Stats: Sendable, Equatable {
        public var gateway: String
        public var totalRequests: Int64
        public var successfulRequests: Int64
        public var failedRequests: Int64
        public var totalTokens: Int64
        public var averageLatencyMs: Double
        public var activeStreams: Int64

        public init(
            gateway: String, totalRequests: Int64 = 0, successfulRequests: Int64 = 0,
            failedRequests: Int64 = 0,
            totalTokens: Int64 = 0, averageLatencyMs: Double = 0, activeStreams: Int64 = 0
        ) {
            self.gateway = gateway
            self.totalRequests = totalRequests
            self.successfulRequests = successfulRequests
            self.failedRequests = failedRequests
            self.totalTokens = totalTokens
            self.averageLatencyMs = averageLatencyMs
            self.activeStreams = activeStreams
        }

        /// Successful ÷ finished, nil before anything finished.
        public var successRate: Double? {
            let finished = Double(successfulRequests) + Double(failedRequests)
            return finished > 0 ? Double(successfulRequests) / finished : nil
        }
    }

    /// The live routing policy (router `GET /v1/policy`).
    public struct Policy: Sendable, Equatable {
        public var version: Int64?
        public var document: JSON

        public init(version: Int64?, document: JSON) {
            self.version = version
            self.document = document
        }
    }

    public var nodes: [Node] = []
    public var models: [Model] = []
    public var health: [Health] = []
    /// The health service's role and its leader's id.
    public var healthLeader: String?
    public var circuits: [Circuit] = []
    /// Every gateway's recent decisions, merged, newest first.
    public var decisions: [Decision] = []
    /// Per replica (from a gateway's `/v1/stats?scope=cluster`).
    public var replicas: [Stats] = []
    /// The sum over the live replicas.
    public var cluster: Stats?
    public var policy: Policy?
    /// When this snapshot was fetched, Unix ms.
    public var fetchedAtMs: Int64 = 0
    /// How long the fetch took, ms.
    public var fetchDurationMs: Double?
    /// The URL of every source asked.
    public var sources: [Source: String] = [:]
    /// What went wrong per source (absent = answered).
    public var errors: [Source: String] = [:]
    /// Cluster-wide requests per second since the previous snapshot (``requestRate(from:to:)``).
    public var requestsPerSecond: Double?

    public init() {}

    /// Requests per second between two snapshots, from the cluster's `total_requests`; nil
    /// without both, when no time passed, or when the total went down (a replica left).
    public static func requestRate(from previous: TopSnapshot?, to current: TopSnapshot) -> Double? {
        guard let previous, let before = previous.cluster?.totalRequests,
            let after = current.cluster?.totalRequests, after >= before,
            current.fetchedAtMs > previous.fetchedAtMs
        else { return nil }
        let seconds = Double(current.fetchedAtMs - previous.fetchedAtMs) / 1000
        return Double(after - before) / seconds
    }

    /// The 99th percentile (nearest rank) of the recent decisions' latencies and how many it
    /// covers; nil without decisions. No service exposes a p99 of client requests as JSON, so the
    /// Stats tab computes it from these (and says so).
    public var decisionLatencyP99: (ms: Double, count: Int)? {
        let latencies = decisions.compactMap(\.latencyMs).filter { $0.isFinite }.sorted()
        guard !latencies.isEmpty else { return nil }
        let rank = Int((0.99 * Double(latencies.count)).rounded(.up))
        return (latencies[max(0, min(latencies.count - 1, rank - 1))], latencies.count)
    }
}
