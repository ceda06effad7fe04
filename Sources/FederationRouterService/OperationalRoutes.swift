import FederationCore
import FederationHTTP
import FederationState
import Hummingbird
import Prometheus

extension Router {
    /// The shared `/healthz`, `/readyz` (with the view's age and counters) and `/metrics` (the
    /// view gauges refreshed at each scrape).
    func addRouterOperationalRoutes(
        view: FederationView, registry: PrometheusCollectorRegistry, metrics: RouterMetrics,
        staleAfter: Duration
    ) {
        addOperationalRoutes(
            service: "federation-router", registry: registry,
            beforeScrape: { metrics.view.refresh(from: view) },
            readiness: { ViewReadiness(view: view, staleAfter: staleAfter) })
    }
}
