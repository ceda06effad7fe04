import AsyncHTTPClient
import FederationNode
import FederationTestSupport
import Foundation
import NIOCore
import Testing

@Suite("Client disconnects and latency")
struct DisconnectTests {
    @Test("a client that goes away mid-stream frees its slot")
    func midStreamDisconnect() async throws {
        try await withNode({
            $0.tokensPerSecond = 5
            $0.maxConcurrency = 1
        }) { node in
            let firstFrame = AsyncStream<Void>.makeStream()
            let reader = Task {
                var request = HTTPClientRequest(url: node.base + "/v1/chat/completions")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: chatBody(maxTokens: 100, stream: true)))
                let response = try await node.http.execute(request, timeout: .seconds(30))
                for try await _ in response.body {
                    firstFrame.continuation.yield()
                }
            }
            var frames = firstFrame.stream.makeAsyncIterator()
            _ = await frames.next()
            #expect(try await node.health()["in_flight"]?.intValue == 1)
            // A 100-token stream at 5 tokens/s would hold the slot for 20 s; the client leaves now.
            reader.cancel()
            _ = await reader.result
            #expect(try await eventually { try await node.health()["in_flight"]?.intValue == 0 })
            let next = try await node.post("/v1/chat/completions", json: chatBody(maxTokens: 1))
            #expect(next.status == 200)
        }
    }

    @Test("a client that gives up on a long non-streamed answer frees its slot (issue 8)")
    func nonStreamedDisconnect() async throws {
        try await withNode({
            $0.tokensPerSecond = 5
            $0.maxConcurrency = 1
        }) { node in
            // 16384 tokens at 5 tokens/s would hold the only slot for ~55 min; the client leaves.
            let waiting = Task {
                _ = try await node.post("/v1/chat/completions", json: chatBody(maxTokens: 16384))
            }
            #expect(try await eventually { try await node.health()["in_flight"]?.intValue == 1 })
            waiting.cancel()
            _ = await waiting.result
            #expect(try await eventually { try await node.health()["in_flight"]?.intValue == 0 })
            let next = try await node.post("/v1/chat/completions", json: chatBody(maxTokens: 1))
            #expect(next.status == 200)
        }
    }

    @Test("watching for the client does not cost the keep-alive connection")
    func keepAlive() async throws {
        try await withNode({ $0.tokensPerSecond = 50 }) { node in
            for maxTokens in [2, 60] {
                let reply = try await node.post("/v1/chat/completions", json: chatBody(maxTokens: maxTokens))
                #expect(reply.status == 200)
                #expect(reply.headers.first(name: "Connection") != "close")
            }
        }
    }

    @Test("the configured latency is applied before the first byte")
    func latencyBeforeFirstByte() async throws {
        try await withNode({ $0.latency = .fixed(milliseconds: 300) }) { node in
            let start = ContinuousClock.now
            let reply = try await node.post("/v1/embeddings", json: #"{"model":"fed-embed","input":"x"}"#)
            #expect(reply.status == 200)
            // A floor the node guarantees, not a speed threshold.
            #expect(ContinuousClock.now - start >= .milliseconds(300))
        }
    }
}
