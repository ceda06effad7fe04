import ArgumentParser
import FederationCore
import Foundation

/// The services fedctl talks to.
public enum ServiceKind: String, Sendable, CaseIterable {
    case gateway, catalog, health, router, redis

    /// The flag that sets its address, and the environment variable.
    public var flag: String { "--\(rawValue)" }
    public var environmentVariable: String { "FEDCTL_\(rawValue.uppercased())" }
}

/// Where the services are, and the admin token: what every subcommand (and `fedctl top`) needs.
public struct ServiceURLs: Sendable, Equatable {
    public var gateway: String
    public var catalog: String
    public var health: String
    public var router: String
    /// `redis://host:port[/db]`.
    public var redis: String
    /// The key prefix (`fed`).
    public var namespace: String
    public var adminToken: String?
    /// Longest wait for one HTTP answer.
    public var timeout: Duration

    /// The local cluster of `./scripts/cluster up`.
    public static let localCluster = ServiceURLs(
        gateway: "http://127.0.0.1:8080", catalog: "http://127.0.0.1:7101", health: "http://127.0.0.1:7102",
        router: "http://127.0.0.1:7103", redis: "redis://127.0.0.1:6390", namespace: "fed", adminToken: nil,
        timeout: .seconds(5))

    public init(
        gateway: String, catalog: String, health: String, router: String, redis: String, namespace: String,
        adminToken: String?, timeout: Duration
    ) {
        self.gateway = gateway
        self.catalog = catalog
        self.health = health
        self.router = router
        self.redis = redis
        self.namespace = namespace
        self.adminToken = adminToken
        self.timeout = timeout
    }

    /// The base URL of `service`.
    public func url(of service: ServiceKind) -> String {
        switch service {
        case .gateway: gateway
        case .catalog: catalog
        case .health: health
        case .router: router
        case .redis: redis
        }
    }
}

/// The global options of every subcommand: `--gateway --catalog --health --router --redis
/// --namespace --admin-token --timeout`. Each falls back to its environment variable
/// (`FEDCTL_GATEWAY`, …; for Redis, the namespace and the token also the services' own
/// `FED_REDIS_URL`, `FED_NAMESPACE`, `FED_ADMIN_TOKEN`), then to the local cluster's address.
/// Use it as `@OptionGroup var endpoints: Endpoints` and call ``urls(environment:)``.
public struct Endpoints: ParsableArguments, Sendable {
    @Option(help: "Gateway base URL (env FEDCTL_GATEWAY; default http://127.0.0.1:8080).")
    public var gateway: String?
    @Option(help: "Catalog base URL (env FEDCTL_CATALOG; default http://127.0.0.1:7101).")
    public var catalog: String?
    @Option(help: "Health service base URL (env FEDCTL_HEALTH; default http://127.0.0.1:7102).")
    public var health: String?
    @Option(help: "Router base URL (env FEDCTL_ROUTER; default http://127.0.0.1:7103).")
    public var router: String?
    @Option(help: "Redis URL (env FEDCTL_REDIS or FED_REDIS_URL; default redis://127.0.0.1:6390).")
    public var redis: String?
    @Option(help: "Redis key namespace (env FEDCTL_NAMESPACE or FED_NAMESPACE; default fed).")
    public var namespace: String?
    @Option(help: "Admin token for writes (env FED_ADMIN_TOKEN).")
    public var adminToken: String?
    @Option(help: "Seconds to wait for a service's answer (default 5).")
    public var timeout: Double?

    public init() {}

    public mutating func validate() throws {
        for (service, value) in [
            (ServiceKind.gateway, gateway), (.catalog, catalog), (.health, health), (.router, router),
        ] {
            if let value, Self.normalizedHTTP(value) == nil {
                throw ValidationError(
                    "\(service.flag) '\(value)' is not an http:// or https:// URL with a host")
            }
        }
        if let redis, !(redis.hasPrefix("redis://")) {
            throw ValidationError("--redis '\(redis)' is not a redis:// URL")
        }
        if let timeout, !(timeout.isFinite && timeout > 0 && timeout <= 3600) {
            throw ValidationError("--timeout \(timeout) must be a number of seconds in (0, 3600]")
        }
    }

    /// The resolved addresses: flag, else environment, else the local cluster's.
    public func urls(environment: [String: String] = ProcessInfo.processInfo.environment) -> ServiceURLs {
        let local = ServiceURLs.localCluster
        func pick(_ flag: String?, _ names: [String], _ fallback: String) -> String {
            if let flag, !flag.isEmpty { return flag }
            for name in names { if let value = environment[name], !value.isEmpty { return value } }
            return fallback
        }
        func http(_ flag: String?, _ service: ServiceKind, _ fallback: String) -> String {
            let value = pick(flag, [service.environmentVariable], fallback)
            return Self.normalizedHTTP(value) ?? value
        }
        let token = pick(adminToken, ["FEDCTL_ADMIN_TOKEN", "FED_ADMIN_TOKEN"], "")
        return ServiceURLs(
            gateway: http(gateway, .gateway, local.gateway),
            catalog: http(catalog, .catalog, local.catalog),
            health: http(health, .health, local.health),
            router: http(router, .router, local.router),
            redis: pick(redis, ["FEDCTL_REDIS", "FED_REDIS_URL"], local.redis),
            namespace: pick(namespace, ["FEDCTL_NAMESPACE", "FED_NAMESPACE"], local.namespace),
            adminToken: token.isEmpty ? nil : token,
            timeout: timeout.flatMap { Duration.seconds(checked: $0) } ?? local.timeout)
    }

    /// `host:port` becomes `http://host:port`; a trailing `/` goes; nil when it is no URL with a host.
    public static func normalizedHTTP(_ text: String) -> String? {
        var value = text.trimmingCharacters(in: .whitespaces)
        if !value.contains("://") { value = "http://" + value }
        while value.hasSuffix("/") { value.removeLast() }
        guard let components = URLComponents(string: value),
            components.scheme == "http" || components.scheme == "https",
            let host = components.host, !host.isEmpty
        else { return nil }
        return value
    }
}
