import FederationCore
import FederationTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import Testing

@testable import FederationGatewayService

/// The gateway's lean client to nodes: where an endpoint points, and answers that are not what
/// the endpoint promises.
@Suite struct NodeClientTests {
    @Test(
        "endpoints: plain http (to a name or an IP) goes to the lean pool with its path prefix; anything else (https, user info, a bad port) does not",
        arguments: [
            (
                "http://127.0.0.1:8101",
                NodeEndpoint.plain(NodeAddress(host: "127.0.0.1", port: 8101), prefix: "")
            ),
            ("http://10.1.2.3", .plain(NodeAddress(host: "10.1.2.3", port: 80), prefix: "")),
            ("http://node.local:8000", .plain(NodeAddress(host: "node.local", port: 8000), prefix: "")),
            (
                "http://node-eu-west:8000/v1/",
                .plain(NodeAddress(host: "node-eu-west", port: 8000), prefix: "/v1")
            ),
            ("HTTP://10.0.0.9:9/", .plain(NodeAddress(host: "10.0.0.9", port: 9), prefix: "")),
            ("http://localhost", .plain(NodeAddress(host: "localhost", port: 80), prefix: "")),
            (
                "http://10.0.0.9:9/serving/v2//",
                .plain(NodeAddress(host: "10.0.0.9", port: 9), prefix: "/serving/v2")
            ),
            ("http://[::1]:9000/x", .plain(NodeAddress(host: "::1", port: 9000), prefix: "/x")),
            ("http://[::1]", .plain(NodeAddress(host: "::1", port: 80), prefix: "")),
            ("https://n:443", .other),
            ("http://user:pw@n:80", .other),
            ("http://n:99999", .other),
            ("http://n:0", .other),
            ("http://n:-1", .other),
            ("http://n:port", .other),
            ("http://:80", .other),
            ("http://[::1", .other),
            ("http://n/x?y=1", .other),
            ("ftp://n", .other),
        ])
    func endpoints(_ text: String, _ expected: NodeEndpoint) {
        #expect(NodeEndpoint(text) == expected)
    }

    @Test(
        "a node answering 200 with a body that is not JSON is a failure: the client gets another node's answer"
    )
    func garbageAnswersAreRetriedElsewhere() async throws {
        let garbageHits = Counter()
        let router = Router()
        router.post("/v1/chat/completions") { _, _ in
            garbageHits.add()
            return Response(
                status: .ok, headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: "<<garbage>> not an answer")))
        }
        let box = PortBox()
        let garbage = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { box.report($0.localAddress?.port ?? 0) }, logger: testLogger("garbage"))
        try await withGatewayWorld { world in
            try await withService(garbage) {
                let bad = RunningNode(
                    spec: NodeSpec(id: "garbage"), url: "http://127.0.0.1:\(await box.port())")
                try await world.register(bad)
                try await world.withNodes([NodeSpec(id: "good")]) { _ in
                    try await world.withGateway(expectNodes: 2) { base in
                        for _ in 0..<8 {
                            let (status, text, headers) = try await world.chat(base)
                            #expect(status == 200, "\(text)")
                            #expect(headers.node == "good")
                            #expect(
                                (try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil, "\(text)")
                        }
                    }
                }
            }
        }
        #expect(garbageHits.value > 0, "round robin sent no first attempt to the garbage node")
    }
}

extension NodeClientTests {
    static func chatRequest(_ address: NodeAddress, stream: Bool, tokens: Int) -> NodeRequest {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        return NodeClient.request(
            to: address, prefix: "", path: "/v1/chat/completions", clientHeaders: fields, requestId: "t-1",
            body: ByteBuffer(
                string:
                    #"{"model":"m1","messages":[{"role":"user","content":"hi"}],"max_tokens":\#(tokens),"stream":\#(stream)}"#
            ))
    }

    @Test(
        "max_connections_per_node reached: a 503 naming the setting, and no failure reported against the node"
    )
    func connectionLimitIsNotTheNodesFault() async throws {
        try await withGatewayWorld { world in
            let slow = NodeSpec(id: "slow") { $0.tokensPerSecond = 10 }
            try await world.withNodes([slow]) { nodes in
                let configuration = world.configuration { $0.gateway.maxConnectionsPerNode = 1 }
                try await world.withGateway(configuration) { base in
                    async let held = world.chat(base, stream: true, maxTokens: 10)
                    try await eventually("the stream holds the one connection") {
                        (try await world.nodeHealth(nodes[0]))["in_flight"] as? Int == 1
                    }
                    let (status, text, _) = try await world.chat(base)
                    #expect(status == 503, "\(text)")
                    #expect(text.contains("max_connections_per_node = 1"), "\(text)")
                    let (streamStatus, stream, _) = try await held
                    #expect(streamStatus == 200 && stream.contains("[DONE]"))
                    func published() async throws -> String {
                        let (_, metrics, _) = try await world.request(.GET, base + "/metrics")
                        return metrics.split(separator: "\n").first {
                            $0.hasPrefix("federation_gateway_outcome_reports_published_total")
                        }.map(String.init) ?? ""
                    }
                    try await eventually("the stream's outcome is published") {
                        try await published().hasSuffix(" 1")
                    }
                    // A failure would be flushed at once: had the refusal been reported, it
                    // would have been published before the stream's success.
                    #expect(try await published().hasSuffix(" 1"))
                    #expect(try await world.chat(base).status == 200)
                }
            }
        }
    }

    @Test(
        "the pool reaches a node by name, and its sockets carry TCP_NODELAY and no privileged option (SO_DEBUG, which a non-root user such as a container's is refused)"
    )
    func namedNodeAndSocketOptions() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes([NodeSpec(id: "n1")]) { nodes in
                guard case .plain(let byIP, _) = NodeEndpoint(nodes[0].url) else {
                    throw TestFailure("not a plain endpoint: \(nodes[0].url)")
                }
                let address = NodeAddress(host: "localhost", port: byIP.port)
                let pool = NodeConnectionPool(
                    settings: .init(
                        connectTimeout: .seconds(10), readTimeout: .seconds(60), maxConnectionsPerNode: 4))
                defer { pool.shutdown() }
                let answer = try await pool.execute(
                    Self.chatRequest(address, stream: false, tokens: 2),
                    deadline: .now() + .seconds(60), bodyLimit: 1 << 20, errorBodyLimit: 1 << 16)
                #expect(answer.status == 200)
                try await eventually("the connection is idle in the pool") {
                    !pool.idleChannels(to: address).isEmpty
                }
                for channel in pool.idleChannels(to: address) {
                    let noDelay = try await channel.getOption(.tcpOption(.tcp_nodelay)).get()
                    let debug = try await channel.getOption(
                        ChannelOptions.Types.SocketOption(level: .socket, name: .init(rawValue: SO_DEBUG))
                    ).get()
                    #expect(noDelay != 0)
                    #expect(debug == 0)
                }
            }
        }
    }

    @Test(
        "the pool keeps one connection alive across answers and streams, a slow reader included, and closes a dropped stream's"
    )
    func keepAliveAcrossStreamsAndSlowReaders() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes([NodeSpec(id: "n1")]) { nodes in
                guard case .plain(let address, _) = NodeEndpoint(nodes[0].url) else {
                    throw TestFailure("not a plain endpoint: \(nodes[0].url)")
                }
                let pool = NodeConnectionPool(
                    settings: .init(
                        connectTimeout: .seconds(10), readTimeout: .seconds(60), maxConnectionsPerNode: 4))
                defer { pool.shutdown() }
                func send(stream: Bool, tokens: Int) async throws -> NodeResponse {
                    try await pool.execute(
                        Self.chatRequest(address, stream: stream, tokens: tokens),
                        deadline: .now() + .seconds(60),
                        bodyLimit: 1 << 20, errorBodyLimit: 1 << 16)
                }
                for _ in 0..<10 {
                    let answer = try await send(stream: false, tokens: 4)
                    #expect(answer.status == 200 && answer.stream == nil)
                    #expect(String(buffer: answer.body).contains("chat.completion"))
                }
                #expect(pool.openConnections[address] == 1)
                // A stream read slowly: the node sends all at once, so the connection stops reading
                // (backpressure) and must read again for the next exchange.
                let streamed = try await send(stream: true, tokens: 60)
                #expect(streamed.status == 200)
                var text = String(buffer: streamed.body)
                if let rest = streamed.stream {
                    for try await chunk in rest {
                        text += String(buffer: chunk)
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
                #expect(text.contains("data: [DONE]"), "\(text.suffix(200))")
                let after = try await send(stream: false, tokens: 2)
                #expect(after.status == 200)
                #expect(pool.openConnections[address] == 1, "\(pool.openConnections)")
                // A stream dropped before its end: its connection cannot be reused and is closed.
                // (The node stalls it after 5 tokens, so its end cannot have arrived: a stream read
                // to its end before the drop would rightly go back to the pool.)
                try await world.setFaults(nodes[0], #"{"stall_after_tokens":5,"stall_seconds":30}"#)
                do {
                    let dropped = try await send(stream: true, tokens: 200)
                    let iterator = dropped.stream?.makeAsyncIterator()
                    _ = try await iterator?.next()
                }
                try await eventually("the dropped stream's connection closed") {
                    pool.openConnections[address, default: 0] == 0
                }
                #expect(try await send(stream: false, tokens: 2).status == 200)
            }
        }
    }
}

/// A thread-safe count for a test's handler.
final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
