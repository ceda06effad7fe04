import FederationCore
import FederationState
import FederationTestSupport
import Foundation
import Prometheus
import Synchronization
import Testing

@Suite(.serialized) struct RecoveryTests {
    /// Redis killed and restarted under a running leader: `/readyz`, sampled every 10 ms, turns
    /// 200 → 503 once and 503 → 200 once; the leader counts one recovery ("Redis writable
    /// again" once) and rewrites its state once, so the health version moves a bounded amount.
    @Test func aRedisRestartIsOneOutageOneRecoveryAndReadinessChangesOnce() async throws {
        try await withRedisServer(persistent: true) { server in
            try await withWorld(server: server) { world in
                try await withNode(id: "rc-1") { endpoint in
                    try await world.register("rc-1", endpoint: endpoint)
                    let registry = PrometheusCollectorRegistry()
                    try await world.withHealth(registry: registry) { base in
                        #expect(
                            try await eventually { try await world.healthHash("rc-1")["state"] == "healthy" })
                        let statuses = Mutex<[Int]>([])
                        let sampling = Atomic<Bool>(true)
                        let sampler = Task {
                            while sampling.load(ordering: .relaxed) {
                                let status = (try? await world.request(.GET, base + "/readyz").status) ?? -1
                                statuses.withLock { list in if list.last != status { list.append(status) } }
                                try? await Task.sleep(for: .milliseconds(10))
                            }
                        }
                        // the sampler has seen the ready state before Redis goes (on a loaded machine
                        // its first answer can take longer than any fixed pause)
                        #expect(try await eventually { statuses.withLock { $0.first } == 200 })
                        let versionBefore =
                            Int(
                                try await world.redis.command("GET", world.keys.version(.health)).string ?? ""
                            )
                            ?? 0
                        await server.kill()
                        try await Task.sleep(for: .seconds(2))
                        try await server.start()
                        let recovered = try await eventually {
                            metric(registry, "federation_health_redis_recoveries_total") >= 1
                        }
                        #expect(recovered)
                        #expect(try await eventually { statuses.withLock { $0.last } == 200 })
                        try await Task.sleep(for: .seconds(3))
                        sampling.store(false, ordering: .relaxed)
                        _ = await sampler.value
                        let versionAfter =
                            Int(
                                try await world.redis.command("GET", world.keys.version(.health)).string ?? ""
                            )
                            ?? 0
                        let seen = statuses.withLock { $0 }
                        #expect(seen == [200, 503, 200], "/readyz went \(seen)")
                        #expect(metric(registry, "federation_health_redis_recoveries_total") == 1)
                        // One node: one rewrite plus throttled writes (≤ 4 per second per record), not hundreds.
                        #expect(
                            versionAfter - versionBefore < 60,
                            "health version \(versionBefore) → \(versionAfter)"
                        )
                        print(
                            "health version across the restart: \(versionBefore) → \(versionAfter); /readyz \(seen)"
                        )
                    }
                }
            }
        }
    }
}
