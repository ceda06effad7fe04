/// How long an HTTP server waits for a slow or idle client, and how many connections it holds at
/// once: the same three settings for every service (catalog, health, router, gateway, node).
/// FederationHTTP turns them into Hummingbird's server configuration (`ServerLimits+server`).
public struct ServerLimits: Sendable, Equatable {
    /// The first request's head (request line and headers) must be complete this long after the
    /// connection opened, however many bytes trickle in meanwhile; else the connection is closed.
    public var headerTimeout: Duration
    /// A connection with no request in progress (and a request whose body stalls) is closed after
    /// this long without a complete HTTP part. On a kept-alive connection this also bounds the
    /// time to read the next request's head.
    public var idleTimeout: Duration
    /// Connections served at once. Beyond it the server stops accepting: new connections wait in
    /// the kernel's listen backlog (256) until one closes, and are then served.
    public var maxConnections: Int

    public init(
        headerTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(75),
        maxConnections: Int = 1024
    ) {
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }

    /// What is wrong with these limits, naming the setting (nil when they can be used).
    public var validationProblem: String? { problem(keyPrefix: "server.") }

    /// What is wrong, naming the setting as `keyPrefix` + key (the node's keys have no prefix).
    public func problem(keyPrefix: String) -> String? {
        if headerTimeout < .milliseconds(1) || headerTimeout > .seconds(3600) {
            return
                "\(keyPrefix)header_timeout_ms must be in 1…3600000, got \(headerTimeout.wholeMilliseconds)"
        }
        if idleTimeout < .milliseconds(1) || idleTimeout > .seconds(86400) {
            return "\(keyPrefix)idle_timeout_ms must be in 1…86400000, got \(idleTimeout.wholeMilliseconds)"
        }
        if !(1...1_000_000).contains(maxConnections) {
            return "\(keyPrefix)max_connections must be in 1…1000000, got \(maxConnections)"
        }
        return nil
    }

    /// Milliseconds from a configuration value, or nil when it is not a whole number in 1…`limit`
    /// (no trapping conversion of outside numbers).
    public static func milliseconds(_ value: Double, limit: Double) -> Duration? {
        guard value >= 1, value <= limit, value == value.rounded() else { return nil }
        return Duration.milliseconds(checked: value)
    }
}
