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
    public var requestTimeout: Duration = .seconds(30)
    /// Largest client request body (bytes); larger ones get 413.
    public var maxBodyBytes = 8 << 20
    /// API key → tenant. Empty = no authentication (tenant from `X-Federation-Tenant` or none).
    public var apiKeys: [String: String] = [:]
    public init() {}
}
