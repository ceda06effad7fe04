import AsyncHTTPClient
import FederationConfig
import FederationCore
import FederationHTTP
import FederationOpenAI
import FederationState
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// One client request from receipt to answer: headers and body read, middleware, then attempts —
/// route over the local view (no Redis, no other service), take a cluster-wide probe slot for a
/// half-open node, forward, and on a retriable failure back off and try a node not tried yet,
/// within the retry budget and the request's deadline. Every attempt's outcome is queued for the
/// health service; the request's life runs through ``RequestLifecycle``.
final class GatewayPipeline: Sendable {
    let settings: GatewaySettings
    let circuit: CircuitBreakerConfiguration
    let view: FederationView
    let engine: RoutingEngine
    let nodes: NodeClient
    let reporter: OutcomeReporter
    let load: ReplicaLoad
    let probes: ProbeSlots?
    let state: GatewayState
    let chain: GatewayMiddlewareChain
    let budget: RetryBudget
    let gatewayId: String
    let logger: Logger
    let random = SystemRandomSource()
    /// The largest non-streamed answer the gateway relays (it is read whole to count its tokens).
    static let maximumResponseBytes = 64 << 20
    /// The most of a failed answer's body kept to pass through when no other node can serve.
    static let maximumErrorBodyBytes = 64 << 10

    init(
        settings: GatewaySettings, circuit: CircuitBreakerConfiguration, view: FederationView,
        engine: RoutingEngine,
        nodes: NodeClient, reporter: OutcomeReporter, load: ReplicaLoad, probes: ProbeSlots?,
        state: GatewayState,
        chain: GatewayMiddlewareChain, budget: RetryBudget, gatewayId: String, logger: Logger
    ) {
        self.settings = settings
        self.circuit = circuit
        self.view = view
        self.engine = engine
        self.nodes = nodes
        self.reporter = reporter
        self.load = load
        self.probes = probes
        self.state = state
        self.chain = chain
        self.budget = budget
        self.gatewayId = gatewayId
        self.logger = logger
    }

    var metrics: GatewayMetrics { state.metrics }

    // MARK: - Entry

    func handle(
        _ request: Request, disconnect: ClientDisconnect?, endpoint: GatewayEndpoint
    ) async -> Response {
        let received = ContinuousClock.now
        let id = FederationHeaders.requestId(from: request.headers) { RequestIds.next() }
        if state.isDraining {
            var headers = HTTPFields()
            headers[.connection] = "close"
            headers[.retryAfter] = "1"
            return respond(
                OpenAIError(
                    status: .serviceUnavailable,
                    message: "This gateway replica is shutting down; send the request to another replica.",
                    type: "server_error", code: "gateway_draining", headers: headers),
                id: id, attempts: 0)
        }
        state.begin()
        budget.recordRequest()
        var gatewayRequest = GatewayRequest(
            id: id, path: endpoint.path,
            routing: InferenceRequest(requestId: id, capability: endpoint.capability ?? .custom("unknown")),
            headers: request.headers, receivedAt: received)
        var ran = 0
        var resumable = false
        var deadline = received + settings.requestTimeout
        let body: ByteBuffer
        do {
            let headers = try FederationHeaders(request.headers)
            if let timeout = headers.timeout, timeout < settings.requestTimeout {
                deadline = received + timeout
            }
            body = try await request.collectBody(limit: settings.maxBodyBytes)
            let facts = try RequestBodyFacts(
                endpoint: endpoint, body: body, contentType: request.headers[.contentType])
            gatewayRequest.routing = InferenceRequest(
                requestId: id, capability: endpoint.capability ?? facts.capability ?? .generate,
                model: facts.model,
                qos: headers.qos, originRegion: headers.originRegion, affinityKey: headers.session)
            gatewayRequest.allowedRegions = headers.allowedRegions
            gatewayRequest.stream = facts.stream
            gatewayRequest.maxTokens = facts.maxTokens
            resumable =
                settings.resumeStreams && facts.stream && endpoint == .chatCompletions
                && headers.resume != false
            do {
                ran = try await chain.prepare(&gatewayRequest)
            } catch {
                ran = error.ran
                if error.error.status == .tooManyRequests { metrics.rateLimited.increment() }
                throw error.error
            }
            // After authentication: a client without a valid key learns nothing about the models.
            gatewayRequest.routing.capability = try resolveCapability(endpoint: endpoint, facts: facts)
        } catch {
            let failure = error as? OpenAIError ?? OpenAIError(.internal("\(error)"))
            return await finish(
                gatewayRequest, ran: ran, failure: failure, attempt: nil, waited: .zero, tokens: nil)
        }
        let call = Call(
            request: gatewayRequest, body: body, deadline: deadline, ran: ran, disconnect: disconnect,
            resumable: resumable)
        // A client that goes away is noticed where the gateway waits: the node connection is
        // closed (send), the relay stops (streamResponse), and the loop answers 499 to nobody.
        return await forward(call)
    }

    /// Chat and completions go to `generate`, or to `code` when the model is deployed only for
    /// code; an unknown model is a 404, a model without the endpoint's capability a 400.
    func resolveCapability(
        endpoint: GatewayEndpoint, facts: RequestBodyFacts
    ) throws(OpenAIError) -> Capability {
        let snapshot = view.currentSnapshot.snapshot
        guard let capability = endpoint.capability ?? facts.capability else {
            throw OpenAIError.invalid("You must provide a capability.", param: "capability")
        }
        guard let model = facts.model else { return capability }
        guard let metadata = snapshot.catalog.models[model] else {
            throw OpenAIError(
                status: .notFound,
                message: "The model '\(model)' does not exist in the federation; GET /v1/models lists them.",
                param: "model", code: "model_not_found")
        }
        let served = Set(
            snapshot.catalog.deployments.lazy.filter { $0.model == model }.flatMap(\.capabilities))
        if served.contains(capability) { return capability }
        if capability == .generate, served.contains(.code) { return .code }
        throw OpenAIError.invalid(
            "The model '\(model)' does not support \(endpoint.path) (it serves: "
                + (served.isEmpty ? metadata.capabilities : served.sorted()).map(\.description).joined(
                    separator: ", ")
                + ").", param: "model", code: "model_not_supported")
    }

    // MARK: - Attempts

    struct Call: Sendable {
        var request: GatewayRequest
        var body: ByteBuffer
        var deadline: ContinuousClock.Instant
        var ran: Int
        var disconnect: ClientDisconnect?
        /// Whether a stream broken off by its node may be continued on another (resume_streams,
        /// a streamed chat request, not forbidden by `X-Federation-Resume: false`).
        var resumable = false
    }

    /// The node of an attempt and what it cost.
    struct Attempt: Sendable {
        var node: NodeId
        var region: RegionId
        var number: Int
        var isProbe: Bool
        var strategy: LoadBalanceStrategy? = nil
        var score: Double? = nil
    }

    /// The last failed attempt, answered to the client when no other node can be tried.
    struct LastFailure: Sendable {
        var attempt: Attempt
        var kind: FailureKind
        /// The node's own answer (status, headers, body), when it sent one.
        var answer: (status: Int, headers: HTTPFields, body: ByteBuffer)?
    }

    func forward(_ call: Call) async -> Response {
        var lifecycle = RequestLifecycle()
        advance(&lifecycle, .startRouting)
        var tried = Set<NodeId>()
        var skipped = Set<NodeId>()
        var waited = Duration.zero
        var last: LastFailure?
        while true {
            guard ContinuousClock.now < call.deadline else {
                return await timedOut(call, lifecycle: &lifecycle, last: last, waited: waited)
            }
            let decision: RouteDecision
            do {
                decision = try route(call.request.routing, excluding: tried.union(skipped))
            } catch {
                if let last {
                    return await answerLastFailure(call, last, lifecycle: &lifecycle, waited: waited)
                }
                advance(&lifecycle, .noNodes(error))
                return await finish(
                    call.request, ran: call.ran, failure: OpenAIError(error), attempt: nil, waited: waited,
                    tokens: nil)
            }
            let node = decision.target.node
            if decision.isProbe {
                guard await takeProbeSlot(node) else {
                    skipped.insert(node)
                    continue
                }
            }
            advance(&lifecycle, .nodeSelected(node))
            tried.insert(node)
            let attempt = Attempt(
                node: node, region: decision.target.region, number: lifecycle.attempts,
                isProbe: decision.isProbe, strategy: decision.strategy, score: decision.target.score)
            let result = await send(call, to: decision.target, attempt: attempt)
            waited += result.waited
            switch result.outcome {
            case .delivered(let status, let headers, let body, let tokens):
                advance(&lifecycle, .completedOK)
                return await finishSuccess(
                    call, response: (status, headers, body), attempt: attempt, waited: waited, tokens: tokens,
                    lifecycle: lifecycle)
            case .streaming(let upstream):
                advance(&lifecycle, .firstByte)
                return streamResponse(
                    call, upstream: upstream, attempt: attempt, waited: waited, lifecycle: lifecycle)
            case .passThrough(let status, let headers, let body):
                // A 4xx (other than 429) or 3xx from the node: the request itself is at fault.
                let error = FederationError.invalidInput("node \(node) answered HTTP \(status)")
                advance(&lifecycle, .fatalFailure(error))
                return await finishPassThrough(
                    call, status: status, headers: headers, body: body, attempt: attempt, waited: waited)
            case .failed(let kind, let answer):
                last = LastFailure(attempt: attempt, kind: kind, answer: answer)
                if kind == .cancelled {
                    if call.disconnect?.isGone == true { metrics.clientDisconnects.increment() }
                    advance(&lifecycle, .fatalFailure(.internal("cancelled")))
                    return await finish(
                        call.request, ran: call.ran,
                        failure: OpenAIError(status: .init(code: 499), message: "client closed request"),
                        attempt: attempt, waited: waited, tokens: nil)
                }
                if let retryAfter = kind.retryAfter {
                    load.coolDown(node, until: .now + retryAfter)
                }
                guard kind.isRetriable(afterStreamedTokens: false),
                    settings.retry.allowsRetry(afterRetries: lifecycle.attempts - 1)
                else {
                    return await answerLastFailure(call, last!, lifecycle: &lifecycle, waited: waited)
                }
                let delay = settings.retry.delay(
                    forRetry: lifecycle.attempts, retryAfter: nil, random: random)
                guard ContinuousClock.now + delay < call.deadline else {
                    return await answerLastFailure(call, last!, lifecycle: &lifecycle, waited: waited)
                }
                guard budget.withdraw() else {
                    metrics.retryBudgetExhausted.increment()
                    return await answerLastFailure(call, last!, lifecycle: &lifecycle, waited: waited)
                }
                metrics.retries.increment()
                advance(&lifecycle, .retriableFailure("\(node): \(kind)"))
                logger.debug(
                    "retrying on another node",
                    metadata: [
                        "request_id": .string(call.request.id), "node": .string(node.rawValue),
                        "failure": .string(kind.description), "attempt": .stringConvertible(attempt.number),
                    ])
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    advance(&lifecycle, .fatalFailure(.internal("cancelled")))
                    return await finish(
                        call.request, ran: call.ran,
                        failure: OpenAIError(status: .init(code: 499), message: "client closed request"),
                        attempt: attempt, waited: waited, tokens: nil)
                }
                waited += delay
                advance(&lifecycle, .retryScheduled)
            }
        }
    }

    /// Routes from the local view. Nodes cooling down after a 429 are avoided while another can serve.
    func route(
        _ request: InferenceRequest, excluding excluded: Set<NodeId>
    ) throws(FederationError) -> RouteDecision {
        let box = view.currentSnapshot
        let cooling = load.cooling()
        if !cooling.isEmpty,
            let decision = try? engine.route(
                request, in: box.snapshot, excluding: excluded.union(cooling), load: load)
        {
            return decision
        }
        return try engine.route(request, in: box.snapshot, excluding: excluded, load: load)
    }

    /// Applies `event` to the request's lifecycle. An illegal transition is a bug in the gateway:
    /// it is counted (`federation_gateway_lifecycle_violations_total`, which the tests check stays 0)
    /// and logged with the request's history, and the request goes on.
    func advance(_ lifecycle: inout RequestLifecycle, _ event: RequestEvent) {
        do {
            try lifecycle.apply(event, at: SystemClock().now())
        } catch {
            metrics.lifecycleViolations.increment()
            logger.error(
                "request lifecycle violated",
                metadata: [
                    "error": .string(error.message),
                    "history": .string(
                        lifecycle.history.map { "\($0.from)→\($0.to)" }.joined(separator: " ")),
                ])
        }
    }

    func takeProbeSlot(_ node: NodeId) async -> Bool {
        guard let probes else { return false }
        do {
            if try await probes.acquire(node: node, max: circuit.halfOpenMaxProbes, ttl: circuit.probeTimeout)
            {
                metrics.probesAcquired.increment()
                return true
            }
        } catch {
            logger.debug(
                "probe slot not taken: Redis unreachable", metadata: ["node": .string(node.rawValue)])
        }
        metrics.probesRefused.increment()
        return false
    }

    func releaseProbeSlot(_ attempt: Attempt) {
        guard attempt.isProbe, let probes else { return }
        Task { try? await probes.release(node: attempt.node) }
    }

    /// Queues the outcome of an attempt for the health service, and tells the routing engine
    /// how long the node took (`p2c_ewma`'s peak-EWMA latency).
    func report(_ attempt: Attempt, ok: Bool, status: Int?, latency: Duration, tokens: Int?) {
        engine.observe(attempt.node, latency: latency, ok: ok)
        reporter.report(
            HealthReport(
                node: attempt.node, ok: ok, latencyMs: max(0, latency.milliseconds), tokens: tokens,
                status: status,
                source: gatewayId, at: SystemClock().now().milliseconds))
    }
}

/// Request ids the gateway makes up: `gw-` + 16 hex digits of a per-process random prefix mixed
/// with a counter (cheaper than a UUID on the hot path, unique across replicas in practice).
enum RequestIds {
    private static let prefix = UInt64.random(in: 0...UInt64.max)
    private static let counter = Atomic<UInt64>(0)

    static func next() -> String {
        let n = counter.add(1, ordering: .relaxed).newValue
        var x = prefix &+ n &* 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        let hex = String(x, radix: 16)
        return "gw-" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
