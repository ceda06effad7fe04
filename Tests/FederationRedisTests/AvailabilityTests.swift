import FederationRedis
import FederationTestSupport
import Foundation
import Synchronization
import Testing

@Suite struct RedisAvailabilityTests {
    let t0 = ContinuousClock.now

    @Test func oneOutageIsOneDownAndOneUpTransition() {
        var a = RedisAvailability(settle: .milliseconds(500))
        #expect(a.isUp)
        let began = a.recordFailure(at: t0, error: "refused")
        let again = a.recordFailure(at: t0 + .milliseconds(10), error: "refused")
        #expect(began && !again, "the second failure is the same outage")
        #expect(!a.isUp && a.outages == 1)
        // Redis is back: one connection succeeds, a pooled one still fails right after.
        let early = a.recordSuccess(at: t0 + .milliseconds(100))
        a.recordFailure(at: t0 + .milliseconds(120), error: "reconnecting")
        let afterLeftover = a.recordSuccess(at: t0 + .milliseconds(130))
        #expect(!early && !afterLeftover)
        let beforeSettle = a.evaluate(at: t0 + .milliseconds(619))
        #expect(!beforeSettle, "settle counts from the last failure")
        let settled = a.evaluate(at: t0 + .milliseconds(620))
        #expect(settled)
        #expect(a.isUp && a.outages == 1 && a.recoveries == 1)
        let later = a.evaluate(at: t0 + .seconds(5))
        #expect(!later)
    }

    @Test func noRecoveryWithoutASuccess() {
        var a = RedisAvailability(settle: .milliseconds(100))
        a.recordFailure(at: t0, error: "refused")
        let byTime = a.evaluate(at: t0 + .seconds(10))
        #expect(!byTime, "time alone does not prove Redis is back")
        let bySuccess = a.recordSuccess(at: t0 + .seconds(10))
        #expect(bySuccess)
        #expect(a.recoveries == 1)
    }

    @Test func serverErrorsAreAnswersNotOutages() {
        #expect(!RedisAvailability.isConnectionFailure(.server(command: "X", message: "ERR")))
        #expect(RedisAvailability.isConnectionFailure(.connectionLost(endpoint: "e", detail: "d")))
        #expect(
            RedisAvailability.isConnectionFailure(.reconnecting(endpoint: "e", retryIn: .zero, lastError: ""))
        )
    }
}

@Suite(.serialized) struct RedisPoolRecoveryTests {
    /// Several connections in backoff when Redis returns: the first that reconnects lets the
    /// others retry at once, so one restart is exactly one outage and one recovery, and no
    /// command fails once a command succeeded after the restart.
    @Test func aRestartUnderLoadIsOneOutageAndOneRecovery() async throws {
        try await withRedisServer() { server in
            var configuration = server.configuration(poolSize: 4)
            configuration.initialReconnectDelay = .milliseconds(200)
            configuration.maximumReconnectDelay = .seconds(2)
            configuration.availabilitySettle = .milliseconds(300)
            try await RedisClient.withClient(configuration: configuration) { client in
                let flags = LoadFlags()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<8 {
                        group.addTask {
                            while !flags.stop.load(ordering: .relaxed) {
                                let startedAfterASuccess = flags.succeededAfterRestart.load(
                                    ordering: .relaxed)
                                do {
                                    try await client.command("INCR", "load:\(worker)")
                                    if flags.restarted.load(ordering: .relaxed) {
                                        flags.succeededAfterRestart.store(true, ordering: .relaxed)
                                    }
                                } catch {
                                    if startedAfterASuccess {
                                        flags.failuresAfterFirstSuccess.add(1, ordering: .relaxed)
                                    }
                                }
                                try? await Task.sleep(for: .milliseconds(5))
                            }
                        }
                    }
                    try await Task.sleep(for: .milliseconds(300))
                    #expect(client.availability.isUp)
                    await server.kill()
                    try await Task.sleep(for: .milliseconds(1500))  // every connection backs off
                    #expect(!client.availability.isUp)
                    try await server.start()
                    flags.restarted.store(true, ordering: .relaxed)
                    var up = false
                    for _ in 0..<200 where !up {
                        try await Task.sleep(for: .milliseconds(50))
                        up = client.availability.isUp
                    }
                    try await Task.sleep(for: .milliseconds(500))
                    flags.stop.store(true, ordering: .relaxed)
                    try await group.waitForAll()
                    #expect(up)
                }
                let state = client.availability
                #expect(state.outages == 1)
                #expect(state.recoveries == 1)
                #expect(flags.failuresAfterFirstSuccess.load(ordering: .relaxed) == 0)
            }
        }
    }
}

/// What the load tasks and the test share.
private final class LoadFlags: Sendable {
    let stop = Atomic<Bool>(false)
    let failuresAfterFirstSuccess = Atomic<Int>(0)
    let restarted = Atomic<Bool>(false)
    let succeededAfterRestart = Atomic<Bool>(false)
}
