import FederationCore
import Prometheus

/// The gauges that describe a service's `FederationView` (`federation_<subsystem>_view_*` and
/// `federation_<subsystem>_policy_version`), sampled rather than updated: `refresh(from:)` sets
/// them, e.g. before each `/metrics` scrape.
public final class ViewGauges: Sendable {
    private let policyVersion: Gauge
    private let viewAge: Gauge
    private let viewConnected: Gauge
    private let familyVersions: [FederationFamily: Gauge]
    private let viewLoadFailures: Gauge
    private let viewMalformed: Gauge

    /// Creates every gauge in `registry` under `federation_<subsystem>_` (e.g. "router").
    public init(registry: PrometheusCollectorRegistry, subsystem: String) {
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "federation", subsystem: subsystem, metricName: metric, unitName: unit,
                helpText: help)
        }
        policyVersion = registry.makeGauge(
            descriptor: name(
                "policy_version", "", "Version of the policy document the \(subsystem) decides with."))
        viewAge = registry.makeGauge(
            descriptor: name("view_age", "seconds", "Time since the view last loaded from Redis (-1: never).")
        )
        viewConnected = registry.makeGauge(
            descriptor: name("view_connected", "", "1 when the view's change feed is connected to Redis."))
        let versionName = name("view_version", "", "Version of each family in the \(subsystem)'s view.")
        familyVersions = Dictionary(
            uniqueKeysWithValues: FederationFamily.allCases.map {
                ($0, registry.makeGauge(descriptor: versionName, labels: [("family", $0.rawValue)]))
            })
        viewLoadFailures = registry.makeGauge(
            descriptor: name("view_load_failures", "", "Loads from Redis that failed since start."))
        viewMalformed = registry.makeGauge(
            descriptor: name("view_malformed_messages", "", "Malformed event messages ignored since start."))
    }

    /// Sets every gauge from the view's status and current snapshot.
    public func refresh(from view: FederationView) {
        refresh(from: view.status, policyVersion: view.currentSnapshot.snapshot.versions.policy)
    }

    /// Sets every gauge from a status and the policy version of the snapshot in use.
    public func refresh(from status: FederationView.Status, policyVersion version: UInt64) {
        policyVersion.set(to: Double(version))
        viewAge.set(to: status.ageOfLastSync().map { $0.milliseconds / 1000 } ?? -1)
        viewConnected.set(to: status.connected ? 1.0 : 0.0)
        for family in FederationFamily.allCases {
            familyVersions[family]?.set(to: Double(status.versions[family]))
        }
        viewLoadFailures.set(to: Double(status.loadFailures))
        viewMalformed.set(to: Double(status.malformedMessages))
    }
}
