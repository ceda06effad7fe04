/// What `fedctl top` talks to and how often. The defaults match `./scripts/cluster up`.
public struct TopOptions: Sendable, Equatable {
    /// Base URLs (scheme, host, port), e.g. `http://127.0.0.1:7101`.
    public var catalog: String
    public var health: String
    public var router: String
    /// Every gateway replica whose decisions the Routing tab merges.
    public var gateways: [String]
    /// Sent as `Authorization: Bearer …` when set (the reads are open; a cluster may still ask).
    public var adminToken: String?
    /// Time between refreshes (default 1 s, at least 100 ms).
    public var interval: Duration
    /// Per-request timeout of a fetch (default 800 ms).
    public var timeout: Duration

    public init(
        catalog: String = "http://127.0.0.1:7101", health: String = "http://127.0.0.1:7102",
        router: String = "http://127.0.0.1:7103",
        gateways: [String] = ["http://127.0.0.1:8080", "http://127.0.0.1:8081"], adminToken: String? = nil,
        interval: Duration = .seconds(1), timeout: Duration = .milliseconds(800)
    ) {
        self.catalog = catalog
        self.health = health
        self.router = router
        self.gateways = gateways
        self.adminToken = adminToken
        self.interval = max(interval, .milliseconds(100))
        self.timeout = max(timeout, .milliseconds(50))
    }
}

extension Duration {
    /// Whole milliseconds, saturating at the ends of `Int64` (never traps).
    var wholeMs: Int64 {
        let (seconds, attoseconds) = components
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = ms.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        return overflow2 ? (ms < 0 ? .min : .max) : sum
    }
}
