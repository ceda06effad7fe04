import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The latency of each node as this process observed it, as a peak-sensitive exponentially
/// weighted moving average (Finagle's and Linkerd's "peak EWMA"): an observation above the
/// current estimate replaces it at once; one below it pulls the estimate down with weight
/// `1 − e^(−Δt/τ)`, Δt being the time since the node's previous observation; and between
/// observations the estimate read decays toward zero with the same time constant τ, so that a
/// node once seen slow is tried again after a while instead of never.
///
/// A failed attempt counts as at least ``Configuration/failurePenalty``, so a node that answers
/// errors fast does not look fast. An observation older than ``Configuration/forgetAfter`` is
/// forgotten: the node counts as never observed again (and its entry is dropped), which bounds
/// the table by the nodes seen recently.
///
/// Safe from any thread; one lock acquisition per observation and per pair of reads.
public final class PeakEWMA: Sendable {
    /// The estimator's constants.
    public struct Configuration: Sendable, Equatable {
        /// τ, the time constant of the decay (Finagle's and Linkerd's default: 10 s).
        public var decay: Duration
        /// The least latency a failed attempt counts as.
        public var failurePenalty: Duration
        /// How long an observation is remembered.
        public var forgetAfter: Duration

        public init(
            decay: Duration = .seconds(10), failurePenalty: Duration = .seconds(1),
            forgetAfter: Duration = .seconds(300)
        ) {
            self.decay = decay
            self.failurePenalty = failurePenalty
            self.forgetAfter = forgetAfter
        }
    }

    private struct Entry {
        /// The estimate in milliseconds as of `stamp`.
        var cost: Double
        var stamp: Timestamp
    }

    private struct State {
        var entries: [NodeId: Entry] = [:]
        var observationsSincePrune = 0
    }

    /// The constants in use.
    public let configuration: Configuration
    private let tauMs: Double
    private let forgetMs: Int64
    private let penaltyMs: Double
    private let state = Mutex(State())
    /// Observations between two sweeps of forgotten entries.
    static let pruneEvery = 1024

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
        tauMs = max(configuration.decay.milliseconds, 1)
        forgetMs = max(configuration.forgetAfter.wholeMilliseconds, 1)
        penaltyMs = max(configuration.failurePenalty.milliseconds, 0)
    }

    /// Records one attempt at `node` that took `latency` and succeeded or not.
    public func observe(_ node: NodeId, latency: Duration, ok: Bool, at now: Timestamp) {
        var sample = max(latency.milliseconds, 0)
        if !sample.isFinite { sample = 0 }
        if !ok { sample = max(sample, penaltyMs) }
        state.withLock { state in
            if var entry = state.entries[node], !isForgotten(entry, at: now) {
                let elapsed = Double(max(0, now.milliseconds.saturatingSubtract(entry.stamp.milliseconds)))
                let weight = exp(-elapsed / tauMs)
                if sample > entry.cost * weight {
                    entry.cost = sample
                } else {
                    entry.cost = entry.cost * weight + sample * (1 - weight)
                }
                entry.stamp = max(entry.stamp, now)
                state.entries[node] = entry
            } else {
                state.entries[node] = Entry(cost: sample, stamp: now)
            }
            state.observationsSincePrune += 1
            if state.observationsSincePrune >= Self.pruneEvery {
                state.observationsSincePrune = 0
                state.entries = state.entries.filter { !isForgotten($0.value, at: now) }
            }
        }
    }

    /// The decayed estimate of `node` at `now` in milliseconds; nil when never observed or forgotten.
    public func estimate(_ node: NodeId, at now: Timestamp) -> Double? {
        state.withLock { value(of: $0.entries[node], at: now) }
    }

    /// The estimates of two nodes under one lock acquisition (the route decision's read).
    func estimates(_ a: NodeId, _ b: NodeId, at now: Timestamp) -> (Double?, Double?) {
        state.withLock { state in
            (value(of: state.entries[a], at: now), value(of: state.entries[b], at: now))
        }
    }

    /// How many nodes are remembered.
    public var count: Int { state.withLock { $0.entries.count } }

    private func value(of entry: Entry?, at now: Timestamp) -> Double? {
        guard let entry, !isForgotten(entry, at: now) else { return nil }
        let elapsed = Double(max(0, now.milliseconds.saturatingSubtract(entry.stamp.milliseconds)))
        return entry.cost * exp(-elapsed / tauMs)
    }

    private func isForgotten(_ entry: Entry, at now: Timestamp) -> Bool {
        now.milliseconds.saturatingSubtract(entry.stamp.milliseconds) > forgetMs
    }
}
