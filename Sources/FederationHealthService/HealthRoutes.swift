import FederationCore
import FederationHTTP
import FederationRedis
import FederationState
import Hummingbird

/// The health service's JSON API: reads for everyone, operator overrides and reports behind the
/// admin token (when one is configured).
struct HealthRoutes: Sendable {
    let owner: HealthOwner
    let store: any HealthStore
    let client: RedisClient
    let keys: FederationKeys
    let breaker: CircuitBreakerConfiguration
    let maxReportBytes: Int

    func register(on router: Router<BasicRequestContext>, adminToken: String?) {
        let v1 = router.group("v1").add(middleware: AdminTokenMiddleware(token: adminToken))
        v1.get("health") { _, _ in try await healthList() }
        v1.get("health/{node}") { _, context in try await health(of: try node(context)) }
        v1.get("circuits") { _, _ in try await circuitList() }
        v1.get("circuits/{node}") { _, context in try await circuit(of: try node(context)) }
        v1.post("circuits/{node}/open") { request, context in
            try await open(try node(context), request: request)
        }
        v1.post("circuits/{node}/close") { _, context in try await close(try node(context)) }
        v1.post("reports") { request, _ in try await report(request) }
    }

    private func node(_ context: BasicRequestContext) throws -> NodeId {
        let raw = context.parameters.get("node") ?? ""
        if let problem = Identifier.problem(with: raw, kind: "node id") {
            throw OpenAIError.invalid(problem, param: "node", code: "invalid_node")
        }
        return NodeId(raw)
    }

    /// The records: from memory on the leader, from Redis on a standby.
    private func table() async throws -> (
        role: String, leader: String?, health: [NodeHealth], circuits: [CircuitRecord]
    ) {
        let leader = await owner.leaderId
        if let table = await owner.table() { return ("leader", leader, table.health, table.circuits) }
        do {
            let stored = try await store.loadHealth().value
            return (
                "standby", leader, stored.health.values.sorted { $0.node < $1.node },
                stored.circuits.values.sorted { $0.node < $1.node }
            )
        } catch {
            throw OpenAIError(
                status: .serviceUnavailable,
                message: "This instance is a standby and Redis is not readable: \(error). Ask the leader.",
                type: "server_error", code: "state_unavailable")
        }
    }

    private func healthList() async throws -> Response {
        let t = try await table()
        return jsonResponse(
            HealthListJSON(role: t.role, leader: t.leader, nodes: t.health.map(HealthJSON.init)))
    }

    private func health(of node: NodeId) async throws -> Response {
        guard let record = try await table().health.first(where: { $0.node == node }) else {
            throw OpenAIError.notFound("No health is known for node '\(node)'; GET /v1/health lists them.")
        }
        return jsonResponse(HealthJSON(record: record))
    }

    private func circuitList() async throws -> Response {
        let t = try await table()
        let now = owner.clock.now()
        return jsonResponse(
            CircuitListJSON(
                role: t.role, leader: t.leader, circuits: t.circuits.map { CircuitJSON(record: $0, now: now) }
            ))
    }

    private func circuit(of node: NodeId) async throws -> Response {
        let t = try await table()
        let record =
            t.circuits.first { $0.node == node }
            ?? (t.health.contains { $0.node == node } ? CircuitRecord(node: node) : nil)
        guard let record else {
            throw OpenAIError.notFound("No circuit is known for node '\(node)'; GET /v1/circuits lists them.")
        }
        return jsonResponse(CircuitJSON(record: record, now: owner.clock.now()))
    }

    private func open(_ node: NodeId, request: Request) async throws -> Response {
        var duration = breaker.maxOpenDuration
        if request.headers[.contentLength].flatMap({ Int($0) }) ?? 1 > 0 {
            let body = try await request.collectBody(limit: 4096)
            if body.readableBytes > 0, let ms = try decodeJSON(OpenCircuitRequest.self, from: body).durationMs
            {
                guard ms > 0, ms <= 7 * 86_400_000 else {
                    throw OpenAIError.invalid(
                        "duration_ms must be in (0, 604800000], got \(ms)", param: "duration_ms",
                        code: "invalid_value")
                }
                duration = .milliseconds(ms)
            }
        }
        try await requireLeader()
        let now = owner.clock.now()
        guard let record = await owner.forceOpen(node, until: now.advanced(by: duration)) else {
            throw unknown(node)
        }
        return jsonResponse(CircuitJSON(record: record, now: now))
    }

    private func close(_ node: NodeId) async throws -> Response {
        try await requireLeader()
        guard let record = await owner.close(node) else { throw unknown(node) }
        return jsonResponse(CircuitJSON(record: record, now: owner.clock.now()))
    }

    /// Same JSON as the reports channel. The leader applies it at once; a standby publishes it on
    /// the channel for the leader (202).
    private func report(_ request: Request) async throws -> Response {
        let body = try await request.collectBody(limit: maxReportBytes)
        let report: HealthReport
        do throws(FederationError) {
            report = try HealthReport.parse(Array(body.readableBytesView))
        } catch {
            throw OpenAIError.invalid(error.message, param: nil, code: "invalid_report")
        }
        guard await owner.isLeader else {
            try await HealthReportFeed.publish(report, client: client, keys: keys)
            return jsonResponse(ReportAnswer(outcome: "published", health: nil), status: .accepted)
        }
        let outcome = await owner.apply(report: report)
        let health = await owner.table()?.health.first { $0.node == report.node }
        return jsonResponse(ReportAnswer(outcome: outcome.rawValue, health: health.map(HealthJSON.init)))
    }

    private func requireLeader() async throws {
        guard await owner.isLeader else {
            let leader = await owner.leaderId ?? "unknown"
            throw OpenAIError(
                status: .serviceUnavailable,
                message: "This health instance is a standby; send overrides to the leader (\(leader)).",
                type: "server_error", code: "not_leader")
        }
    }

    private func unknown(_ node: NodeId) -> OpenAIError {
        OpenAIError.notFound(
            "Node '\(node)' is not in the catalog; register it first.", code: "node_not_found")
    }
}
