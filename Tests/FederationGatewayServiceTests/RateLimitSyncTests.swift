import FederationCore
import FederationGatewayService
import FederationRedis
import FederationState
import FederationTestSupport
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Two gateway "replicas" — a limiter and a RateLimitSync each — on one real Redis.
@Suite struct RateLimitSyncTests {
    /// Half-way into a minute window: the test's clock stands still there, so the whole test
    /// runs in one window (and nothing of a previous window counts).
    static let midWindow = Timestamp(milliseconds: 28_333_400 * 60_000 + 30_000)

    struct Replica {
        let limiter: TenantRateLimiter
        let sync: RateLimitSync
    }

    func replicas(
        redis: RedisClient, keys: FederationKeys, clock: ManualClock, rpm: Int
    ) async throws -> [Replica] {
        let store = RedisGatewayStore(client: redis, keys: keys)
        return try await ["gw-a", "gw-b"].asyncMap { id in
            try await store.heartbeat(GatewayHeartbeat(id: id, at: clock.now()))
            let limiter = TenantRateLimiter(
                limits: ["acme": TenantLimits(requestsPerMinute: rpm)], clock: clock)
            let sync = RateLimitSync(
                limiter: limiter, redis: redis, keys: keys, gatewayId: id, interval: .milliseconds(100),
                logger: Logger(label: "test.ratelimit.\(id)"))
            return Replica(limiter: limiter, sync: sync)
        }
    }

    /// Runs both syncs while `body` runs, until both limiters are in step with the cluster.
    func withSyncs<T: Sendable>(
        _ replicas: [Replica], _ body: @Sendable @escaping () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            for replica in replicas {
                group.addTask {
                    try await replica.sync.run(); return nil
                }
            }
            let synced = try await eventually {
                replicas.allSatisfy { $0.limiter.isSynchronized() && $0.limiter.replicaCount == 2 }
            }
            #expect(synced, "both limiters see two live replicas")
            let result = try await body()
            group.cancelAll()
            return result
        }
    }

    /// Asks the replica `attempts` times (with a pause so that the other replica and the syncs run
    /// too); returns how many were admitted. A count, not a duration: on a loaded machine a 2 ms
    /// pause can take far longer, and a timed loop would then ask only a handful of times.
    static func hammer(_ limiter: TenantRateLimiter, attempts: Int) async throws -> Int {
        var admitted = 0
        for _ in 0..<attempts {
            if limiter.admit(tenant: "acme", reservedTokens: 0).isAdmitted { admitted += 1 }
            try await Task.sleep(for: .milliseconds(2))
        }
        return admitted
    }

    /// Both replicas hammered at once; how many each admitted.
    static func hammerBoth(_ replicas: [Replica], attempts: Int) async throws -> [Int] {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for replica in replicas {
                group.addTask { try await Self.hammer(replica.limiter, attempts: attempts) }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
    }

    @Test func twoReplicasAdmittingConcurrentlyHoldOneLimitWithinTenPercent() async throws {
        let server = RedisServerProcess.shared
        let keys = FederationKeys(namespace: uniqueNamespace())
        let clock = ManualClock(Self.midWindow)
        try await RedisClient.withClient(configuration: server.configuration()) { redis in
            let replicas = try await replicas(redis: redis, keys: keys, clock: clock, rpm: 100)
            let phases = try await withSyncs(replicas) {
                let first = try await Self.hammerBoth(replicas, attempts: 1500)
                // Half-way into the next window half of this one still counts: 50 are left. (The
                // replicas stay live: heartbeats for that time first, as the gateway's would be.)
                let store = RedisGatewayStore(client: redis, keys: keys)
                for id in ["gw-a", "gw-b"] {
                    try await store.heartbeat(
                        GatewayHeartbeat(id: id, at: clock.now().advanced(by: .seconds(60))))
                }
                clock.advance(by: .seconds(60))
                // The jump makes both limiters' last sync a minute old (stale: each would enforce
                // the whole limit alone); hammer once a sync has brought them back in step.
                let resynced = try await eventually { replicas.allSatisfy { $0.limiter.isSynchronized() } }
                #expect(resynced, "both limiters synchronized after the clock jump")
                let second = try await Self.hammerBoth(replicas, attempts: 1000)
                return [first, second]
            }
            let totals = phases.map { $0.reduce(0, +) }
            print(
                "rate limit across 2 replicas, requests_per_minute=100: \(totals[0]) admitted in one window "
                    + "\(phases[0]), \(totals[1]) half-way into the next (50 left) \(phases[1])")
            #expect((90...110).contains(totals[0]))
            #expect(phases[0].allSatisfy { $0 > 0 }, "each replica got a share: \(phases[0])")
            #expect((40...60).contains(totals[1]))

            // The window's counters expire on their own.
            let window = TenantRateLimiter.window(containing: Self.midWindow)
            let ttl = try await redis.command("PTTL", "\(keys.namespace):ratelimit:\(window)").int ?? -1
            #expect((1...180_000).contains(ttl))
        }
    }

    @Test(arguments: ["9223372036854775807", "-9223372036854775808", "not a number", "1e3"])
    func garbageInTheCountersNeitherCrashesNorLiftsTheLimit(value: String) async throws {
        let server = RedisServerProcess.shared
        let keys = FederationKeys(namespace: uniqueNamespace())
        let clock = ManualClock(Self.midWindow)
        try await RedisClient.withClient(configuration: server.configuration()) { redis in
            let window = TenantRateLimiter.window(containing: clock.now())
            for index in [window - 1, window] {
                try await redis.command(
                    "HSET", "\(keys.namespace):ratelimit:\(index)", "requests|acme|gw-z", value,
                    "requests|acme", "7")
            }
            let limiter = TenantRateLimiter(
                limits: ["acme": TenantLimits(requestsPerMinute: 10)], clock: clock)
            let sync = RateLimitSync(
                limiter: limiter, redis: redis, keys: keys, gatewayId: "gw-a", logger: Logger(label: "test"))
            try await sync.synchronize()
            try await sync.synchronize()
            var admitted = 0
            for _ in 0..<100 where limiter.admit(tenant: "acme", reservedTokens: 0).isAdmitted {
                admitted += 1
            }
            // A huge count refuses everything; a negative or unreadable one counts as nothing.
            #expect(admitted <= 10)
            if value.hasPrefix("9") { #expect(admitted == 0) }
        }
    }

    @Test func onGracefulShutdownTheLastUseIsWrittenAndUnusedClaimsGivenBack() async throws {
        let server = RedisServerProcess.shared
        let keys = FederationKeys(namespace: uniqueNamespace())
        let clock = ManualClock(Self.midWindow)
        try await RedisClient.withClient(configuration: server.configuration()) { redis in
            let limiter = TenantRateLimiter(
                limits: ["acme": TenantLimits(requestsPerMinute: 100)], clock: clock)
            let sync = RateLimitSync(
                limiter: limiter, redis: redis, keys: keys, gatewayId: "gw-a", interval: .seconds(30),
                logger: Logger(label: "test"))
            let group = ServiceGroup(configuration: .init(services: [sync], logger: Logger(label: "test")))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                #expect(try await eventually { limiter.isSynchronized() })
                let field = "\(keys.namespace):ratelimit:\(TenantRateLimiter.window(containing: clock.now()))"
                // This lone replica claimed the whole limit.
                #expect(try await redis.command("HGET", field, "requests|acme|gw-a").string == "100")
                for _ in 0..<5 { #expect(limiter.admit(tenant: "acme", reservedTokens: 0).isAdmitted) }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                #expect(try await redis.command("HGET", field, "requests|acme|gw-a").string == "5")
            }
        }
    }

    @Test func withRedisStoppedEachReplicaStillEnforcesTheLimitAlone() async throws {
        try await withRedisServer { server in
            let keys = FederationKeys(namespace: uniqueNamespace())
            let clock = ManualClock(Self.midWindow)
            try await RedisClient.withClient(configuration: server.configuration(commandTimeout: .seconds(1)))
            {
                redis in
                let replicas = try await replicas(redis: redis, keys: keys, clock: clock, rpm: 100)
                try await withSyncs(replicas) {
                    await server.kill()
                    let alone = try await eventually { replicas.allSatisfy { !$0.limiter.isSynchronized() } }
                    #expect(alone, "the limiters noticed that Redis is gone")
                    // A fresh window: each replica lets exactly its limit through — neither all
                    // (fail open) nor none (fail closed).
                    clock.advance(by: .seconds(120))
                    for replica in replicas {
                        var admitted = 0
                        for _ in 0..<500 {
                            if replica.limiter.admit(tenant: "acme", reservedTokens: 0).isAdmitted {
                                admitted += 1
                            }
                        }
                        #expect(admitted == 100)
                    }

                    // Redis back: both replicas write what they admitted meanwhile.
                    try await server.start()
                    let shared = try await eventually { replicas.allSatisfy { $0.limiter.isSynchronized() } }
                    #expect(shared, "the limiters share the limit again")
                    let key =
                        "\(keys.namespace):ratelimit:\(TenantRateLimiter.window(containing: clock.now()))"
                    for id in ["gw-a", "gw-b"] {
                        #expect(try await redis.command("HGET", key, "requests|acme|\(id)").string == "100")
                    }
                    #expect(!replicas[0].limiter.admit(tenant: "acme", reservedTokens: 0).isAdmitted)
                }
            }
        }
    }
}

extension Array where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
