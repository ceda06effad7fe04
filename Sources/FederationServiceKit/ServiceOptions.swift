import ArgumentParser
import FederationConfig

/// Which service a process is (selects its `listen` section).
public enum ServiceKind: String, Sendable {
    case catalog, health, router, gateway
}

/// The flags every service executable shares. Settings come from the YAML file (`--config`), then
/// `FED_*` environment variables, then these flags; each overrides the one before.
public struct ServiceOptions: ParsableArguments, Sendable {
    @Option(help: "The shared YAML configuration file (docs/CONFIGURATION.md).")
    public var config: String?

    @Option(help: "Interface to listen on (overrides the service's host).")
    public var host: String?

    @Option(help: "Port to listen on; 0 picks a free one (overrides the service's port).")
    public var port: Int?

    @Option(name: .customLong("redis-url"), help: "redis://[user:password@]host:port[/db]")
    public var redisURL: String?

    @Option(help: "Prefix of every Redis key and channel (default fed).")
    public var namespace: String?

    @Option(name: .customLong("admin-token"), help: "Require 'Authorization: Bearer TOKEN' on admin writes.")
    public var adminToken: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    public var logLevel: String?

    @Option(
        name: .customLong("header-timeout-ms"),
        help:
            "Close a connection whose request head is not complete this long after it opened (default 10000)."
    )
    public var headerTimeoutMs: Double?

    @Option(
        name: .customLong("idle-timeout-ms"),
        help: "Close a connection idle (no request in progress) this long (default 75000).")
    public var idleTimeoutMs: Double?

    @Option(
        name: .customLong("max-connections"),
        help: "Connections served at once; more wait until one closes (default 1024).")
    public var maxConnections: Int?

    public init() {}

    /// The configuration for `service`: file, then environment, then these flags.
    public func configuration(for service: ServiceKind) throws -> FederationConfiguration {
        var c = try ConfigurationLoader.load(path: config)
        if let namespace { c.namespace = namespace }
        if let redisURL { c.redisURL = redisURL }
        if let adminToken { c.adminToken = adminToken.isEmpty ? nil : adminToken }
        if let logLevel { c.logLevel = logLevel }
        if let headerTimeoutMs {
            c.server.headerTimeout = try ConfigurationLoader.serverMilliseconds(
                headerTimeoutMs, key: "--header-timeout-ms", limit: 3_600_000)
        }
        if let idleTimeoutMs {
            c.server.idleTimeout = try ConfigurationLoader.serverMilliseconds(
                idleTimeoutMs, key: "--idle-timeout-ms", limit: 86_400_000)
        }
        if let maxConnections { c.server.maxConnections = maxConnections }
        func apply(_ listen: inout Listen) {
            if let host { listen.host = host }
            if let port { listen.port = port }
        }
        switch service {
        case .catalog: apply(&c.catalog.listen)
        case .health: apply(&c.health.listen)
        case .router: apply(&c.router.listen)
        case .gateway: apply(&c.gateway.listen)
        }
        try ConfigurationLoader.validate(c)
        return c
    }
}
