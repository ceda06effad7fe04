import FederationCore

/// The one configuration every service reads: a YAML file (see docs/CONFIGURATION.md), then
/// environment variables, then command-line flags, each overriding the one before.
public struct FederationConfiguration: Sendable, Equatable {
    /// Prefix of every Redis key and channel.
    public var namespace = "fed"
    /// `redis://[user:password@]host:port[/db]`.
    public var redisURL = "redis://127.0.0.1:6379"
    /// When set, admin APIs (catalog writes, policy changes, health overrides) require
    /// `Authorization: Bearer <token>`.
    public var adminToken: String?
    /// trace, debug, info, notice, warning, error, critical.
    public var logLevel = "info"
    /// The routing policy the router publishes at first start (regions folded in).
    public var policy = RoutingPolicyDocument()
    public var catalog = CatalogSettings()
    public var health = HealthSettings()
    public var router = RouterSettings()
    public var gateway = GatewaySettings()
    /// Header-read and idle timeouts and the connection cap of every service's HTTP server.
    public var server = ServerLimits()

    public init() {}
}

/// Where a service listens.
public struct Listen: Sendable, Equatable {
    public var host: String
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }
}

/// federation-catalog.
public struct CatalogSettings: Sendable, Equatable {
    public var listen = Listen(port: 7101)
    /// Lease length for self-registering nodes that ask for one (seconds).
    public var defaultLeaseSeconds = 30
    /// Largest request body accepted by the admin API.
    public var maxBodyBytes = 1 << 20
    public init() {}
}

/// federation-health.
public struct HealthSettings: Sendable, Equatable {
    public var listen = Listen(port: 7102)
    /// How often every node's `/health` is probed.
    public var probeInterval: Duration = .seconds(2)
    /// How long a probe may take before it counts as a failure.
    public var probeTimeout: Duration = .seconds(1)
    public var thresholds = HealthConfiguration()
    public var circuit = CircuitBreakerConfiguration()
    public init() {}
}

/// federation-router.
public struct RouterSettings: Sendable, Equatable {
    public var listen = Listen(port: 7103)
    public init() {}
}

/// federation-gateway.
public struct GatewaySettings: Sendable, Equatable {
    public var listen = Listen(port: 8080)
    public var retry = RetryPolicy()
    /// The overall deadline of one client request, every attempt and wait included
    /// (`X-Federation-Timeout-Ms` may shorten it for one request, never lengthen it).
    public var requestTimeout: Duration = .seconds(30)
    /// How long connecting to a node may take before the attempt fails (retriable).
    public var connectTimeout: Duration = .seconds(2)
    /// The longest silence from a node while its answer is read (also before the first byte).
    public var readTimeout: Duration = .seconds(30)
    /// HTTP/1 connections the gateway keeps open to one node: every in-flight stream holds one.
    public var maxConnectionsPerNode = 1024
    /// Retries may be at most this fraction of the requests of the last 10 s…
    public var retryBudgetRatio = 0.2
    /// …plus this many retries per second, so that a quiet gateway can still retry.
    public var retryBudgetMinPerSecond = 10.0
    /// On SIGTERM, how long in-flight requests (streams included) may take to finish.
    public var drainTimeout: Duration = .seconds(30)
    /// Continue a chat stream on another node when its node breaks off mid-stream (at most once
    /// per stream, only on nodes whose catalog label `federation.resume` names the capability).
    public var resumeStreams = false
    /// Largest client request body (bytes); larger ones get 413.
    public var maxBodyBytes = 8 << 20
    /// API key → tenant. A key written `sha256:<64 hex>` is the hash of the key (so the file need
    /// not hold the secret). Empty = no authentication: every request is anonymous.
    public var apiKeys: [String: String] = [:]
    /// Per-tenant rules: privacy floor, allowed regions, rate limits.
    public var tenants: [String: TenantSettings] = [:]
    public init() {}
}

/// What the gateway enforces for one tenant. A request header can raise the privacy floor and
/// narrow the regions, never lower or widen them.
public struct TenantSettings: Sendable, Equatable, Decodable {
    /// The lowest privacy level any request of the tenant is routed with.
    public var minPrivacy: PrivacyLevel?
    /// The only regions the tenant's requests may be served in; nil = any.
    public var regions: [RegionId]?
    /// Requests per minute across every gateway replica; nil = unlimited.
    public var requestsPerMinute: Int?
    /// Tokens (prompt + completion, as the nodes report them) per minute across every replica.
    public var tokensPerMinute: Int?

    public init(
        minPrivacy: PrivacyLevel? = nil, regions: [RegionId]? = nil, requestsPerMinute: Int? = nil,
        tokensPerMinute: Int? = nil
    ) {
        self.minPrivacy = minPrivacy
        self.regions = regions
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case minPrivacy = "min_privacy", regions, requestsPerMinute = "requests_per_minute"
        case tokensPerMinute = "tokens_per_minute"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        minPrivacy = try c.decodeIfPresent(PrivacyLevel.self, forKey: .minPrivacy)
        regions = try c.decodeIfPresent([String].self, forKey: .regions)?.map { RegionId($0) }
        requestsPerMinute = try c.decodeInteger(Int.self, forKey: .requestsPerMinute, in: 1...1_000_000_000)
        tokensPerMinute = try c.decodeInteger(Int.self, forKey: .tokensPerMinute, in: 1...1_000_000_000_000)
    }
}
