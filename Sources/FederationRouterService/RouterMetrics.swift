import FederationCore
import FederationState
import Prometheus

/// The router's Prometheus metrics. Every series is created up front (zeros are visible before
/// the first request), so the hot path only looks up a ready counter.
final class RouterMetrics: Sendable {
    /// Outcomes of `POST /v1/route`: `routed` or a `FederationError` code.
    static let outcomes = [
        "routed", "no_capacity", "all_nodes_unhealthy", "qos_violation", "privacy_violation", "not_synced",
        "other",
    ]

    private let decisions: [LoadBalanceStrategy: [String: Counter]]
    private let panics: Counter
    private let probes: Counter
    private let decisionLatency: DurationHistogram
    private let candidateQueries: Counter
    private let policyUpdates: [String: Counter]
    let policyRepublished: Counter
    /// The view's gauges (`federation_router_view_*`, `federation_router_policy_version`).
    let view: ViewGauges

    init(registry: PrometheusCollectorRegistry) {
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "federation", subsystem: "router", metricName: metric, unitName: unit,
                helpText: help)
        }
        let decisionName = name(
            "route_decisions", "total",
            "Route queries answered, by outcome (routed or error code) and strategy.")
        var decisions: [LoadBalanceStrategy: [String: Counter]] = [:]
        for strategy in LoadBalanceStrategy.allCases {
            for outcome in Self.outcomes {
                decisions[strategy, default: [:]][outcome] = registry.makeCounter(
                    descriptor: decisionName, labels: [("outcome", outcome), ("strategy", strategy.rawValue)])
            }
        }
        self.decisions = decisions
        panics = registry.makeCounter(
            descriptor: name(
                "panic_routes", "total", "Routes chosen with unhealthy nodes back in rotation (panic)."))
        probes = registry.makeCounter(
            descriptor: name("probe_routes", "total", "Routes that chose a node whose circuit is half-open."))
        decisionLatency = registry.makeDurationHistogram(
            descriptor: name(
                "route_decision_duration", "seconds", "Time the routing engine took per decision."),
            buckets: [
                .microseconds(5), .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100),
                .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(25),
            ])
        candidateQueries = registry.makeCounter(
            descriptor: name("candidate_queries", "total", "Explain queries answered (POST /v1/candidates)."))
        let updatesName = name(
            "policy_updates", "total", "Policy writes by result: applied, rejected, failed.")
        policyUpdates = Dictionary(
            uniqueKeysWithValues: ["applied", "rejected", "failed"].map {
                ($0, registry.makeCounter(descriptor: updatesName, labels: [("result", $0)]))
            })
        policyRepublished = registry.makeCounter(
            descriptor: name(
                "policy_published_by_owner", "total",
                "Times the router published a policy because Redis had none (first start, data lost)."))
        view = ViewGauges(registry: registry, subsystem: "router")
    }

    /// Records one answered route query.
    func recordRoute(
        outcome: String, strategy: LoadBalanceStrategy, duration: Duration, panic: Bool = false,
        probe: Bool = false
    ) {
        let counters = decisions[strategy]!
        (counters[outcome] ?? counters["other"]!).increment()
        decisionLatency.record(duration)
        if panic { panics.increment() }
        if probe { probes.increment() }
    }

    func recordCandidatesQuery() { candidateQueries.increment() }

    /// `applied`, `rejected` (invalid input) or `failed` (Redis).
    func recordPolicyUpdate(_ result: String) { policyUpdates[result]?.increment() }
}
