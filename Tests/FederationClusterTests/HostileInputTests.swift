import AsyncHTTPClient
import FederationTestSupport
import Foundation
import Testing

/// Issue 8's remote crashes, replayed against the real executables: every service must answer
/// (a 400 naming the field, a counted malformed report, a JSON 404) and keep running.
@Suite(.serialized) struct HostileInputTests {
    @Test func hostileInputsNeverKillAService() async throws {
        let redis = try RedisServerProcess(persistent: true)
        defer { redis.stopAndRemove() }
        let cluster = try Cluster(redis: redis)
        defer { cluster.stop() }
        let api = API(http: HTTPClient.shared, cluster: cluster)
        try await api.eventually("node-a routable") {
            try await api.post(cluster.router, "/v1/route", #"{"capability":"generate"}"#).status == 200
        }

        // The router crash: Duration.milliseconds(1e13) trapped in QoSRequirements.init(from:).
        let query = try await api.post(
            cluster.router, "/v1/route", #"{"capability":"generate","qos":{"max_latency_ms":1e13}}"#)
        #expect(query.status == 400, "\(query.body)")
        #expect(query.body.contains(#""param":"qos.max_latency_ms""#), "\(query.body)")
        let candidates = try await api.post(
            cluster.router, "/v1/candidates", #"{"capability":"generate","qos":{"cost_tolerance":1e30}}"#)
        #expect(candidates.status == 400)
        #expect(candidates.body.contains(#""param":"qos.cost_tolerance""#), "\(candidates.body)")

        // The health-leader crash: a report with latency_ms 1e13, over HTTP and on the channel.
        let report = #"{"node":"node-a","ok":true,"latency_ms":1e13}"#
        let posted = try await api.post(cluster.health, "/v1/reports", report, admin: true)
        #expect(posted.status == 400, "\(posted.body)")
        #expect(posted.body.contains("latency_ms"), "\(posted.body)")
        try redisCLI(port: redis.port, "PUBLISH", "\(cluster.namespace):health:reports", report)

        // Foundation's JSONDecoder trapped on a body ending in its 513th '[' (found by federation-fuzz).
        let deep = String(repeating: "[", count: 513)
        for (port, path) in [
            (cluster.router, "/v1/route"), (cluster.catalog, "/v1/deployments"),
            (cluster.health, "/v1/reports"), (cluster.nodeA, "/v1/chat/completions"),
        ] {
            let answer = try await api.post(port, path, deep, admin: true)
            #expect(answer.status == 400, "\(path): \(answer.body)")
        }

        // Unknown routes: an OpenAI-style JSON 404 from every service.
        for port in [cluster.router, cluster.catalog, cluster.health, cluster.nodeA] {
            let missing = try await api.get(port, "/v1/no-such-route")
            #expect(missing.status == 404)
            #expect(missing.body.contains(#""code":"unknown_route""#), "\(port): \(missing.body)")
            #expect(missing.body.contains(#"GET \/v1\/no-such-route"#), "\(missing.body)")
        }

        // Everyone is still up and the router still routes.
        try await Task.sleep(for: .milliseconds(500))  // let the channel report reach the leader
        for process in cluster.processes {
            #expect(process.isRunning, "\(process.name) died:\n\(process.logTail)")
        }
        try await api.eventually("the router still answers") {
            try await api.post(cluster.router, "/v1/route", #"{"capability":"generate"}"#).status == 200
        }
        try await api.eventually("the health service still answers for node-a") {
            try await api.get(cluster.health, "/v1/health/node-a").status == 200
        }
    }
}
