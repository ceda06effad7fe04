import FederationRedis
import FederationTestSupport
import Testing

@Suite struct RedisServerProcessTests {
    @Test func startsAnswersAndStopsQuickly() throws {
        let start = ContinuousClock.now
        let server = try RedisServerProcess()
        #expect(server.ping())
        let started = ContinuousClock.now
        server.stopAndRemove()
        #expect(!server.ping())
        print("redis-server start \(started - start), stop \(ContinuousClock.now - started)")
    }
}
