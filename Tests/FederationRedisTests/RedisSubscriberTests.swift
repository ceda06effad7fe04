import FederationRedis
import FederationTestSupport
import Testing

/// Takes events until one satisfies `predicate` (or the timeout passes).
func waitFor(
    _ iterator: inout AsyncStream<RedisSubscriberEvent>.Iterator, timeout: Duration = .seconds(10),
    _ predicate: (RedisSubscriberEvent) -> Bool
) async -> [RedisSubscriberEvent] {
    var seen: [RedisSubscriberEvent] = []
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        guard let event = await iterator.next() else { break }
        seen.append(event)
        if predicate(event) { return seen }
    }
    Issue.record("condition not met; events: \(seen)")
    return seen
}

@Suite struct RedisSubscriberTests {
    @Test func receivesMessagesOnChannelsAndPatterns() async throws {
        let server = RedisServerProcess.shared
        let ns = uniqueNamespace()
        try await RedisClient.withClient(configuration: server.configuration()) { client in
            try await RedisSubscriber.withSubscriber(
                configuration: server.configuration(), channels: ["\(ns):a"], patterns: ["\(ns):p:*"]
            ) { subscriber in
                var events = subscriber.events.makeAsyncIterator()
                _ = await waitFor(&events) { $0 == .subscribed }
                #expect(subscriber.isConnected)
                let binary: [UInt8] = [0, 0xFF, 0x0A, 0x0D]
                try await client.command(
                    RedisCommand(arguments: [Array("PUBLISH".utf8), Array("\(ns):a".utf8), binary]))
                try await client.command("PUBLISH", "\(ns):p:x", "hello")
                let seen = await waitFor(&events) {
                    if case .message(_, _, .some) = $0 { true } else { false }
                }
                #expect(seen.contains(.message(channel: "\(ns):a", payload: binary, pattern: nil)))
                #expect(
                    seen.contains(
                        .message(channel: "\(ns):p:x", payload: Array("hello".utf8), pattern: "\(ns):p:*")))
            }
        }
    }

    @Test func stopEndsTheEventStreamPromptly() async throws {
        let server = RedisServerProcess.shared
        let subscriber = RedisSubscriber(configuration: server.configuration(), channels: ["x"])
        subscriber.start()
        var events = subscriber.events.makeAsyncIterator()
        _ = await waitFor(&events) { $0 == .subscribed }
        let start = ContinuousClock.now
        await subscriber.stopAndWait()
        // liveness, not speed: a subscriber blocked in its read must still stop (the bound only
        // catches a hang; the poll timeout makes it sub-second on an idle machine)
        #expect(ContinuousClock.now - start < .seconds(15))
        while await events.next() != nil {}
    }
}

@Suite(.serialized) struct RedisRestartTests {
    @Test func subscriberAndClientSurviveARedisRestart() async throws {
        try await withRedisServer(persistent: true) { server in
            try await RedisClient.withClient(configuration: server.configuration()) { client in
                try await RedisSubscriber.withSubscriber(
                    configuration: server.configuration(), channels: ["events"],
                    pingInterval: .milliseconds(500)
                ) { subscriber in
                    var events = subscriber.events.makeAsyncIterator()
                    _ = await waitFor(&events) { $0 == .subscribed }
                    try await client.command("HSET", "state", "a", "1")
                    await server.kill()
                    let lost = await waitFor(&events) { if case .disconnected = $0 { true } else { false } }
                    #expect(!lost.isEmpty)
                    #expect(!subscriber.isConnected)
                    try await server.start()
                    _ = await waitFor(&events) { $0 == .reconnected }
                    #expect(subscriber.isConnected)
                    // the client reconnects too (after at most one failed command per connection)
                    var reply: RedisValue?
                    for _ in 0..<50 where reply == nil {
                        reply = try? await client.command("HGET", "state", "a")
                        if reply == nil { try await Task.sleep(for: .milliseconds(50)) }
                    }
                    #expect(reply == .string("1"))  // appendonly kept it
                    try await client.command("PUBLISH", "events", "after")
                    let seen = await waitFor(&events) { if case .message = $0 { true } else { false } }
                    #expect(
                        seen.last == .message(channel: "events", payload: Array("after".utf8), pattern: nil))
                }
            }
        }
    }
}
