import FederationCore
import FederationState
import Foundation
import HTTPTypes
import Testing

@Suite("The router owns the policy")
struct PolicyTests {
    @Test func publishesTheConfiguredPolicyWhenRedisHasNone() async throws {
        let configured = policy { $0.strategy = .consistentHash }
        try await withRouter(policy: configured) { client, fixture in
            let stored = try await fixture.policy.loadPolicy()
            #expect(stored.version == 1)
            #expect(stored.value.strategy == .consistentHash)
            let answer = try await client.get("/v1/policy")
            #expect(answer.status == .ok)
            #expect(answer.object["version"] as? Int == 1)
            #expect(answer.object["published"] as? Bool == true)
            #expect(
                (answer.object["document"] as? [String: Any])?["strategy"] as? String == "consistent_hash")
            #expect(answer.headers[.eTag] == "\"1\"")
        }
    }

    @Test func keepsAPolicyAlreadyInRedis() async throws {
        try await withRouter(policy: policy { $0.strategy = .consistentHash }) { fixture in
            try await fixture.policy.putPolicy(policy { $0.strategy = .roundRobin })
        } _: { client, fixture in
            let answer = try await client.get("/v1/policy")
            #expect((answer.object["document"] as? [String: Any])?["strategy"] as? String == "round_robin")
            #expect(try await fixture.policy.loadPolicy().version == 1)
        }
    }

    @Test func putChangesTheDecisionAndBumpsTheVersion() async throws {
        try await withRouter(seed: { try await $0.seedReferenceScenario() }) { client, fixture in
            #expect(try await client.route(#"{"capability":"transcribe"}"#).node == "us-west-gpu-01")
            // us-west becomes a public region: internal requests (the default) may no longer go there
            let put = try await client.send(
                .put, "/v1/policy", json: #"{"regions":{"us-west":{"privacy":"public","cost":0.2}}}"#)
            #expect(put.status == .ok, "\(put.text)")
            #expect(put.object["version"] as? Int == 2)
            #expect(put.object["applied"] as? Bool == true)
            #expect(try await client.route(#"{"capability":"transcribe"}"#).node == "eu-west-gpu-01")
            let stored = try await fixture.policy.loadPolicy()
            #expect(stored.version == 2)
            #expect(stored.value.regions["us-west"] == RegionSettings(privacy: .public, cost: 0.2))
            let answer = try await client.get("/v1/policy")
            #expect(answer.object["version"] as? Int == 2)
            #expect((answer.object["snapshot_versions"] as? [String: Any])?["policy"] as? Int == 2)
        }
    }

    @Test func patchChangesOnlyWhatItNames() async throws {
        let configured = policy {
            $0.weights.latency = 3
            $0.minScore = 0.05
        }
        try await withRouter(policy: configured, seed: { try await $0.seedReferenceScenario() }) {
            client, fixture in
            let patch = try await client.send(
                .patch, "/v1/policy", json: #"{"strategy":"round_robin","weights":{"locality":0}}"#)
            #expect(patch.status == .ok, "\(patch.text)")
            #expect(patch.object["version"] as? Int == 2)
            let stored = try await fixture.policy.loadPolicy().value
            #expect(stored.strategy == .roundRobin)
            #expect(stored.weights.locality == 0)
            #expect(stored.weights.latency == 3)  // untouched
            #expect(stored.minScore == 0.05)
            // round robin now alternates between both nodes
            var seen = Set<String>()
            for _ in 0..<4 { seen.insert(try await client.route(#"{"capability":"transcribe"}"#).node ?? "") }
            #expect(seen == ["us-west-gpu-01", "eu-west-gpu-01"])
            // null resets a field to its default
            let reset = try await client.send(.patch, "/v1/policy", json: #"{"min_score":null}"#)
            #expect(reset.status == .ok, "\(reset.text)")
            #expect(try await fixture.policy.loadPolicy().value.minScore == RoutingPolicyDocument().minScore)
        }
    }

    @Test(
        "an invalid policy is rejected naming every problem, and nothing is stored",
        arguments: [
            (
                HTTPRequest.Method.put, #"{"min_score":2,"weights":{"health":-1}}"#,
                ["min_score", "weight 'health'"]
            ),
            (.put, #"{"stratgy":"round_robin"}"#, ["stratgy"]),
            (.put, #"{"strategy":"fastest"}"#, ["strategy", "fastest"]),
            (.put, #"{"regions":{"eu-west":{"privacy":"secret","cost":0.1}}}"#, ["regions", "secret"]),
            (.put, #"{"max_candidates":"ten"}"#, ["max_candidates"]),
            (.put, #"{"weights":{"speed":2}}"#, ["weights.speed"]),
            (.put, #"[1,2]"#, ["JSON object"]),
            (.put, #"{"min_score":"#, ["invalid_json"]),
            (.patch, #"{"panic_threshold":1.5,"locality_boost":-1}"#, ["panic_threshold", "locality_boost"]),
        ])
    func invalidPolicy(method: HTTPRequest.Method, body: String, mentions: [String]) async throws {
        try await withRouter { client, fixture in
            let before = try await fixture.policy.loadPolicy()
            let response = try await client.send(method, "/v1/policy", json: body)
            #expect(response.status == .badRequest, "\(response.text)")
            for word in mentions { #expect(response.text.contains(word), "\(word) in \(response.text)") }
            let after = try await fixture.policy.loadPolicy()
            #expect(after.version == before.version)
            #expect(after.value == before.value)
            #expect((try await client.get("/v1/policy")).object["version"] as? Int == Int(before.version))
        }
    }

    @Test func adminTokenGuardsPolicyWrites() async throws {
        try await withRouter(adminToken: "s3cret", seed: { try await $0.seedReferenceScenario() }) {
            client, fixture in
            let body = #"{"strategy":"round_robin"}"#
            let missing = try await client.send(.put, "/v1/policy", json: body)
            #expect(missing.status == .unauthorized)
            let wrong = try await client.send(
                .patch, "/v1/policy", json: body, headers: [.authorization: "Bearer nope"])
            #expect(wrong.status == .forbidden)
            #expect(try await fixture.policy.loadPolicy().version == 1)
            let right = try await client.send(
                .put, "/v1/policy", json: body, headers: [.authorization: "Bearer s3cret"])
            #expect(right.status == .ok, "\(right.text)")
            #expect(try await fixture.policy.loadPolicy().version == 2)
            // reads and route queries need no token
            #expect(try await client.get("/v1/policy").status == .ok)
            #expect(try await client.route(#"{"capability":"transcribe"}"#).status == .ok)
        }
    }

    @Test func ifMatchPreventsLostUpdates() async throws {
        try await withRouter { client, fixture in
            let first = try await client.send(
                .patch, "/v1/policy", json: #"{"strategy":"round_robin"}"#, headers: [.ifMatch: "\"1\""])
            #expect(first.status == .ok, "\(first.text)")
            #expect(first.headers[.eTag] == "\"2\"")
            let stale = try await client.send(
                .put, "/v1/policy", json: #"{"strategy":"weighted_random"}"#, headers: [.ifMatch: "\"1\""])
            #expect(stale.status == .preconditionFailed)
            #expect(stale.errorCode == "version_mismatch")
            let stored = try await fixture.policy.loadPolicy()
            #expect(stored.version == 2 && stored.value.strategy == .roundRobin)
        }
    }
}
