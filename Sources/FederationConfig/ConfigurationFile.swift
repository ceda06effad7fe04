import FederationCore

/// The YAML file's shape. Every key is optional; unknown keys are rejected so that a typo is an
/// error rather than a silently ignored setting.
struct ConfigurationFile: Decodable {
    var namespace: String?
    var redis: RedisSection?
    var adminToken: String?
    var logLevel: String?
    var regions: [String: RegionSettings]?
    var policy: RoutingPolicyDocument?
    var catalog: CatalogSection?
    var health: HealthSection?
    var router: ListenSection?
    var gateway: GatewaySection?
    var server: ServerSection?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case namespace, redis, adminToken = "admin_token", logLevel = "log_level", regions, policy, catalog
        case health, router, gateway, server
    }

    /// `server:` — the HTTP limits every service applies (`ServerLimits`).
    struct ServerSection: Decodable {
        var headerTimeoutMs: Double?
        var idleTimeoutMs: Double?
        var maxConnections: Int?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case headerTimeoutMs = "header_timeout_ms", idleTimeoutMs = "idle_timeout_ms"
            case maxConnections = "max_connections"
        }

        init(from decoder: any Decoder) throws {
            try refuseUnknownKeys(CodingKeys.self, in: decoder)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            headerTimeoutMs = try c.decodeIfPresent(Double.self, forKey: .headerTimeoutMs)
            idleTimeoutMs = try c.decodeIfPresent(Double.self, forKey: .idleTimeoutMs)
            maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections)
        }

        func apply(to limits: inout ServerLimits) throws(ConfigurationLoader.Problem) {
            if let value = headerTimeoutMs {
                limits.headerTimeout = try ConfigurationLoader.serverMilliseconds(
                    value, key: "server.header_timeout_ms", limit: 3_600_000)
            }
            if let value = idleTimeoutMs {
                limits.idleTimeout = try ConfigurationLoader.serverMilliseconds(
                    value, key: "server.idle_timeout_ms", limit: 86_400_000)
            }
            if let maxConnections { limits.maxConnections = maxConnections }
        }
    }

    /// `redis:` — the URL, or the Sentinels that name the master (``RedisSentinelSettings``).
    struct RedisSection: Decodable {
        var url: String?
        var sentinels: [String]?
        var sentinelMaster: String?
        var sentinelPassword: String?
        var replicaWaitMs: Int?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case url, sentinels, sentinelMaster = "sentinel_master", sentinelPassword = "sentinel_password"
            case replicaWaitMs = "replica_wait_ms"
        }

        init(from decoder: any Decoder) throws {
            try refuseUnknownKeys(CodingKeys.self, in: decoder)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            url = try c.decodeIfPresent(String.self, forKey: .url)
            sentinels = try c.decodeIfPresent([String].self, forKey: .sentinels)
            sentinelMaster = try c.decodeIfPresent(String.self, forKey: .sentinelMaster)
            sentinelPassword = try c.decodeIfPresent(String.self, forKey: .sentinelPassword)
            replicaWaitMs = try c.decodeInteger(Int.self, forKey: .replicaWaitMs, in: 1...1_000_000)
        }

        func apply(to settings: inout RedisSentinelSettings) throws(ConfigurationLoader.Problem) {
            if let sentinels { settings.sentinels = sentinels }
            if let sentinelMaster { settings.masterName = sentinelMaster.isEmpty ? nil : sentinelMaster }
            if let sentinelPassword { settings.password = sentinelPassword.isEmpty ? nil : sentinelPassword }
            if let replicaWaitMs {
                settings.replicaWait = try RedisSentinelSettings.replicaWait(
                    replicaWaitMs, key: "redis.replica_wait_ms")
            }
        }
    }

    struct ListenSection: Decodable {
        var host: String?
        var port: Int?
        func apply(to listen: inout Listen) {
            if let host { listen.host = host }
            if let port { listen.port = port }
        }
    }

    struct CatalogSection: Decodable {
        var host: String?
        var port: Int?
        var defaultLeaseSeconds: Int?
        var maxBodyBytes: Int?
        enum CodingKeys: String, CodingKey {
            case host, port, defaultLeaseSeconds = "default_lease_seconds", maxBodyBytes = "max_body_bytes"
        }
    }

    struct HealthSection: Decodable {
        var host: String?
        var port: Int?
        var probeIntervalMs: Double?
        var probeTimeoutMs: Double?
        var thresholds: HealthConfiguration?
        var circuit: CircuitBreakerConfiguration?
        enum CodingKeys: String, CodingKey {
            case host, port, probeIntervalMs = "probe_interval_ms", probeTimeoutMs = "probe_timeout_ms"
            case thresholds, circuit
        }
    }

    struct GatewaySection: Decodable {
        var host: String?
        var port: Int?
        var retry: RetryPolicy?
        var requestTimeoutMs: Double?
        var maxBodyBytes: Int?
        var connectTimeoutMs: Double?
        var readTimeoutMs: Double?
        var maxConnectionsPerNode: Int?
        var retryBudget: RetryBudgetSection?
        var drainTimeoutMs: Double?
        var resumeStreams: Bool?
        var apiKeys: [String: String]?
        var tenants: [String: TenantSettings]?
        enum CodingKeys: String, CodingKey {
            case host, port, retry, requestTimeoutMs = "request_timeout_ms", maxBodyBytes = "max_body_bytes"
            case connectTimeoutMs = "connect_timeout_ms", readTimeoutMs = "read_timeout_ms"
            case maxConnectionsPerNode = "max_connections_per_node", retryBudget = "retry_budget"
            case drainTimeoutMs = "drain_timeout_ms", apiKeys = "api_keys", tenants
            case resumeStreams = "resume_streams"
        }
    }

    struct RetryBudgetSection: Decodable {
        var ratio: Double?
        var minPerSecond: Double?
        enum CodingKeys: String, CodingKey { case ratio, minPerSecond = "min_per_second" }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let known = Set(CodingKeys.allCases.map(\.stringValue))
        let any = try decoder.container(keyedBy: AnyKey.self)
        if let unknown = any.allKeys.map(\.stringValue).first(where: { !known.contains($0) }) {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: [AnyKey(stringValue: unknown)],
                    debugDescription: "unknown key; expected one of \(known.sorted().joined(separator: ", "))"
                ))
        }
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        redis = try c.decodeIfPresent(RedisSection.self, forKey: .redis)
        adminToken = try c.decodeIfPresent(String.self, forKey: .adminToken)
        logLevel = try c.decodeIfPresent(String.self, forKey: .logLevel)
        regions = try c.decodeIfPresent([String: RegionSettings].self, forKey: .regions)
        policy = try c.decodeIfPresent(RoutingPolicyDocument.self, forKey: .policy)
        catalog = try c.decodeIfPresent(CatalogSection.self, forKey: .catalog)
        health = try c.decodeIfPresent(HealthSection.self, forKey: .health)
        router = try c.decodeIfPresent(ListenSection.self, forKey: .router)
        gateway = try c.decodeIfPresent(GatewaySection.self, forKey: .gateway)
        server = try c.decodeIfPresent(ServerSection.self, forKey: .server)
    }

    func configuration(source: String) throws(ConfigurationLoader.Problem) -> FederationConfiguration {
        var c = FederationConfiguration()
        if let namespace { c.namespace = namespace }
        if let url = redis?.url { c.redisURL = url }
        try redis?.apply(to: &c.redisSentinel)
        if let adminToken { c.adminToken = adminToken.isEmpty ? nil : adminToken }
        if let logLevel { c.logLevel = logLevel }
        if let policy { c.policy = policy }
        if let regions {
            for (name, settings) in regions { c.policy.regions[name] = settings }
        }
        if let catalog {
            ListenSection(host: catalog.host, port: catalog.port).apply(to: &c.catalog.listen)
            if let value = catalog.defaultLeaseSeconds {
                c.catalog.defaultLeaseSeconds = try Self.checked(
                    value, "catalog.default_lease_seconds", 1...86_400, source)
            }
            if let value = catalog.maxBodyBytes {
                c.catalog.maxBodyBytes = try Self.checked(
                    value, "catalog.max_body_bytes", 1...Self.maximumBodyBytes, source)
            }
        }
        if let health {
            ListenSection(host: health.host, port: health.port).apply(to: &c.health.listen)
            if let value = health.probeIntervalMs {
                c.health.probeInterval = try Self.milliseconds(value, "health.probe_interval_ms", source)
            }
            if let value = health.probeTimeoutMs {
                c.health.probeTimeout = try Self.milliseconds(value, "health.probe_timeout_ms", source)
            }
            if let value = health.thresholds { c.health.thresholds = value }
            if let value = health.circuit { c.health.circuit = value }
        }
        router?.apply(to: &c.router.listen)
        if let gateway {
            ListenSection(host: gateway.host, port: gateway.port).apply(to: &c.gateway.listen)
            if let value = gateway.retry { c.gateway.retry = value }
            if let value = gateway.requestTimeoutMs {
                c.gateway.requestTimeout = try Self.milliseconds(value, "gateway.request_timeout_ms", source)
            }
            if let value = gateway.maxBodyBytes {
                c.gateway.maxBodyBytes = try Self.checked(
                    value, "gateway.max_body_bytes", 1...Self.maximumBodyBytes, source)
            }
            if let value = gateway.connectTimeoutMs {
                c.gateway.connectTimeout = try Self.milliseconds(value, "gateway.connect_timeout_ms", source)
            }
            if let value = gateway.readTimeoutMs {
                c.gateway.readTimeout = try Self.milliseconds(value, "gateway.read_timeout_ms", source)
            }
            if let value = gateway.drainTimeoutMs {
                c.gateway.drainTimeout = try Self.milliseconds(value, "gateway.drain_timeout_ms", source)
            }
            if let value = gateway.resumeStreams { c.gateway.resumeStreams = value }
            if let value = gateway.maxConnectionsPerNode {
                c.gateway.maxConnectionsPerNode = try Self.checked(
                    value, "gateway.max_connections_per_node", 1...100_000, source)
            }
            if let ratio = gateway.retryBudget?.ratio {
                guard ratio.isFinite, (0...10).contains(ratio) else {
                    throw ConfigurationLoader.Problem(
                        "\(source): gateway.retry_budget.ratio \(ratio) is outside 0…10")
                }
                c.gateway.retryBudgetRatio = ratio
            }
            if let floor = gateway.retryBudget?.minPerSecond {
                guard floor.isFinite, (0...1_000_000).contains(floor) else {
                    throw ConfigurationLoader.Problem(
                        "\(source): gateway.retry_budget.min_per_second \(floor) is outside 0…1000000")
                }
                c.gateway.retryBudgetMinPerSecond = floor
            }
            if let value = gateway.apiKeys { c.gateway.apiKeys = value }
            if let value = gateway.tenants { c.gateway.tenants = value }
        }
        do {
            try server?.apply(to: &c.server)
            try ConfigurationLoader.validate(c)
        } catch {
            throw ConfigurationLoader.Problem("\(source): \(error.message)")
        }
        return c
    }
}

extension ConfigurationFile {
    /// The largest request body limit a configuration may set (1 GiB).
    static let maximumBodyBytes = 1 << 30
    /// The longest interval or timeout a configuration may set, in milliseconds (one day).
    static let maximumMilliseconds = 86_400_000.0

    static func checked(
        _ value: Int, _ key: String, _ range: ClosedRange<Int>, _ source: String
    ) throws(ConfigurationLoader.Problem) -> Int {
        guard range.contains(value) else {
            throw ConfigurationLoader.Problem(
                "\(source): \(key) \(value) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        return value
    }

    /// A positive duration of at most a day, through the checked conversion.
    static func milliseconds(
        _ value: Double, _ key: String, _ source: String
    ) throws(ConfigurationLoader.Problem) -> Duration {
        guard value > 0, value <= maximumMilliseconds, let duration = Duration.milliseconds(checked: value)
        else {
            throw ConfigurationLoader.Problem(
                "\(source): \(key) \(value) must be a number of milliseconds in (0, \(Int(maximumMilliseconds))]"
            )
        }
        return duration
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

/// Throws a decoding error naming the first key of the section that `keys` does not list (a
/// typo in the YAML is an error, not a silently ignored setting).
private func refuseUnknownKeys<Keys: CodingKey & CaseIterable>(
    _ keys: Keys.Type, in decoder: any Decoder
) throws {
    let known = Set(Keys.allCases.map(\.stringValue))
    let any = try decoder.container(keyedBy: AnyKey.self)
    if let unknown = any.allKeys.first(where: { !known.contains($0.stringValue) }) {
        throw DecodingError.dataCorrupted(
            .init(
                codingPath: decoder.codingPath + [unknown as any CodingKey],
                debugDescription: "unknown key; expected one of \(known.sorted().joined(separator: ", "))"))
    }
}
