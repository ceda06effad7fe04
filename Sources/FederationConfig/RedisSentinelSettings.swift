import Foundation

/// `redis.sentinels` and friends: find the Redis master through Redis Sentinel (docs/REDIS.md
/// "Sentinel"). With Sentinels set, `redis.url`'s host and port are not used (the Sentinels name
/// the master); its user, password and database still apply to the master.
public struct RedisSentinelSettings: Sendable, Equatable {
    /// `host:port` of each Sentinel; empty = no Sentinel, `redis.url` names the server.
    public var sentinels: [String] = []
    /// The name the Sentinels monitor the master under; required with ``sentinels``.
    public var masterName: String?
    /// The Sentinels' own `requirepass`, if any.
    public var password: String?
    /// How long a write that must survive a failover (a circuit opening, a registration) waits for
    /// a replica's acknowledgement (`WAIT 1 <ms>`). Only used with Sentinels.
    public var replicaWait: Duration = .milliseconds(500)

    public init() {}

    /// Whether Sentinels are configured.
    public var isEnabled: Bool { !sentinels.isEmpty }

    /// The longest replica wait accepted: it must end before the 2 s command timeout does.
    public static let replicaWaitLimitMilliseconds = 1500

    /// What is wrong with these settings, naming the key; nil when they are usable.
    public var validationProblem: String? {
        if sentinels.isEmpty {
            if let masterName {
                return "redis.sentinel_master '\(masterName)' is set but redis.sentinels is empty: "
                    + "list the Sentinels (host:port) or remove the master name"
            }
            return nil
        }
        for address in sentinels {
            if let problem = Self.addressProblem(address) {
                return "redis.sentinels: '\(address)' \(problem); expected host:port, e.g. 10.0.0.5:26379"
            }
        }
        guard let masterName, !masterName.isEmpty else {
            return "redis.sentinels is set but redis.sentinel_master is not: name the master the "
                + "Sentinels monitor (their 'sentinel monitor <name> …' line)"
        }
        if masterName.contains(where: \.isWhitespace) {
            return "redis.sentinel_master '\(masterName)' must not contain spaces"
        }
        return nil
    }

    /// Why `text` is not `host:port` / `[v6]:port` (nil when it is).
    static func addressProblem(_ text: String) -> String? {
        let host: Substring
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return "has no ']' after the IPv6 host" }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return "has no port" }
            port = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return "has no port" }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
            if host.contains(":") { return "is an IPv6 host without brackets" }
        }
        if host.isEmpty || host.contains(where: \.isWhitespace) { return "has an empty host or spaces" }
        guard let number = Int(port), (1...65535).contains(number) else {
            return "has port '\(port)', not a number in 1…65535"
        }
        return nil
    }

    /// Milliseconds from text or YAML for `redis.replica_wait_ms`; the error names `key`.
    static func replicaWait(_ value: Int, key: String) throws(ConfigurationLoader.Problem) -> Duration {
        guard (1...replicaWaitLimitMilliseconds).contains(value) else {
            throw ConfigurationLoader.Problem(
                "\(key) \(value) must be a whole number of milliseconds in 1…\(replicaWaitLimitMilliseconds)")
        }
        return .milliseconds(value)
    }

    /// `a:1,b:2` → `["a:1", "b:2"]` (spaces around entries ignored, empty entries dropped).
    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
