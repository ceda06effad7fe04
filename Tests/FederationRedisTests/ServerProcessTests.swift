import FederationRedis
import FederationTestSupport
import Testing

@Suite struct RedisServerProcessTests {
    @Test func startsAnswersAndStopsQuickly() async throws {
        let start = ContinuousClock.now
        let server = try await blocking { try RedisServerProcess() }
        #expect(server.ping())
        let started = ContinuousClock.now
        await server.stopAndRemove()
        #expect(!server.ping())
        print("redis-server start \(started - start), stop \(ContinuousClock.now - started)")
    }
}
