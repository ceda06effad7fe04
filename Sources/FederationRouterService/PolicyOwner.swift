import FederationCore
import FederationHTTP
import FederationRedis
import FederationState
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The single writer of `{ns}:policy` (DESIGN §2): publishes the configured document when Redis
/// has none, keeps checking that Redis still has one (a Redis restarted without persistence
/// loses it: the last document this router knew is published again), and applies operators'
/// replacements and patches one at a time. Every write bumps the version and publishes an event
/// (`RedisPolicyStore.putPolicy`); the router's own view follows through that event like every
/// gateway's.
final class PolicyOwner: Service, Sendable {
    let store: any PolicyStore
    let view: FederationView
    /// Published at first start (from the configuration file).
    let initial: RoutingPolicyDocument
    let tuning: RouterTuning
    let metrics: RouterMetrics
    let logger: Logger
    private let lock = AsyncSerialLock()
    /// The last document stored by this router or found in Redis: what a Redis that lost its
    /// data gets back.
    private let lastKnown = Mutex<RoutingPolicyDocument?>(nil)
    private let lastProblem = Mutex<String?>(nil)

    init(
        store: any PolicyStore, view: FederationView, initial: RoutingPolicyDocument, tuning: RouterTuning,
        metrics: RouterMetrics, logger: Logger
    ) {
        self.store = store
        self.view = view
        self.initial = initial
        self.tuning = tuning
        self.metrics = metrics
        self.logger = logger
    }

    /// Makes sure a policy is published, then re-checks every `policyCheckInterval` until the
    /// service group shuts down. Redis being away is never fatal: it retries with backoff.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.checkLoop() }
        } catch is CancellationError {
            // shut down
        }
    }

    private func checkLoop() async throws {
        var backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(2))
        while !Task.isCancelled {
            let delay: Duration
            do {
                try await ensurePublished()
                lastProblem.withLock { $0 = nil }
                backoff.reset()
                delay = tuning.policyCheckInterval
            } catch is CancellationError {
                return
            } catch {
                report(error)
                delay = backoff.nextDelay()
            }
            try await Task.sleep(for: delay)
        }
    }

    /// Logs a failed check once per distinct problem (Redis down would otherwise log every retry).
    private func report(_ error: any Error) {
        let text = "\(error)"
        let isNew = lastProblem.withLock { last in
            defer { last = text }
            return last != text
        }
        if isNew {
            logger.warning("could not check the stored policy; retrying", metadata: ["error": .string(text)])
        }
    }

    /// Publishes a policy when Redis has none; returns the stored version.
    @discardableResult
    func ensurePublished() async throws -> UInt64 {
        let (version, republished) = try await lock.withLock { () async throws -> (UInt64, Bool?) in
            let stored = try await store.loadPolicy()
            if stored.version > 0 {
                lastKnown.withLock { $0 = stored.value }
                return (stored.version, nil)
            }
            let known = lastKnown.withLock { $0 }
            var document = known ?? initial
            document.version = try await store.putPolicy(document)
            lastKnown.withLock { $0 = document }
            return (document.version, known != nil)
        }
        if let republished {
            metrics.policyRepublished.increment()
            logger.notice(
                republished
                    ? "Redis had lost the policy (restart without persistence?); published the last one again"
                    : "no policy in Redis; published the configured one",
                metadata: ["version": .stringConvertible(version)])
            view.requestSync()
        }
        return version
    }

    /// What a policy write answers.
    struct WriteResult: Encodable, Sendable {
        var version: UInt64
        var document: RoutingPolicyDocument
        /// Whether the router's own view decides with the new version already.
        var applied: Bool
    }

    /// Replaces the whole document. `ifMatch`: the version the caller read (412 when it moved).
    func replace(with document: RoutingPolicyDocument, ifMatch: UInt64?) async throws -> WriteResult {
        try await write(ifMatch: ifMatch, needsCurrent: ifMatch != nil) { _ in document }
    }

    /// Applies a JSON merge patch to the stored document.
    func patch(with data: Data, ifMatch: UInt64?) async throws -> WriteResult {
        try await write(ifMatch: ifMatch, needsCurrent: true) { current in
            try PolicyDocumentInput.patched(current, with: data)
        }
    }

    private func write(
        ifMatch: UInt64?, needsCurrent: Bool,
        _ change: @Sendable (RoutingPolicyDocument) throws -> RoutingPolicyDocument
    ) async throws -> WriteResult {
        let document = try await lock.withLock { () async throws -> RoutingPolicyDocument in
            var base = lastKnown.withLock { $0 } ?? initial
            if needsCurrent {
                let current = try await storeCall("read") { try await self.store.loadPolicy() }
                if let ifMatch, ifMatch != current.version {
                    throw OpenAIError(
                        status: .preconditionFailed,
                        message:
                            "The policy is at version \(current.version), not \(ifMatch) (If-Match); "
                            + "GET /v1/policy and apply your change to the current document.",
                        type: "invalid_request_error", code: "version_mismatch")
                }
                if current.version > 0 { base = current.value }
            }
            var next = try change(base)
            next.version = try await storeCall("write") { try await self.store.putPolicy(next) }
            lastKnown.withLock { $0 = next }
            return next
        }
        logger.notice(
            "policy updated",
            metadata: [
                "version": .stringConvertible(document.version),
                "strategy": .stringConvertible(document.strategy),
            ])
        view.requestSync()
        let version = document.version
        let applied = await view.waitUntil(timeout: tuning.policyApplyTimeout) {
            $0.versions.policy >= version
        }
        return WriteResult(version: version, document: document, applied: applied)
    }

    /// Runs a store call, turning failures into 503 (Redis) or 409 (a stored document this
    /// router cannot read).
    private func storeCall<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RedisError {
            throw OpenAIError(
                status: .serviceUnavailable,
                message:
                    "Could not \(what) the policy in Redis (\(error)); "
                    + (what == "write"
                        ? "it may or may not be stored: GET /v1/policy shows the version in effect."
                        : "nothing was changed."),
                type: "server_error", code: "policy_store_unavailable")
        } catch let error as FederationError {
            throw OpenAIError(
                status: .conflict,
                message: "\(error.message); replace the whole document with PUT /v1/policy.",
                type: "invalid_request_error", code: "stored_policy_invalid")
        }
    }
}
