import Testing

@testable import FederationRedis

@Suite struct PureTests {
    @Test func sha1MatchesKnownVectors() {
        #expect(SHA1.hexDigest([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hexDigest(Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA1.hexDigest(long) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
    }

    @Test func subscriberSessionPingsWhenQuietAndGivesUpWithoutPong() {
        let start = ContinuousClock.now
        var session = SubscriberSession(pingInterval: .seconds(5), pongTimeout: .seconds(2))
        session.onActivity(now: start)
        #expect(session.onIdle(now: start + .seconds(4)) == .nothing)
        #expect(session.onIdle(now: start + .seconds(5)) == .sendPing)
        #expect(session.onIdle(now: start + .seconds(6)) == .nothing)  // waiting for the pong
        session.onActivity(now: start + .seconds(6))  // pong arrived
        #expect(session.onIdle(now: start + .seconds(10)) == .nothing)
        #expect(session.onIdle(now: start + .seconds(11)) == .sendPing)
        #expect(session.onIdle(now: start + .seconds(13.5)) == .dead)
    }

    @Test func redisValueAccessors() {
        #expect(RedisValue.string("42").int == 42)
        #expect(RedisValue.integer(7).int == 7)
        #expect(RedisValue.status("OK").string == "OK")
        #expect(RedisValue.null.isNull)
        #expect(RedisValue.error("ERR x").errorMessage == "ERR x")
        #expect(RedisValue.array([.string("a"), .string("1")]).hashFields == ["a": "1"])
        #expect(RedisValue.array([.string("a")]).hashFields == nil)
        #expect(RedisValue.bulk(Array(repeating: 65, count: 500)).description.contains("500 bytes"))
    }
}
