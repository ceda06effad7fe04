import FederationCtl

/// Reads the services' JSON answers into the snapshot's parts. Defensive: a wrong top-level shape
/// is an error naming the route (shown in the tab); a malformed element or field is skipped.
enum TopDecoding {
    struct ShapeError: Error, CustomStringConvertible {
        var description: String
    }

    static func list(_ tree: JSON, key: String, route: String) throws -> [JSON] {
        guard let items = tree[key]?.array else {
            throw ShapeError(description: "\(route) answered JSON without a \"\(key)\" array")
        }
        return items
    }

    /// Catalog `GET /v1/nodes`.
    static func nodes(_ tree: JSON) throws -> [TopSnapshot.Node] {
        try list(tree, key: "nodes", route: "GET /v1/nodes").compactMap { item in
            guard let id = item["id"]?.string else { return nil }
            return TopSnapshot.Node(
                id: id, region: item["region"]?.string ?? "", endpoint: item["endpoint"]?.string ?? "",
                gpu: item["gpu"]?.bool, privacy: item["privacy"]?.string, cost: item["cost"]?.double,
                models: item["models"]?.array?.compactMap { $0["name"]?.string } ?? [],
                capabilities: item["capabilities"]?.strings ?? [],
                leaseExpiresAt: item["lease_expires_at"]?.int64)
        }.sorted { $0.id < $1.id }
    }

    /// Catalog `GET /v1/models`.
    static func models(_ tree: JSON) throws -> [TopSnapshot.Model] {
        try list(tree, key: "models", route: "GET /v1/models").compactMap { item in
            guard let id = item["id"]?.string else { return nil }
            return TopSnapshot.Model(
                id: id, version: item["version"]?.string, capabilities: item["capabilities"]?.strings ?? [],
                nodes: item["deployments"]?.array?.compactMap { $0["node"]?.string } ?? [])
        }.sorted { $0.id < $1.id }
    }

    /// Health `GET /v1/health`.
    static func health(_ tree: JSON) throws -> (leader: String?, nodes: [TopSnapshot.Health]) {
        let nodes = try list(tree, key: "nodes", route: "GET /v1/health").compactMap {
            item -> TopSnapshot.Health? in
            guard let node = item["node"]?.string else { return nil }
            return TopSnapshot.Health(
                node: node, state: item["state"]?.string ?? "?", latencyP50Ms: item["latency_p50_ms"]?.double,
                latencyP99Ms: item["latency_p99_ms"]?.double, latencySource: item["latency_source"]?.string,
                throughput: item["throughput"]?.double, queueDepth: item["queue_depth"]?.int64,
                consecutiveFailures: item["consecutive_failures"]?.int64,
                totalSuccesses: item["total_successes"]?.int64, totalFailures: item["total_failures"]?.int64,
                lastCheck: item["last_check"]?.int64, reason: item["reason"]?.string)
        }.sorted { $0.node < $1.node }
        return (tree["leader"]?.string, nodes)
    }

    /// Health `GET /v1/circuits`.
    static func circuits(_ tree: JSON) throws -> [TopSnapshot.Circuit] {
        try list(tree, key: "circuits", route: "GET /v1/circuits").compactMap { item in
            guard let node = item["node"]?.string else { return nil }
            return TopSnapshot.Circuit(
                node: node, state: item["state"]?.string ?? "?",
                consecutiveFailures: item["consecutive_failures"]?.int64, trips: item["trips"]?.int64,
                openedAt: item["opened_at"]?.int64, openUntil: item["open_until"]?.int64)
        }.sorted { $0.node < $1.node }
    }

    /// Router `GET /v1/policy`.
    static func policy(_ tree: JSON) throws -> TopSnapshot.Policy {
        guard let document = tree["document"], document.object != nil else {
            throw ShapeError(description: "GET /v1/policy answered JSON without a \"document\" object")
        }
        return TopSnapshot.Policy(version: tree["version"]?.int64, document: document)
    }

    /// Gateway `GET /v1/decisions`.
    static func decisions(_ tree: JSON, gatewayURL: String) throws -> [TopSnapshot.Decision] {
        let gateway = tree["gateway"]?.string ?? gatewayURL
        return try list(tree, key: "decisions", route: "GET /v1/decisions").compactMap { item in
            guard let time = item["time_ms"]?.int64 else { return nil }
            return TopSnapshot.Decision(
                gateway: gateway, timeMs: time, requestId: item["request_id"]?.string ?? "",
                capability: item["capability"]?.string, model: item["model"]?.string,
                node: item["node"]?.string, region: item["region"]?.string,
                strategy: item["strategy"]?.string,
                score: item["score"]?.double, attempts: item["attempts"]?.int64,
                status: item["status"]?.int64,
                latencyMs: item["latency_ms"]?.double, streamed: item["streamed"]?.bool ?? false,
                error: item["error"]?.string)
        }
    }

    static func stats(_ tree: JSON, gateway: String) -> TopSnapshot.Stats {
        TopSnapshot.Stats(
            gateway: tree["gateway"]?.string ?? gateway,
            totalRequests: max(0, tree["total_requests"]?.int64 ?? 0),
            successfulRequests: max(0, tree["successful_requests"]?.int64 ?? 0),
            failedRequests: max(0, tree["failed_requests"]?.int64 ?? 0),
            totalTokens: max(0, tree["total_tokens"]?.int64 ?? 0),
            averageLatencyMs: max(0, tree["average_latency_ms"]?.double ?? 0),
            activeStreams: max(0, tree["active_streams"]?.int64 ?? 0))
    }

    /// Gateway `GET /v1/stats?scope=cluster`: the sum and every live replica.
    static func clusterStats(
        _ tree: JSON
    ) throws -> (cluster: TopSnapshot.Stats, replicas: [TopSnapshot.Stats]) {
        guard tree["total_requests"] != nil else {
            throw ShapeError(
                description: "GET /v1/stats?scope=cluster answered JSON without \"total_requests\"")
        }
        let replicas = (tree["replicas"]?.array ?? []).map { stats($0, gateway: "?") }.sorted {
            $0.gateway < $1.gateway
        }
        return (stats(tree, gateway: "cluster"), replicas)
    }

    /// An OpenAI-style error body's message, when the answer has one.
    static func errorMessage(_ tree: JSON?) -> String? {
        tree?["error"]?["message"]?.string
    }
}
