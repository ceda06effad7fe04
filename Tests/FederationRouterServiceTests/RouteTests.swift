import FederationCore
import FederationState
import FederationTestSupport
import Foundation
import HTTPTypes
import Testing

@Suite("POST /v1/route and /v1/candidates")
struct RouteTests {
    @Test func referenceScenarioRoutesToTheFasterRegion() async throws {
        try await withRouter(seed: { try await $0.seedReferenceScenario() }) { client, _ in
            let response = try await client.send(
                .post, "/v1/route", json: #"{"capability":"transcribe","request_id":"r-42"}"#)
            #expect(response.status == .ok, "\(response.text)")
            let answer = response.object
            #expect(answer["node"] as? String == "us-west-gpu-01")
            #expect(answer["region"] as? String == "us-west")
            #expect(answer["endpoint"] as? String == "http://us-west-gpu-01.test:8000")
            #expect(answer["model"] as? String == "whisper")
            #expect(answer["estimated_latency_ms"] as? Double == 45)
            #expect(answer["strategy"] as? String == "least_latency")
            #expect(answer["eligible_count"] as? Int == 2)
            #expect(answer["panic"] as? Bool == false)
            #expect(answer["probe"] as? Bool == false)
            #expect(answer["request_id"] as? String == "r-42")
            let versions = answer["snapshot_versions"] as? [String: Any]
            #expect(versions?["catalog"] as? Int == 2)
            #expect(versions?["health"] as? Int == 2)
            #expect(versions?["policy"] as? Int == 1)
            #expect(answer["snapshot_age_ms"] is Int)
            #expect(answer["snapshot_stale"] as? Bool == false)
            #expect(response.headers[HTTPField.Name("X-Request-Id")!] == "r-42")
            let score = try #require(answer["score"] as? Double)
            #expect(score > 0 && score <= 1)
        }
    }

    @Test func candidatesExplainRejectionsWithThePolicyName() async throws {
        let document = policy { $0.regions = ["eu-west": RegionSettings(privacy: .confidential, cost: 0.5)] }
        try await withRouter(policy: document) { fixture in
            try await fixture.seedReferenceScenario()
            try await fixture.catalog.register(
                node: .test("eu-west-gpu-02", "eu-west"), model: "whisper", capabilities: [.transcribe])
            try await fixture.health.putHealth(fixture.healthy("eu-west-gpu-02", p50: 30))
            let later = SystemClock().now().advanced(by: .seconds(600))
            try await fixture.health.putCircuit(
                CircuitRecord(
                    node: "eu-west-gpu-02", state: .open, consecutiveFailures: 5, openUntil: later, trips: 1))
        } _: { client, _ in
            let response = try await client.send(
                .post, "/v1/candidates",
                json:
                    #"{"capability":"transcribe","qos":{"privacy":"confidential"},"origin_region":"eu-west"}"#
            )
            #expect(response.status == .ok, "\(response.text)")
            let answer = response.object
            let candidates = try #require(answer["candidates"] as? [[String: Any]])
            let byNode = Dictionary(
                uniqueKeysWithValues: candidates.map { ($0["node"] as? String ?? "?", $0) })
            #expect(byNode.keys.sorted() == ["eu-west-gpu-01", "eu-west-gpu-02", "us-west-gpu-01"])
            #expect(candidates.first?["node"] as? String == "eu-west-gpu-01")  // eligible first
            #expect(byNode["eu-west-gpu-01"]?["eligible"] as? Bool == true)
            #expect(byNode["eu-west-gpu-01"]?["rejection"] is NSNull)
            let privacy = byNode["us-west-gpu-01"]?["rejection"] as? [String: Any]
            #expect(privacy?["policy"] as? String == "privacy")
            #expect((privacy?["reason"] as? String)?.isEmpty == false)
            let circuit = byNode["eu-west-gpu-02"]?["rejection"] as? [String: Any]
            #expect(circuit?["policy"] as? String == "circuit")
            #expect(byNode["eu-west-gpu-02"]?["circuit"] as? String == "open")
            let scores = try #require(byNode["eu-west-gpu-01"]?["scores"] as? [[String: Any]])
            let names = Set(scores.compactMap { $0["policy"] as? String })
            #expect(names.isSuperset(of: ["health", "latency", "privacy", "locality", "cost"]), "\(names)")
            #expect(answer["eligible_count"] as? Int == 1)
            #expect((answer["decision"] as? [String: Any])?["node"] as? String == "eu-west-gpu-01")
            #expect(answer["error"] is NSNull)
            #expect((answer["snapshot_versions"] as? [String: Any])?["policy"] as? Int == 1)
        }
    }

    @Test func engineErrorsBecomeOpenAIErrorsWithTheirStatus() async throws {
        try await withRouter(seed: { try await $0.seedReferenceScenario() }) { client, _ in
            let privacy = try await client.route(
                #"{"capability":"transcribe","qos":{"privacy":"restricted"}}"#)
            #expect(privacy.status == .serviceUnavailable)
            #expect(privacy.errorCode == "privacy_violation", "\(privacy.text)")
            let noModel = try await client.route(#"{"capability":"transcribe","model":"llama"}"#)
            #expect(noModel.status == .serviceUnavailable)
            #expect(noModel.errorCode == "no_capacity")
            let noCapability = try await client.route(#"{"capability":"embed"}"#)
            #expect(noCapability.errorCode == "no_capacity")
            let tooSlow = try await client.route(#"{"capability":"transcribe","qos":{"max_latency_ms":10}}"#)
            #expect(tooSlow.status == .serviceUnavailable)
            #expect(tooSlow.errorCode == "qos_violation", "\(tooSlow.text)")
            #expect(tooSlow.headers[HTTPField.Name("X-Federation-Snapshot-Age-Ms")!] != nil)
        }
    }

    @Test(
        "bad queries get 400 naming the field",
        arguments: [
            (#"{"model":"whisper"}"#, "capability"),
            (#"{"capability":"transcribez"}"#, "capability"),
            (#"{"capability":"transcribe","qos":{"cost_tolerance":150}}"#, "qos"),
            (#"{"capability":"transcribe","exclude":"node-a"}"#, "exclude"),
            (#"{"capability":"transcribe","exclude":["bad node"]}"#, "exclude[0]"),
            (#"{"capability":"transcribe","origin_region":"eu west"}"#, "origin_region"),
            (#"{"capability":"#, "invalid_json"),
            // used to trap in Duration.milliseconds (issue 8): now a 400 naming the field
            (#"{"capability":"transcribe","qos":{"max_latency_ms":1e13}}"#, #""param":"qos.max_latency_ms""#),
            (#"{"capability":"transcribe","qos":{"cost_tolerance":1e30}}"#, #""param":"qos.cost_tolerance""#),
            (#"{"capability":"transcribe","qos":{"cost_tolerance":1.5}}"#, "not a whole number"),
            (#"{"capability":"transcribe","qos":{"privacy":"secret"}}"#, "expected one of public, internal"),
            (#"{"capability":"transcribe","model":"wh\u00efsper"}"#, "'ï' (U+00EF)"),
            (String(repeating: "[", count: 513), "nests deeper than 64"),
        ])
    func badQueries(body: String, mentions: String) async throws {
        try await withRouter(seed: { try await $0.seedReferenceScenario() }) { client, _ in
            for uri in ["/v1/route", "/v1/candidates"] {
                let response = try await client.send(.post, uri, json: body)
                #expect(response.status == .badRequest, "\(uri): \(response.text)")
                #expect(response.text.contains(mentions), "\(uri): \(response.text)")
            }
        }
    }

    @Test func enumLikeValuesIgnoreCase() async throws {
        try await withRouter(seed: { try await $0.seedReferenceScenario() }) { client, _ in
            let answer = try await client.route(#"{"capability":"Transcribe","qos":{"privacy":"PUBLIC"}}"#)
            #expect(answer.status == .ok, "\(answer.text)")
        }
    }

    @Test func exclusionListIsHonoured() async throws {
        try await withRouter(seed: { try await $0.seedReferenceScenario() }) { client, _ in
            let other = try await client.route(#"{"capability":"transcribe","exclude":["us-west-gpu-01"]}"#)
            #expect(other.node == "eu-west-gpu-01", "\(other.text)")
            #expect(other.object["eligible_count"] as? Int == 1)
            let none = try await client.route(
                #"{"capability":"transcribe","exclude":["us-west-gpu-01","eu-west-gpu-01"]}"#)
            #expect(none.status == .serviceUnavailable)
            #expect(none.errorCode == "all_nodes_unhealthy")
            #expect(none.text.contains("already tried"), "\(none.text)")
            let explained = try await client.send(
                .post, "/v1/candidates", json: #"{"capability":"transcribe","exclude":["us-west-gpu-01"]}"#)
            let candidates = explained.object["candidates"] as? [[String: Any]] ?? []
            let excluded = candidates.first { $0["node"] as? String == "us-west-gpu-01" }
            #expect((excluded?["rejection"] as? [String: Any])?["policy"] as? String == "excluded")
            #expect((explained.object["decision"] as? [String: Any])?["node"] as? String == "eu-west-gpu-01")
        }
    }

    @Test func aHealthChangeReachesTheRouteThroughOneEvent() async throws {
        // The backstop is a minute: only the health event can explain a change within the test.
        try await withRouter(tuning: .testing(backstop: .seconds(60))) { fixture in
            try await fixture.seedReferenceScenario()
        } _: { client, fixture in
            #expect(try await client.route(#"{"capability":"transcribe"}"#).node == "us-west-gpu-01")
            var sick = fixture.healthy("us-west-gpu-01", p50: 45)
            sick.state = .unhealthy
            sick.consecutiveFailures = 3
            sick.reason = "3 consecutive failures"
            try await fixture.health.putHealth(sick)
            let moved = try await eventually {
                try await client.route(#"{"capability":"transcribe"}"#).node == "eu-west-gpu-01"
            }
            #expect(moved, "the route did not follow the health event")
            let explained = try await client.send(
                .post, "/v1/candidates", json: #"{"capability":"transcribe"}"#)
            let sickEntry = (explained.object["candidates"] as? [[String: Any]])?.first {
                $0["node"] as? String == "us-west-gpu-01"
            }
            #expect(sickEntry?["health"] as? String == "unhealthy")
            #expect((sickEntry?["rejection"] as? [String: Any])?["policy"] as? String == "health")
        }
    }
}

@Suite("Route flags and strategies")
struct RouteFlagTests {
    @Test func aHalfOpenNodeIsAProbeAndAllUnhealthyIsPanic() async throws {
        try await withRouter { fixture in
            try await fixture.seedReferenceScenario()
            // open, but its deadline has passed: half-open for every reader
            let past = SystemClock().now().advanced(by: .seconds(-5))
            try await fixture.health.putCircuit(
                CircuitRecord(node: "eu-west-gpu-01", state: .open, openedAt: past, openUntil: past, trips: 1)
            )
            var sick = fixture.healthy("us-west-gpu-01", p50: 45)
            sick.state = .unhealthy
            try await fixture.health.putHealth(sick)
        } _: { client, fixture in
            let probe = try await client.route(#"{"capability":"transcribe"}"#)
            #expect(probe.node == "eu-west-gpu-01", "\(probe.text)")
            #expect(probe.object["probe"] as? Bool == true)
            #expect(probe.object["panic"] as? Bool == false)
            var sick = fixture.healthy("eu-west-gpu-01", p50: 120)
            sick.state = .unhealthy
            try await fixture.health.putHealth(sick)
            let panicked = try await eventually {
                try await client.route(#"{"capability":"transcribe"}"#).object["panic"] as? Bool == true
            }
            #expect(panicked, "every node unhealthy did not put them back in rotation")
        }
    }

    @Test func consistentHashSticksToTheAffinityKey() async throws {
        try await withRouter(
            policy: policy { $0.strategy = .consistentHash }, seed: { try await $0.seedReferenceScenario() }
        ) { client, _ in
            for key in ["session-1", "session-2", "session-3"] {
                let body = #"{"capability":"transcribe","affinity_key":"\#(key)"}"#
                let first = try await client.route(body)
                #expect(first.object["strategy"] as? String == "consistent_hash")
                for _ in 0..<3 { #expect(try await client.route(body).node == first.node) }
            }
        }
    }

    @Test func anOversizedQueryGets413() async throws {
        try await withRouter { client, _ in
            let padding = String(repeating: "x", count: 300 << 10)
            let response = try await client.route(#"{"capability":"transcribe","tenant":"\#(padding)"}"#)
            #expect(response.status == .contentTooLarge)
        }
    }
}
