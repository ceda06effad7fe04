import FederationTop

/// Fixed snapshots the frame tests render.
enum Fixtures {
    /// 2026-12-01 12:00:00 UTC.
    static let now: Int64 = 1_796_126_400_000

    static var snapshot: TopSnapshot {
        var s = TopSnapshot()
        s.fetchedAtMs = now
        s.fetchDurationMs = 12
        s.sources = [
            .catalog: "http://127.0.0.1:7101", .health: "http://127.0.0.1:7102",
            .router: "http://127.0.0.1:7103",
            .gateway("http://127.0.0.1:8080"): "http://127.0.0.1:8080",
            .gateway("http://127.0.0.1:8081"): "http://127.0.0.1:8081",
        ]
        s.nodes = [
            .init(
                id: "ap-south-cpu-01", region: "ap-south", endpoint: "http://127.0.0.1:9003", gpu: false,
                privacy: "public", cost: 0.1, models: ["bge-small", "llama-3-8b"],
                capabilities: ["embed", "generate"], leaseExpiresAt: now + 25_000),
            .init(
                id: "eu-west-gpu-01", region: "eu-west", endpoint: "http://127.0.0.1:9002", gpu: true,
                privacy: "confidential", cost: 0.6, models: ["llama-3-8b"], capabilities: ["generate"]),
            .init(
                id: "us-west-gpu-01", region: "us-west", endpoint: "http://127.0.0.1:9001", gpu: true,
                privacy: "internal", cost: 0.4, models: ["llama-3-8b", "whisper-1"],
                capabilities: ["generate", "transcribe"]),
        ]
        s.models = [
            .init(id: "bge-small", version: "1.5", capabilities: ["embed"], nodes: ["ap-south-cpu-01"]),
            .init(
                id: "llama-3-8b", version: "3.1", capabilities: ["code", "generate"],
                nodes: ["ap-south-cpu-01", "eu-west-gpu-01", "us-west-gpu-01"]),
        ]
        s.healthLeader = "health-a"
        s.health = [
            .init(
                node: "ap-south-cpu-01", state: "healthy", latencyP50Ms: 41.5, latencyP99Ms: 88,
                latencySource: "inference",
                throughput: 120, queueDepth: 0, consecutiveFailures: 0, totalSuccesses: 310, totalFailures: 2,
                lastCheck: now - 400),
            .init(
                node: "eu-west-gpu-01", state: "unhealthy", latencyP50Ms: 12, latencyP99Ms: 30,
                latencySource: "probe",
                throughput: nil, queueDepth: 3, consecutiveFailures: 5, totalSuccesses: 90, totalFailures: 7,
                lastCheck: now - 1_200, reason: "5 consecutive failures"),
            .init(node: "us-west-gpu-01", state: "healthy", lastCheck: now - 65_000),
        ]
        s.circuits = [
            .init(node: "ap-south-cpu-01", state: "closed", consecutiveFailures: 0, trips: 0),
            .init(
                node: "eu-west-gpu-01", state: "open", consecutiveFailures: 5, trips: 2,
                openedAt: now - 4_000,
                openUntil: now + 26_000),
            .init(
                node: "us-west-gpu-01", state: "half_open", consecutiveFailures: 0, trips: 1,
                openedAt: now - 40_000,
                openUntil: now - 10_000),
        ]
        s.decisions = [
            .init(
                gateway: "gw-1", timeMs: now - 100, requestId: "gw-00000000000000a1", capability: "generate",
                model: "llama-3-8b", node: "us-west-gpu-01", region: "us-west", strategy: "least_latency",
                score: 0.83,
                attempts: 1, status: 200, latencyMs: 14.2, streamed: true),
            .init(
                gateway: "gw-2", timeMs: now - 900, requestId: "gw-00000000000000b7", capability: "generate",
                model: "llama-3-8b", node: "eu-west-gpu-01", region: "eu-west", strategy: "least_latency",
                score: 0.61,
                attempts: 3, status: 502, latencyMs: 230.5, streamed: false, error: "node_unreachable"),
            .init(
                gateway: "gw-1", timeMs: now - 2_000, requestId: "client-7", capability: "embed",
                model: "bge-small",
                node: nil, region: nil, strategy: nil, score: nil, attempts: 0, status: 503, latencyMs: 0.4,
                streamed: false, error: "no_capacity"),
        ]
        s.cluster = .init(
            gateway: "cluster", totalRequests: 400, successfulRequests: 390, failedRequests: 10,
            totalTokens: 5120,
            averageLatencyMs: 18.25, activeStreams: 1)
        s.replicas = [
            .init(
                gateway: "gw-1", totalRequests: 250, successfulRequests: 245, failedRequests: 5,
                totalTokens: 3000,
                averageLatencyMs: 17, activeStreams: 1),
            .init(
                gateway: "gw-2", totalRequests: 150, successfulRequests: 145, failedRequests: 5,
                totalTokens: 2120,
                averageLatencyMs: 20.3, activeStreams: 0),
        ]
        s.requestsPerSecond = 12.5
        s.policy = .init(
            version: 3,
            document: .object([
                "strategy": .string("least_latency"), "min_score": .number(0.1),
                "max_candidates": .number(10),
                "weights": .object(["health": .number(2), "latency": .number(1)]),
                "regions": .object([:]),
            ]))
        return s
    }
}
