import FederationCore
import FederationRedis
import FederationState
import FederationTestSupport
import Foundation
import Testing

@Suite("/healthz /readyz /metrics")
struct OperationalTests {
    @Test func readinessShowsTheViewAndMetricsCountDecisions() async throws {
        try await withRouter(seed: { try await $0.seedReferenceScenario() }) { client, _ in
            #expect(try await client.get("/healthz").status == .ok)
            let ready = try await client.get("/readyz")
            #expect(ready.status == .ok)
            #expect(ready.object["ready"] as? Bool == true)
            let view = try #require(ready.object["view"] as? [String: Any])
            #expect(view["age_ms"] is Int)
            #expect(view["connected"] as? Bool == true)
            #expect((view["versions"] as? [String: Any])?["policy"] as? Int == 1)

            _ = try await client.route(#"{"capability":"transcribe"}"#)
            _ = try await client.route(#"{"capability":"transcribe","qos":{"privacy":"restricted"}}"#)
            let metrics = try await client.get("/metrics").text
            for line in [
                #"federation_router_route_decisions_total{outcome="routed",strategy="least_latency"} 1"#,
                #"federation_router_route_decisions_total{outcome="privacy_violation",strategy="least_latency"} 1"#,
                "federation_router_policy_version 1.0",
                "federation_router_view_connected 1.0",
                "federation_router_route_decision_duration_seconds_count 2",
                #"federation_router_policy_updates_total{result="applied"} 0"#,
                "federation_router_policy_published_by_owner_total 1",
            ] {
                #expect(metrics.contains(line), "missing \(line)")
            }
            #expect(metrics.contains("federation_router_view_age_seconds "))
        }
    }

    @Test func answers503UntilTheViewHasLoadedOnce() async throws {
        // Redis on a port nothing listens on: the view can never load
        try await withRouter(unreachable: true, waitUntilReady: false) { client, _ in
            let route = try await client.route(#"{"capability":"transcribe"}"#)
            #expect(route.status == .serviceUnavailable)
            #expect(route.errorCode == "view_not_synced")
            let ready = try await client.get("/readyz")
            #expect(ready.status == .serviceUnavailable)
            let checks = ready.object["checks"] as? [String: String]
            #expect(checks?["view"]?.hasPrefix("has not loaded") == true, "\(ready.text)")
            #expect(try await client.get("/healthz").status == .ok)
        }
    }
}

/// Tests that kill and restart their own redis-server: one at a time.
@Suite("Redis going away", .serialized)
struct RedisOutageTests {
    @Test func keepsAnsweringFromTheLastViewAndCatchesUp() async throws {
        try await withRedisServer(persistent: true) { server in
            try await withRouter(server: server, seed: { try await $0.seedReferenceScenario() }) {
                client, fixture in
                #expect(try await client.route(#"{"capability":"transcribe"}"#).node == "us-west-gpu-01")
                await server.kill()
                let noticed = try await eventually {
                    try await client.get("/readyz").status == .serviceUnavailable
                }
                #expect(noticed, "/readyz did not notice that Redis is gone")
                let readiness = try await client.get("/readyz")
                #expect(
                    (readiness.object["checks"] as? [String: String])?["redis"]?.contains("last view") == true
                )
                // still answering, from the last view, and saying so
                let during = try await client.route(#"{"capability":"transcribe"}"#)
                #expect(during.status == .ok)
                #expect(during.node == "us-west-gpu-01")
                #expect(during.object["snapshot_stale"] as? Bool == true)
                #expect((during.object["snapshot_versions"] as? [String: Any])?["health"] as? Int == 2)
                #expect(try await client.get("/v1/policy").status == .ok)
                // a write needs Redis: 503, not a hang or a crash
                let put = try await client.send(.patch, "/v1/policy", json: #"{"strategy":"round_robin"}"#)
                #expect(put.status == .serviceUnavailable, "\(put.text)")

                try await server.start()
                let back = try await eventually { try await client.get("/readyz").status == .ok }
                #expect(back, "the router did not re-sync after Redis returned")
                var sick = fixture.healthy("us-west-gpu-01", p50: 45)
                sick.state = .unhealthy
                // the test's own pooled connections may still be backing off from the outage
                let written = try await eventually { (try? await fixture.health.putHealth(sick)) != nil }
                #expect(written)
                let followed = try await eventually {
                    try await client.route(#"{"capability":"transcribe"}"#).node == "eu-west-gpu-01"
                }
                #expect(followed, "the route did not follow a health change made after the restart")
                let after = try await client.route(#"{"capability":"transcribe"}"#)
                #expect(after.object["snapshot_stale"] as? Bool == false)
            }
        }
    }

    @Test func republishesItsPolicyWhenRedisLostIt() async throws {
        try await withRedisServer(persistent: false) { server in
            try await withRouter(server: server) { client, fixture in
                let put = try await client.send(.put, "/v1/policy", json: #"{"strategy":"weighted_random"}"#)
                #expect(put.status == .ok, "\(put.text)")
                await server.kill()
                try await server.start()  // empty: no persistence
                let restored = try await eventually {
                    let stored = try? await fixture.policy.loadPolicy()
                    return stored.map { $0.version > 0 && $0.value.strategy == .weightedRandom } ?? false
                }
                #expect(restored, "the router did not republish its last policy")
                let served = try await eventually {
                    let answer = try await client.get("/v1/policy")
                    return (answer.object["document"] as? [String: Any])?["strategy"] as? String
                        == "weighted_random"
                }
                #expect(served, "the router's view did not pick up the republished policy")
            }
        }
    }
}
