import FederationCore
import FederationGatewayService
import FederationTestSupport
import Foundation
import Testing

/// `GET /v1/decisions`: the replica's recent routing decisions, newest first, from a fixed ring.
@Suite struct DecisionLogTests {
    static func record(_ n: Int) -> RoutingDecisionRecord {
        RoutingDecisionRecord(
            timeMs: Int64(n), requestId: "r\(n)", capability: .generate, model: "m1", node: "n1",
            region: "local", strategy: .roundRobin, score: 0.5, attempts: 1, status: 200, latencyMs: 1,
            streamed: false, error: nil)
    }

    @Test func theRingKeepsTheNewestEntriesNewestFirst() {
        let log = DecisionLog(capacity: 4)
        #expect(log.recent(limit: 10).decisions.isEmpty)
        for n in 1...3 { log.record(Self.record(n)) }
        #expect(log.recent(limit: 10).decisions.map(\.requestId) == ["r3", "r2", "r1"])
        for n in 4...10 { log.record(Self.record(n)) }
        let (decisions, recorded) = log.recent(limit: 10)
        #expect(decisions.map(\.requestId) == ["r10", "r9", "r8", "r7"])
        #expect(recorded == 10)
        #expect(log.recent(limit: 2).decisions.map(\.requestId) == ["r10", "r9"])
        #expect(log.recent(limit: 0).decisions.isEmpty)
        #expect(log.recent(limit: -5).decisions.isEmpty)
        #expect(log.recent(limit: .max).decisions.count == 4)
    }

    @Test func aGatewayListsWhatItRoutedWithOutcomeAndScore() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes([NodeSpec(id: "dec-a", region: "us-west")]) { nodes in
                try await world.withGateway(id: "gw-dec") { base in
                    #expect(try await world.chat(base).status == 200)
                    #expect(try await world.chat(base, stream: true).status == 200)
                    #expect(try await world.chat(base, model: "no-such-model").status == 404)

                    let (status, text, _) = try await world.request(.GET, base + "/v1/decisions?limit=2")
                    #expect(status == 200, "\(text)")
                    let json = try #require(
                        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                    #expect(json["gateway"] as? String == "gw-dec")
                    #expect(json["capacity"] as? Int == 256)
                    #expect(json["recorded"] as? Int == 3)
                    let list = try #require(json["decisions"] as? [[String: Any]])
                    #expect(list.count == 2)
                    // Newest first: the unknown model, then the stream.
                    let failed = list[0]
                    #expect(failed["status"] as? Int == 404)
                    #expect(failed["error"] as? String == "model_not_found")
                    #expect(failed["model"] as? String == "no-such-model")
                    #expect(failed["node"] is NSNull)
                    #expect(failed["attempts"] as? Int == 0)
                    let streamed = list[1]
                    #expect(streamed["status"] as? Int == 200)
                    #expect(streamed["streamed"] as? Bool == true)
                    #expect(streamed["node"] as? String == "dec-a")
                    #expect(streamed["region"] as? String == "us-west")
                    #expect(streamed["capability"] as? String == "generate")
                    #expect(streamed["strategy"] as? String == "round_robin")
                    #expect(streamed["attempts"] as? Int == 1)
                    #expect(streamed["error"] is NSNull)
                    let score = try #require(streamed["score"] as? Double)
                    #expect(score > 0 && score <= 1)
                    #expect((streamed["request_id"] as? String)?.isEmpty == false)
                    #expect((streamed["latency_ms"] as? Double ?? -1) >= 0)
                    let now = Date().timeIntervalSince1970 * 1000
                    let time = try #require(streamed["time_ms"] as? Double)
                    #expect(abs(now - time) < 600_000)

                    let all = try await world.request(.GET, base + "/v1/decisions")
                    #expect(all.text.components(separatedBy: "\"request_id\"").count - 1 == 3)
                    // The client's own request id is kept.
                    _ = try await world.chat(base, headers: [("X-Request-Id", "mine-1")])
                    let newest = try await world.request(.GET, base + "/v1/decisions?limit=1").text
                    #expect(newest.contains("\"request_id\":\"mine-1\""))
                    _ = nodes
                }
            }
        }
    }

    @Test func aBadLimitIsA400NamingItAndALargeOneIsClamped() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes([NodeSpec(id: "dec-b")]) { _ in
                try await world.withGateway { base in
                    for bad in ["abc", "0", "-1", "99999999999999999999999"] {
                        let (status, text, _) = try await world.request(
                            .GET, base + "/v1/decisions?limit=\(bad)")
                        #expect(status == 400, "limit=\(bad): \(text)")
                        #expect(text.contains("\"param\":\"limit\""), "\(text)")
                    }
                    let (status, text, _) = try await world.request(.GET, base + "/v1/decisions?limit=100000")
                    #expect(status == 200, "\(text)")
                    #expect(text.contains("\"decisions\":[]"))
                }
            }
        }
    }
}
