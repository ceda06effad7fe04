import FederationCore
import FederationHTTP
import HTTPTypes

/// One client request as the gateway's middleware sees it before it is routed: what was asked
/// (endpoint, routing description) and who asked (tenant, headers). A middleware may change the
/// routing description — e.g. raise the privacy floor to the tenant's, narrow the regions — or
/// reject the request by throwing an ``OpenAIError`` (401, 429 …), which the client receives as is.
public struct GatewayRequest: Sendable {
    /// The request id (the client's `X-Request-Id` when valid, else one the gateway made up).
    public var id: String
    /// The path the client called, e.g. `/v1/chat/completions`.
    public var path: String
    /// What routing needs: capability, model, QoS, tenant, origin region, affinity key.
    public var routing: InferenceRequest
    /// The only regions the request may be served in; nil = any. Middleware may narrow it (it is
    /// the routing description's, so routing sees what the middleware left).
    public var allowedRegions: Set<RegionId>? {
        get { routing.allowedRegions }
        set { routing.allowedRegions = newValue }
    }
    /// The client's headers (the body travels separately).
    public var headers: HTTPFields
    /// Whether the client asked for a streamed answer.
    public var stream: Bool
    /// Tokens the request may produce at most, when the body says (`max_tokens`); rate limits
    /// reserve them before routing and settle with the real count afterwards.
    public var maxTokens: Int?
    /// When the gateway received the request (its overhead and latency are measured from here).
    public let receivedAt: ContinuousClock.Instant

    public init(
        id: String, path: String, routing: InferenceRequest, allowedRegions: Set<RegionId>? = nil,
        headers: HTTPFields = [:], stream: Bool = false, maxTokens: Int? = nil,
        receivedAt: ContinuousClock.Instant = .now
    ) {
        self.id = id
        self.path = path
        self.routing = routing
        if let allowedRegions { self.routing.allowedRegions = allowedRegions }
        self.headers = headers
        self.stream = stream
        self.maxTokens = maxTokens
        self.receivedAt = receivedAt
    }

    /// The tenant, once authentication set it.
    public var tenant: String? { routing.tenantId }
}

/// How a request ended, for the middleware's `afterInference` and `onError` hooks.
public struct GatewayOutcome: Sendable, Equatable {
    /// The HTTP status the client received.
    public var status: Int
    /// The node that served the last attempt, if any was chosen.
    public var node: NodeId?
    /// That node's region.
    public var region: RegionId?
    /// Attempts made (nodes tried); 0 when the request was never routed.
    public var attempts: Int
    /// From receipt to the end of the answer.
    public var latency: Duration
    /// The part of `latency` spent in the gateway itself (not waiting for nodes).
    public var overhead: Duration
    /// Prompt + completion tokens, when the node reported them (usage) or the relay counted them.
    public var tokens: Int?
    /// Whether the answer was streamed.
    public var streamed: Bool
    /// The OpenAI error code when the request failed (`rate_limit_exceeded`, `no_capacity` …).
    public var errorCode: String?
    /// The strategy that chose the last attempt's node, when one was chosen.
    public var strategy: LoadBalanceStrategy?
    /// That node's composite routing score (0…1).
    public var score: Double?

    public init(
        status: Int, node: NodeId? = nil, region: RegionId? = nil, attempts: Int = 0,
        latency: Duration = .zero,
        overhead: Duration = .zero, tokens: Int? = nil, streamed: Bool = false, errorCode: String? = nil,
        strategy: LoadBalanceStrategy? = nil, score: Double? = nil
    ) {
        self.status = status
        self.node = node
        self.region = region
        self.attempts = attempts
        self.latency = latency
        self.overhead = overhead
        self.tokens = tokens
        self.streamed = streamed
        self.errorCode = errorCode
        self.strategy = strategy
        self.score = score
    }

    /// Whether the client got a successful answer.
    public var succeeded: Bool { (200..<300).contains(status) && errorCode == nil }
}

/// A hook into every client request: before routing (may change or reject the request), after
/// inference (the answer is complete) and on error (the request failed, also when an earlier
/// middleware rejected it). Built-ins: request id, API keys/tenants, rate limits, the request log.
/// Hooks run on the request path: keep them cheap and never wait on Redis there.
public protocol GatewayMiddleware: Sendable {
    /// A short name for logs and metrics.
    var name: String { get }
    /// Runs before the request is routed, in the configured order; throwing an ``OpenAIError``
    /// rejects the request with that error (the later middleware's `beforeRouting` does not run).
    func beforeRouting(_ request: inout GatewayRequest) async throws
    /// Runs once the answer reached the client in full (streams: after the last frame).
    func afterInference(_ request: GatewayRequest, outcome: GatewayOutcome) async
    /// Runs when the request failed (the client got an error, or the stream broke off).
    func onError(_ request: GatewayRequest, error: OpenAIError, outcome: GatewayOutcome) async
}

extension GatewayMiddleware {
    public func beforeRouting(_ request: inout GatewayRequest) async throws {}
    public func afterInference(_ request: GatewayRequest, outcome: GatewayOutcome) async {}
    public func onError(_ request: GatewayRequest, error: OpenAIError, outcome: GatewayOutcome) async {}
}

/// The middleware of one gateway, in order. `beforeRouting` runs front to back and stops at the
/// first rejection; `afterInference` and `onError` run back to front over the middleware whose
/// `beforeRouting` ran (so the request log, first in the chain, sees everything last).
public struct GatewayMiddlewareChain: Sendable {
    public let middleware: [any GatewayMiddleware]

    public init(_ middleware: [any GatewayMiddleware]) {
        self.middleware = middleware
    }

    /// Runs every `beforeRouting`.
    /// - Returns: how many middleware ran (pass it to ``finish(_:ran:outcome:error:)``).
    /// - Throws: ``MiddlewareRejection`` carrying the error and how many ran, when one rejected.
    public func prepare(_ request: inout GatewayRequest) async throws(MiddlewareRejection) -> Int {
        for (index, item) in middleware.enumerated() {
            do {
                try await item.beforeRouting(&request)
            } catch let error as OpenAIError {
                throw MiddlewareRejection(error: error, ran: index + 1)
            } catch {
                throw MiddlewareRejection(
                    error: OpenAIError(.internal("middleware '\(item.name)' failed: \(error)")),
                    ran: index + 1)
            }
        }
        return middleware.count
    }

    /// Runs `afterInference` (no error) or `onError` of the first `ran` middleware, back to front.
    public func finish(
        _ request: GatewayRequest, ran: Int, outcome: GatewayOutcome, error: OpenAIError?
    ) async {
        for item in middleware.prefix(max(0, min(ran, middleware.count))).reversed() {
            if let error {
                await item.onError(request, error: error, outcome: outcome)
            } else {
                await item.afterInference(request, outcome: outcome)
            }
        }
    }
}

/// A middleware refused the request.
public struct MiddlewareRejection: Error, Sendable {
    /// What the client receives.
    public var error: OpenAIError
    /// How many middleware's `beforeRouting` ran, the rejecting one included.
    public var ran: Int
}
