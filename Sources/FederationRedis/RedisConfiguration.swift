/// Where Redis is and how to talk to it. Build one from a URL with ``init(url:)`` or field by field.
public struct RedisConfiguration: Sendable, Equatable {
    /// Host name or IP address.
    public var host: String
    public var port: Int
    /// ACL user name (Redis 6+); nil authenticates as the default user.
    public var username: String?
    /// Password; nil sends no AUTH.
    public var password: String?
    /// The logical database SELECTed after connecting.
    public var database: Int
    /// Bounds the TCP connect.
    public var connectTimeout: Duration
    /// Bounds each command's reply (a socket read/write timeout).
    public var commandTimeout: Duration
    /// First wait after a failed (re)connect; doubles per failure up to ``maximumReconnectDelay``, with jitter.
    public var initialReconnectDelay: Duration
    /// The cap of the reconnect backoff.
    public var maximumReconnectDelay: Duration
    /// Connections (each with its own thread) in a ``RedisClient``.
    public var poolSize: Int
    /// How long after its last connection failure the client counts Redis as available again
    /// (``RedisClient/isAvailable``, `/readyz`): one outage is one down and one up transition, not
    /// a flap per pooled connection that is still reconnecting.
    public var availabilitySettle: Duration = .milliseconds(500)
    /// When set, the master is found through these Sentinels on every (re)connect and
    /// ``host``/``port`` are not used; ``username``, ``password`` and ``database`` still apply to the
    /// master (docs/REDIS.md "Sentinel").
    public var sentinel: RedisSentinelConfiguration?

    public init(
        host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil,
        database: Int = 0, connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(2),
        initialReconnectDelay: Duration = .milliseconds(50), maximumReconnectDelay: Duration = .seconds(2),
        poolSize: Int = 2
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.initialReconnectDelay = initialReconnectDelay
        self.maximumReconnectDelay = maximumReconnectDelay
        self.poolSize = poolSize
    }

    /// `host:port`, or the Sentinel master's name and Sentinels, for messages (never a password).
    public var endpoint: String { sentinel?.summary ?? "\(host):\(port)" }

    /// Parses `redis://[[user]:password@]host[:port][/db]`; the port defaults to 6379, the db to 0.
    /// User and password may be percent-encoded. Timeouts and pool size keep their defaults.
    public init(url: String) throws(RedisConfigurationError) {
        self.init()
        let scheme = "redis://"
        guard url.hasPrefix(scheme) else {
            if url.hasPrefix("rediss://") {
                throw .init(
                    url: url, problem: "TLS (rediss://) is not supported by hiredis 0.14; use redis://")
            }
            throw .init(url: url, problem: "it must start with redis://")
        }
        var rest = Substring(url.dropFirst(scheme.count))
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = try Self.percentDecoded(userInfo[..<colon], url: url)
                username = user.isEmpty ? nil : user
                password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], url: url)
            } else {
                // `redis://secret@host` is the common password-only form.
                password = try Self.percentDecoded(userInfo, url: url)
            }
            if password?.isEmpty == true { password = nil }
        }
        var hostPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let db = Int(path), db >= 0 else {
                    throw .init(url: url, problem: "database '\(path)' is not a non-negative integer")
                }
                database = db
            }
        }
        if hostPort.hasPrefix("[") {  // [::1]:6379
            guard let close = hostPort.firstIndex(of: "]") else {
                throw .init(url: url, problem: "IPv6 host is missing ']'")
            }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            hostPort = hostPort[hostPort.index(after: close)...]
            if !hostPort.isEmpty && !hostPort.hasPrefix(":") {
                throw .init(url: url, problem: "unexpected text after the IPv6 host")
            }
            if hostPort.hasPrefix(":") { try parsePort(hostPort.dropFirst(), url: url) }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            try parsePort(hostPort[hostPort.index(after: colon)...], url: url)
        } else {
            host = String(hostPort)
        }
        if host.isEmpty { throw .init(url: url, problem: "the host is empty") }
    }

    private mutating func parsePort(_ text: Substring, url: String) throws(RedisConfigurationError) {
        guard let value = Int(text), (1...65535).contains(value) else {
            throw .init(url: url, problem: "port '\(text)' is not a number in 1…65535")
        }
        port = value
    }

    private static func percentDecoded(
        _ text: Substring, url: String
    ) throws(RedisConfigurationError) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else {
                    throw .init(
                        url: url, problem: "a '%' in the user or password is not followed by two hex digits")
                }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A Redis URL that could not be parsed. The URL is shown with its password masked.
public struct RedisConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL with any password replaced by `***`.
    public let url: String
    /// What is wrong with it.
    public let problem: String

    init(url: String, problem: String) {
        self.url = Self.masked(url)
        self.problem = problem
    }

    public var description: String {
        "invalid Redis URL '\(url)': \(problem); expected redis://[user:password@]host:port[/db]"
    }

    static func masked(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let schemeEnd = url.range(of: "://")?.upperBound,
            schemeEnd <= at
        else { return url }
        let userInfo = url[schemeEnd..<at]
        if let colon = userInfo.firstIndex(of: ":") {
            return String(url[..<colon]) + ":***" + String(url[at...])
        }
        return String(url[..<schemeEnd]) + "***" + String(url[at...])
    }
}
