import FederationRedis
import FederationTestSupport
import Testing

@Suite struct RedisClientTests {
    let server = RedisServerProcess.shared
    let ns = uniqueNamespace()

    @Test func commandsRoundTripBinarySafeValues() async throws {
        try await RedisClient.withClient(configuration: server.configuration()) { client in
            let bytes: [UInt8] = [0, 1, 2, 255, 13, 10, 0]
            try await client.command(
                RedisCommand(arguments: [Array("SET".utf8), Array("\(ns):bin".utf8), bytes]))
            #expect(try await client.command("GET", "\(ns):bin") == .bulk(bytes))
            #expect(try await client.command("GET", "\(ns):missing") == .null)
            #expect(try await client.command("INCRBY", "\(ns):n", "5") == .integer(5))
            #expect(try await client.command("PING") == .status("PONG"))
            try await client.command("SET", "\(ns):empty", "")
            #expect(try await client.command("GET", "\(ns):empty") == .bulk([]))
            try await client.command("HSET", "\(ns):h", "a", "1", "b", "2")
            #expect(try await client.command("HGETALL", "\(ns):h").hashFields == ["a": "1", "b": "2"])
        }
    }

    @Test func errorRepliesAreThrownWithRedisText() async throws {
        try await RedisClient.withClient(configuration: server.configuration()) { client in
            try await client.command("SET", "\(ns):s", "x")
            let error = await redisError { try await client.command("HSET", "\(ns):s", "f", "v") }
            guard case .server(_, let message) = error else {
                Issue.record("\(String(describing: error))"); return
            }
            #expect(message.hasPrefix("WRONGTYPE"))
            // the connection stays usable after an error reply
            #expect(try await client.command("GET", "\(ns):s") == .string("x"))
            #expect(try await client.send(RedisCommand("NOSUCHCOMMAND")).errorMessage != nil)
        }
    }

    @Test func pipelineSendsManyCommandsInOrder() async throws {
        try await RedisClient.withClient(configuration: server.configuration()) { client in
            let commands = (0..<500).map { RedisCommand("HSET", "\(ns):p", "f\($0)", "\($0)") }
            let replies = try await client.pipeline(commands)
            #expect(replies.count == 500)
            #expect(replies.allSatisfy { $0 == .integer(1) })
            #expect(try await client.command("HLEN", "\(ns):p") == .integer(500))
            let mixed = try await client.pipeline([
                RedisCommand("SET", "\(ns):a", "1"), RedisCommand("HGET", "\(ns):a", "x"),
                RedisCommand("GET", "\(ns):a"),
            ])
            #expect(mixed[0] == .status("OK"))
            #expect(mixed[1].errorMessage?.hasPrefix("WRONGTYPE") == true)
            #expect(mixed[2] == .string("1"))
        }
    }

    @Test func concurrentCallersEachGetTheirOwnReplies() async throws {
        // one connection: concurrent commands are batched into shared pipelines
        try await RedisClient.withClient(configuration: server.configuration(poolSize: 1)) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<300 {
                    group.addTask {
                        let key = "\(ns):c\(index)"
                        if index % 10 == 0 {  // error replies stay with their caller
                            let reply = try await client.send(RedisCommand("HGET", "\(ns):nokey", "a", "b"))
                            #expect(reply.errorMessage != nil)
                        }
                        let replies = try await client.pipeline([
                            RedisCommand("SET", key, "v\(index)"), RedisCommand("GET", key),
                        ])
                        #expect(replies == [.status("OK"), .string("v\(index)")])
                        #expect(try await client.command("GET", key) == .string("v\(index)"))
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func transactionIsAtomicAndReportsQueueErrors() async throws {
        try await RedisClient.withClient(configuration: server.configuration()) { client in
            let results = try await client.transaction([
                RedisCommand("INCR", "\(ns):v"), RedisCommand("HSET", "\(ns):t", "a", "1"),
            ])
            #expect(results == [.integer(1), .integer(1)])
            let error = await redisError {
                _ = try await client.transaction([
                    RedisCommand("INCR", "\(ns):v"), RedisCommand("NOSUCHCOMMAND"),
                ])
            }
            guard case .transactionFailed = error else {
                Issue.record("\(String(describing: error))"); return
            }
            #expect(try await client.command("GET", "\(ns):v") == .string("1"))  // nothing half-done
        }
    }

    @Test func evalshaLoadsScriptOnNoscript() async throws {
        // SCRIPT FLUSH affects every client of a server: use one of our own
        try await withRedisServer() { server in
            try await RedisClient.withClient(configuration: server.configuration(poolSize: 1)) { client in
                let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
                let loaded = try await client.command("SCRIPT", "LOAD", script.source)
                #expect(loaded.string == script.sha1)  // our SHA1 matches Redis's
                try await client.command("SCRIPT", "FLUSH")
                #expect(
                    try await client.evalScript(script, keys: ["\(ns):e"], arguments: ["2"]) == .integer(2))
                #expect(
                    try await client.evalScript(script, keys: ["\(ns):e"], arguments: ["3"]) == .integer(5))
                let failing = RedisScript("return redis.error_reply('boom')")
                let error = await redisError { try await client.evalScript(failing) }
                #expect(error?.description.contains("boom") == true)
            }
        }
    }

    @Test func selectUsesTheConfiguredDatabase() async throws {
        var configuration = server.configuration()
        configuration.database = 3
        _ = try await RedisClient.withClient(configuration: configuration) { client in
            try await client.command("SET", "\(ns):db", "three")
        }
        try await RedisClient.withClient(configuration: server.configuration()) {
            (client: RedisClient) async throws -> Void in
            #expect(try await client.command("GET", "\(ns):db") == .null)
            let error = await redisError { _ = try await client.pipeline([RedisCommand("SELECT", "3")]) }
            #expect(error == .unsupportedCommand("SELECT"))
        }
        try await RedisClient.withClient(configuration: try RedisConfiguration(url: server.url + "/3")) {
            (client: RedisClient) async throws -> Void in
            #expect(try await client.command("GET", "\(ns):db") == .string("three"))
        }
    }

    @Test func commandTimeoutRaisesAClearError() async throws {
        // DEBUG SLEEP blocks the whole server: use one of our own so parallel tests are not stalled.
        try await withRedisServer() { server in
            let config = server.configuration(poolSize: 1, commandTimeout: .milliseconds(200))
            try await RedisClient.withClient(configuration: config) { client in
                try await RedisClient.withClient(configuration: server.configuration(poolSize: 1)) { other in
                    // both connected first, so only the server's sleep can delay the PING
                    try await client.command("PING")
                    try await other.command("PING")
                    async let sleeping = other.send(RedisCommand("DEBUG", "SLEEP", "1"))
                    try await Task.sleep(for: .milliseconds(150))
                    let error = await redisError { try await client.command("PING") }
                    if case .timeout(let command, _) = error {
                        #expect(command == "PING")
                        #expect(error!.description.contains("no reply within"))
                    } else {
                        Issue.record("expected a timeout, got \(String(describing: error))")
                    }
                    _ = try await sleeping
                }
                // the next command reconnects once the backoff allows
                try await Task.sleep(for: .milliseconds(300))
                #expect(try await client.command("PING") == .status("PONG"))
            }
        }
    }

    @Test func connectionRefusedIsClearAndFailsFastWhileBackingOff() async throws {
        let port = server.port == 1 ? 2 : 1  // nothing listens on port 1
        // a backoff window far longer than any test machine needs between the two calls
        var config = RedisConfiguration(
            port: port, initialReconnectDelay: .seconds(120), maximumReconnectDelay: .seconds(240))
        config.poolSize = 1
        try await RedisClient.withClient(configuration: config) { client in
            let first = await redisError { try await client.command("PING") }
            guard case .connectionFailed = first else { Issue.record("\(String(describing: first))"); return }
            let second = await redisError { try await client.command("PING") }
            guard case .reconnecting = second else { Issue.record("\(String(describing: second))"); return }
            #expect(second!.description.contains("next reconnect attempt"))
        }
    }
}

/// The RedisError `body` throws, nil when it succeeds (records an issue for any other error).
func redisError(_ body: () async throws -> Void) async -> RedisError? {
    do {
        try await body()
        return nil
    } catch let error as RedisError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}
