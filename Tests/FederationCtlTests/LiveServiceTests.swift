import FederationCtl
import FederationTestSupport
import Foundation
import Synchronization
import Testing

/// The built `fedctl` executable against real services (catalog, health, router, gateway and a demo
/// node in-process on a real redis-server): the operator's round trip, exit codes and output as a
/// user sees them.
@Suite struct LiveServiceTests {
    @Test func registerRouteCircuitReportDeregister() async throws {
        try await ControlPlane.with { plane in
            // register → nodes
            let register = try await plane.run(
                "register", "node-a", "--region", "us-west", "--endpoint", plane.node, "--model",
                "m1=generate+code", "--model", "e1=embed", "--privacy", "internal", "--json")
            #expect(register.status == 0, "\(register)")
            #expect(register.json?["node"]?["id"] == "node-a", "\(register)")
            let nodes = try await plane.run("nodes", "--json")
            #expect(nodes.status == 0, "\(nodes)")
            let listed = nodes.json?["nodes"]?.array ?? []
            #expect(listed.map { $0["id"] } == ["node-a"], "\(nodes)")
            #expect(
                Set(listed.first?["models"]?.array?.compactMap { $0["name"]?.string } ?? []) == ["m1", "e1"])
            let table = try await plane.run("nodes")
            #expect(table.stdout.hasPrefix("NODE") && table.stdout.contains("m1[code+generate]"), "\(table)")
            let models = try await plane.run("models")
            #expect(
                models.status == 0 && models.stdout.contains("e1") && models.stdout.contains("node-a"),
                "\(models)")

            // route --explain: the router's view has the node as a candidate, with its policy scores
            var explained = JSON.null
            try await eventually("the router explains node-a as a candidate") {
                let run = try await plane.run("route", "--explain", "--json")
                explained = run.json ?? .null
                return run.status == 0 && explained["candidates"]?.array?.first?["node"] == "node-a"
            }
            #expect(explained["candidates"]?.array?.first?["scores"]?.array?.isEmpty == false, "\(explained)")
            let explainTable = try await plane.run("route", "--explain")
            #expect(
                explainTable.stdout.contains("NODE") && explainTable.stdout.contains("node-a"),
                "\(explainTable)")

            // circuit open → circuits shows it open with the time to half-open
            let open = try await plane.run("circuit", "open", "node-a", "--duration", "10m")
            #expect(open.status == 0, "\(open)")
            #expect(open.stdout.contains("open"), "\(open)")
            let circuits = try await plane.run("circuits", "--json")
            let circuit = circuits.json?["circuits"]?.array?.first { $0["node"] == "node-a" }
            #expect(circuit?["state"] == "open", "\(circuits)")
            let left = circuit?["half_open_in_ms"]?.int64 ?? -1
            #expect(left > 0 && left <= 600_000, "\(circuits)")
            let circuitTable = try await plane.run("circuits")
            let row = circuitTable.stdout.split(separator: "\n").first { $0.hasPrefix("node-a") } ?? ""
            #expect(row.contains("open") && row.contains("m "), "\(circuitTable)")  // e.g. "9m 59s"
            try await eventually("the router rejects node-a for its open circuit") {
                let run = try await plane.run("route", "--explain", "--json")
                let rejection = run.json?["candidates"]?.array?.first?["rejection"]
                return rejection?["policy"] == "circuit"
            }
            let refused = try await plane.run("route")
            #expect(refused.status == 1 && refused.stderr.contains("router"), "\(refused)")

            // circuit close → closed, no failures
            let close = try await plane.run("circuit", "close", "node-a", "--json")
            #expect(close.status == 0 && close.json?["state"] == "closed", "\(close)")
            #expect(close.json?["consecutive_failures"] == 0, "\(close)")

            // report: two failures through Redis move the circuit's consecutive failures
            let report = try await plane.run(
                "report", "node-a", "--fail", "--status", "503", "--count", "2", "--json")
            #expect(report.status == 0, "\(report)")
            #expect(report.json?["published"] == 2, "\(report)")
            #expect(report.json?["report"]?["ok"] == false, "\(report)")
            try await eventually("node-a's consecutive failures reach 2") {
                let run = try await plane.run("circuits", "--json")
                let failures = run.json?["circuits"]?.array?.first { $0["node"] == "node-a" }?[
                    "consecutive_failures"]
                return (failures?.int ?? 0) >= 2
            }

            // deregister one model, then the node
            let one = try await plane.run("deregister", "node-a", "--model", "e1", "--json")
            #expect(one.status == 0 && one.json?["removed"] == ["e1"], "\(one)")
            let all = try await plane.run("deregister", "node-a")
            #expect(all.status == 0 && all.stdout.contains("removed node node-a"), "\(all)")
            let empty = try await plane.run("nodes", "--json")
            #expect(empty.json?["nodes"]?.array?.isEmpty == true, "\(empty)")

            // a service's error answer: exit 1 with its code and message
            let missing = try await plane.run("deregister", "node-a")
            #expect(missing.status == 1, "\(missing)")
            #expect(missing.stderr.contains("catalog") && missing.stderr.contains("404"), "\(missing)")
        }
    }

    @Test func writesWithoutTheAdminTokenSayHowToPassIt() async throws {
        try await ControlPlane.with { plane in
            let run = try await fedctl([
                "circuit", "open", "node-x", "--health", plane.health, "--redis", plane.redisServer.url,
            ])
            #expect(run.status == 1, "\(run)")
            #expect(run.stderr.contains("401") && run.stderr.contains("--admin-token"), "\(run)")
        }
    }

    @Test func policyGetSetAndEdit() async throws {
        try await ControlPlane.with { plane in
            try await eventually("the router publishes its policy") {
                try await plane.run("policy", "get", "--json").json?["published"] == true
            }
            let set = try await plane.run(
                "policy", "set", "--strategy", "least_connections", "weights.locality=2")
            #expect(set.status == 0 && set.stdout.contains("applied"), "\(set)")
            let got = try await plane.run("policy", "get", "--json")
            #expect(got.json?["document"]?["strategy"] == "least_connections", "\(got)")
            #expect(got.json?["document"]?["weights"]?["locality"] == 2, "\(got)")
            let version = got.json?["version"]?.int ?? 0

            // an invalid PATCH: the router's message, exit 1
            let invalid = try await plane.run("policy", "set", "min_score=7")
            #expect(invalid.status == 1 && invalid.stderr.contains("min_score"), "\(invalid)")

            // edit with an "editor" that writes an unknown strategy: the router's 400, the file kept
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fedctl-\(UUID())")
                .path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let badEditor = directory + "/bad-editor"
            try "#!/bin/sh\nsed -i 's/least_connections/fastest_please/' \"$1\"\n".write(
                toFile: badEditor, atomically: true, encoding: .utf8)
            let goodEditor = directory + "/good-editor"
            try "#!/bin/sh\nsed -i 's/least_connections/round_robin/' \"$1\"\n".write(
                toFile: goodEditor, atomically: true, encoding: .utf8)
            for script in [badEditor, goodEditor] {
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
            }
            let rejected = try await plane.run("policy", "edit", environment: ["EDITOR": badEditor])
            #expect(rejected.status == 1, "\(rejected)")
            #expect(
                rejected.stderr.contains("400") && rejected.stderr.contains("fastest_please"), "\(rejected)")
            let kept = rejected.stderr.components(separatedBy: "kept at ").dropFirst().first?
                .prefix { $0 != ";" && $0 != "\n" }
            let keptPath = kept.map(String.init) ?? "?"
            #expect(FileManager.default.fileExists(atPath: keptPath), "\(rejected)")
            try? FileManager.default.removeItem(atPath: keptPath)
            #expect(try await plane.run("policy", "get", "--json").json?["version"]?.int == version)

            let edited = try await plane.run("policy", "edit", environment: ["EDITOR": goodEditor])
            #expect(edited.status == 0 && edited.stdout.contains("applied"), "\(edited)")
            let after = try await plane.run("policy", "get", "--json")
            #expect(after.json?["document"]?["strategy"] == "round_robin", "\(after)")
            #expect(after.json?["version"]?.int == version + 1, "\(after)")
        }
    }

    @Test func inferStreamAndStatsThroughAGateway() async throws {
        try await ControlPlane.with(withGateway: true) { plane in
            let register = try await plane.run(
                "register", "node-g", "--region", "us-west", "--endpoint", plane.node, "--model",
                "m1=generate+code"
            )
            #expect(register.status == 0, "\(register)")
            var answer = FedctlRun(arguments: [], status: -1, stdout: "", stderr: "")
            try await eventually("the gateway serves m1") {
                answer = try await plane.run("infer", "--model", "m1", "--max-tokens", "4", "--json", "hello")
                return answer.status == 0
            }
            #expect(answer.json?["node"] == "node-g", "\(answer)")
            #expect(answer.json?["attempts"] == 1, "\(answer)")
            #expect(answer.json?["response"]?["choices"]?.array?.isEmpty == false, "\(answer)")
            let human = try await plane.run(
                "infer", "--model", "m1", "--max-tokens", "4", stdin: "from stdin\n")
            #expect(
                human.status == 0 && human.stdout.contains("— served by node-g (us-west), attempts 1"),
                "\(human)")

            let unknown = try await plane.run("infer", "--model", "no-such-model", "hi")
            #expect(unknown.status == 1 && unknown.stderr.contains("model_not_found"), "\(unknown)")

            let stream = try await plane.run("stream", "--model", "m1", "--max-tokens", "6", "tell me")
            #expect(stream.status == 0, "\(stream)")
            #expect(
                stream.stdout.contains("— 6 token(s) in") && stream.stdout.contains("from node-g"),
                "\(stream)")
            let events = try await plane.run("stream", "--model", "m1", "--max-tokens", "3", "--json", "hi")
            let lines = events.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains("[DONE]"), "\(events)")
            let summary = lines.last.flatMap { JSON.parse($0) }?["summary"]
            #expect(summary?["tokens"] == 3 && summary?["done"] == true, "\(events)")

            // the stream is printed as it arrives: the Ctl logic hands each token over on its own
            let pieces = try await ServiceClient.with(plane.urls) { client in
                let collected = PieceCollector()
                try await Ctl(client: client, json: false).stream(
                    InferRequest(model: "m1", input: "x", maxTokens: 5), idleTimeout: .seconds(10)
                ) { collected.add($0) }
                return collected.pieces
            }
            #expect(pieces.count == 6, "\(pieces)")  // five tokens, then the summary

            try await eventually("the cluster stats count the requests") {
                let stats = try await plane.run("stats", "--json")
                return stats.json?["scope"] == "cluster" && (stats.json?["total_requests"]?.int ?? 0) >= 4
            }
            let table = try await plane.run("stats")
            #expect(table.stdout.contains("TOTAL (1 live)"), "\(table)")
            let replica = try await plane.run("stats", "--replica", "--json")
            #expect(replica.json?["scope"] == "replica", "\(replica)")
        }
    }

    @Test func unreachableServicesGiveTheDocumentedMessageAndExitCode() async throws {
        let port = try freeLoopbackPort()
        let catalog = try await fedctl(["nodes", "--catalog", "http://127.0.0.1:\(port)"])
        #expect(catalog.status == 3, "\(catalog)")
        #expect(
            catalog.stderr.contains(
                "the catalog at http://127.0.0.1:\(port) is not reachable (connection refused); "
                    + "start the cluster with ./scripts/cluster up"), "\(catalog)")
        #expect(catalog.stdout.isEmpty)
        let gateway = try await fedctl(["stats", "--gateway", "127.0.0.1:\(port)"])
        #expect(
            gateway.status == 3 && gateway.stderr.contains("the gateway at http://127.0.0.1:\(port)"),
            "\(gateway)")
        let redis = try await fedctl(["report", "n1", "--fail", "--redis", "redis://127.0.0.1:\(port)"])
        #expect(redis.status == 3, "\(redis)")
        #expect(redis.stderr.contains("the Redis at redis://127.0.0.1:\(port) is not reachable"), "\(redis)")
        let usage = try await fedctl(["circuit", "open"])
        #expect(usage.status == 2 && usage.stderr.contains("Usage"), "\(usage)")
        let help = try await fedctl(["--help"])
        #expect(help.status == 0 && help.stdout.contains("Exit codes"), "\(help)")
    }

    @Test func clusterFindsTheLauncherOrSaysWhereItLooked() async throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent()
            .deletingLastPathComponent().path
        #expect(
            try ClusterScript.locate(
                repository: nil, currentDirectory: repository + "/Sources", executable: "")
                == repository + "/scripts/cluster")
        let missing = try await fedctl(["cluster", "status", "--repo", "/nonexistent"])
        #expect(missing.status == 1 && missing.stderr.contains("/nonexistent/scripts/cluster"), "\(missing)")
        #expect(throws: CtlError.self) {
            try ClusterScript.locate(repository: nil, currentDirectory: "/", executable: "/usr/bin/true")
        }
    }
}

/// Pieces of output in the order the stream handed them over.
final class PieceCollector: Sendable {
    private let state = Mutex<[String]>([])
    func add(_ piece: String) { state.withLock { $0.append(piece) } }
    var pieces: [String] { state.withLock { $0 } }
}
