import Testing

@testable import FederationConfig

@Suite("Redis Sentinel settings")
struct RedisSentinelSettingsTests {
    @Test("the YAML redis section takes sentinels, the master name, a password and the replica wait")
    func yaml() throws {
        let c = try ConfigurationLoader.parse(
            yaml: """
                redis:
                  url: redis://:master-pw@ignored:1/2
                  sentinels: ["10.0.0.1:26379", "[::1]:26380"]
                  sentinel_master: mymaster
                  sentinel_password: s-pw
                  replica_wait_ms: 250
                """)
        #expect(c.redisSentinel.sentinels == ["10.0.0.1:26379", "[::1]:26380"])
        #expect(c.redisSentinel.masterName == "mymaster")
        #expect(c.redisSentinel.password == "s-pw")
        #expect(c.redisSentinel.replicaWait == .milliseconds(250))
        #expect(c.redisSentinel.isEnabled)
        #expect(c.redisURL == "redis://:master-pw@ignored:1/2")
    }

    @Test("the environment sets them too, a comma-separated list with spaces allowed")
    func environment() throws {
        var c = FederationConfiguration()
        try ConfigurationLoader.applyEnvironment(
            [
                "FED_REDIS_SENTINELS": "a:1, b:2,,c:3", "FED_REDIS_SENTINEL_MASTER": "m",
                "FED_REDIS_SENTINEL_PASSWORD": "p", "FED_REDIS_REPLICA_WAIT_MS": "100",
            ], to: &c)
        #expect(c.redisSentinel.sentinels == ["a:1", "b:2", "c:3"])
        #expect(c.redisSentinel.masterName == "m")
        #expect(c.redisSentinel.password == "p")
        #expect(c.redisSentinel.replicaWait == .milliseconds(100))
    }

    @Test("without sentinels nothing changes")
    func off() throws {
        let c = try ConfigurationLoader.parse(yaml: "redis: {url: redis://h:1}")
        #expect(!c.redisSentinel.isEnabled)
        #expect(c.redisSentinel.validationProblem == nil)
    }

    @Test(
        "bad settings are refused with a message naming the key and the value",
        arguments: [
            ("redis: {sentinels: ['a:1']}", "redis.sentinel_master is not"),
            ("redis: {sentinel_master: m}", "redis.sentinels is empty"),
            ("redis: {sentinels: ['nohost'], sentinel_master: m}", "'nohost' has no port"),
            ("redis: {sentinels: ['h:99999'], sentinel_master: m}", "'h:99999' has port '99999'"),
            ("redis: {sentinels: [':26379'], sentinel_master: m}", "empty host"),
            ("redis: {sentinels: ['::1:26379'], sentinel_master: m}", "without brackets"),
            ("redis: {sentinels: ['[::1:26379'], sentinel_master: m}", "no ']'"),
            ("redis: {sentinels: ['a:1'], sentinel_master: 'my master'}", "must not contain spaces"),
            (
                "redis: {sentinels: ['a:1'], sentinel_master: m, replica_wait_ms: 5000}",
                "redis.replica_wait_ms"
            ),
            ("redis: {sentinels: ['a:1'], sentinel_master: m, replica_wait_ms: 0}", "replica_wait_ms"),
            ("redis: {sentinel: ['a:1']}", "sentinel"),
        ])
    func bad(yaml: String, mentions: String) {
        do {
            _ = try ConfigurationLoader.parse(yaml: yaml)
            Issue.record("accepted \(yaml)")
        } catch {
            #expect("\(error)".contains(mentions), "\(error)")
        }
    }

    @Test("bad environment values are refused naming the variable")
    func badEnvironment() {
        for (variables, mentions) in [
            (["FED_REDIS_SENTINELS": "a:1"], "redis.sentinel_master"),
            (
                [
                    "FED_REDIS_SENTINELS": "a:1", "FED_REDIS_SENTINEL_MASTER": "m",
                    "FED_REDIS_REPLICA_WAIT_MS": "x",
                ],
                "FED_REDIS_REPLICA_WAIT_MS='x'"
            ),
            (["FED_REDIS_SENTINELS": "a", "FED_REDIS_SENTINEL_MASTER": "m"], "'a' has no port"),
        ] {
            var c = FederationConfiguration()
            do {
                try ConfigurationLoader.applyEnvironment(variables, to: &c)
                Issue.record("accepted \(variables)")
            } catch {
                #expect("\(error)".contains(mentions), "\(error)")
            }
        }
    }
}
