import FederationCore
import FederationState
import Foundation
import Synchronization

/// This replica's counters and drain flag, shared by the request path, the heartbeat and `/readyz`.
final class GatewayState: Sendable {
    private let stats = Mutex(StatsAccumulator())
    private let drainingFlag = Atomic<Bool>(false)
    private let requestsInProgress = Atomic<Int>(0)
    let metrics: GatewayMetrics

    init(metrics: GatewayMetrics) { self.metrics = metrics }

    var isDraining: Bool { drainingFlag.load(ordering: .relaxed) }

    func startDraining() {
        drainingFlag.store(true, ordering: .relaxed)
        metrics.draining.set(1.0)
    }

    /// Client requests in progress (streams included).
    var inProgress: Int { requestsInProgress.load(ordering: .relaxed) }

    func begin() {
        stats.withLock { $0.begin() }
        let now = requestsInProgress.wrappingAdd(1, ordering: .relaxed).newValue
        metrics.inFlight.set(Double(now))
    }

    func finish(success: Bool, latency: Duration, tokens: Int?) {
        stats.withLock { $0.finish(success: success, latency: latency, tokens: tokens) }
        let now = requestsInProgress.wrappingSubtract(1, ordering: .relaxed).newValue
        metrics.inFlight.set(Double(max(0, now)))
    }

    func streamStarted() {
        let active = stats.withLock { stats -> Int in
            stats.streamStarted()
            return stats.activeStreams
        }
        metrics.activeStreams.set(Double(active))
    }

    func streamEnded() {
        let active = stats.withLock { stats -> Int in
            stats.streamEnded()
            return stats.activeStreams
        }
        metrics.activeStreams.set(Double(active))
    }

    var snapshot: GatewayStats { stats.withLock { $0.stats } }
}

/// What `/readyz` of a gateway answers: ready once the view has loaded the federation and a policy,
/// and not draining. A Redis outage is reported but keeps the replica ready — it keeps routing from
/// its last view, which is the point of having one.
struct GatewayReadiness: ReadinessReport {
    var ready: Bool
    var checks: [String: String]
    var view: ViewReadiness.ViewDetails

    init(view: FederationView, staleAfter: Duration, draining: Bool) {
        let base = ViewReadiness(view: view, staleAfter: staleAfter)
        var checks = base.checks
        let blocking = ["view", "policy"].allSatisfy { checks[$0] == "ok" }
        if checks["redis"] != "ok", let detail = checks["redis"] {
            checks["redis"] = "degraded: " + detail
        }
        checks["draining"] = draining ? "shutting down: not accepting new requests" : "ok"
        self.checks = checks
        self.view = base.view
        self.ready = blocking && !draining
    }
}
