import FederationNode
import FederationTestSupport
import Foundation
import Testing

@Suite("Fault injection")
struct FaultTests {
    @Test("the admin API sets, shows and clears faults; bad settings are 400 naming the field")
    func adminAPI() async throws {
        try await withNode { node in
            let set = try await node.post("/admin/faults", json: #"{"error_rate":1,"error_status":502}"#)
            #expect(set.status == 200)
            #expect(set.json["faults"]?["error_rate"]?.doubleValue == 1)
            #expect(try await node.get("/admin/faults").json["faults"]?["error_status"]?.intValue == 502)
            let failed = try await node.post("/v1/chat/completions", json: chatBody())
            #expect(failed.status == 502)
            #expect(failed.errorCode == "injected_fault")
            #expect(try await node.get("/admin/faults").json["injected"]?["errors"]?.intValue == 1)
            #expect(try await node.request(.DELETE, "/admin/faults").status == 200)
            #expect(try await node.post("/v1/chat/completions", json: chatBody()).status == 200)
            let bad = try await node.post("/admin/faults", json: #"{"error_rate":3}"#)
            #expect(bad.status == 400)
            #expect(bad.errorParam == "error_rate")
            let wrongType = try await node.post("/admin/faults", json: #"{"unhealthy":"very"}"#)
            #expect(wrongType.status == 400)
            #expect(wrongType.errorParam == "unhealthy")
        }
    }

    @Test("an error rate of 0.5 fails about half the requests (seeded)")
    func errorRate() async throws {
        try await withNode({ $0.faults.errorRate = 0.5 }) { node in
            var failures = 0
            for _ in 0..<40
            where try await node.post("/v1/completions", json: #"{"model":"fed-chat","prompt":"x"}"#).status
                == 500
            {
                failures += 1
            }
            #expect((8...32).contains(failures))
        }
    }

    @Test("rate limiting answers 429 with Retry-After")
    func rateLimit() async throws {
        try await withNode({
            $0.faults.rateLimitRate = 1
            $0.faults.retryAfterSeconds = 7
        }) { node in
            let reply = try await node.post("/v1/embeddings", json: #"{"model":"fed-embed","input":"x"}"#)
            #expect(reply.status == 429)
            #expect(reply.headers.first(name: "Retry-After") == "7")
            #expect(reply.errorCode == "rate_limit_exceeded")
        }
    }

    @Test("a hung request is released when its client disconnects")
    func hangDoesNotLeak() async throws {
        // Every `try` here is inside a macro or a nested closure, so the effects are spelled out.
        try await withNode({ $0.faults.hangRate = 1 }) { (node: NodeClient) async throws in
            let abandoned = Task {
                try await node.post("/v1/chat/completions", json: chatBody(), timeout: .milliseconds(600))
            }
            #expect(try await eventually { try await node.health()["hanging"]?.intValue == 1 })
            #expect(await failed { _ = try await abandoned.value })
            // The client gave up and closed its connection: the node lets go of the request.
            #expect(try await eventually { try await node.health()["hanging"]?.intValue == 0 })
            #expect(try await node.request(.DELETE, "/admin/faults").status == 200)
            #expect(try await node.post("/v1/chat/completions", json: chatBody()).status == 200)
        }
    }

    @Test("a slow stream stalls after K tokens for N seconds")
    func slowStream() async throws {
        try await withNode({
            $0.faults.stallAfterTokens = 2
            $0.faults.stallSeconds = 1
        }) { node in
            let (_, _, frames) = try await node.stream(
                "/v1/chat/completions", json: chatBody(maxTokens: 4, stream: true))
            // frames: role, t1, t2, (stall), t3, t4, finish, [DONE]
            #expect(frames.count == 7)
            // The server holds t3 back for 1 s after t2; half of that is a floor the client must see.
            let gap = frames[3].arrival - frames[2].arrival
            #expect(gap >= .milliseconds(500))
            #expect(frames.last?.data == "[DONE]")
            #expect(try await node.get("/admin/faults").json["injected"]?["stalls"]?.intValue == 1)
        }
    }

    @Test("crash after N requests calls the crash action on request N+1")
    func crash() async throws {
        let crashes = Recorder<String>()
        try await withNode({ configuration in
            configuration.faults.crashAfterRequests = 2
            configuration.crashAction = { reason in crashes.append(reason) }
        }) { node in
            #expect(try await node.post("/v1/chat/completions", json: chatBody()).status == 200)
            #expect(try await node.post("/v1/chat/completions", json: chatBody()).status == 200)
            #expect(crashes.all.isEmpty)
            let third = try await node.post("/v1/chat/completions", json: chatBody())
            #expect(third.status == 503)
            #expect(third.errorCode == "node_crashed")
        }
        #expect(crashes.all.count == 1)
    }

    @Test("the unhealthy fault makes /health answer 503 while /healthz stays 200")
    func unhealthy() async throws {
        try await withNode { node in
            _ = try await node.post("/admin/faults", json: #"{"unhealthy":true}"#)
            let health = try await node.get("/health")
            #expect(health.status == 503)
            #expect(health.json["status"]?.stringValue == "unhealthy")
            #expect(try await node.get("/healthz").status == 200)
        }
    }
}
