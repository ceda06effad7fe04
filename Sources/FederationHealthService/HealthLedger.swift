import FederationCore
import FederationState

/// What changed for one node after an observation: the health and circuit transitions (stored
/// states), nil when the state stayed the same.
struct LedgerChange: Sendable, Equatable {
    var node: NodeId
    var health: HealthTransition?
    var circuit: CircuitTransition?
}

/// A write the health service owes Redis.
enum LedgerWrite: Sendable, Equatable {
    /// Store this health record.
    case health(NodeHealth)
    /// Store this circuit record; `resetProbeSlots` when it just closed or (re-)opened.
    case circuit(CircuitRecord, resetProbeSlots: Bool)
    /// Forget the node's records (it left the catalog).
    case remove(NodeId)
}

/// The health service's whole state as a value with no I/O: one `HealthTracker` and one
/// `CircuitRecord` per catalog node, what was last stored, and which writes are due. The
/// `HealthOwner` actor owns one; tests drive it with explicit timestamps.
///
/// Write rule: a record is written when it differs from what was last stored — at once when
/// its *state* changed (or it was never stored), else at most once per `writeInterval` per node
/// (percentiles and counters change on every probe).
struct HealthLedger: Sendable {
    let thresholds: HealthConfiguration
    let breaker: CircuitBreakerConfiguration
    let writeInterval: Duration
    private(set) var trackers: [NodeId: HealthTracker] = [:]
    private(set) var circuits: [NodeId: CircuitRecord] = [:]
    /// Probe targets: node → endpoint (from the catalog).
    private(set) var endpoints: [NodeId: String] = [:]
    /// Whether a catalog has been loaded (before that, every node is unknown).
    private(set) var catalogLoaded = false
    private var storedHealth: [NodeId: (record: NodeHealth, at: Timestamp)] = [:]
    private var storedCircuits: [NodeId: (record: CircuitRecord, at: Timestamp)] = [:]
    private var pendingRemovals: Set<NodeId> = []

    init(thresholds: HealthConfiguration, breaker: CircuitBreakerConfiguration, writeInterval: Duration) {
        self.thresholds = thresholds
        self.breaker = breaker
        self.writeInterval = writeInterval
    }

    /// Continues from stored records (service start, standby takeover): trackers restored with
    /// `init(restoring:)`, circuits as stored; what is stored counts as written.
    mutating func restore(_ table: HealthTable, at now: Timestamp) {
        trackers = [:]
        circuits = [:]
        storedHealth = [:]
        storedCircuits = [:]
        for (node, record) in table.health {
            trackers[node] = HealthTracker(restoring: record, configuration: thresholds)
            storedHealth[node] = (record, now)
        }
        for (node, record) in table.circuits {
            circuits[node] = record
            storedCircuits[node] = (record, now)
        }
        pendingRemovals = []
    }

    /// Forgets what was stored (Redis lost its data, or writes must be redone): every record is
    /// due again.
    mutating func forgetStored() {
        storedHealth = [:]
        storedCircuits = [:]
    }

    /// Sets the probe targets from the catalog. Nodes that are not in it — gone since the previous
    /// catalog, or only in records restored from Redis (a node deregistered while no health service
    /// ran) — are forgotten and their records removed from Redis.
    /// - Returns: the nodes added and removed.
    @discardableResult
    mutating func setCatalog(_ nodes: [NodeId: String]) -> (added: [NodeId], removed: [NodeId]) {
        let known = Set(endpoints.keys).union(trackers.keys).union(circuits.keys)
        let removed = known.filter { nodes[$0] == nil }.sorted()
        let added = nodes.keys.filter { endpoints[$0] == nil }.sorted()
        endpoints = nodes
        catalogLoaded = true
        for node in removed {
            trackers[node] = nil
            circuits[node] = nil
            storedHealth[node] = nil
            storedCircuits[node] = nil
            pendingRemovals.insert(node)
        }
        for node in added where trackers[node] == nil {
            trackers[node] = HealthTracker(node: node, configuration: thresholds)
            pendingRemovals.remove(node)
        }
        return (added, removed)
    }

    /// Whether observations of `node` are applied (it is in the catalog).
    func knows(_ node: NodeId) -> Bool { endpoints[node] != nil }

    /// Applies a success (probe or report) to the node's tracker and circuit.
    ///
    /// A probe success (`fromProbe`) says the node's `/health` answers, not that its requests
    /// succeed: while the circuit is closed it leaves the count of consecutive failures alone, so
    /// a node that fails every inference request still trips its breaker however often its
    /// `/health` is probed. It still counts towards closing a half-open circuit.
    mutating func recordSuccess(
        _ node: NodeId, latency: Duration?, tokens: Int? = nil, queueDepth: Int? = nil,
        gpuUtilization: Double? = nil, observedAt: Timestamp, now: Timestamp, fromProbe: Bool = false
    ) -> LedgerChange {
        var tracker = trackers[node] ?? HealthTracker(node: node, configuration: thresholds)
        if queueDepth != nil || gpuUtilization != nil {
            tracker.recordProbe(queueDepth: queueDepth, gpuUtilization: gpuUtilization, at: observedAt)
        }
        // Probe round trips and request latencies go to separate windows (see HealthTracker);
        // a success without a latency adds no sample.
        let health = tracker.recordSuccess(
            latency: latency, tokens: tokens, at: observedAt, source: fromProbe ? .probe : .inference)
        trackers[node] = tracker
        let breaker = self.breaker
        return LedgerChange(
            node: node, health: health,
            circuit: updateCircuit(node) { record in
                if fromProbe, record.effectiveState(at: now) == .closed { return record }
                return CircuitBreaker.recordSuccess(record, at: now, config: breaker)
            })
    }

    /// Applies a failure (probe or report) to the node's tracker and circuit.
    mutating func recordFailure(
        _ node: NodeId, reason: String, queueDepth: Int? = nil, gpuUtilization: Double? = nil,
        observedAt: Timestamp, now: Timestamp
    ) -> LedgerChange {
        var tracker = trackers[node] ?? HealthTracker(node: node, configuration: thresholds)
        if queueDepth != nil || gpuUtilization != nil {
            tracker.recordProbe(queueDepth: queueDepth, gpuUtilization: gpuUtilization, at: observedAt)
        }
        let health = tracker.recordFailure(at: observedAt, reason: reason)
        trackers[node] = tracker
        let breaker = self.breaker
        return LedgerChange(
            node: node, health: health,
            circuit: updateCircuit(node) { CircuitBreaker.recordFailure($0, at: now, config: breaker) })
    }

    /// Operator override: opens the circuit until `deadline` (never shortening a later one).
    mutating func forceOpen(_ node: NodeId, until deadline: Timestamp, now: Timestamp) -> LedgerChange {
        LedgerChange(
            node: node,
            circuit: updateCircuit(node) { CircuitBreaker.forceOpen($0, until: deadline, at: now) })
    }

    /// Operator override: closes the circuit and forgets its trips.
    mutating func close(_ node: NodeId) -> LedgerChange {
        LedgerChange(node: node, circuit: updateCircuit(node) { CircuitBreaker.reset($0) })
    }

    /// Writes down what time alone changed: open circuits whose deadline has passed become
    /// half-open (with an empty probe round).
    mutating func advanceTime(to now: Timestamp) -> [LedgerChange] {
        var changes: [LedgerChange] = []
        for (node, record) in circuits
        where record.state == .open && record.effectiveState(at: now) == .halfOpen {
            let change = updateCircuit(node) { r in
                var r = r
                r.state = .halfOpen
                r.halfOpenSuccesses = 0
                return r
            }
            changes.append(LedgerChange(node: node, circuit: change))
        }
        return changes.sorted { $0.node < $1.node }
    }

    /// The node's circuit (a closed one when never tripped).
    func circuit(of node: NodeId) -> CircuitRecord { circuits[node] ?? CircuitRecord(node: node) }

    private mutating func updateCircuit(
        _ node: NodeId, _ apply: (CircuitRecord) -> CircuitRecord
    ) -> CircuitTransition? {
        let before = circuit(of: node)
        let after = apply(before)
        circuits[node] = after
        return before.state == after.state ? nil : CircuitTransition(from: before.state, to: after.state)
    }
}

extension HealthLedger {
    /// The writes due at `now`, removals first; `flush` ignores the throttle (at shutdown).
    func dueWrites(at now: Timestamp, flush: Bool = false) -> [LedgerWrite] {
        var writes: [LedgerWrite] = pendingRemovals.sorted().map { .remove($0) }
        for node in trackers.keys.sorted() {
            guard let snapshot = trackers[node]?.snapshot(at: now) else { continue }
            let stored = storedHealth[node]
            if let stored, stored.record == snapshot { continue }
            if !flush, let stored, stored.record.state == snapshot.state,
                now < stored.at.advanced(by: writeInterval)
            {
                continue
            }
            writes.append(.health(snapshot))
        }
        for node in circuits.keys.sorted() {
            let record = circuit(of: node)
            // Never stored counts as closed: readers treat a missing circuit as closed.
            let stored = storedCircuits[node]?.record ?? CircuitRecord(node: node)
            if stored == record { continue }
            let stateChanged = stored.state != record.state
            if !flush, !stateChanged, let at = storedCircuits[node]?.at, now < at.advanced(by: writeInterval)
            {
                continue
            }
            writes.append(.circuit(record, resetProbeSlots: stateChanged && record.state != .halfOpen))
        }
        return writes
    }

    /// Notes that `write` reached Redis at `now`.
    mutating func markWritten(_ write: LedgerWrite, at now: Timestamp) {
        switch write {
        case .health(let record): storedHealth[record.node] = (record, now)
        case .circuit(let record, _): storedCircuits[record.node] = (record, now)
        case .remove(let node): pendingRemovals.remove(node)
        }
    }
}
