import FederationCore
import Synchronization

/// What the fault injector decided for one inference request.
public enum FaultDecision: Sendable, Equatable {
    /// Serve normally.
    case proceed
    /// Exit the process (the crash fault fired).
    case crash(reason: String)
    /// Never answer; wait until the client goes away.
    case hang
    /// Answer 429 with this `Retry-After`.
    case rateLimit(retryAfterSeconds: Int)
    /// Answer with this error status.
    case error(status: Int)
}

/// The node's active faults, switchable at run time, and the seeded dice that decide each request.
public final class FaultInjector: Sendable {
    /// Counts of injected faults since the node started, shown by `GET /admin/faults`.
    public struct Counters: Sendable, Hashable, Codable {
        public var errors = 0
        public var rateLimited = 0
        public var hangs = 0
        public var stalls = 0
        public var crashes = 0

        enum CodingKeys: String, CodingKey {
            case errors
            case rateLimited = "rate_limited"
            case hangs, stalls, crashes
        }
    }

    private struct State {
        var settings: FaultSettings
        /// Inference requests accepted since the settings were last changed (for crash_after_requests).
        var requestsSinceChange = 0
        var counters = Counters()
    }

    private let state: Mutex<State>
    private let random: any RandomSource

    public init(settings: FaultSettings = FaultSettings(), random: any RandomSource) {
        self.state = Mutex(State(settings: settings))
        self.random = random
    }

    /// The active settings.
    public var settings: FaultSettings { state.withLock { $0.settings } }

    /// How many faults were injected so far.
    public var counters: Counters { state.withLock { $0.counters } }

    /// Replaces the active faults (and restarts the crash countdown).
    public func replace(with settings: FaultSettings) {
        state.withLock {
            $0.settings = settings
            $0.requestsSinceChange = 0
        }
    }

    /// Rolls the dice for one inference request. Order: crash, hang, 429, error.
    public func decide() -> FaultDecision {
        state.withLock { state in
            let settings = state.settings
            guard settings.isActive else { return .proceed }
            if let limit = settings.crashAfterRequests {
                if state.requestsSinceChange >= limit {
                    state.counters.crashes += 1
                    return .crash(reason: "crash_after_requests=\(limit) reached")
                }
                state.requestsSinceChange += 1
            }
            if settings.hangRate > 0, random.nextUnit() < settings.hangRate {
                state.counters.hangs += 1
                return .hang
            }
            if settings.rateLimitRate > 0, random.nextUnit() < settings.rateLimitRate {
                state.counters.rateLimited += 1
                return .rateLimit(retryAfterSeconds: settings.retryAfterSeconds)
            }
            if settings.errorRate > 0, random.nextUnit() < settings.errorRate {
                state.counters.errors += 1
                return .error(status: settings.errorStatus)
            }
            return .proceed
        }
    }

    /// Where a stream should stall, if the slow-stream fault is on: after `tokens` tokens, for `seconds`.
    public var stall: (afterTokens: Int, seconds: Double)? {
        state.withLock { state in
            guard let tokens = state.settings.stallAfterTokens, state.settings.stallSeconds > 0 else {
                return nil
            }
            return (tokens, state.settings.stallSeconds)
        }
    }

    /// After how many tokens a stream crashes the node, if the mid-stream crash fault is on.
    public var crashAfterTokens: Int? { state.withLock { $0.settings.crashAfterTokens } }

    /// Records a mid-stream crash.
    func recordCrash() {
        state.withLock { $0.counters.crashes += 1 }
    }

    /// Records that a stream stalled.
    func recordStall() {
        state.withLock { $0.counters.stalls += 1 }
    }

    /// Whether `/health` should report unhealthy.
    public var reportsUnhealthy: Bool { state.withLock { $0.settings.unhealthy } }
}
