import AsyncHTTPClient
import FederationCore
import FederationRedis
import FederationState
import FederationTestSupport
import Foundation
import NIOCore
import Testing

/// Two real `federation-catalog` processes on one namespace of one real `redis-server`.
@Suite(.serialized) struct TwoCatalogsTests {
    /// Issue 8: the same node re-registering through both catalogs at once with different model
    /// lists made it vanish 29 times in 100. Now every registration is one atomic replace. The
    /// state is checked after every round (a later round would hide an earlier loss).
    @Test func concurrentConflictingRegistrationsLeaveExactlyOneCallersList() async throws {
        try await withTwoCatalogs { pair in
            let nodes = 10
            let rounds = 30
            var conflicts = 0
            var problems: [String] = []
            var winners: [String: Int] = ["first": 0, "second": 0]
            for round in 0..<rounds {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<nodes {
                        let node = "node-\(index)"
                        group.addTask {
                            try await pair.register(
                                node, models: Self.listA(round), through: pair.first, lease: 3600)
                        }
                        group.addTask {
                            try await pair.register(
                                node, models: Self.listB(round), through: pair.second, lease: nil)
                        }
                    }
                    try await group.waitForAll()
                }
                conflicts += nodes
                let (found, won) = try await Self.inconsistencies(pair, nodes: nodes, round: round)
                problems += found
                winners.merge(won, uniquingKeysWith: +)
            }
            print(
                "two catalogs: \(conflicts) conflicting registration pairs (\(2 * conflicts) requests) on "
                    + "\(nodes) nodes; won per catalog: \(winners); inconsistent nodes: \(problems.count)")
            #expect(
                problems.isEmpty,
                "\(problems.count) inconsistent nodes after \(conflicts) conflicts: \(problems.prefix(10))")
        }
    }

    /// What is wrong in Redis after `round`: per node, and the index sets.
    static func inconsistencies(
        _ pair: CatalogPair, nodes: Int, round: Int
    ) async throws -> ([String], [String: Int]) {
        var problems: [String] = []
        var winners: [String: Int] = [:]
        let records = try await pair.store.loadRecords()
        problems += records.problems.map { "round \(round): \($0)" }
        let state = records.value.state
        for index in 0..<nodes {
            let node = NodeId("node-\(index)")
            let models = Set(state.deployments.filter { $0.node == node }.map(\.model.rawValue))
            let isA = models == Set(Self.listA(round))
            let isB = models == Set(Self.listB(round))
            var wrong: [String] = []
            if state.nodes[node] == nil { wrong.append("no node hash") }
            if !isA && !isB { wrong.append("serves \(models.sorted()): neither caller's list") }
            // the lease belongs to the registration that won (A asked for one, B did not)
            if isA || isB, (records.value.leases[node] != nil) != isA {
                wrong.append("the other caller's lease")
            }
            let nodeModels = try await pair.redis.command("SMEMBERS", pair.keys.nodeModels(node))
            if Set((nodeModels.array ?? []).compactMap(\.string)) != models {
                wrong.append("node-models differ")
            }
            if try await pair.redis.command("SISMEMBER", pair.keys.nodes, node.rawValue).int != 1 {
                wrong.append("not in \(pair.keys.nodes)")
            }
            if wrong.isEmpty {
                winners[isA ? "first" : "second", default: 0] += 1
            } else {
                problems.append("round \(round) \(node): " + wrong.joined(separator: ", "))
            }
        }
        // the capability index and the model set hold exactly what the deployments say
        for capability in [Capability.generate, .code, .embed] {
            let indexed = try await pair.redis.command("SMEMBERS", pair.keys.capability(capability))
            let expected = state.deployments.filter { $0.capabilities.contains(capability) }
                .map { "\($0.model)|\($0.node)" }
            if Set((indexed.array ?? []).compactMap(\.string)) != Set(expected) {
                problems.append("round \(round): index of \(capability) differs from the deployments")
            }
        }
        let models = try await pair.redis.command("SMEMBERS", pair.keys.models)
        if Set((models.array ?? []).compactMap(\.string)) != Set(state.deployments.map(\.model.rawValue))
            || Set(state.models.keys) != Set(state.deployments.map(\.model))
        {
            problems.append("round \(round): model set differs from the deployments")
        }
        return (problems, winners)
    }

    /// Issue 8: Redis restarted empty; the catalogs put back what they knew within about a
    /// second, without any node renewing, once (two processes), and without a node that was
    /// deregistered before.
    @Test func bothCatalogsRestoreAnEmptyRedisOnceWithoutResurrectingADeletedNode() async throws {
        try await withTwoCatalogs { pair in
            for index in 0..<10 {
                try await pair.register(
                    "node-\(index)", models: ["m-\(index % 3)", "shared"],
                    through: index % 2 == 0 ? pair.first : pair.second, lease: index % 2 == 0 ? 3600 : nil)
            }
            let gone = try await pair.request(pair.second, "/v1/nodes/node-3", method: "DELETE")
            #expect(gone.status == 200, "\(gone.body)")
            let before = try await pair.store.loadRecords()
            #expect(before.value.state.nodes.count == 9)
            // both processes' copies have caught up with every write (the first learns the
            // second's writes at its next check)
            try await eventually("both catalogs know version \(before.version)", watching: pair.processes) {
                let first = try await pair.knownVersion(pair.first)
                let second = try await pair.knownVersion(pair.second)
                return first == before.version && second == before.version
            }
            await pair.server.kill()
            try await pair.server.start()  // empty: no persistence
            let restarted = ContinuousClock.now
            try await eventually("the catalog is back in Redis", watching: pair.processes) {
                try await pair.store.loadCatalog().value.nodes.count == 9
            }
            let took = ContinuousClock.now - restarted
            print(
                "two catalogs: catalog of 9 nodes back \(took.wholeMilliseconds) ms after Redis restarted empty"
            )
            let after = try await pair.store.loadRecords()
            #expect(after.value.state.nodes == before.value.state.nodes)
            #expect(Set(after.value.state.deployments) == Set(before.value.state.deployments))
            #expect(after.value.state.models == before.value.state.models)
            #expect(after.value.leases == before.value.leases, "leases come back with their expiry")
            #expect(after.value.state.nodes["node-3"] == nil, "the deleted node stays deleted")
            #expect(after.version == before.version + 1, "one restore step, past every version seen")
            // exactly one of the two wrote it back; the other found Redis restored
            try await Task.sleep(for: .seconds(1))
            let restores =
                try await pair.metric(pair.first, "federation_catalog_restores_total")
                + pair.metric(pair.second, "federation_catalog_restores_total")
            #expect(restores == 1)
            #expect(try await pair.store.catalogVersion() == before.version + 1, "nothing written twice")
        }
    }

    /// Six models each (several store steps each before the fix), one shared.
    static func listA(_ round: Int) -> [String] { (1...5).map { "a-\(round)-\($0)" } + ["shared"] }
    static func listB(_ round: Int) -> [String] { ["shared"] + (1...5).map { "b-\(round)-\($0)" } }
}

/// Two catalog processes, their Redis, a client for each.
struct CatalogPair: Sendable {
    let server: RedisServerProcess
    let first: Int
    let second: Int
    let processes: [ServiceProcess]
    let http: HTTPClient
    let redis: RedisClient
    let keys: FederationKeys
    var store: RedisCatalogStore { RedisCatalogStore(client: redis, keys: keys) }

    func request(
        _ port: Int, _ path: String, method: String = "GET", body: String? = nil
    ) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .init(rawValue: method)
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    func register(_ node: String, models: [String], through port: Int, lease: Double?) async throws {
        let listed = models.enumerated().map { index, name in
            #"{"name":"\#(name)","capabilities":\#(index == 0 ? #"["generate","code"]"# : #"["embed"]"#)}"#
        }
        let body =
            #"{"node_id":"\#(node)","region":"us-west","endpoint":"http://10.0.0.1:8000","models":["#
            + listed.joined(separator: ",") + "]" + (lease.map { #","lease_seconds":\#($0)"# } ?? "") + "}"
        let reply = try await request(port, "/v1/deployments", method: "POST", body: body)
        if reply.status != 200 {
            throw TestFailure(
                "registration of \(node) through :\(port) answered \(reply.status): \(reply.body)")
        }
    }

    func metric(_ port: Int, _ name: String) async throws -> Double {
        let text = try await request(port, "/metrics").body
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1)) ?? 0
        }
        return 0
    }

    func knownVersion(_ port: Int) async throws -> UInt64 {
        let value = try await metric(port, "federation_catalog_known_version")
        return UInt64(exactly: value) ?? 0
    }
}

/// Starts a non-persistent redis-server and two catalog executables on one namespace, runs
/// `body`, stops everything (also on failure).
func withTwoCatalogs(_ body: (CatalogPair) async throws -> Void) async throws {
    try await withRedisServer(persistent: false) { server in
        let namespace = uniqueNamespace("two")
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("fed-two-catalogs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ports = (try freeLoopbackPort(), try freeLoopbackPort())
        var processes: [ServiceProcess] = []
        do {
            for port in [ports.0, ports.1] {
                processes.append(
                    try ServiceProcess(
                        "federation-catalog",
                        arguments: [
                            "--port", String(port), "--redis-url", server.url, "--namespace", namespace,
                            "--log-level", "info",
                        ], logDirectory: directory))
            }
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let redis = RedisClient(configuration: server.configuration(commandTimeout: .seconds(5)))
            let pair = CatalogPair(
                server: server, first: ports.0, second: ports.1, processes: processes, http: http,
                redis: redis,
                keys: FederationKeys(namespace: namespace))
            do {
                for port in [ports.0, ports.1] {
                    try await eventually("catalog :\(port) ready", watching: pair.processes) {
                        try await pair.request(port, "/readyz").status == 200
                    }
                }
                try await body(pair)
            } catch {
                await redis.close()
                try await http.shutdown()
                throw error
            }
            await redis.close()
            try await http.shutdown()
        } catch {
            for process in processes { await process.stop() }
            throw error
        }
        for process in processes { await process.stop() }
    }
}
