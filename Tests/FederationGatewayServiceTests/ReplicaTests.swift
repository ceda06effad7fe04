import FederationConfig
import FederationCore
import FederationNode
import FederationState
import FederationTestSupport
import Foundation
import Synchronization
import Testing

/// Two gateway replicas on one Redis share circuits (through the health service's reports) and
/// the cluster-wide probe limit.
@Suite(.serialized) struct ReplicaTests {
    @Test func failuresThroughReplicaAOpenTheCircuitAndReplicaBStopsSendingThere() async throws {
        try await withGatewayWorld { world in
            try await world.withNodes([NodeSpec(id: "bad"), NodeSpec(id: "good")]) { nodes in
                let configuration = world.configuration {
                    // No retries: every failure reaches the reports, none is hidden by a retry.
                    $0.gateway.retry = RetryPolicy(maxRetries: 0)
                    $0.health.probeInterval = .seconds(30)
                    // Only the circuit ejects the node here (health would mark it unhealthy at 3).
                    $0.health.thresholds = HealthConfiguration(failureThreshold: 1000)
                }
                try await world.withHealth(configuration) {
                    try await world.withGateway(configuration, id: "gw-a", expectNodes: 2) { a in
                        try await world.withGateway(configuration, id: "gw-b", expectNodes: 2) { b in
                            try await world.setFaults(nodes[0], #"{"error_rate":1,"error_status":500}"#)
                            let started = ContinuousClock.now
                            var failures = 0
                            var lastFailure = started
                            // Through A until A itself stops choosing "bad" (five failures open its
                            // circuit; on a loaded machine a timed-out probe may count too).
                            while try await world.candidateCircuit(a, node: "bad") != "open" {
                                let (status, _, headers) = try await world.chat(a)
                                if status == 500, headers.node == "bad" {
                                    failures += 1
                                    lastFailure = ContinuousClock.now
                                }
                                guard ContinuousClock.now - started < .seconds(60) else {
                                    Issue.record("the circuit did not open in 60 s (\(failures) failures)")
                                    return
                                }
                            }
                            #expect(failures >= 1)
                            let fifthFailure = lastFailure
                            // B must route around "bad" without ever having sent it a request itself.
                            let receivedBefore = try await world.received(nodes[0], "/v1/chat/completions")
                            try await eventually(
                                "replica B stops choosing the failed node", every: .milliseconds(5)
                            ) {
                                try await world.candidateCircuit(b, node: "bad") == "open"
                            }
                            let now = ContinuousClock.now
                            print(
                                "circuit opened by replica A's failures reached replica B's view "
                                    + "\((now - fifthFailure).wholeMilliseconds) ms after A's last failure was answered "
                                    + "(\((now - started).wholeMilliseconds) ms after A's first failing request)"
                            )
                            for _ in 0..<10 {
                                let (status, _, headers) = try await world.chat(b)
                                #expect(status == 200)
                                #expect(headers.node == "good")
                            }
                            #expect(
                                try await world.received(nodes[0], "/v1/chat/completions") == receivedBefore)
                        }
                    }
                }
            }
        }
    }

    @Test func theHalfOpenProbeLimitHoldsAcrossTwoReplicas() async throws {
        try await withGatewayWorld { world in
            let slow = NodeSpec(id: "recovering") { $0.latency = .fixed(milliseconds: 600) }
            try await world.withNodes([slow, NodeSpec(id: "steady")]) { nodes in
                let configuration = world.configuration {
                    $0.health.probeInterval = .seconds(30)
                    $0.health.thresholds = HealthConfiguration(failureThreshold: 1000)
                    $0.health.circuit = CircuitBreakerConfiguration(
                        failureThreshold: 5, resetTimeout: .milliseconds(300), halfOpenSuccessThreshold: 3,
                        halfOpenMaxProbes: 2, maxOpenDuration: .seconds(5), probeTimeout: .seconds(10))
                }
                try await world.withHealth(configuration) {
                    try await world.withGateway(configuration, id: "gw-a", expectNodes: 2) { a in
                        try await world.withGateway(configuration, id: "gw-b", expectNodes: 2) { b in
                            // Open the circuit with five failures reported by operators.
                            for _ in 0..<5 {
                                _ = try await world.redis.command(
                                    "PUBLISH", world.keys.healthReports,
                                    #"{"node":"recovering","ok":false,"status":503}"#)
                            }
                            // reset_timeout is 300 ms: both views soon see the circuit half-open.
                            try await eventually("the circuit is half-open in both views") {
                                let stateA = try await world.candidateCircuit(a, node: "recovering")
                                let stateB = try await world.candidateCircuit(b, node: "recovering")
                                return stateA == "half_open" && stateB == "half_open"
                            }
                            // 12 concurrent requests over both replicas while the node is half-open.
                            let maxSeen = MaxCounter()
                            try await withThrowingTaskGroup(of: Void.self) { group in
                                group.addTask {
                                    let until = ContinuousClock.now + .milliseconds(1500)
                                    while ContinuousClock.now < until {
                                        let inFlight =
                                            (try? await world.nodeHealth(nodes[0]))?["in_flight"] as? Int ?? 0
                                        maxSeen.observe(inFlight)
                                        try await Task.sleep(for: .milliseconds(5))
                                    }
                                }
                                for index in 0..<12 {
                                    group.addTask {
                                        let (status, _, _) = try await world.chat(index % 2 == 0 ? a : b)
                                        #expect(status == 200)
                                    }
                                }
                                try await group.waitForAll()
                            }
                            let probes = try await world.received(nodes[0], "/v1/chat/completions")
                            print(
                                "half-open: \(probes) request(s) reached the node, at most \(maxSeen.value) at once (limit 2)"
                            )
                            #expect(probes >= 1)
                            #expect(maxSeen.value <= 2)
                        }
                    }
                }
            }
        }
    }
}

final class MaxCounter: Sendable {
    private let state = Mutex(0)
    func observe(_ value: Int) { state.withLock { $0 = max($0, value) } }
    var value: Int { state.withLock { $0 } }
}

extension GatewayWorld {
    /// The circuit state of `node` in the view the gateway at `base` routes with (`GET /v1/nodes`).
    func candidateCircuit(_ base: String, node: String) async throws -> String? {
        let (_, text, _) = try await request(.GET, base + "/v1/nodes")
        let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let nodes = json?["nodes"] as? [[String: Any]] ?? []
        return nodes.first { $0["node"] as? String == node }?["circuit"] as? String
    }
}
