import AsyncHTTPClient
import FederationCore
import FederationTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The real `federation-gateway` executable in front of a real control plane and node.
@Suite(.serialized) struct GatewayProcessTests {
    @Test func sigtermDrainsWithoutLosingAnInFlightRequest() async throws {
        try await withRedisServer { redis in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
                "fed-gw-\(UUID().uuidString)"
            ).path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let namespace = uniqueNamespace("gwp")
            let (catalog, router, node, gateway) = (
                try freeLoopbackPort(), try freeLoopbackPort(), try freeLoopbackPort(), try freeLoopbackPort()
            )
            let common = ["--redis-url", redis.url, "--namespace", namespace, "--log-level", "notice"]
            var processes: [ServiceProcess] = []
            processes.append(
                try ServiceProcess(
                    "federation-catalog", arguments: ["--port", String(catalog)] + common, logDirectory: dir))
            processes.append(
                try ServiceProcess(
                    "federation-router", arguments: ["--port", String(router)] + common, logDirectory: dir))
            processes.append(
                try ServiceProcess(
                    "federation-node",
                    arguments: [
                        "--node-id", "slow-node", "--port", String(node), "--model", "m1=generate",
                        "--latency",
                        "fixed:2000", "--register-url", "http://127.0.0.1:\(catalog)", "--log-level",
                        "warning",
                    ], logDirectory: dir))
            let gatewayProcess = try ServiceProcess(
                "federation-gateway", arguments: ["--port", String(gateway)] + common,
                environment: ["FED_GATEWAY_ID": "drain-me"], logDirectory: dir)
            processes.append(gatewayProcess)
            let all = processes
            do {
                try await drain(
                    gatewayProcess, base: "http://127.0.0.1:\(gateway)", node: node, redis: redis,
                    namespace: namespace, processes: all)
            } catch {
                for process in all.reversed() { await process.stop(grace: .seconds(2)) }
                throw error
            }
            for process in all.reversed() { await process.stop(grace: .seconds(2)) }
        }
    }

    func drain(
        _ gatewayProcess: ServiceProcess, base: String, node: Int, redis: RedisServerProcess,
        namespace: String,
        processes: [ServiceProcess]
    ) async throws {
        do {
            let http = HTTPClient.shared
            func call(_ path: String, body: String? = nil) async throws -> (Int, String) {
                var request = HTTPClientRequest(url: base + path)
                if let body {
                    request.method = .POST
                    request.body = .bytes(ByteBuffer(string: body))
                }
                let response = try await http.execute(request, timeout: .seconds(20))
                return (
                    Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20))
                )
            }
            let chat = #"{"model":"m1","messages":[{"role":"user","content":"hi"}],"max_tokens":3}"#
            try await eventually("the gateway routes to the node", watching: processes) {
                (try await call("/v1/chat/completions", body: chat)).0 == 200
            }
            #expect(
                try await redisCLIOutput(port: redis.port, "EXISTS", "\(namespace):gateway:drain-me") == "1")

            // 8 requests in flight (each takes 2 s at the node), then SIGTERM.
            let results = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 { group.addTask { try await call("/v1/chat/completions", body: chat).0 } }
                try await eventually(
                    "8 requests at the node (HTTPClient.shared opens 8 connections per host)"
                ) {
                    let health = try await http.get(url: "http://127.0.0.1:\(node)/health").get()
                    return String(buffer: health.body ?? ByteBuffer()).contains("\"in_flight\":8")
                }
                gatewayProcess.send(signal: SIGTERM)
                try await eventually("/readyz says draining") { (try await call("/readyz")).0 == 503 }
                // A new request is refused: 503 gateway_draining while the drain runs (or no
                // connection at all once the process is gone, on a slow machine).
                if let refused = try? await call("/v1/chat/completions", body: chat) {
                    #expect(refused.0 == 503 && refused.1.contains("gateway_draining"), "\(refused)")
                }
                #expect(
                    try await redisCLIOutput(port: redis.port, "EXISTS", "\(namespace):gateway:drain-me")
                        == "0")
                var statuses: [Int] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
            #expect(results == Array(repeating: 200, count: 8), "\(gatewayProcess.logTail)")
            try await eventually("the gateway exits by itself") { !gatewayProcess.isRunning }
            #expect(await gatewayProcess.stop() == 0, "\(gatewayProcess.logTail)")
        }
    }
}

extension GatewayProcessTests {
    /// A node process killed (SIGKILL) in the middle of a stream: the client gets the tokens so far,
    /// then an OpenAI-style error event, and the stream ends — no hang, no [DONE].
    @Test func aStreamWhoseNodeIsKilledEndsWithAnErrorEvent() async throws {
        try await withRedisServer { redis in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
                "fed-gwk-\(UUID().uuidString)"
            ).path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let namespace = uniqueNamespace("gwk")
            let (catalog, router, node, gateway) = (
                try freeLoopbackPort(), try freeLoopbackPort(), try freeLoopbackPort(), try freeLoopbackPort()
            )
            let common = ["--redis-url", redis.url, "--namespace", namespace, "--log-level", "notice"]
            let nodeProcess = try ServiceProcess(
                "federation-node",
                arguments: [
                    "--node-id", "doomed", "--port", String(node), "--model", "m1=generate",
                    "--tokens-per-second",
                    "5", "--register-url", "http://127.0.0.1:\(catalog)", "--log-level", "warning",
                ], logDirectory: dir)
            let all = [
                try ServiceProcess(
                    "federation-catalog", arguments: ["--port", String(catalog)] + common, logDirectory: dir),
                try ServiceProcess(
                    "federation-router", arguments: ["--port", String(router)] + common, logDirectory: dir),
                nodeProcess,
                try ServiceProcess(
                    "federation-gateway", arguments: ["--port", String(gateway)] + common, logDirectory: dir),
            ]
            do {
                let url = "http://127.0.0.1:\(gateway)/v1/chat/completions"
                try await eventually("the gateway routes to the node", watching: all) {
                    var probe = HTTPClientRequest(url: url)
                    probe.method = .POST
                    probe.body = .bytes(
                        ByteBuffer(
                            string:
                                #"{"model":"m1","messages":[{"role":"user","content":"x"}],"max_tokens":1}"#))
                    return try await HTTPClient.shared.execute(probe, timeout: .seconds(10)).status == .ok
                }
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                request.body = .bytes(
                    ByteBuffer(
                        string:
                            #"{"model":"m1","messages":[{"role":"user","content":"hi"}],"max_tokens":100,"stream":true}"#
                    ))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
                #expect(response.status == .ok)
                var text = ""
                var killed = false
                for try await chunk in response.body {
                    text += String(buffer: chunk)
                    if !killed, text.components(separatedBy: "\"content\"").count > 3 {
                        nodeProcess.send(signal: SIGKILL)
                        killed = true
                    }
                }
                #expect(killed, "some tokens arrived before the node was killed: \(text)")
                #expect(text.contains("stream_interrupted"), "\(text.suffix(500))")
                #expect(!text.contains("[DONE]"))
            } catch {
                for process in all.reversed() { await process.stop(grace: .seconds(2)) }
                throw error
            }
            for process in all.reversed() { await process.stop(grace: .seconds(2)) }
        }
    }
}

/// `redis-cli -p PORT args…`'s output, trimmed.
func redisCLIOutput(port: Int, _ arguments: String...) async throws -> String {
    try await blocking {
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        process.arguments = ["-p", String(port)] + arguments
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
