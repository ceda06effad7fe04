import FederationCore
import Foundation
import Yams

/// Reads a `FederationConfiguration` from YAML text, a file, and the environment.
public enum ConfigurationLoader {
    /// The error for a configuration that cannot be used; the message names the key and the problem.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// Loads, in order: defaults, the YAML file at `path` (if given), the `FED_*` variables of
    /// `environment`. Flags are applied by each executable afterwards.
    public static func load(
        path: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    )
        throws(Problem) -> FederationConfiguration
    {
        var configuration = FederationConfiguration()
        if let path {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw Problem("cannot read configuration file '\(path)': \(error.localizedDescription)")
            }
            configuration = try parse(yaml: text, source: path)
        }
        try applyEnvironment(environment, to: &configuration)
        return configuration
    }

    /// Parses YAML text (see docs/CONFIGURATION.md for the keys).
    public static func parse(
        yaml text: String, source: String = "configuration"
    ) throws(Problem)
        -> FederationConfiguration
    {
        let file: ConfigurationFile
        do {
            file = try YAMLDecoder().decode(ConfigurationFile.self, from: text.isEmpty ? "{}" : text)
        } catch let error as DecodingError {
            throw Problem("\(source): \(describe(error))")
        } catch {
            throw Problem("\(source): not valid YAML: \(error)")
        }
        return try file.configuration(source: source)
    }

    /// Applies `FED_NAMESPACE`, `FED_REDIS_URL`, `FED_REDIS_SENTINELS` (`host:port,host:port`),
    /// `FED_REDIS_SENTINEL_MASTER`, `FED_REDIS_SENTINEL_PASSWORD`, `FED_REDIS_REPLICA_WAIT_MS`,
    /// `FED_ADMIN_TOKEN`, `FED_LOG_LEVEL` and
    /// `FED_{CATALOG,HEALTH,ROUTER,GATEWAY}_{HOST,PORT}`.
    public static func applyEnvironment(
        _ environment: [String: String], to c: inout FederationConfiguration
    )
        throws(Problem)
    {
        if let value = environment["FED_NAMESPACE"] { c.namespace = value }
        if let value = environment["FED_REDIS_URL"] { c.redisURL = value }
        if let value = environment["FED_REDIS_SENTINELS"] {
            c.redisSentinel.sentinels = RedisSentinelSettings.list(value)
        }
        if let value = environment["FED_REDIS_SENTINEL_MASTER"] {
            c.redisSentinel.masterName = value.isEmpty ? nil : value
        }
        if let value = environment["FED_REDIS_SENTINEL_PASSWORD"] {
            c.redisSentinel.password = value.isEmpty ? nil : value
        }
        if let value = environment["FED_REDIS_REPLICA_WAIT_MS"] {
            guard let number = Int(value) else {
                throw Problem("FED_REDIS_REPLICA_WAIT_MS='\(value)' is not a whole number of milliseconds")
            }
            c.redisSentinel.replicaWait = try RedisSentinelSettings.replicaWait(
                number, key: "FED_REDIS_REPLICA_WAIT_MS")
        }
        if let value = environment["FED_ADMIN_TOKEN"] { c.adminToken = value.isEmpty ? nil : value }
        if let value = environment["FED_LOG_LEVEL"] { c.logLevel = value }
        func listen(_ name: String, _ target: inout Listen) throws(Problem) {
            if let host = environment["FED_\(name)_HOST"] { target.host = host }
            if let port = environment["FED_\(name)_PORT"] {
                guard let number = Int(port), (0...65535).contains(number) else {
                    throw Problem("FED_\(name)_PORT='\(port)' is not a port number (0–65535)")
                }
                target.port = number
            }
        }
        try listen("CATALOG", &c.catalog.listen)
        try listen("HEALTH", &c.health.listen)
        try listen("ROUTER", &c.router.listen)
        try listen("GATEWAY", &c.gateway.listen)
        try applyServerEnvironment(environment, to: &c.server)
        try validate(c)
    }

    /// `FED_SERVER_HEADER_TIMEOUT_MS`, `FED_SERVER_IDLE_TIMEOUT_MS`, `FED_SERVER_MAX_CONNECTIONS`.
    static func applyServerEnvironment(
        _ environment: [String: String], to limits: inout ServerLimits
    ) throws(Problem) {
        if let text = environment["FED_SERVER_HEADER_TIMEOUT_MS"] {
            limits.headerTimeout = try serverMilliseconds(
                text, key: "FED_SERVER_HEADER_TIMEOUT_MS", limit: 3_600_000)
        }
        if let text = environment["FED_SERVER_IDLE_TIMEOUT_MS"] {
            limits.idleTimeout = try serverMilliseconds(
                text, key: "FED_SERVER_IDLE_TIMEOUT_MS", limit: 86_400_000)
        }
        if let text = environment["FED_SERVER_MAX_CONNECTIONS"] {
            guard let number = Int(text), (1...1_000_000).contains(number) else {
                throw Problem("FED_SERVER_MAX_CONNECTIONS='\(text)' is not a whole number in 1…1000000")
            }
            limits.maxConnections = number
        }
    }

    /// A server timeout in whole milliseconds (1…`limit`) from text; the error names `key`.
    public static func serverMilliseconds(
        _ text: String, key: String, limit: Double
    ) throws(Problem) -> Duration {
        guard let value = Double(text) else {
            throw Problem("\(key)='\(text)' is not a number of milliseconds")
        }
        return try serverMilliseconds(value, key: key, limit: limit)
    }

    /// A server timeout in whole milliseconds (1…`limit`); the error names `key`.
    public static func serverMilliseconds(
        _ value: Double, key: String, limit: Double
    ) throws(Problem) -> Duration {
        guard let duration = ServerLimits.milliseconds(value, limit: limit) else {
            throw Problem("\(key) \(value) must be a whole number of milliseconds in 1…\(Int(limit))")
        }
        return duration
    }

    /// Checks values that no single key can check alone.
    public static func validate(_ c: FederationConfiguration) throws(Problem) {
        if let problem = Identifier.problem(with: c.namespace, kind: "namespace") { throw Problem(problem) }
        if !c.redisURL.hasPrefix("redis://") {
            throw Problem("redis.url '\(c.redisURL)' must start with redis://")
        }
        if let problem = c.redisSentinel.validationProblem { throw Problem(problem) }
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        if !levels.contains(c.logLevel) {
            throw Problem("log_level '\(c.logLevel)' is not one of \(levels.joined(separator: ", "))")
        }
        if let problem = c.policy.validationProblem { throw Problem("policy: \(problem)") }
        if let problem = c.health.thresholds.validationProblem {
            throw Problem("health.thresholds: \(problem)")
        }
        if let problem = c.health.circuit.validationProblem { throw Problem("health.circuit: \(problem)") }
        if let problem = c.gateway.retry.validationProblem { throw Problem("gateway.retry: \(problem)") }
        if c.health.probeInterval <= .zero || c.health.probeTimeout <= .zero {
            throw Problem("health.probe_interval_ms and health.probe_timeout_ms must be positive")
        }
        if c.gateway.requestTimeout <= .zero { throw Problem("gateway.request_timeout_ms must be positive") }
        for tenant in Set(c.gateway.apiKeys.values).union(c.gateway.tenants.keys).sorted() {
            if let problem = Identifier.problem(with: tenant, kind: "tenant") {
                throw Problem("gateway: \(problem)")
            }
        }
        for key in c.gateway.apiKeys.keys.sorted() where key.isEmpty {
            throw Problem("gateway.api_keys: an API key must not be empty")
        }
        if let problem = c.server.validationProblem { throw Problem(problem) }
        for (name, listen) in [
            ("catalog", c.catalog.listen), ("health", c.health.listen), ("router", c.router.listen),
            ("gateway", c.gateway.listen),
        ] where !(0...65535).contains(listen.port) {
            throw Problem("\(name).port \(listen.port) is not a port number (0–65535)")
        }
    }

    /// The shared translator's sentence (``DecodingProblem``), naming the key path.
    static func describe(_ error: any Error) -> String {
        DecodingProblem(error).message
    }
}
