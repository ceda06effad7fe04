import FederationCore
import FederationState
import Logging
import ServiceLifecycle
import Synchronization

/// This replica's live in-flight requests per node, plus the other replicas' last published
/// counts: the load least-connections and bounded-load hashing decide with. The request path only
/// touches the in-memory counts; ``run()`` flushes this replica's changes as deltas and reads the
/// others' every `interval` (≤ 100 ms), in two round trips whatever the traffic.
///
/// Also remembers nodes that answered 429 with `Retry-After`: they are avoided until then, unless
/// no other node can take the request.
final class ReplicaLoad: LoadEstimator, Service, Sendable {
    private struct State {
        var local: [NodeId: Int] = [:]
        /// What this replica last wrote to its hash, per node.
        var published: [NodeId: Int] = [:]
        /// Every live replica's published counts summed, minus this replica's.
        var others: [NodeId: Int] = [:]
        var coolingUntil: [NodeId: ContinuousClock.Instant] = [:]
        /// False once the replica drains: its hash is removed and must not be written again.
        var publishing = true
    }
    private let state = Mutex(State())
    let gatewayId: String
    let store: any GatewayStore
    let interval: Duration
    let logger: Logger

    init(gatewayId: String, store: any GatewayStore, interval: Duration, logger: Logger) {
        self.gatewayId = gatewayId
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    func inFlight(_ node: NodeId) -> Int {
        state.withLock { ($0.local[node] ?? 0) + ($0.others[node] ?? 0) }
    }

    /// This replica's own in-flight requests at `node`.
    func localInFlight(_ node: NodeId) -> Int { state.withLock { $0.local[node] ?? 0 } }

    /// Every in-flight request of this replica.
    var localTotal: Int { state.withLock { $0.local.values.reduce(0, +) } }

    func begin(_ node: NodeId) { state.withLock { $0.local[node, default: 0] += 1 } }

    func end(_ node: NodeId) {
        state.withLock { state in
            let value = (state.local[node] ?? 1) - 1
            state.local[node] = value <= 0 ? nil : value
        }
    }

    /// Avoid `node` until `until` (it answered 429 with Retry-After).
    func coolDown(_ node: NodeId, until: ContinuousClock.Instant) {
        state.withLock { state in
            if let current = state.coolingUntil[node], current >= until { return }
            state.coolingUntil[node] = until
        }
    }

    /// Nodes cooling down now.
    func cooling(now: ContinuousClock.Instant = .now) -> Set<NodeId> {
        state.withLock { state in
            if state.coolingUntil.isEmpty { return [] }
            state.coolingUntil = state.coolingUntil.filter { $0.value > now }
            return Set(state.coolingUntil.keys)
        }
    }

    func run() async throws {
        try await RepeatingTask(
            interval: interval, logger: logger,
            failure:
                "cannot flush in-flight counts; routing uses this replica's own counts and the last known",
            recovery: "in-flight counts flushed again"
        ) { [self] in try await syncOnce() }.run()
        try? await store.remove(gateway: gatewayId)
    }

    /// Stops writing this replica's counts (it drains; its hash is being removed).
    func stopPublishing() { state.withLock { $0.publishing = false } }

    /// Flushes this replica's changes, then reads every replica's counts.
    func syncOnce() async throws {
        let deltas = state.withLock { state -> [NodeId: Int] in
            guard state.publishing else { return [:] }
            var deltas: [NodeId: Int] = [:]
            for node in Set(state.local.keys).union(state.published.keys) {
                let delta = (state.local[node] ?? 0) - (state.published[node] ?? 0)
                if delta != 0 { deltas[node] = delta }
            }
            return deltas
        }
        if !deltas.isEmpty {
            try await store.adjustInFlight(gateway: gatewayId, deltas: deltas)
            state.withLock { state in
                for (node, delta) in deltas {
                    let value = (state.published[node] ?? 0) + delta
                    state.published[node] = value == 0 ? nil : value
                }
            }
        }
        let cluster = try await store.clusterInFlight(now: SystemClock().now())
        state.withLock { state in
            var others: [NodeId: Int] = [:]
            for (node, count) in cluster {
                let value = count - (state.published[node] ?? 0)
                if value > 0 { others[node] = value }
            }
            state.others = others
        }
    }
}
