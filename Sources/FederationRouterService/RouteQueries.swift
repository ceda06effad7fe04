import FederationCore
import FederationHTTP
import FederationState
import HTTPTypes
import Hummingbird
import Logging

extension HTTPField.Name {
    static let requestId = Self("X-Request-Id")!
    static let snapshotAge = Self("X-Federation-Snapshot-Age-Ms")!
    static let snapshotStale = Self("X-Federation-Snapshot-Stale")!
}

/// Answers `POST /v1/route` and `POST /v1/candidates` from the synced `FederationView` with the
/// same `RoutingEngine` the gateways run: no logic of its own beyond decoding and encoding.
final class RouteQueries: Sendable {
    let view: FederationView
    /// Decides route queries (its round-robin counters advance with every query).
    let engine: RoutingEngine
    /// Computes the explain view's "what would happen now", so that explaining never moves the
    /// route engine's round-robin counters.
    let explainEngine: RoutingEngine
    let metrics: RouterMetrics
    let tuning: RouterTuning
    let clock: any FederationClock
    let logger: Logger

    init(
        view: FederationView, clock: any FederationClock, metrics: RouterMetrics, tuning: RouterTuning,
        logger: Logger
    ) {
        self.view = view
        self.engine = RoutingEngine(clock: clock)
        self.explainEngine = RoutingEngine(clock: clock)
        self.metrics = metrics
        self.tuning = tuning
        self.clock = clock
        self.logger = logger
    }

    /// `POST /v1/route`: the node the engine picks, or the engine's error as an OpenAI-style error.
    func route(_ request: Request) async throws -> Response {
        let query = try await request.decodeJSON(RouteQuery.self, limit: tuning.maxBodyBytes).validated()
        let inference = query.inferenceRequest(headerRequestId: request.headers[.requestId])
        let box = view.currentSnapshot
        let freshness = ViewFreshness(
            snapshot: box.snapshot, status: view.status, staleAfter: tuning.staleAfter)
        let strategy = box.snapshot.policy.strategy
        var logger = self.logger
        logger[metadataKey: "request_id"] = .string(inference.requestId)
        logger[metadataKey: "capability"] = .stringConvertible(inference.capability)
        if let tenant = inference.tenantId { logger[metadataKey: "tenant"] = .string(tenant) }
        guard freshness.ageMs != nil else {
            metrics.recordRoute(outcome: "not_synced", strategy: strategy, duration: .zero)
            throw Self.notSynced(headers: headers(freshness, requestId: inference.requestId))
        }
        let start = ContinuousClock.now
        do {
            let decision = try engine.route(inference, in: box.snapshot, excluding: query.excluded)
            metrics.recordRoute(
                outcome: "routed", strategy: strategy, duration: ContinuousClock.now - start,
                panic: decision.panic,
                probe: decision.isProbe)
            logger.debug(
                "routed",
                metadata: [
                    "node": .stringConvertible(decision.target.node),
                    "strategy": .stringConvertible(strategy),
                    "score": .stringConvertible(decision.target.score),
                    "panic": .stringConvertible(decision.panic),
                ])
            var response = jsonResponse(
                RouteAnswer(requestId: inference.requestId, decision: decision, freshness: freshness))
            response.headers.append(contentsOf: headers(freshness, requestId: inference.requestId))
            return response
        } catch {
            metrics.recordRoute(
                outcome: error.code, strategy: strategy, duration: ContinuousClock.now - start)
            logger.info("no route", metadata: ["code": .string(error.code), "error": .string(error.message)])
            throw OpenAIError(error, headers: headers(freshness, requestId: inference.requestId))
        }
    }

    /// `POST /v1/candidates`: every candidate with its scores and rejection, and what routing
    /// would answer now. Always 200 for a valid query; the routing error, if any, is in `error`.
    func candidates(_ request: Request) async throws -> Response {
        let query = try await request.decodeJSON(RouteQuery.self, limit: tuning.maxBodyBytes).validated()
        let inference = query.inferenceRequest(headerRequestId: request.headers[.requestId])
        let box = view.currentSnapshot
        let snapshot = box.snapshot
        let freshness = ViewFreshness(snapshot: snapshot, status: view.status, staleAfter: tuning.staleAfter)
        let excluded = query.excluded
        var listed = explainEngine.candidates(for: inference, in: snapshot, excluding: excluded)
            .map(ExplainedCandidate.init)
        if !excluded.isEmpty {
            let now = clock.now()
            for node in snapshot.candidates(for: inference.capability) where excluded.contains(node.id) {
                if let model = inference.model, !node.models.contains(model) { continue }
                listed.append(ExplainedCandidate(excluded: node, model: inference.model, at: now))
            }
        }
        var decision: RouteTarget?
        var failure: ExplainError?
        do {
            decision = try explainEngine.route(inference, in: snapshot, excluding: excluded).target
        } catch {
            failure = ExplainError(error)
        }
        metrics.recordCandidatesQuery()
        let answer = ExplainAnswer(
            requestId: inference.requestId, capability: inference.capability, model: inference.model,
            strategy: snapshot.policy.strategy, candidates: listed, decision: decision, error: failure,
            freshness: freshness)
        var response = jsonResponse(answer)
        response.headers.append(contentsOf: headers(freshness, requestId: inference.requestId))
        return response
    }

    private func headers(_ freshness: ViewFreshness, requestId: String) -> HTTPFields {
        let values = freshness.headerValues
        return [.requestId: requestId, .snapshotAge: values.age, .snapshotStale: values.stale]
    }

    /// 503 before the view has loaded anything: an empty snapshot would say "no capacity", which
    /// is not true.
    static func notSynced(headers: HTTPFields) -> OpenAIError {
        OpenAIError(
            status: .serviceUnavailable,
            message:
                "The router has not loaded the federation state from Redis yet; retry shortly "
                + "(GET /readyz shows why).",
            type: "server_error", code: "view_not_synced", headers: headers)
    }
}
