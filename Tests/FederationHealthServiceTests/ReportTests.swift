import FederationCore
import FederationState
import FederationTestSupport
import Foundation
import Testing

@Suite struct ReportTests {
    /// A node that is registered but never answers probes (nothing listens there), so only
    /// reports move its health.
    static let deadEndpoint = "http://127.0.0.1:9"

    /// Messages that are not valid reports.
    static let hostile = [
        "{", #"{"node":"rep-2","ok":"yes"}"#, #"{"node":"rep 2","ok":true}"#,
        #"{"node":"rep-2","ok":true,"latency_ms":-5}"#, #"{"node":"rep-2","ok":true,"gpu_utilization":7}"#,
        "[1,2,3]", String(repeating: "x", count: 70_000),
    ]

    @Test func redisCliPublishOfAReportChangesHealthWithinOneEvent() async throws {
        try await withWorld { world in
            try await world.register("rep-1", endpoint: Self.deadEndpoint)
            var configuration = world.configuration()
            configuration.health.probeInterval = .seconds(3600)  // reports only
            try await withHealthEvents(world) { events in
                try await world.withHealth(configuration) { base in
                    // The one probe (nothing listens there) has failed before the reports arrive.
                    #expect(
                        try await eventually { try await world.healthHash("rep-1")["total_failures"] == "1" })
                    let channel = world.keys.healthReports
                    for _ in 0..<2 {
                        let out = try await redisCLI(
                            world.server,
                            [
                                "PUBLISH", channel,
                                #"{"node":"rep-1","ok":true,"latency_ms":45,"source":"operator"}"#,
                            ])
                        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) != "0")
                    }
                    #expect(
                        try await eventually { try await world.healthHash("rep-1")["state"] == "healthy" })
                    let hash = try await world.healthHash("rep-1")
                    #expect(hash["latency_p50_ms"] == "45.0" || hash["latency_p50_ms"] == "45")
                    #expect(events.all.contains { $0.kind == "health" && $0.node == "rep-1" })
                    // One failure report: degraded at once.
                    _ = try await redisCLI(
                        world.server, ["PUBLISH", channel, #"{"node":"rep-1","ok":false,"status":503}"#])
                    #expect(
                        try await eventually { try await world.healthHash("rep-1")["state"] == "degraded" })
                }
            }
        }
    }

    @Test func malformedHostileAndUnknownReportsAreCountedAndIgnored() async throws {
        try await withWorld { world in
            try await world.register("rep-2", endpoint: Self.deadEndpoint)
            var configuration = world.configuration()
            configuration.health.probeInterval = .seconds(3600)
            try await world.withHealth(configuration) { base in
                #expect(try await eventually { try await world.healthHash("rep-2")["total_failures"] == "1" })
                for payload in Self.hostile { try await world.publish(payload) }
                try await world.publish(#"{"node":"not-registered","ok":false}"#)
                // A client error (400) is not the node's fault.
                try await world.publish(#"{"node":"rep-2","ok":false,"status":400}"#)
                let expected = [
                    "federation_health_malformed_reports_total \(Self.hostile.count)",
                    "federation_health_reports_total{outcome=\"unknown_node\"} 1",
                    "federation_health_reports_total{outcome=\"client_error\"} 1",
                ]
                #expect(await world.eventuallyMetrics(base, contain: expected))
                let node = try await world.json(base + "/v1/health/rep-2")
                #expect(node["state"] as? String == "degraded")  // from the one failed probe only
                #expect(node["total_failures"] as? Int == 1)
                #expect(node["total_successes"] as? Int == 0)
                #expect(try await world.healthHash("not-registered").isEmpty)
            }
        }
    }

    @Test func postedReportsAreAppliedAndBadOnesRejected() async throws {
        try await withWorld { world in
            try await world.register("rep-3", endpoint: Self.deadEndpoint)
            var configuration = world.configuration(adminToken: "s3cret")
            configuration.health.probeInterval = .seconds(3600)
            try await world.withHealth(configuration) { base in
                #expect(try await eventually { try await world.healthHash("rep-3")["total_failures"] == "1" })
                let body = #"{"node":"rep-3","ok":false,"status":502,"source":"operator"}"#
                #expect(try await world.request(.POST, base + "/v1/reports", body: body).status == 401)
                let posted = try await world.request(.POST, base + "/v1/reports", body: body, token: "s3cret")
                #expect(posted.status == 200)
                #expect(posted.text.contains(#""outcome":"applied""#))
                #expect(posted.text.contains(#""state":"degraded""#))
                let bad = try await world.request(
                    .POST, base + "/v1/reports", body: #"{"node":"rep-3"}"#, token: "s3cret")
                #expect(bad.status == 400)
                #expect(try await eventually { try await world.healthHash("rep-3")["total_failures"] == "2" })
            }
        }
    }
}
