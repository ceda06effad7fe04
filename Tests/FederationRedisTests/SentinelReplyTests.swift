import Testing

@testable import FederationRedis

/// The Sentinel protocol's replies and the Sentinel configuration, decoded apart from I/O: every
/// malformed input is a clear error value (or nil), never a crash.
@Suite struct SentinelReplyTests {
    typealias Address = RedisSentinelConfiguration.Address

    @Test func masterAddressDecodesHostAndPort() throws {
        let reply = RedisValue.array([.string("10.0.0.7"), .string("6380")])
        #expect(
            try SentinelReplies.masterAddress(reply, sentinel: "s:1", master: "m")
                == Address(host: "10.0.0.7", port: 6380))
    }

    @Test(
        "a bad get-master-addr-by-name reply is an error naming the Sentinel and the reply",
        arguments: [
            RedisValue.array([.string("h")]),
            .array([.string("h"), .string("port")]),
            .array([.string("h"), .string("70000")]),
            .array([.string("h"), .string("0")]),
            .array([.string(""), .string("6379")]),
            .array([.string("h"), .string("6379"), .string("extra")]),
            .array([.array([]), .string("6379")]),
            .integer(1),
            .string("127.0.0.1:6379"),
            .error("ERR unknown command"),
        ])
    func badMasterAddress(reply: RedisValue) {
        #expect {
            _ = try SentinelReplies.masterAddress(reply, sentinel: "s:1", master: "m")
        } throws: { error in
            guard let error = error as? RedisSentinelError, case .badReply(let sentinel, _, _) = error else {
                return false
            }
            return sentinel == "s:1" && error.description.contains("Sentinel s:1")
        }
    }

    @Test func anUnknownMasterSaysSo() {
        for reply in [RedisValue.null, .error("IDONTKNOW I don't know")] {
            #expect(throws: RedisSentinelError.unknownMaster(sentinel: "s:1", master: "m")) {
                _ = try SentinelReplies.masterAddress(reply, sentinel: "s:1", master: "m")
            }
        }
        #expect(
            RedisSentinelError.unknownMaster(sentinel: "s:1", master: "m").description.contains(
                "redis.sentinel_master"))
    }

    @Test func roleReadsTheFirstElement() throws {
        let master = RedisValue.array([.string("master"), .integer(3129659), .array([])])
        #expect(try SentinelReplies.role(master, address: "h:1") == "master")
        let replica = RedisValue.array([
            .string("slave"), .string("127.0.0.1"), .integer(9999), .string("connected"), .integer(3167038),
        ])
        #expect(try SentinelReplies.role(replica, address: "h:1") == "slave")
        for bad in [RedisValue.array([]), .integer(1), .null, .error("ERR"), .array([.integer(1)])] {
            #expect(throws: RedisSentinelError.self) { _ = try SentinelReplies.role(bad, address: "h:1") }
        }
        #expect(
            RedisSentinelError.notMaster(address: "h:1", role: "slave").description.contains(
                "ROLE slave, not master"))
    }

    @Test func switchMasterPayloads() {
        let ok = Array("m 127.0.0.1 6379 127.0.0.1 6380".utf8)
        #expect(SentinelReplies.switchedMaster(ok, master: "m") == Address(host: "127.0.0.1", port: 6380))
        #expect(SentinelReplies.switchedMaster(ok, master: "other") == nil)
        for bad in ["", "m", "m 1 2 3", "m a 1 b port", "m a 1 b 0", "m a 1 b 1 extra", "m a 1 b 99999"] {
            #expect(SentinelReplies.switchedMaster(Array(bad.utf8), master: "m") == nil, "\(bad)")
        }
        #expect(SentinelReplies.switchedMaster([0xFF, 0xFE], master: "m") == nil)
    }

    @Test func addressParsing() throws {
        #expect(try Address(parsing: "sentinel-1:26379") == Address(host: "sentinel-1", port: 26379))
        #expect(try Address(parsing: "[::1]:26380") == Address(host: "::1", port: 26380))
        #expect(Address(host: "::1", port: 1).description == "[::1]:1")
        for bad in ["", "host", ":1", "h:", "h:x", "h:0", "h:65536", "::1:2", "[::1:2", "[::1]2", "a b:1"] {
            #expect(throws: RedisSentinelError.self, "\(bad)") { _ = try Address(parsing: bad) }
        }
        do {
            _ = try Address(parsing: "h:x")
            Issue.record("accepted h:x")
        } catch {
            #expect(error.description.contains("'h:x'") && error.description.contains("host:port"))
        }
    }

    @Test func configurationChecksItsInput() throws {
        let one = [Address(host: "h", port: 1)]
        #expect(throws: RedisSentinelError.self) {
            _ = try RedisSentinelConfiguration(sentinels: [], masterName: "m")
        }
        #expect(throws: RedisSentinelError.self) {
            _ = try RedisSentinelConfiguration(sentinels: one, masterName: "")
        }
        #expect(throws: RedisSentinelError.self) {
            _ = try RedisSentinelConfiguration(sentinels: one, masterName: "m", replicaWait: .zero)
        }
        var configuration = RedisConfiguration(password: "master-secret")
        configuration.sentinel = try RedisSentinelConfiguration(
            sentinels: one, masterName: "m", password: "s-secret")
        #expect(configuration.endpoint == "master 'm' via Sentinels h:1")
        #expect(!configuration.endpoint.contains("secret"))
        // The connection to a Sentinel uses the Sentinel's password, never the master's.
        let endpoint = configuration.sentinelEndpoint(one[0])
        #expect(endpoint.password == "s-secret" && endpoint.sentinel == nil && endpoint.database == 0)
    }
}
