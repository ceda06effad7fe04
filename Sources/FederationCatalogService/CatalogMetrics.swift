import Prometheus

/// The catalog's Prometheus metrics (all prefixed `federation_catalog_`).
public struct CatalogMetrics: Sendable {
    /// Successful `POST /v1/deployments` (registrations and renewals).
    let registrations: Counter
    /// Deployments removed by `DELETE` (lease expiries are counted apart).
    let deregistrations: Counter
    /// Nodes removed because their lease passed.
    let leaseExpiries: Counter
    /// Requests refused with 400/413 before anything was written.
    let validationFailures: Counter
    /// Requests answered 503 because Redis could not be reached.
    let redisFailures: Counter
    /// Restores of the catalog into a Redis that had lost it.
    let restores: Counter
    /// Nodes written back by those restores.
    let restoredNodes: Counter
    /// Registered nodes, as of the last write or list.
    let nodes: Gauge
    /// The catalog version this process's own copy is at (what a lost Redis gets back).
    let knownVersion: Gauge

    /// Registers the metrics in `registry` (once per registry: the names are fixed).
    public init(registry: PrometheusCollectorRegistry) {
        func counter(_ name: String, _ help: String) -> Counter {
            registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    namespace: "federation", subsystem: "catalog", metricName: name, unitName: "total",
                    helpText: help))
        }
        registrations = counter("registrations", "Registrations and renewals accepted.")
        deregistrations = counter("deregistrations", "Deployments removed through the API.")
        leaseExpiries = counter("lease_expiries", "Nodes deregistered because their lease passed.")
        validationFailures = counter("validation_failures", "Requests refused as invalid (400/413).")
        redisFailures = counter("redis_failures", "Requests answered 503 because Redis was unavailable.")
        restores = counter("restores", "Restores of the catalog into a Redis that had lost it.")
        restoredNodes = counter("restored_nodes", "Nodes written back into a Redis that had lost them.")
        nodes = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "federation", subsystem: "catalog", metricName: "nodes", unitName: "",
                helpText: "Registered nodes (as of the last write or read of the node list)."))
        knownVersion = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "federation", subsystem: "catalog", metricName: "known_version", unitName: "",
                helpText: "Catalog version of this process's own copy (restored into a Redis that lost it)."))
    }
}
