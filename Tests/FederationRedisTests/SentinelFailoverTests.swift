import FederationRedis
import FederationTestSupport
import Testing

/// Real master, replica and three Sentinels (``withSentinelSet(_:)``): the client and the
/// subscriber find the master through the Sentinels and follow a failover by themselves.
@Suite(.serialized) struct SentinelFailoverTests {
    /// A plain client on one server, to look at it directly.
    func direct(_ port: Int) -> RedisConfiguration {
        RedisConfiguration(
            port: port, connectTimeout: .milliseconds(500), commandTimeout: .seconds(1), poolSize: 1)
    }

    @Test func clientAndSubscriberFollowAManualFailoverToTheNewMaster() async throws {
        try await withSentinelSet { set in
            let configuration = try set.configuration()
            try await RedisClient.withClient(configuration: configuration) { client in
                // Found through the Sentinels: the write lands on the master, WAIT sees the replica.
                try await client.command("SET", "before", "1")
                let write = RedisScript("return redis.call('SET', KEYS[1], ARGV[1])")
                try await client.evalScript(
                    write, keys: ["acknowledged"], arguments: ["yes"], mustReplicate: true)
                #expect(client.unreplicatedWrites == 0)
                let onReplica = try await RedisClient.withClient(configuration: direct(set.replica.port)) {
                    try await $0.command("GET", "acknowledged").string
                }
                #expect(onReplica == "yes")

                try await RedisSubscriber.withSubscriber(configuration: configuration, channels: ["news"]) {
                    subscriber in
                    var events = subscriber.events.makeAsyncIterator()
                    _ = await waitFor(&events) { $0 == .subscribed }

                    // The old master stays alive and becomes a replica: only `+switch-master` (or a
                    // READONLY reply) can move the connections, so this tests that they follow it.
                    let sentinel = RedisConfiguration(port: set.sentinels[0].port, poolSize: 1)
                    try await RedisClient.withClient(configuration: sentinel) {
                        try await $0.command("SENTINEL", "FAILOVER", RedisSentinelSet.masterName)
                    }
                    try await eventually("the Sentinels promote the replica", timeout: .seconds(30)) {
                        await set.masterPort() == set.replica.port
                    }
                    // A write may still reach the old master in the moment between the promotion and
                    // the `+switch-master` (Sentinel's split-brain window, docs/REDIS.md): the client
                    // must soon write to the new master, by itself.
                    let newMasterClient = direct(set.replica.port)
                    try await eventually(
                        "writes through the client reach the new master", timeout: .seconds(30)
                    ) {
                        guard (try? await client.command("SET", "after", "2")) != nil else { return false }
                        return try await RedisClient.withClient(configuration: newMasterClient) {
                            try await $0.command("GET", "after").string == "2"
                        }
                    }
                    // …and they went to the new master, not the demoted one.
                    let role = try await RedisClient.withClient(configuration: direct(set.replica.port)) {
                        try await $0.command("ROLE").array?.first?.string
                    }
                    #expect(role == "master")
                    let onNew = try await RedisClient.withClient(configuration: direct(set.replica.port)) {
                        try await $0.mget(["before", "acknowledged", "after"])
                    }
                    #expect(onNew == ["1", "yes", "2"])

                    // The subscriber reconnected to the new master with its subscription.
                    _ = await waitFor(&events, timeout: .seconds(30)) { $0 == .reconnected }
                    try await RedisClient.withClient(configuration: direct(set.replica.port)) { newMaster in
                        await withTaskGroup(of: Void.self) { group in
                            group.addTask {
                                while !Task.isCancelled {
                                    _ = try? await newMaster.command("PUBLISH", "news", "on-the-new-master")
                                    try? await Task.sleep(for: .milliseconds(100))
                                }
                            }
                            let seen = await waitFor(&events, timeout: .seconds(30)) {
                                $0
                                    == .message(
                                        channel: "news", payload: Array("on-the-new-master".utf8),
                                        pattern: nil)
                            }
                            #expect(
                                seen.last
                                    == .message(
                                        channel: "news", payload: Array("on-the-new-master".utf8),
                                        pattern: nil))
                            group.cancelAll()
                        }
                    }
                }
            }
        }
    }

    @Test func aWriteNoReplicaAcknowledgesStandsAndIsCounted() async throws {
        try await withSentinelSet { set in
            var configuration = try set.configuration(poolSize: 1)
            configuration.sentinel?.replicaWait = .milliseconds(100)
            try await RedisClient.withClient(configuration: configuration) { client in
                let write = RedisScript("return redis.call('SET', KEYS[1], ARGV[1])")
                try await client.evalScript(write, keys: ["k"], arguments: ["1"], mustReplicate: true)
                #expect(client.unreplicatedWrites == 0)
                await set.replica.kill()
                // WAIT ends after the bound with no replica: the write stands on the master, the call
                // succeeds, and it is counted (docs/REDIS.md "WAIT").
                try await client.evalScript(write, keys: ["k"], arguments: ["2"], mustReplicate: true)
                #expect(client.unreplicatedWrites == 1)
                #expect(try await client.command("GET", "k").string == "2")
                // A write not marked as one that must replicate never waits.
                try await client.evalScript(write, keys: ["k"], arguments: ["3"])
                #expect(client.unreplicatedWrites == 1)
            }
        }
    }

    @Test func aMasterNameNoSentinelKnowsIsAClearError() async throws {
        try await withSentinelSet { set in
            var configuration = try set.configuration(poolSize: 1)
            configuration.sentinel?.masterName = "no-such-master"
            try await RedisClient.withClient(configuration: configuration) { client in
                do {
                    try await client.command("PING")
                    Issue.record("PING succeeded without a master")
                } catch {
                    #expect("\(error)".contains("monitors no master named 'no-such-master'"), "\(error)")
                }
            }
        }
    }

    @Test func noReachableSentinelNamesEveryOneTried() async throws {
        let ports = [try freeLoopbackPort(), try freeLoopbackPort()]
        var configuration = RedisConfiguration(connectTimeout: .milliseconds(300), poolSize: 1)
        configuration.sentinel = try RedisSentinelConfiguration(
            sentinels: ports.map { .init(host: "127.0.0.1", port: $0) }, masterName: "m")
        try await RedisClient.withClient(configuration: configuration) { client in
            do {
                try await client.command("PING")
                Issue.record("PING succeeded with no Sentinel")
            } catch {
                let text = "\(error)"
                #expect(text.contains("no Sentinel gave the master's address"), "\(text)")
                for port in ports { #expect(text.contains("127.0.0.1:\(port)"), "\(text)") }
                #expect((error as? RedisError).map(RedisAvailability.isConnectionFailure) == true)
            }
        }
    }
}

extension RedisClient {
    /// `MGET` as strings (nil for a missing key).
    fileprivate func mget(_ keys: [String]) async throws -> [String?] {
        let reply = try await command(
            RedisCommand(arguments: [Array("MGET".utf8)] + keys.map { Array($0.utf8) }))
        return (reply.array ?? []).map(\.string)
    }
}
