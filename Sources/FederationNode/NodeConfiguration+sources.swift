import FederationCore
import Foundation
import Yams

/// Loading settings from the three sources, each overriding the one before:
/// YAML file (`node:` section) → environment (`FEDNODE_*`) → command-line flags.
///
/// Every setting has one snake_case key, used as-is in YAML, upper-cased with a `FEDNODE_` prefix in
/// the environment (`max_concurrency` → `FEDNODE_MAX_CONCURRENCY`), and kebab-cased as a flag
/// (`--max-concurrency`).
extension NodeConfiguration {
    /// Every scalar setting key, in documentation order.
    public static let keys: [String] = [
        "node_id", "region", "host", "port", "endpoint", "models", "gpu", "resume", "latency",
        "tokens_per_second",
        "max_tokens", "embedding_dimension", "max_concurrency", "max_body_bytes", "seed", "register_url",
        "register_token",
        "register_interval", "error_rate", "error_status", "rate_limit_rate", "retry_after_seconds",
        "hang_rate",
        "stall_after_tokens", "stall_seconds", "crash_after_requests", "crash_after_tokens", "unhealthy",
        "header_timeout_ms",
        "idle_timeout_ms", "max_connections",
    ]

    /// Sets one setting from its text form; the error names the key and the expected form.
    public mutating func set(_ key: String, to value: String) throws(NodeConfigurationError) {
        switch key {
        case "node_id": nodeId = value
        case "region": region = value
        case "host": host = value
        case "port": port = try Self.int(key, value)
        case "endpoint": advertisedEndpoint = value
        case "models":
            var parsed: [ServedModel] = []
            for item in value.split(separator: ",") where !item.trimmingSpaces.isEmpty {
                parsed.append(try ServedModel(parsing: item.trimmingSpaces))
            }
            models = parsed
        case "gpu": gpu = try Self.bool(key, value)
        case "resume": resume = try Self.bool(key, value)
        case "latency": latency = try LatencyDistribution(parsing: value)
        case "tokens_per_second": tokensPerSecond = try Self.double(key, value)
        case "max_tokens": defaultMaxTokens = try Self.int(key, value)
        case "embedding_dimension": embeddingDimension = try Self.int(key, value)
        case "max_concurrency": maxConcurrency = try Self.int(key, value)
        case "max_body_bytes": maxBodyBytes = try Self.int(key, value)
        case "seed":
            guard let seed = UInt64(value) else {
                throw .invalid("seed must be a non-negative integer, got '\(value)'")
            }
            self.seed = seed
        case "register_url": registerURL = value.isEmpty ? nil : value
        case "register_token": registerToken = value.isEmpty ? nil : value
        case "register_interval": registrationIntervalSeconds = try Self.double(key, value)
        case "error_rate": faults.errorRate = try Self.double(key, value)
        case "error_status": faults.errorStatus = try Self.int(key, value)
        case "rate_limit_rate": faults.rateLimitRate = try Self.double(key, value)
        case "retry_after_seconds": faults.retryAfterSeconds = try Self.int(key, value)
        case "hang_rate": faults.hangRate = try Self.double(key, value)
        case "stall_after_tokens": faults.stallAfterTokens = try Self.int(key, value)
        case "stall_seconds": faults.stallSeconds = try Self.double(key, value)
        case "crash_after_requests": faults.crashAfterRequests = try Self.int(key, value)
        case "crash_after_tokens": faults.crashAfterTokens = try Self.int(key, value)
        case "unhealthy": faults.unhealthy = try Self.bool(key, value)
        case "header_timeout_ms":
            server.headerTimeout = try Self.milliseconds(key, value, limit: 3_600_000)
        case "idle_timeout_ms":
            server.idleTimeout = try Self.milliseconds(key, value, limit: 86_400_000)
        case "max_connections": server.maxConnections = try Self.int(key, value)
        default:
            throw .invalid("unknown setting '\(key)'; known settings: \(Self.keys.joined(separator: ", "))")
        }
    }

    /// Applies every `FEDNODE_*` variable; an unknown `FEDNODE_` name is an error (a typo should not pass silently).
    public mutating func apply(environment: [String: String]) throws(NodeConfigurationError) {
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("FEDNODE_") {
            let key = String(name.dropFirst("FEDNODE_".count)).lowercased()
            guard Self.keys.contains(key) else {
                throw .invalid(
                    "unknown environment variable \(name); known: FEDNODE_ + \(Self.keys.map { $0.uppercased() })"
                )
            }
            do {
                try set(key, to: value)
            } catch {
                throw .invalid("\(name): \(error)")
            }
        }
    }

    /// Applies the `node:` section of a YAML document. `models` may be a list of `name=cap+cap` strings
    /// or of `{name, capabilities}` maps; `faults` may be a map of fault keys.
    public mutating func apply(yaml text: String, source: String = "YAML") throws(NodeConfigurationError) {
        let document: Any?
        do {
            document = try Yams.load(yaml: text)
        } catch {
            throw .invalid("\(source) is not valid YAML: \(error)")
        }
        guard let root = document as? [String: Any] else {
            throw .invalid("\(source) must be a mapping with a 'node:' section")
        }
        guard let section = root["node"] else { return }
        guard let node = section as? [String: Any] else {
            throw .invalid("\(source): 'node' must be a mapping")
        }
        for (key, value) in node.sorted(by: { $0.key < $1.key }) {
            do {
                switch key {
                case "models": models = try Self.models(fromYAML: value)
                case "faults":
                    guard let faults = value as? [String: Any] else {
                        throw NodeConfigurationError.invalid("'faults' must be a mapping")
                    }
                    for (faultKey, faultValue) in faults.sorted(by: { $0.key < $1.key }) {
                        try set(faultKey, to: "\(faultValue)")
                    }
                case "id": try set("node_id", to: "\(value)")
                default: try set(key, to: "\(value)")
                }
            } catch {
                throw .invalid("\(source): node.\(key): \(error)")
            }
        }
    }

    static func models(fromYAML value: Any) throws(NodeConfigurationError) -> [ServedModel] {
        guard let items = value as? [Any] else { throw .invalid("'models' must be a list") }
        var models: [ServedModel] = []
        for item in items {
            if let text = item as? String {
                models.append(try ServedModel(parsing: text))
            } else if let map = item as? [String: Any], let name = map["name"] as? String {
                let words = (map["capabilities"] as? [Any])?.map { "\($0)" } ?? []
                models.append(try ServedModel(parsing: "\(name)=\(words.joined(separator: "+"))"))
            } else {
                throw .invalid(
                    "each model must be 'name=cap+cap' or {name: …, capabilities: […]}, got \(item)")
            }
        }
        return models
    }

    static func int(_ key: String, _ value: String) throws(NodeConfigurationError) -> Int {
        guard let number = Int(value.trimmingSpaces) else {
            throw .invalid("\(key) must be an integer, got '\(value)'")
        }
        return number
    }

    static func double(_ key: String, _ value: String) throws(NodeConfigurationError) -> Double {
        guard let number = Double(value.trimmingSpaces), number.isFinite else {
            throw .invalid("\(key) must be a number, got '\(value)'")
        }
        return number
    }

    /// Whole milliseconds in 1…`limit` (checked: never a trapping conversion).
    static func milliseconds(
        _ key: String, _ value: String, limit: Double
    ) throws(NodeConfigurationError)
        -> Duration
    {
        guard let number = Double(value.trimmingSpaces),
            let duration = ServerLimits.milliseconds(number, limit: limit)
        else {
            throw .invalid("\(key) must be a whole number of milliseconds in 1…\(Int(limit)), got '\(value)'")
        }
        return duration
    }

    static func bool(_ key: String, _ value: String) throws(NodeConfigurationError) -> Bool {
        switch value.trimmingSpaces.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw .invalid("\(key) must be true or false, got '\(value)'")
        }
    }
}
