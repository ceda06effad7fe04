import AsyncHTTPClient
import FederationCore
import FederationTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Issue 5's acceptance scenario with nothing in-process: the three service executables, two
/// `federation-node` processes that register themselves, a persistent `redis-server`, `redis-cli`
/// for reports, and HTTP for everything else.
@Suite(.serialized) struct ControlPlaneTests {
    @Test func catalogHealthAndRouterTogether() async throws {
        try await withRedisServer(persistent: true) { redis in
            try await withCluster(redis: redis) { cluster in
                let api = API(http: HTTPClient.shared, cluster: cluster)

                // 1. both nodes register themselves, get probed, and are routable
                try await eventually("both nodes registered", watching: api.cluster.processes) {
                    let nodes = try await api.get(cluster.catalog, "/v1/nodes").body
                    return nodes.contains("node-a") && nodes.contains("node-b")
                }
                try await eventually("both nodes healthy", watching: api.cluster.processes) {
                    let a = try await api.get(cluster.health, "/v1/health/node-a").body
                    let b = try await api.get(cluster.health, "/v1/health/node-b").body
                    return a.contains(#""state":"healthy""#) && b.contains(#""state":"healthy""#)
                }
                let explain = try await api.post(
                    cluster.router, "/v1/candidates", #"{"capability":"generate"}"#
                ).body
                #expect(explain.components(separatedBy: #""eligible":true"#).count - 1 == 2, "\(explain)")

                // 2. a node that stops answering probes goes Degraded → Unhealthy and its circuit opens
                _ = try await api.post(cluster.nodeB, "/admin/faults", #"{"unhealthy":true}"#)
                try await eventually("node-b unhealthy with an open circuit", watching: api.cluster.processes)
                {
                    let health = try await api.get(cluster.health, "/v1/health/node-b").body
                    let circuit = try await api.get(cluster.health, "/v1/circuits/node-b").body
                    return health.contains(#""state":"unhealthy""#) && circuit.contains(#""state":"open""#)
                }
                try await eventually("the router routes around node-b", watching: api.cluster.processes) {
                    try await api.routes(count: 5).allSatisfy { $0 == "node-a" }
                }
                let rejected = try await api.post(
                    cluster.router, "/v1/candidates", #"{"capability":"generate"}"#
                )
                .body
                #expect(rejected.contains(#""policy":"circuit""#), "\(rejected)")

                // 3. reports published with redis-cli change what /v1/route answers
                for _ in 0..<5 {
                    try await redisCLI(
                        port: redis.port, "PUBLISH", "\(cluster.namespace):health:reports",
                        #"{"node":"node-a","ok":false,"status":503,"source":"operator"}"#)
                }
                try await eventually(
                    "node-a's circuit opened by reports; nothing left to route to",
                    watching: api.cluster.processes
                ) {
                    let answer = try await api.post(
                        cluster.router, "/v1/route", #"{"capability":"generate"}"#)
                    return answer.status == 503 && answer.body.contains("all_nodes_unhealthy")
                }

                // operators close both circuits (node-b's fault cleared first)
                _ = try await api.delete(cluster.nodeB, "/admin/faults")
                #expect(
                    try await api.post(cluster.health, "/v1/circuits/node-a/close", "", admin: true).status
                        == 200)
                #expect(
                    try await api.post(cluster.health, "/v1/circuits/node-b/close", "", admin: true).status
                        == 200)
                try await eventually("both routable again", watching: api.cluster.processes) {
                    Set(try await api.routes(count: 12)) == ["node-a", "node-b"]
                }

                // 4. a policy change through the router changes the decision: us-west becomes public,
                // below the default internal privacy of a request
                let patch = try await api.patch(
                    cluster.router, "/v1/policy", #"{"regions":{"us-west":{"privacy":"public","cost":0.8}}}"#)
                #expect(patch.status == 200, "\(patch.body)")
                try await eventually("only node-b (eu-west) is eligible", watching: api.cluster.processes) {
                    try await api.routes(count: 6).allSatisfy { $0 == "node-b" }
                }
                let publicOK = try await api.post(
                    cluster.router, "/v1/route",
                    #"{"capability":"generate","qos":{"privacy":"public"},"exclude":["node-b"]}"#)
                #expect(publicOK.body.contains(#""node":"node-a""#), "\(publicOK.body)")

                // 5. Redis restarts: no registration is lost and every service recovers by itself
                await redis.kill()
                try await Task.sleep(for: .milliseconds(500))
                try await redis.start()
                for (name, port) in [
                    ("catalog", cluster.catalog), ("health", cluster.health), ("router", cluster.router),
                ] {
                    try await eventually(
                        "\(name) ready again after the Redis restart", watching: api.cluster.processes
                    ) {
                        try await api.get(port, "/readyz").status == 200
                    }
                }
                let nodes = try await api.get(cluster.catalog, "/v1/nodes").body
                #expect(nodes.contains("node-a") && nodes.contains("node-b"), "\(nodes)")
                try await eventually("the policy survived and still decides", watching: api.cluster.processes)
                {
                    try await api.routes(count: 4).allSatisfy { $0 == "node-b" }
                }
                for service in cluster.processes { #expect(service.isRunning, "\(service.logTail)") }
            }
        }
    }
}

/// The processes of one control plane on free ports.
struct Cluster {
    let namespace = uniqueNamespace("cp")
    let catalog: Int, health: Int, router: Int, nodeA: Int, nodeB: Int
    let processes: [ServiceProcess]
    static let adminToken = "test-admin-token"
    /// Every process's header-read timeout (the slowloris test relies on it).
    static let headerTimeoutMs = 2000

    init(redis: RedisServerProcess) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fed-cp-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        (catalog, health, router) = (try freeLoopbackPort(), try freeLoopbackPort(), try freeLoopbackPort())
        (nodeA, nodeB) = (try freeLoopbackPort(), try freeLoopbackPort())
        let config = dir + "/federation.yaml"
        try """
        namespace: \(namespace)
        redis: { url: "\(redis.url)" }
        admin_token: \(Self.adminToken)
        log_level: info
        regions:
          us-west: { privacy: internal, cost: 0.8 }
          eu-west: { privacy: internal, cost: 0.6 }
        policy: { strategy: round_robin }
        catalog: { port: \(catalog) }
        health:
          port: \(health)
          probe_interval_ms: 100
          probe_timeout_ms: 500
          circuit: { failure_threshold: 5, reset_timeout_ms: 600000, max_open_duration_ms: 600000 }
        router: { port: \(router) }
        server: { header_timeout_ms: \(Self.headerTimeoutMs) }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        var started: [ServiceProcess] = []
        for service in ["federation-catalog", "federation-health", "federation-router"] {
            started.append(try ServiceProcess(service, arguments: ["--config", config], logDirectory: dir))
        }
        for (id, region, port) in [("node-a", "us-west", nodeA), ("node-b", "eu-west", nodeB)] {
            started.append(
                try ServiceProcess(
                    "federation-node",
                    arguments: [
                        "--node-id", id, "--region", region, "--port", String(port), "--model",
                        "llama-3-8b=generate",
                        "--register-url", "http://127.0.0.1:\(catalog)", "--register-token", Self.adminToken,
                        "--register-interval", "1", "--log-level", "warning",
                        "--header-timeout-ms", String(Self.headerTimeoutMs),
                    ], logDirectory: dir))
        }
        processes = started
    }

    /// Stops every process (SIGTERM, then SIGKILL after the grace), off the cooperative pool.
    func stop() async { for process in processes.reversed() { await process.stop() } }
}

/// Starts a ``Cluster`` on `redis` for `body` and stops its processes afterwards (also when `body`
/// throws).
func withCluster<T: Sendable>(
    redis: RedisServerProcess, _ body: (Cluster) async throws -> T
) async throws -> T {
    let cluster = try Cluster(redis: redis)
    do {
        let result = try await body(cluster)
        await cluster.stop()
        return result
    } catch {
        await cluster.stop()
        throw error
    }
}

/// Small HTTP helpers with failure messages that carry the services' logs.
struct API {
    let http: HTTPClient
    let cluster: Cluster

    func request(
        _ port: Int, _ path: String, _ method: HTTPMethod, _ body: String?, admin: Bool = false
    )
        async throws -> (status: Int, body: String)
    {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        if admin { request.headers.add(name: "authorization", value: "Bearer \(Cluster.adminToken)") }
        let response = try await http.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    func get(_ port: Int, _ path: String) async throws -> (status: Int, body: String) {
        try await request(port, path, .GET, nil)
    }
    func post(
        _ port: Int, _ path: String, _ body: String, admin: Bool = false
    ) async throws -> (status: Int, body: String) {
        try await request(port, path, .POST, body, admin: admin)
    }
    func patch(_ port: Int, _ path: String, _ body: String) async throws -> (status: Int, body: String) {
        try await request(port, path, .PATCH, body, admin: true)
    }
    func delete(_ port: Int, _ path: String) async throws -> (status: Int, body: String) {
        try await request(port, path, .DELETE, nil)
    }

    /// The nodes `count` route decisions chose (an error answer counts as "-").
    func routes(count: Int) async throws -> [String] {
        var nodes: [String] = []
        for _ in 0..<count {
            let answer = try await post(cluster.router, "/v1/route", #"{"capability":"generate"}"#)
            let node = answer.body.range(of: #""node":""#).map { range in
                String(answer.body[range.upperBound...].prefix { $0 != "\"" })
            }
            nodes.append(answer.status == 200 ? node ?? "-" : "-")
        }
        return nodes
    }
}

/// Runs `redis-cli -p port args…` as an operator would.
func redisCLI(port: Int, _ arguments: String...) async throws {
    let status = try await blocking {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        process.arguments = ["-p", String(port)] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
    #expect(status == 0)
}
