import AsyncHTTPClient
import FederationTestSupport
import Foundation
import NIOCore
import Synchronization
import Testing

/// The real service executables on a Sentinel-managed Redis (master, replica, three Sentinels):
/// the master is killed (SIGKILL) under gateway traffic. The services find the new master by
/// themselves, the gateway keeps answering from its view meanwhile, and what was acknowledged
/// before the failover (registrations, a circuit open written with `WAIT`) is still there after.
@Suite(.serialized) struct SentinelClusterTests {
    @Test func theClusterFollowsAMasterKilledUnderTraffic() async throws {
        try await withSentinelSet { set in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
                "fed-sentinel-cluster-\(UUID().uuidString)"
            ).path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let namespace = uniqueNamespace("sen")
            let ports = try (0..<7).map { _ in try freeLoopbackPort() }
            let (catalog, health, router, gateway) = (ports[0], ports[1], ports[2], ports[3])
            let environment = [
                "FED_REDIS_SENTINELS": set.sentinelList,
                "FED_REDIS_SENTINEL_MASTER": RedisSentinelSet.masterName,
            ]
            let common = ["--namespace", namespace, "--log-level", "notice"]
            func service(_ name: String, _ port: Int) throws -> ServiceProcess {
                try ServiceProcess(
                    name, arguments: ["--port", String(port)] + common, environment: environment,
                    logDirectory: dir)
            }
            func node(_ id: String, _ port: Int, model: String) throws -> ServiceProcess {
                try ServiceProcess(
                    "federation-node",
                    arguments: [
                        "--node-id", id, "--port", String(port), "--model", "\(model)=generate",
                        "--register-url",
                        "http://127.0.0.1:\(catalog)", "--log-level", "warning",
                    ], logDirectory: dir)
            }
            var processes = [
                try service("federation-catalog", catalog), try service("federation-health", health),
                try service("federation-router", router), try node("node-a", ports[4], model: "m1"),
                try node("node-b", ports[5], model: "m1"), try service("federation-gateway", gateway),
            ]
            do {
                try await failover(
                    set, namespace: namespace, catalog: catalog, health: health, router: router,
                    gateway: gateway,
                    processes: &processes, startLateNode: { try node("node-c", ports[6], model: "m2") })
            } catch {
                for process in processes.reversed() { await process.stop(grace: .seconds(2)) }
                throw error
            }
            for process in processes.reversed() { await process.stop(grace: .seconds(2)) }
        }
    }

    func failover(
        _ set: RedisSentinelSet, namespace: String, catalog: Int, health: Int, router: Int, gateway: Int,
        processes: inout [ServiceProcess], startLateNode: () throws -> ServiceProcess
    ) async throws {
        let http = HTTPClient.shared
        func post(_ url: String, _ body: String) async throws -> Int {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await http.execute(request, timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        }
        func status(_ url: String) async throws -> Int {
            Int(try await http.execute(HTTPClientRequest(url: url), timeout: .seconds(5)).status.code)
        }
        func chat(_ model: String) async throws -> Int {
            try await post(
                "http://127.0.0.1:\(gateway)/v1/chat/completions",
                #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}],"max_tokens":2}"#)
        }
        let watched = processes
        try await eventually("the gateway routes m1 through the Sentinel-found master", watching: watched) {
            try await chat("m1") == 200
        }
        try await eventually("both nodes are registered") {
            try await redisCLIOutput(
                port: set.master.port, "EXISTS", "\(namespace):node:node-a", "\(namespace):node:node-b")
                == "2"
        }
        // An operator opens node-b's circuit (once the health service leads and knows node-b):
        // the write waits (WAIT 1) for the replica.
        try await eventually("the health service opens node-b's circuit", watching: watched) {
            try await post("http://127.0.0.1:\(health)/v1/circuits/node-b/open", #"{"duration_ms":600000}"#)
                == 200
        }
        #expect(
            try await redisCLIOutput(port: set.replica.port, "HGET", "\(namespace):circuit:node-b", "state")
                == "open")

        // Gateway traffic, one request after another, for the whole failover.
        let traffic = Traffic()
        let failedOver = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !traffic.stop.load(ordering: .relaxed) {
                    do {
                        let code = try await chat("m1")
                        traffic.outcomes.withLock {
                            code == 200 ? ($0.ok += 1) : $0.failed.append("HTTP \(code)")
                        }
                    } catch {
                        traffic.outcomes.withLock { $0.failed.append("\(error)") }
                    }
                }
            }
            defer { traffic.stop.store(true, ordering: .relaxed) }
            try await Task.sleep(for: .milliseconds(500))
            await set.master.kill()
            let killedAt = ContinuousClock.now
            try await eventually(
                "the Sentinels promote the replica", timeout: .seconds(30), watching: watched
            ) {
                await set.masterPort() == set.replica.port
            }
            let promotedAfter = ContinuousClock.now - killedAt
            // A node registered after the failover (writes through the catalog to the new master)
            // is routed by the gateway (its view follows the new master's events or re-sync).
            let late = try startLateNode()
            processes.append(late)
            try await eventually("the gateway routes m2, registered after the failover", watching: processes)
            {
                try await chat("m2") == 200
            }
            for (name, port) in [
                ("catalog", catalog), ("health", health), ("router", router), ("gateway", gateway),
            ] {
                try await eventually("\(name) is ready on the new master", watching: processes) {
                    try await status("http://127.0.0.1:\(port)/readyz") == 200
                }
            }
            traffic.stop.store(true, ordering: .relaxed)
            try await group.waitForAll()
            return promotedAfter
        }
        let (ok, failed) = traffic.outcomes.withLock { ($0.ok, $0.failed) }
        print(
            "sentinel failover: replica promoted \(failedOver) after the kill; gateway requests meanwhile: \(ok) ok, \(failed.count) failed"
        )
        #expect(ok > 0)
        #expect(failed.isEmpty, "requests failed during the failover: \(failed.prefix(5))")

        // What was acknowledged before the failover is on the new master.
        let newMaster = set.replica.port
        #expect(try await redisCLIOutput(port: newMaster, "ROLE").hasPrefix("master"))
        #expect(
            try await redisCLIOutput(
                port: newMaster, "EXISTS", "\(namespace):node:node-a", "\(namespace):node:node-b")
                == "2")
        #expect(
            try await redisCLIOutput(port: newMaster, "HGET", "\(namespace):circuit:node-b", "state")
                == "open")
        #expect(try await redisCLIOutput(port: newMaster, "EXISTS", "\(namespace):node:node-c") == "1")
    }
}

/// The traffic loop's stop flag and tally, shared with its task.
private final class Traffic: Sendable {
    let stop = Atomic<Bool>(false)
    let outcomes = Mutex<(ok: Int, failed: [String])>((0, []))
}
