import AsyncHTTPClient
import FederationConfig
import FederationCore
import FederationNode
import FederationTestSupport
import Foundation
import NIOCore
import Testing

/// Failures at a node: retried elsewhere when that is safe, within the budget and the deadline.
@Suite struct RetryTests {
    static func pair(
        _ faultyConfigure: @escaping @Sendable (inout NodeConfiguration) -> Void = { _ in }
    ) -> [NodeSpec] {
        [NodeSpec(id: "node-a", configure: faultyConfigure), NodeSpec(id: "node-b")]
    }

    @Test func aNodeAnswering500IsRetriedOnAnotherAndTheClientSees200() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes(Self.pair()) { nodes in
                try await world.setFaults(nodes[0], #"{"error_rate":1,"error_status":500}"#)
                try await world.withGateway(expectNodes: 2) { base in
                    var attempts: [Int] = []
                    for _ in 0..<6 {
                        let (status, text, headers) = try await world.chat(base)
                        #expect(status == 200, "\(text)")
                        #expect(headers.node == "node-b")
                        attempts.append(headers.attempts ?? 0)
                    }
                    #expect(
                        attempts.contains(2), "round robin sends some first attempts to node-a: \(attempts)")
                    #expect(
                        try await world.received(nodes[0], "/v1/chat/completions")
                            == attempts.filter { $0 == 2 }.count)
                }
            }
        }
    }

    @Test func aNodeThatHangsTimesOutAndAnotherServes() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes(Self.pair()) { nodes in
                try await world.setFaults(nodes[0], #"{"hang_rate":1}"#)
                let configuration = world.configuration { $0.gateway.readTimeout = .seconds(1) }
                try await world.withGateway(configuration, expectNodes: 2) { base in
                    for _ in 0..<4 {
                        let (status, text, headers) = try await world.chat(base)
                        #expect(status == 200, "\(text)")
                        #expect(headers.node == "node-b")
                    }
                    #expect(try await world.received(nodes[0], "/v1/chat/completions") >= 1)
                    // The hung requests were abandoned: the node holds none of them any more.
                    try await eventually("node-a holds no hung request") {
                        (try await world.nodeHealth(nodes[0]))["hanging"] as? Int == 0
                    }
                }
            }
        }
    }

    @Test func a429WithRetryAfterSendsTheRequestElsewhereAndTheNodeIsAvoidedUntilThen() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes(Self.pair()) { nodes in
                try await world.setFaults(nodes[0], #"{"rate_limit_rate":1,"retry_after_seconds":30}"#)
                try await world.withGateway(expectNodes: 2) { base in
                    for _ in 0..<8 {
                        let (status, _, headers) = try await world.chat(base)
                        #expect(status == 200)
                        #expect(headers.node == "node-b")
                    }
                    // Round robin would have sent half of them to node-a; after its 429 it got none.
                    #expect(try await world.received(nodes[0], "/v1/chat/completions") == 1)
                }
            }
        }
    }

    @Test func whenOnlyARateLimitedNodeRemainsTheClientGetsIts429AndRetryAfter() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes([NodeSpec(id: "only")]) { nodes in
                try await world.setFaults(nodes[0], #"{"rate_limit_rate":1,"retry_after_seconds":7}"#)
                try await world.withGateway { base in
                    let (status, text, headers) = try await world.chat(base)
                    #expect(status == 429, "\(text)")
                    #expect(headers.first(name: "Retry-After") == "7")
                    #expect(text.contains("rate_limit_exceeded"))
                    #expect(headers.node == "only")
                }
            }
        }
    }

    @Test func theRetryBudgetStopsARetryStormWhenEveryNodeFails() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes(Self.pair()) { nodes in
                for node in nodes { try await world.setFaults(node, #"{"error_rate":1,"error_status":503}"#) }
                let configuration = world.configuration {
                    $0.gateway.retryBudgetRatio = 0.2
                    $0.gateway.retryBudgetMinPerSecond = 0
                }
                try await world.withGateway(configuration, expectNodes: 2) { base in
                    let requests = 50
                    for _ in 0..<requests {
                        let (status, _, _) = try await world.chat(base)
                        #expect(status == 503)
                    }
                    var attempts = 0
                    for node in nodes { attempts += try await world.received(node, "/v1/chat/completions") }
                    print(
                        "retry budget: \(requests) requests made \(attempts) attempts (without a budget: \(requests * 2))"
                    )
                    #expect(attempts > requests)
                    #expect(attempts <= requests + requests / 5 + 1)
                }
            }
        }
    }

    @Test func aStreamWhoseNodeStallsEndsWithAnErrorEventNotAHang() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes([NodeSpec(id: "staller")]) { nodes in
                try await world.setFaults(nodes[0], #"{"stall_after_tokens":2,"stall_seconds":30}"#)
                let configuration = world.configuration { $0.gateway.readTimeout = .seconds(1) }
                try await world.withGateway(configuration) { base in
                    let (status, text, _) = try await world.chat(base, stream: true, maxTokens: 20)
                    #expect(status == 200)
                    #expect(text.contains("\"delta\""), "some tokens arrived first")
                    #expect(text.contains("stream_interrupted"), "\(text.suffix(400))")
                    #expect(!text.contains("[DONE]"))
                    let (_, stats, _) = try await world.request(.GET, base + "/v1/stats")
                    #expect(stats.contains("\"active_streams\":0"), "\(stats)")
                    #expect(stats.contains("\"failed_requests\":1"), "\(stats)")
                }
            }
        }
    }

    @Test func aClientThatGoesAwayMidStreamCancelsTheUpstreamRequest() async throws {
        try await withGatewayWorld { world in
            let slow = NodeSpec(id: "slow") { $0.tokensPerSecond = 10 }
            try await world.withNodes([slow]) { nodes in
                try await world.withGateway { base in
                    let body =
                        #"{"model":"m1","messages":[{"role":"user","content":"hi"}],"max_tokens":200,"stream":true}"#
                    let port = Int(base.split(separator: ":").last ?? "") ?? 0
                    let client = try await RawConnection.connect(port: port)
                    try await client.send(
                        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
                    #expect(try await client.waitFor("\"content\"", occurrences: 2, timeout: .seconds(20)))
                    #expect((try await world.nodeHealth(nodes[0]))["in_flight"] as? Int == 1)
                    // The client closes its socket mid-stream (20 s of tokens left).
                    await client.close()
                    let left = ContinuousClock.now
                    try await eventually(
                        "the gateway's stream ends", timeout: .seconds(10), every: .milliseconds(5)
                    ) {
                        (try await world.request(.GET, base + "/v1/stats")).text.contains(
                            "\"active_streams\":0")
                    }
                    print("gateway stream ended after \((ContinuousClock.now - left).wholeMilliseconds) ms")
                    try await eventually(
                        "the node's in-flight count drops to 0", timeout: .seconds(10),
                        every: .milliseconds(5)
                    ) {
                        (try await world.nodeHealth(nodes[0]))["in_flight"] as? Int == 0
                    }
                    print(
                        "client closed its socket → the node's in-flight count was 0 after "
                            + "\((ContinuousClock.now - left).wholeMilliseconds) ms (polled every 5 ms)")
                    try await eventually("active streams back to 0") {
                        (try await world.request(.GET, base + "/v1/stats")).text.contains(
                            "\"active_streams\":0")
                    }
                }
            }
        }
    }
}
