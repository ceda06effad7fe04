import FederationCore
import FederationState
import Prometheus
import Synchronization

/// The gateway's Prometheus metrics (`federation_gateway_*`). Per-node series are made on first
/// use and cached, so the request path does one dictionary lookup under a lock per series.
final class GatewayMetrics: Sendable {
    private struct SeriesKey: Hashable {
        var node: String
        var capability: String
        var status: String
    }
    private struct Series {
        var duration: DurationHistogram
        var overhead: DurationHistogram
        var requests: Counter
    }
    private struct StreamKey: Hashable {
        var node: String
        var capability: String
    }
    private struct StreamSeries {
        var ttft: DurationHistogram
        var tokensPerSecond: ValueHistogram
    }
    private let registry: PrometheusCollectorRegistry
    private let series = Mutex<[SeriesKey: Series]>([:])
    private let streamSeries = Mutex<[StreamKey: StreamSeries]>([:])

    let retries: Counter
    let retryBudgetExhausted: Counter
    let probesAcquired: Counter
    let probesRefused: Counter
    let rateLimited: Counter
    let reportsPublished: Counter
    let reportFlushFailures: Counter
    let clientDisconnects: Counter
    let streamsResumed: Counter
    let streamResumeFailures: Counter
    let lifecycleViolations: Counter
    let activeStreams: Gauge
    let inFlight: Gauge
    let draining: Gauge
    /// `federation_gateway_view_*`: the age and versions of the view this replica routes from.
    let view: ViewGauges

    static let durationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]
    static let overheadBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(250),
    ]

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        func counter(_ metric: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: Self.name(metric, "total", help))
        }
        func gauge(_ metric: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: Self.name(metric, nil, help))
        }
        retries = counter("retries", "Attempts retried on another node.")
        retryBudgetExhausted = counter(
            "retry_budget_exhausted", "Retriable failures not retried because the retry budget was spent.")
        probesAcquired = counter("probes_acquired", "Half-open probe slots taken (cluster-wide ProbeSlots).")
        probesRefused = counter(
            "probes_refused", "Half-open nodes skipped because every cluster-wide probe slot was taken.")
        rateLimited = counter("rate_limited_requests", "Requests answered 429 by the gateway's rate limits.")
        reportsPublished = counter(
            "outcome_reports_published", "Attempt outcomes published on the reports channel.")
        reportFlushFailures = counter(
            "outcome_report_flush_failures", "Report flushes that failed (Redis unreachable).")
        clientDisconnects = counter(
            "client_disconnects",
            "Requests whose client went away before the answer ended (upstream cancelled).")
        streamsResumed = counter(
            "streams_resumed",
            "Streams whose node broke off and that another node continued (resume_streams).")
        streamResumeFailures = counter(
            "stream_resume_failures",
            "Broken-off streams that could not be continued (no node declares resume, or it failed too).")
        lifecycleViolations = counter(
            "lifecycle_violations", "Illegal request lifecycle transitions (a gateway bug; should stay 0).")
        activeStreams = gauge("active_streams", "Responses streaming to clients now.")
        inFlight = gauge("in_flight_requests", "Client requests in progress now.")
        draining = gauge("draining", "1 while the replica drains before it stops.")
        view = ViewGauges(registry: registry, subsystem: "gateway")
    }

    static func name(_ metric: String, _ unit: String?, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "federation", subsystem: "gateway", metricName: metric, unitName: unit ?? "",
            helpText: help)
    }

    /// Records a finished client request.
    func recordRequest(
        node: NodeId?, capability: Capability, status: Int, duration: Duration, overhead: Duration
    ) {
        let key = SeriesKey(
            node: node?.rawValue ?? "none", capability: capability.description, status: String(status))
        let entry = series.withLock { series -> Series in
            if let entry = series[key] { return entry }
            let labels = [("node", key.node), ("capability", key.capability), ("status", key.status)]
            let entry = Series(
                duration: registry.makeDurationHistogram(
                    descriptor: Self.name(
                        "request_duration", "seconds", "Client request duration, receipt to last byte."),
                    labels: labels, buckets: Self.durationBuckets),
                overhead: registry.makeDurationHistogram(
                    descriptor: Self.name(
                        "overhead", "seconds",
                        "Time a request spent in the gateway itself (not waiting for nodes)."),
                    labels: labels, buckets: Self.overheadBuckets),
                requests: registry.makeCounter(
                    descriptor: Self.name(
                        "requests", "total", "Client requests by node, capability and status."),
                    labels: labels))
            series[key] = entry
            return entry
        }
        entry.duration.record(duration)
        entry.overhead.record(overhead)
        entry.requests.increment()
    }

    /// Records a finished stream: time to first token and tokens per second after it.
    func recordStream(node: NodeId, capability: Capability, ttft: Duration?, tokens: Int, duration: Duration)
    {
        let key = StreamKey(node: node.rawValue, capability: capability.description)
        let entry = streamSeries.withLock { series -> StreamSeries in
            if let entry = series[key] { return entry }
            let labels = [("node", key.node), ("capability", key.capability)]
            let entry = StreamSeries(
                ttft: registry.makeDurationHistogram(
                    descriptor: Self.name(
                        "time_to_first_token", "seconds", "Receipt to the first relayed token."),
                    labels: labels, buckets: Self.durationBuckets),
                tokensPerSecond: registry.makeValueHistogram(
                    descriptor: Self.name(
                        "stream_tokens_per_second", nil, "Relayed tokens per second of a stream."),
                    labels: labels, buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000]))
            series[key] = entry
            return entry
        }
        if let ttft { entry.ttft.record(ttft) }
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        if tokens > 0, seconds > 0 { entry.tokensPerSecond.record(Double(tokens) / seconds) }
    }
}
