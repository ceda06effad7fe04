import FederationCore
import FederationState
import Logging

/// What an active probe of `GET {endpoint}/health` found.
enum ProbeOutcome: Sendable, Equatable {
    /// 2xx and not `"status":"unhealthy"`; gauges when the body reported them.
    case success(latency: Duration, queueDepth: Int?, gpuUtilization: Double?)
    /// Anything else; `kind` is the metric label (`http_error`, `unhealthy`, `timeout`,
    /// `connection_error`).
    case failure(kind: String, reason: String, queueDepth: Int?, gpuUtilization: Double?)
}

/// What happened to a health report.
enum ReportOutcome: String, Sendable {
    /// Applied to the node's health and circuit.
    case applied
    /// The node is not in the catalog: ignored.
    case unknownNode = "unknown_node"
    /// A failure the node is not to blame for (4xx other than 408/429): ignored.
    case clientError = "client_error"
    /// This instance is a standby: ignored (the leader applies it).
    case notLeader = "not_leader"
}

/// The one owner of every tracker and circuit record (DESIGN §2: the single writer). Probes,
/// reports, operator overrides and the timer all pass through this actor; the writer service
/// drains the writes it owes. Only the leader applies anything.
actor HealthOwner {
    private var ledger: HealthLedger
    private let metrics: HealthMetrics
    private let logger: Logger
    let clock: any FederationClock
    /// Whether this instance leads (probes, applies, writes).
    private(set) var isLeader = false
    /// Whether the lease was confirmed recently enough to write (false while Redis is away).
    private(set) var mayWrite = false
    /// Wakes the writer when a state changed (writes due at once) and on every tick.
    nonisolated let wakeups: AsyncStream<Void>
    private nonisolated let wake: AsyncStream<Void>.Continuation
    /// Who holds the leader lease, as last seen (nil: unknown or no lease).
    private(set) var leaderId: String?

    init(ledger: HealthLedger, metrics: HealthMetrics, logger: Logger, clock: any FederationClock) {
        self.ledger = ledger
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Takes over: continues from the stored records, then leads.
    func becomeLeader(restoring table: HealthTable) {
        ledger.restore(table, at: clock.now())
        isLeader = true
        mayWrite = true
        metrics.leader.set(to: 1.0)
        updateGauge()
        logger.notice(
            "leading: state restored from Redis",
            metadata: ["nodes": "\(table.health.count)", "circuits": "\(table.circuits.count)"])
        wake.yield()
    }

    /// Wakes the writer (its ticker calls this).
    nonisolated func wakeUp() { wake.yield() }

    /// Notes who holds the lease.
    func setLeaderId(_ id: String?) { leaderId = id }

    /// Steps down (another instance holds the lease): stops applying and writing.
    func becomeStandby() {
        guard isLeader else { return }
        isLeader = false
        mayWrite = false
        metrics.leader.set(to: 0.0)
        logger.warning("lost the leader lease: standing by")
    }

    /// Allows or stops writes (the lease could or could not be confirmed).
    func setMayWrite(_ allowed: Bool) {
        if allowed && !mayWrite && isLeader { wake.yield() }
        mayWrite = allowed && isLeader
    }

    /// A write was refused because the lease is not held: stops writing at once (the lease loop
    /// then stands by or re-acquires).
    func writeRefused(_ error: LeadershipLost) {
        guard mayWrite else { return }
        mayWrite = false
        logger.warning("health writes suspended: \(error)")
    }

    /// Redis came back after failures: everything is written again (it may have lost its data).
    func redisRecovered() {
        ledger.forgetStored()
        wake.yield()
    }

    /// New probe targets from the catalog.
    func setCatalog(_ nodes: [NodeId: String]) {
        let (added, removed) = ledger.setCatalog(nodes)
        if !added.isEmpty || !removed.isEmpty {
            logger.info("catalog changed", metadata: ["added": "\(added)", "removed": "\(removed)"])
            wake.yield()
        }
    }

    /// The nodes to probe now (none on a standby).
    func probeTargets() -> [(node: NodeId, endpoint: String)] {
        guard isLeader else { return [] }
        return ledger.endpoints.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Applies a probe's outcome.
    func apply(probe outcome: ProbeOutcome, node: NodeId) {
        guard isLeader, ledger.knows(node) else { return }
        let now = clock.now()
        switch outcome {
        case .success(let latency, let queueDepth, let gpu):
            metrics.probe("success")
            note(
                ledger.recordSuccess(
                    node, latency: latency, queueDepth: queueDepth, gpuUtilization: gpu, observedAt: now,
                    now: now, fromProbe: true), source: "probe")
        case .failure(let kind, let reason, let queueDepth, let gpu):
            metrics.probe(kind)
            logger.debug("probe failed", metadata: ["node": "\(node)", "reason": "\(reason)"])
            note(
                ledger.recordFailure(
                    node, reason: "probe: \(reason)", queueDepth: queueDepth, gpuUtilization: gpu,
                    observedAt: now, now: now), source: "probe")
        }
    }

    /// Applies a passive report (gateway, node, operator).
    @discardableResult
    func apply(report: HealthReport) -> ReportOutcome {
        let outcome = applyReport(report)
        metrics.report(outcome.rawValue)
        return outcome
    }

    private func applyReport(_ report: HealthReport) -> ReportOutcome {
        guard isLeader else { return .notLeader }
        guard ledger.knows(report.node) else { return .unknownNode }
        let now = clock.now()
        // The reporter's clock is trusted only into the past: a future `at` would pin last_check.
        let observed = report.at.map { min(Timestamp(milliseconds: $0), now) } ?? now
        let source = report.source ?? "report"
        if report.ok {
            note(
                ledger.recordSuccess(
                    report.node, latency: report.latencyMs.map { .milliseconds($0) }, tokens: report.tokens,
                    queueDepth: report.queueDepth, gpuUtilization: report.gpuUtilization,
                    observedAt: observed, now: now),
                source: source)
            return .applied
        }
        if let status = report.status, (400...499).contains(status), status != 408, status != 429 {
            return .clientError
        }
        let reason = "\(source): " + (report.status.map { "HTTP \($0)" } ?? "request failed")
        note(
            ledger.recordFailure(
                report.node, reason: reason, queueDepth: report.queueDepth,
                gpuUtilization: report.gpuUtilization,
                observedAt: observed, now: now),
            source: source)
        return .applied
    }

    /// Operator override: opens the circuit until `deadline`. nil when not leading or unknown.
    func forceOpen(_ node: NodeId, until deadline: Timestamp) -> CircuitRecord? {
        guard isLeader, ledger.knows(node) else { return nil }
        note(ledger.forceOpen(node, until: deadline, now: clock.now()), source: "operator")
        return ledger.circuit(of: node)
    }

    /// Operator override: closes the circuit. nil when not leading or unknown.
    func close(_ node: NodeId) -> CircuitRecord? {
        guard isLeader, ledger.knows(node) else { return nil }
        note(ledger.close(node), source: "operator")
        return ledger.circuit(of: node)
    }

    /// Applies the passage of time and returns the writes due now (none unless writing is
    /// allowed); `flush` ignores the throttle (the last writes at shutdown).
    func dueWrites(flush: Bool = false) -> [LedgerWrite] {
        guard isLeader else { return [] }
        let now = clock.now()
        for change in ledger.advanceTime(to: now) { note(change, source: "timer") }
        return mayWrite ? ledger.dueWrites(at: now, flush: flush) : []
    }

    /// Notes that a write reached Redis.
    func markWritten(_ write: LedgerWrite) {
        ledger.markWritten(write, at: clock.now())
    }

    /// Current records, for the HTTP API (leader only; a standby reads Redis).
    func table() -> (health: [NodeHealth], circuits: [CircuitRecord])? {
        guard isLeader else { return nil }
        let now = clock.now()
        let nodes = Set(ledger.trackers.keys).union(ledger.endpoints.keys).sorted()
        return (
            nodes.map { ledger.trackers[$0]?.snapshot(at: now) ?? NodeHealth(node: $0) },
            nodes.map { ledger.circuit(of: $0) }
        )
    }

    private func note(_ change: LedgerChange, source: String) {
        let metadata: Logger.Metadata = ["node": "\(change.node)", "source": "\(source)"]
        if let health = change.health {
            metrics.transition(kind: "health", to: health.to.rawValue)
            logger.info(
                "health \(health.from) → \(health.to)",
                metadata: metadata.merging(
                    ["reason": "\(ledger.trackers[change.node]?.reason ?? "")"]) { $1 })
        }
        if let circuit = change.circuit {
            metrics.transition(kind: "circuit", to: circuit.to.rawValue)
            logger.notice("circuit \(circuit.from) → \(circuit.to)", metadata: metadata)
            updateGauge()
        }
        if change.health != nil || change.circuit != nil { wake.yield() }
    }

    private func updateGauge() {
        metrics.circuitsOpen.set(to: Double(ledger.circuits.values.filter { $0.state != .closed }.count))
    }
}
