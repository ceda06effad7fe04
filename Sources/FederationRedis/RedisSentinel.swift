/// Where the Redis Sentinels are and which master they watch (see docs/REDIS.md "Sentinel").
///
/// With one set in ``RedisConfiguration/sentinel``, every connection (pooled or subscriber) asks
/// the Sentinels for the master's address on each (re)connect instead of using
/// ``RedisConfiguration/host`` and ``RedisConfiguration/port``, checks that the server it reached
/// says `ROLE` master, and reconnects promptly when a Sentinel announces `+switch-master`.
public struct RedisSentinelConfiguration: Sendable, Hashable {
    /// One Sentinel's address.
    public struct Address: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `host:port` (`[v6]:port` for an IPv6 literal).
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

        /// Parses `host:port` or `[ipv6]:port`; the port is required (Sentinels usually listen on 26379).
        public init(parsing text: String) throws(RedisSentinelError) {
            let trimmed = Substring(text)
            var host: Substring
            var portText: Substring
            if trimmed.hasPrefix("[") {
                guard let close = trimmed.firstIndex(of: "]") else {
                    throw .badAddress(text, problem: "the IPv6 host is missing ']'")
                }
                host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
                let rest = trimmed[trimmed.index(after: close)...]
                guard rest.hasPrefix(":") else { throw .badAddress(text, problem: "the port is missing") }
                portText = rest.dropFirst()
            } else {
                guard let colon = trimmed.lastIndex(of: ":") else {
                    throw .badAddress(text, problem: "the port is missing")
                }
                host = trimmed[..<colon]
                portText = trimmed[trimmed.index(after: colon)...]
                if host.contains(":") {
                    throw .badAddress(text, problem: "write an IPv6 host in brackets, e.g. [::1]:26379")
                }
            }
            if host.isEmpty || host.contains(where: \.isWhitespace) {
                throw .badAddress(text, problem: "the host is empty or contains spaces")
            }
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw .badAddress(text, problem: "port '\(portText)' is not a number in 1…65535")
            }
            self.init(host: String(host), port: port)
        }
    }

    /// The Sentinels, asked in turn (the one that answered last first).
    public var sentinels: [Address]
    /// The name the Sentinels monitor the master under (`sentinel monitor <name> …`).
    public var masterName: String
    /// The Sentinels' own password (their `requirepass`); nil sends no AUTH to them. The master's
    /// credentials stay ``RedisConfiguration/username`` and ``RedisConfiguration/password``.
    public var password: String?
    /// When set, a write marked as one that must survive a failover
    /// (``RedisClient/evalScript(_:keys:arguments:mustReplicate:)``) is followed by `WAIT 1 <ms>`
    /// on the same connection: it returns once a replica acknowledged it, or after this long.
    public var replicaWait: Duration?

    public init(
        sentinels: [Address], masterName: String, password: String? = nil,
        replicaWait: Duration? = .milliseconds(500)
    ) throws(RedisSentinelError) {
        if sentinels.isEmpty { throw .invalid("at least one Sentinel address is needed") }
        if masterName.isEmpty || masterName.contains(where: \.isWhitespace) {
            throw .invalid("the master name '\(masterName)' must be non-empty without spaces")
        }
        if let replicaWait, replicaWait <= .zero {
            throw .invalid("the replica wait must be positive (or nil for none)")
        }
        self.sentinels = sentinels
        self.masterName = masterName
        self.password = password
        self.replicaWait = replicaWait
    }

    /// For messages: `master 'mymaster' via Sentinels a:1,b:2` (never a password).
    public var summary: String {
        "master '\(masterName)' via Sentinels \(sentinels.map(\.description).joined(separator: ","))"
    }
}

/// What can go wrong configuring or asking the Sentinels; each message names the input.
public enum RedisSentinelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A Sentinel address that is not `host:port`.
    case badAddress(String, problem: String)
    /// A configuration that cannot work (no Sentinels, a bad master name).
    case invalid(String)
    /// A Sentinel's reply did not have the documented shape.
    case badReply(sentinel: String, command: String, reply: String)
    /// The Sentinel does not monitor a master of that name.
    case unknownMaster(sentinel: String, master: String)
    /// The address the Sentinels gave is not a master (yet, or any more).
    case notMaster(address: String, role: String)

    public var description: String {
        switch self {
        case .badAddress(let text, let problem):
            "invalid Sentinel address '\(text)': \(problem); expected host:port, e.g. 10.0.0.5:26379"
        case .invalid(let problem):
            "invalid Sentinel configuration: \(problem)"
        case .badReply(let sentinel, let command, let reply):
            "Sentinel \(sentinel) answered \(command) with \(reply.prefix(200)), not the documented reply"
        case .unknownMaster(let sentinel, let master):
            "Sentinel \(sentinel) monitors no master named '\(master)'; check redis.sentinel_master "
                + "against the Sentinels' 'sentinel monitor' lines"
        case .notMaster(let address, let role):
            "\(address) reports ROLE \(role), not master (a failover is under way or it was demoted); "
                + "asking the Sentinels again"
        }
    }
}

/// The Sentinel protocol's replies, decoded apart from I/O. A malformed reply is an error value,
/// never a crash.
enum SentinelReplies {
    /// `SENTINEL get-master-addr-by-name <master>`: `[host, port]`, or nil when the name is unknown.
    static func masterAddress(
        _ reply: RedisValue, sentinel: String, master: String
    ) throws(RedisSentinelError) -> RedisSentinelConfiguration.Address {
        let command = "SENTINEL get-master-addr-by-name \(master)"
        switch reply {
        case .null:
            throw .unknownMaster(sentinel: sentinel, master: master)
        case .error(let message):
            if message.hasPrefix("IDONTKNOW") || message.contains("No such master") {
                throw .unknownMaster(sentinel: sentinel, master: master)
            }
            throw .badReply(sentinel: sentinel, command: command, reply: reply.description)
        case .array(let parts):
            guard parts.count == 2, let host = parts[0].string, !host.isEmpty, let portText = parts[1].string,
                let port = Int(portText), (1...65535).contains(port)
            else { throw .badReply(sentinel: sentinel, command: command, reply: reply.description) }
            return .init(host: host, port: port)
        default:
            throw .badReply(sentinel: sentinel, command: command, reply: reply.description)
        }
    }

    /// `ROLE`: the first element is `master`, `slave` or `sentinel`.
    static func role(_ reply: RedisValue, address: String) throws(RedisSentinelError) -> String {
        guard let parts = reply.array, let role = parts.first?.string, !role.isEmpty else {
            throw .badReply(sentinel: address, command: "ROLE", reply: reply.description)
        }
        return role
    }

    /// A `+switch-master` payload, `<master> <old-ip> <old-port> <new-ip> <new-port>`: the new
    /// address when it is about `master`, nil otherwise (another master, or a malformed payload).
    static func switchedMaster(
        _ payload: [UInt8], master: String
    ) -> RedisSentinelConfiguration.Address? {
        let words = String(decoding: payload, as: UTF8.self).split(separator: " ")
        guard words.count == 5, words[0] == master, let port = Int(words[4]), (1...65535).contains(port)
        else { return nil }
        return .init(host: String(words[3]), port: port)
    }
}

extension RedisConfiguration {
    /// The configuration of a connection to one Sentinel: its address and password, this
    /// configuration's timeouts and backoff, database 0, no Sentinel of its own.
    func sentinelEndpoint(_ address: RedisSentinelConfiguration.Address) -> RedisConfiguration {
        var endpoint = RedisConfiguration(
            host: address.host, port: address.port, password: sentinel?.password,
            connectTimeout: connectTimeout, commandTimeout: commandTimeout,
            initialReconnectDelay: initialReconnectDelay, maximumReconnectDelay: maximumReconnectDelay,
            poolSize: 1)
        endpoint.sentinel = nil
        return endpoint
    }
}
