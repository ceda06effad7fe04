import AsyncHTTPClient
import FederationTestSupport
import Foundation
import Testing

/// Issue 8's remote crashes, replayed against the real executables: every service must answer
/// (a 400 naming the field, a counted malformed report, a JSON 404) and keep running.
@Suite(.serialized) struct HostileInputTests {
    @Test func hostileInputsNeverKillAService() async throws {
        try await withRedisServer(persistent: true) { redis in
            try await withCluster(redis: redis) { cluster in
                let api = API(http: HTTPClient.shared, cluster: cluster)
                try await eventually("node-a routable", watching: api.cluster.processes) {
                    try await api.post(cluster.router, "/v1/route", #"{"capability":"generate"}"#).status
                        == 200
                }

                // The router crash: Duration.milliseconds(1e13) trapped in QoSRequirements.init(from:).
                let query = try await api.post(
                    cluster.router, "/v1/route", #"{"capability":"generate","qos":{"max_latency_ms":1e13}}"#)
                #expect(query.status == 400, "\(query.body)")
                #expect(query.body.contains(#""param":"qos.max_latency_ms""#), "\(query.body)")
                let candidates = try await api.post(
                    cluster.router, "/v1/candidates",
                    #"{"capability":"generate","qos":{"cost_tolerance":1e30}}"#)
                #expect(candidates.status == 400)
                #expect(candidates.body.contains(#""param":"qos.cost_tolerance""#), "\(candidates.body)")

                // The health-leader crash: a report with latency_ms 1e13, over HTTP and on the channel.
                let report = #"{"node":"node-a","ok":true,"latency_ms":1e13}"#
                let posted = try await api.post(cluster.health, "/v1/reports", report, admin: true)
                #expect(posted.status == 400, "\(posted.body)")
                #expect(posted.body.contains("latency_ms"), "\(posted.body)")
                try await redisCLI(port: redis.port, "PUBLISH", "\(cluster.namespace):health:reports", report)

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
                try await eventually("the router still answers", watching: api.cluster.processes) {
                    try await api.post(cluster.router, "/v1/route", #"{"capability":"generate"}"#).status
                        == 200
                }
                try await eventually(
                    "the health service still answers for node-a", watching: api.cluster.processes
                ) {
                    try await api.get(cluster.health, "/v1/health/node-a").status == 200
                }
            }
        }
    }

    /// Issue 8: 200 slowloris connections were held for their whole 20 s on every port. Now each
    /// real executable closes a connection whose request head is not complete within its header
    /// timeout, however slowly bytes trickle in, and keeps answering ordinary requests meanwhile.
    @Test func everyServiceClosesSlowlorisConnections() async throws {
        try await withRedisServer(persistent: true) { redis in
            try await withCluster(redis: redis) { cluster in
                let api = API(http: HTTPClient.shared, cluster: cluster)
                let ports = [
                    ("router", cluster.router), ("catalog", cluster.catalog), ("health", cluster.health),
                    ("node", cluster.nodeA),
                ]
                for (_, port) in ports {
                    try await eventually("port \(port) answers", watching: api.cluster.processes) {
                        try await api.get(port, "/healthz").status == 200
                    }
                }
                var slow: [(String, RawConnection)] = []
                for (name, port) in ports {
                    for _ in 0..<25 {
                        let connection = try await RawConnection.connect(port: port)
                        try await connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                        slow.append((name, connection))
                    }
                }
                // Trickle one byte a connection every 250 ms for up to 30 s (15 header timeouts).
                let deadline = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < deadline, slow.contains(where: { !$0.1.isClosed }) {
                    for (_, connection) in slow where !connection.isClosed { try? await connection.send("a") }
                    try await Task.sleep(for: .milliseconds(250))
                }
                for (name, port) in ports {
                    let held = slow.filter { $0.0 == name && !$0.1.isClosed }.count
                    #expect(held == 0, "\(name) still holds \(held) of 25 trickling connections after 30 s")
                    let answered = slow.filter { $0.0 == name && $0.1.text.hasPrefix("HTTP/1.1 408") }.count
                    #expect(answered == 25, "\(name): \(answered) of 25 closed with a 408")
                    #expect(try await api.get(port, "/healthz").status == 200, "\(name) stopped answering")
                }
                for (_, connection) in slow { await connection.close() }
            }
        }
    }
}
