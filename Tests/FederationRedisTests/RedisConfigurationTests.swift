import FederationRedis
import FederationTestSupport
import Testing

@Suite struct RedisConfigurationTests {
    @Test func parsesFullURL() throws {
        let config = try RedisConfiguration(url: "redis://alice:s%40cret@redis.internal:6380/2")
        #expect(config.host == "redis.internal")
        #expect(config.port == 6380)
        #expect(config.username == "alice")
        #expect(config.password == "s@cret")
        #expect(config.database == 2)
    }

    @Test func parsesShortForms() throws {
        let plain = try RedisConfiguration(url: "redis://localhost")
        #expect(
            plain.host == "localhost" && plain.port == 6379 && plain.database == 0 && plain.password == nil)
        let passwordOnly = try RedisConfiguration(url: "redis://:pw@127.0.0.1:7000/")
        #expect(passwordOnly.username == nil && passwordOnly.password == "pw" && passwordOnly.port == 7000)
        let legacy = try RedisConfiguration(url: "redis://pw@h:1")
        #expect(legacy.password == "pw" && legacy.username == nil)
        let ipv6 = try RedisConfiguration(url: "redis://[::1]:6390/1")
        #expect(ipv6.host == "::1" && ipv6.port == 6390 && ipv6.database == 1)
    }

    @Test(arguments: [
        ("http://localhost:6379", "must start with redis://"),
        ("rediss://localhost", "TLS"),
        ("redis://localhost:0", "port '0'"),
        ("redis://localhost:abc", "port 'abc'"),
        ("redis://localhost:6379/x", "database 'x'"),
        ("redis://:6379", "host is empty"),
        ("redis://u:p%zz@h", "two hex digits"),
    ])
    func rejectsBadURLsClearly(url: String, expected: String) {
        do {
            _ = try RedisConfiguration(url: url)
            Issue.record("accepted \(url)")
        } catch {
            #expect(error.description.contains(expected), "\(error)")
            #expect(error.description.contains("expected redis://"))
        }
    }

    @Test func errorsNeverShowThePassword() {
        do {
            _ = try RedisConfiguration(url: "redis://user:topsecret@host:99999")
        } catch {
            #expect(!error.description.contains("topsecret"))
            #expect(error.description.contains("user:***@host"))
        }
    }

    @Test func backoffDoublesUpToTheCapWithJitter() {
        var backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(1))
        let delays = (0..<6).map { _ in backoff.nextDelay(random: { 0.999_999 }) }
        #expect(
            delays.map { $0.components.attoseconds / 1_000_000_000_000_000 + $0.components.seconds * 1000 }
                == [
                    99, 199, 399, 799, 999, 999,
                ])
        let low = backoff.nextDelay(random: { 0 })
        #expect(low == .milliseconds(500))  // half the capped base
        backoff.reset()
        #expect(backoff.nextDelay(random: { 0 }) == .milliseconds(50))
    }

    @Test func commandDescriptionHidesValuesAndPasswords() {
        #expect(RedisCommand("AUTH", "user", "secret").description == "AUTH ***")
        #expect(RedisCommand("HSET", "fed:node:a", "field", "value").description == "HSET fed:node:a")
    }
}

@Suite struct RedisAuthTests {
    @Test func passwordProtectedServerNeedsTheRightPassword() async throws {
        try await withRedisServer(password: "hunter2") { server in
            let good = try RedisConfiguration(url: server.url)
            #expect(good.password == "hunter2")
            try await RedisClient.withClient(configuration: good) {
                (client: RedisClient) async throws -> Void in
                #expect(try await client.command("PING") == .status("PONG"))
            }
            var bad = good
            bad.password = "wrong"
            bad.poolSize = 1
            try await RedisClient.withClient(configuration: bad) { client in
                let error = await redisError { try await client.command("PING") }
                guard case .authenticationFailed = error else {
                    Issue.record("\(String(describing: error))"); return
                }
                #expect(!error!.description.contains("wrong"))
            }
            var none = good
            none.password = nil
            try await RedisClient.withClient(configuration: none) { client in
                let error = await redisError { try await client.command("PING") }
                #expect(error?.description.contains("NOAUTH") == true)
            }
        }
    }

    @Test func aclUserAuthenticates() async throws {
        try await withRedisServer(password: "admin") { server in
            _ = try await RedisClient.withClient(configuration: try RedisConfiguration(url: server.url)) {
                admin in
                try await admin.command(
                    "ACL", "SETUSER", "gateway", "on", ">gw-pass", "~fed:*", "&*", "+@all")
            }
            let config = try RedisConfiguration(url: "redis://gateway:gw-pass@127.0.0.1:\(server.port)")
            try await RedisClient.withClient(configuration: config) { client in
                #expect(try await client.command("ACL", "WHOAMI") == .string("gateway"))
                try await client.command("SET", "fed:x", "1")
                let denied = await redisError { try await client.command("SET", "other:x", "1") }
                #expect(denied?.description.contains("NOPERM") == true)
            }
        }
    }
}
