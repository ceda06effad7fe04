import FederationCore
import Prometheus

/// The health service's Prometheus metrics (names start with `federation_health_`).
struct HealthMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        circuitsOpen = registry.makeGauge(
            descriptor: Self.name("circuits_open", "", "Circuits currently open or half-open."))
        leader = registry.makeGauge(
            descriptor: Self.name("leader", "", "1 while this instance holds the leader lease and writes."))
        malformedReports = registry.makeCounter(
            descriptor: Self.name("malformed_reports", "total", "Reports that were not valid JSON reports."))
        writeFailures = registry.makeCounter(
            descriptor: Self.name("write_failures", "total", "Redis writes that failed (retried later)."))
        writes = registry.makeCounter(
            descriptor: Self.name("writes", "total", "Health and circuit records written to Redis."))
        writeRefusals = registry.makeCounter(
            descriptor: Self.name(
                "write_refusals", "total", "Writes refused by the lease fence (the lease was not held)."))
        redisRecoveries = registry.makeCounter(
            descriptor: Self.name(
                "redis_recoveries", "total", "Redis outages ended (each followed by one full rewrite)."))
    }

    let circuitsOpen: Gauge
    let leader: Gauge
    let malformedReports: Counter
    let writeFailures: Counter
    let writes: Counter
    let writeRefusals: Counter
    let redisRecoveries: Counter

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "federation", subsystem: "health", metricName: metric, unitName: unit, helpText: help)
    }

    /// Counts a probe by outcome (`success`, `http_error`, `unhealthy`, `timeout`, `connection_error`).
    func probe(_ outcome: String) {
        registry.makeCounter(
            descriptor: Self.name("probes", "total", "Active /health probes by outcome."),
            labels: [("outcome", outcome)]
        ).increment()
    }

    /// Counts a report by outcome (`applied`, `unknown_node`, `client_error`, `not_leader`).
    func report(_ outcome: String) {
        registry.makeCounter(
            descriptor: Self.name("reports", "total", "Health reports received, by what happened to them."),
            labels: [("outcome", outcome)]
        ).increment()
    }

    /// Counts a state transition (`kind` health or circuit, `to` the new state).
    func transition(kind: String, to state: String) {
        registry.makeCounter(
            descriptor: Self.name("state_transitions", "total", "Health and circuit state transitions."),
            labels: [("kind", kind), ("to", state)]
        ).increment()
    }
}
