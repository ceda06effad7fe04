import FederationConfig
import Logging
import Metrics
import Prometheus

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What every service executable does once, in `main`, before anything else: ignore SIGPIPE
/// (hiredis writes with plain `write()`), and bootstrap logging and metrics (each may be
/// bootstrapped only once per process, so never in a `build…` function that tests call).
public enum ProcessBootstrap {
    /// - Returns: the Prometheus registry the process's `/metrics` serves (the global one that
    ///   swift-metrics, e.g. Hummingbird's `MetricsMiddleware`, also reports into).
    public static func run(service: String, logLevel: String) -> PrometheusCollectorRegistry {
        signal(SIGPIPE, SIG_IGN)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = LineLogHandler(label: label, level: level)
            handler[metadataKey: "service"] = .string(service)
            return handler
        }
        let factory = PrometheusMetricsFactory()
        MetricsSystem.bootstrap(factory)
        return factory.registry
    }
}
