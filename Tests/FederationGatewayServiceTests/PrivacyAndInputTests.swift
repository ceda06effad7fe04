import AsyncHTTPClient
import FederationConfig
import FederationCore
import FederationNode
import FederationTestSupport
import Foundation
import NIOCore
import Testing

@Suite struct PrivacyTests {
    static let fleet = [
        NodeSpec(id: "pub", region: "cheap", privacy: .public),
        NodeSpec(id: "int", region: "corp", privacy: .internal),
        NodeSpec(id: "conf", region: "vault", privacy: .confidential),
    ]

    @Test func aConfidentialRequestIsNeverForwardedBelowConfidential() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes(Self.fleet) { nodes in
                try await world.withGateway(expectNodes: 3) { base in
                    for _ in 0..<12 {
                        let (status, _, headers) = try await world.chat(
                            base, headers: [("X-Federation-Privacy", "confidential")])
                        #expect(status == 200)
                        #expect(headers.node == "conf")
                    }
                    #expect(try await world.received(nodes[0], "/v1/chat/completions") == 0)
                    #expect(try await world.received(nodes[1], "/v1/chat/completions") == 0)
                }
            }
        }
    }

    @Test func whenNothingQualifiesThe503ExplainsWhatRuledEachNodeOut() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes(Self.fleet) { nodes in
                try await world.withGateway(expectNodes: 3) { base in
                    let (status, text, _) = try await world.chat(
                        base, headers: [("X-Federation-Privacy", "restricted")])
                    #expect(status == 503)
                    #expect(text.contains("privacy_violation"), "\(text)")
                    for node in ["pub", "int", "conf"] { #expect(text.contains(node), "\(text)") }
                    for node in nodes { #expect(try await world.received(node, "/v1/chat/completions") == 0) }
                }
            }
        }
    }

    @Test func allowedRegionsAreAHardRule() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes(Self.fleet) { _ in
                try await world.withGateway(expectNodes: 3) { base in
                    for _ in 0..<6 {
                        let (status, _, headers) = try await world.chat(
                            base, headers: [("X-Federation-Allowed-Regions", "corp")])
                        #expect(status == 200)
                        #expect(headers.node == "int")
                    }
                    let (status, text, _) = try await world.chat(
                        base, headers: [("X-Federation-Allowed-Regions", "cheap")])
                    #expect(status == 503, "the public node is below the default privacy (internal)")
                    #expect(text.contains("region not allowed"), "\(text)")
                }
            }
        }
    }
}

@Suite struct BadInputTests {
    /// A table of bad requests: each gets a clear error naming what was wrong, and the gateway
    /// keeps serving.
    @Test func badRequestsGetClearErrorsAndTheGatewayKeepsServing() async throws {
        try await withGatewayWorld { world in
            let nodes = [
                NodeSpec(
                    id: "n1",
                    models: [
                        ServedModel(name: "m1", capabilities: [.generate]),
                        ServedModel(name: "e1", capabilities: [.embed]),
                    ])
            ]
            try await world.withNodes(nodes) { _ in
                let configuration = world.configuration { $0.gateway.maxBodyBytes = 2048 }
                try await world.withGateway(configuration) { base in
                    let chat = "/v1/chat/completions"
                    let good = #"{"model":"m1","messages":[{"role":"user","content":"hi"}]}"#
                    let cases:
                        [(
                            path: String, body: String, headers: [(String, String)], status: Int,
                            expect: String
                        )] = [
                            (chat, "{not json", [], 400, "invalid_json"),
                            (chat, "", [], 400, "invalid_json"),
                            (chat, "[1,2]", [], 400, "must be a JSON object"),
                            (chat, String(repeating: "[", count: 600), [], 400, "invalid_json"),
                            (chat, #"{"model":7,"messages":[]}"#, [], 400, "invalid_type"),
                            (chat, #"{"messages":[]}"#, [], 400, "missing_required_parameter"),
                            (chat, #"{"model":"ghost","messages":[]}"#, [], 404, "model_not_found"),
                            (chat, #"{"model":"e1","messages":[]}"#, [], 400, "model_not_supported"),
                            (chat, #"{"model":"m1","stream":"yes","messages":[]}"#, [], 400, "'stream'"),
                            (
                                chat, #"{"model":"m1","messages":[{"role":"wizard","content":"x"}]}"#, [],
                                400, "messages[0].role"
                            ),
                            (
                                chat,
                                #"{"model":"m1","messages":[{"role":"user","content":"\#(String(repeating: "x", count: 4000))"}]}"#,
                                [], 413, "request_too_large"
                            ),
                            (chat, good, [("X-Federation-Privacy", "secret")], 400, "X-Federation-Privacy"),
                            (
                                chat, good, [("X-Federation-Cost-Tolerance", "101")], 400,
                                "X-Federation-Cost-Tolerance"
                            ),
                            (
                                chat, good, [("X-Federation-Max-Latency-Ms", "1e13")], 400,
                                "X-Federation-Max-Latency-Ms"
                            ),
                            (
                                chat, good, [("X-Federation-Max-Latency-Ms", "-5")], 400,
                                "X-Federation-Max-Latency-Ms"
                            ),
                            (
                                chat, good, [("X-Federation-Min-Throughput", "lots")], 400,
                                "X-Federation-Min-Throughput"
                            ),
                            (
                                chat, good, [("X-Federation-Prefer-Gpu", "maybe")], 400,
                                "X-Federation-Prefer-Gpu"
                            ),
                            (chat, good, [("X-Federation-Region", "no spaces")], 400, "X-Federation-Region"),
                            (
                                chat, good, [("X-Federation-Allowed-Regions", ",")], 400,
                                "X-Federation-Allowed-Regions"
                            ),
                            (chat, good, [("X-Federation-Timeout-Ms", "0")], 400, "X-Federation-Timeout-Ms"),
                            (
                                chat, good, [("X-Federation-Timeout-Ms", "nan")], 400,
                                "X-Federation-Timeout-Ms"
                            ),
                            ("/v1/infer", #"{"model":"m1"}"#, [], 400, "capability"),
                            ("/v1/infer", #"{"capability":"telepathy","model":"m1"}"#, [], 400, "capability"),
                            ("/v1/audio/transcriptions", "model=x", [], 400, "invalid_content_type"),
                            ("/v1/nowhere", good, [], 404, "unknown_route"),
                        ]
                    for item in cases {
                        let (status, text, headers) = try await world.request(
                            .POST, base + item.path, body: item.body, headers: item.headers)
                        #expect(
                            status == item.status,
                            "\(item.path) \(item.body.prefix(60)) \(item.headers): \(text)")
                        #expect(text.contains(item.expect), "\(item.path) \(item.body.prefix(60)): \(text)")
                        #expect(text.contains("\"error\""), "OpenAI error shape: \(text)")
                        if item.path != "/v1/nowhere" { #expect(headers.first(name: "X-Request-Id") != nil) }
                    }
                    let (status, _, _) = try await world.request(.POST, base + chat, body: good)
                    #expect(status == 200)
                }
            }
        }
    }

    @Test func aNodeAnsweringGarbageGetsA502AndNoCrash() async throws {
        try await withGatewayWorld { world in
            // A "node" whose endpoint is the Redis server: it answers HTTP with RESP errors.
            try await world.catalog.register(
                node: NodeInfo(
                    id: "garbage", region: "local", endpoint: "http://127.0.0.1:\(world.server.port)"),
                model: "m1", capabilities: [.generate])
            try await world.publishPolicy()
            try await world.withGateway { base in
                let (status, text, headers) = try await world.chat(base)
                #expect(status == 502, "\(text)")
                #expect(text.contains("node_unreachable"), "\(text)")
                #expect(headers.node == "garbage")
                let (again, _, _) = try await world.request(.GET, base + "/healthz")
                #expect(again == 200)
            }
        }
    }

    @Test func theRequestDeadlineHeaderShortensTheWait() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes([NodeSpec(id: "slow") { $0.latency = .fixed(milliseconds: 3000) }]) {
                _ in
                try await world.withGateway { base in
                    let (status, text, _) = try await world.chat(
                        base, headers: [("X-Federation-Timeout-Ms", "200")])
                    #expect(status == 504, "\(text)")
                    #expect(text.contains("timeout"), "\(text)")
                }
            }
        }
    }
}
