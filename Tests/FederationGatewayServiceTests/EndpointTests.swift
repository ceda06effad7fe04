import AsyncHTTPClient
import FederationCore
import FederationNode
import FederationTestSupport
import Foundation
import NIOCore
import Testing

/// Every client endpoint, non-streamed and streamed, reaches the node that serves its model
/// (checked on the node's own counters), with the gateway's headers on the answer.
@Suite struct EndpointTests {
    static let text = NodeSpec(
        id: "text-node", region: "us-west",
        models: [
            ServedModel(name: "m1", capabilities: [.generate, .code]),
            ServedModel(name: "rerank-1", capabilities: [.custom("rerank")]),
        ])
    static let media = NodeSpec(
        id: "media-node", region: "eu-west",
        models: [
            ServedModel(name: "embedder", capabilities: [.embed]),
            ServedModel(name: "whisper", capabilities: [.transcribe]),
            ServedModel(name: "voice", capabilities: [.synthesize]),
            ServedModel(name: "painter", capabilities: [.imageGen]),
        ])

    @Test func everyEndpointIsServedByTheNodeWithItsModel() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes([Self.text, Self.media]) { nodes in
                let (text, media) = (nodes[0], nodes[1])
                try await world.withGateway(expectNodes: 1) { base in
                    let cases: [(path: String, body: String, node: RunningNode)] = [
                        (
                            "/v1/chat/completions",
                            #"{"model":"m1","messages":[{"role":"user","content":"hi"}]}"#, text
                        ),
                        (
                            // JSON escapes (a multi-line prompt, quotes, \u): read by the gateway's parser
                            "/v1/chat/completions",
                            #"{"model":"m1","messages":[{"role":"user","content":"line 1\nsay \"hi\" \u00fc \uD83D\uDE00"}]}"#,
                            text
                        ),
                        ("/v1/completions", #"{"model":"m1","prompt":"hi","max_tokens":3}"#, text),
                        ("/v1/embeddings", #"{"model":"embedder","input":"hello"}"#, media),
                        ("/v1/audio/speech", #"{"model":"voice","input":"hello","voice":"alloy"}"#, media),
                        (
                            "/v1/images/generations", #"{"model":"painter","prompt":"a cat","size":"16x16"}"#,
                            media
                        ),
                        (
                            "/v1/infer",
                            #"{"capability":"custom:rerank","model":"rerank-1","input":{"q":"x"}}"#, text
                        ),
                    ]
                    for item in cases {
                        let before = try await world.received(item.node, item.path)
                        let (status, body, headers) = try await world.request(
                            .POST, base + item.path, body: item.body)
                        #expect(status == 200, "\(item.path): \(body)")
                        #expect(headers.node == item.node.spec.id, "\(item.path)")
                        #expect(headers.first(name: "X-Federation-Region") == item.node.spec.region)
                        #expect(headers.attempts == 1)
                        #expect(headers.first(name: "X-Request-Id")?.isEmpty == false)
                        let overhead = headers.first(name: "X-Federation-Overhead-Ms").flatMap { Double($0) }
                        #expect(overhead != nil && overhead! >= 0, "\(item.path): overhead header")
                        #expect(try await world.received(item.node, item.path) == before + 1, "\(item.path)")
                    }
                    // Multipart: the model comes from the form.
                    let boundary = "XyZ123"
                    let form =
                        "--\(boundary)\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper\r\n"
                        + "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
                        + "Content-Type: audio/wav\r\n\r\nRIFF....WAVEdata\r\n--\(boundary)--\r\n"
                    var request = HTTPClientRequest(url: base + "/v1/audio/transcriptions")
                    request.method = .POST
                    request.headers.add(
                        name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
                    request.body = .bytes(ByteBuffer(string: form))
                    let response = try await world.http.execute(request, timeout: .seconds(20))
                    let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
                    #expect(response.status.code == 200, "\(body)")
                    #expect(response.headers.node == "media-node")
                    #expect(body.contains("\"text\""))
                    #expect(try await world.received(media, "/v1/audio/transcriptions") == 1)
                }
            }
        }
    }

    @Test func streamedChatAndCompletionsArriveAsEventsAndEndWithDone() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes([Self.text]) { nodes in
                try await world.withGateway { base in
                    for (path, body) in [
                        (
                            "/v1/chat/completions",
                            #"{"model":"m1","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stream":true}"#
                        ),
                        ("/v1/completions", #"{"model":"m1","prompt":"hi","max_tokens":5,"stream":true}"#),
                    ] {
                        let (status, text, headers) = try await world.request(.POST, base + path, body: body)
                        #expect(status == 200)
                        #expect(headers.first(name: "Content-Type")?.hasPrefix("text/event-stream") == true)
                        #expect(headers.node == "text-node")
                        let frames = text.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }
                        #expect(frames.count >= 6, "\(path): \(frames.count) frames")
                        #expect(frames.last == "data: [DONE]")
                    }
                    #expect(try await world.received(nodes[0], "/v1/chat/completions") == 1)
                    // Tokens counted from the relayed frames show in the stats.
                    let (_, stats, _) = try await world.request(.GET, base + "/v1/stats")
                    let json = try JSONSerialization.jsonObject(with: Data(stats.utf8)) as? [String: Any]
                    #expect((json?["total_tokens"] as? Int ?? 0) >= 10, "\(stats)")
                    #expect(json?["active_streams"] as? Int == 0)
                    #expect(json?["successful_requests"] as? Int == 2)
                }
            }
        }
    }

    @Test func modelsListTheFederationsModelsInOpenAIShape() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes([Self.text, Self.media]) { _ in
                try await world.withGateway { base in
                    try await eventually("both nodes' models listed") {
                        let (_, text, _) = try await world.request(.GET, base + "/v1/models")
                        return text.contains("\"painter\"") && text.contains("\"m1\"")
                    }
                    let (status, text, _) = try await world.request(.GET, base + "/v1/models")
                    #expect(status == 200)
                    let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                    #expect(json?["object"] as? String == "list")
                    let ids = (json?["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
                    #expect(ids == ["embedder", "m1", "painter", "rerank-1", "voice", "whisper"])
                }
            }
        }
    }
}

@Suite struct GatewayMetricsTests {
    @Test func metricsCarryRequestsOverheadRetriesAndTheView() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes([NodeSpec(id: "a"), NodeSpec(id: "b")]) { nodes in
                try await world.setFaults(nodes[0], #"{"error_rate":1,"error_status":502}"#)
                try await world.withGateway(expectNodes: 2) { base in
                    for _ in 0..<4 { _ = try await world.chat(base) }
                    _ = try await world.chat(base, stream: true)
                    let (_, text, _) = try await world.request(.GET, base + "/metrics")
                    for series in [
                        #"federation_gateway_requests_total{node="b",capability="generate",status="200"}"#,
                        "federation_gateway_request_duration_seconds_bucket",
                        "federation_gateway_overhead_seconds_bucket",
                        "federation_gateway_time_to_first_token_seconds_bucket",
                        "federation_gateway_retries_total",
                        "federation_gateway_view_age_seconds", "federation_gateway_active_streams 0",
                    ] {
                        #expect(text.contains(series), "missing \(series)")
                    }
                    let retries = text.split(separator: "\n").first {
                        $0.hasPrefix("federation_gateway_retries_total ")
                    }
                    #expect(
                        retries.map { Double($0.split(separator: " ").last ?? "") ?? 0 } ?? 0 >= 1,
                        "\(retries ?? "")")
                }
            }
        }
    }
}
