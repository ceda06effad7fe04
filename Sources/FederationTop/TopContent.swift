/// One tab's text before it is fitted to the screen: fixed lines (its sources' errors, column
/// headers), the scrollable list, and a summary for the rule.
struct TopContent {
    var fixed: [String] = []
    var rows: [String] = []
    var summary = ""

    static func build(_ snapshot: TopSnapshot, tab: UIState.Tab, width: Int) -> TopContent {
        var content: TopContent
        switch tab {
        case .catalog: content = catalog(snapshot, width: width)
        case .health: content = health(snapshot, width: width)
        case .routing: content = routing(snapshot, width: width)
        case .circuits: content = circuits(snapshot, width: width)
        case .stats: content = stats(snapshot, width: width)
        case .policies: content = policies(snapshot)
        case .help: content = help()
        }
        let errors = sources(of: tab, in: snapshot).compactMap { snapshot.errors[$0] }
        content.fixed = errors.flatMap { wrap("! " + $0, width: width, indent: "  ") } + content.fixed
        return content
    }

    static func sources(of tab: UIState.Tab, in snapshot: TopSnapshot) -> [TopSnapshot.Source] {
        let gateways = snapshot.sources.keys.filter { if case .gateway = $0 { true } else { false } }.sorted()
        switch tab {
        case .catalog: return [.catalog]
        case .health, .circuits: return [.health]
        case .routing, .stats: return gateways
        case .policies: return [.router]
        case .help: return []
        }
    }

    /// `text` broken at spaces into lines of at most `width` columns (a long word is cut).
    static func wrap(_ text: String, width: Int, indent: String) -> [String] {
        guard width > indent.count + 8 else { return [text] }
        var lines: [String] = []
        var line = ""
        for word in TextLayout.sanitize(text).split(separator: " ", omittingEmptySubsequences: true) {
            let candidate = line.isEmpty ? String(word) : line + " " + word
            if TextLayout.width(candidate) <= width || line.isEmpty || line == indent {
                line = line == indent ? indent + word : candidate
            } else {
                lines.append(line)
                line = indent + word
            }
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    static func empty(_ snapshot: TopSnapshot, _ what: String) -> String {
        snapshot.fetchedAtMs == 0 ? "  waiting for the first refresh…" : "  (\(what))"
    }

    // MARK: - Tabs

    static func catalog(_ s: TopSnapshot, width: Int) -> TopContent {
        let nodes = TextTable(columns: [
            .init(title: "NODE", width: 22), .init(title: "REGION", width: 10), .init(title: "GPU", width: 3),
            .init(title: "PRIVACY", width: 12), .init(title: "COST", width: 5, rightAligned: true),
            .init(title: "LEASE", width: 7), .init(title: "MODELS", width: 0),
        ])
        let models = TextTable(columns: [
            .init(title: "MODEL", width: 22), .init(title: "VERSION", width: 10),
            .init(title: "CAPABILITIES", width: 28), .init(title: "SERVED BY", width: 0),
        ])
        var content = TopContent(fixed: [nodes.header(width: width)])
        content.summary = "\(s.nodes.count) nodes · \(s.models.count) models"
        if s.nodes.isEmpty { content.rows.append(empty(s, "no nodes registered")) }
        for node in s.nodes {
            let lease = node.leaseExpiresAt.map { TopFormat.span($0 - s.fetchedAtMs) } ?? "perm"
            content.rows.append(
                nodes.line(
                    [
                        node.id, node.region, node.gpu.map { $0 ? "yes" : "no" } ?? "-", node.privacy ?? "-",
                        TopFormat.number(node.cost, digits: 2), lease, node.models.joined(separator: ", "),
                    ], width: width))
        }
        content.rows.append("")
        content.rows.append(models.header(width: width))
        if s.models.isEmpty { content.rows.append(empty(s, "no models")) }
        for model in s.models {
            content.rows.append(
                models.line(
                    [
                        model.id, model.version ?? "-", model.capabilities.joined(separator: ","),
                        model.nodes.joined(separator: ", "),
                    ], width: width))
        }
        return content
    }

    static func health(_ s: TopSnapshot, width: Int) -> TopContent {
        let table = TextTable(columns: [
            .init(title: "NODE", width: 18), .init(title: "STATE", width: 9),
            .init(title: "P50 MS", width: 6, rightAligned: true),
            .init(title: "P99 MS", width: 6, rightAligned: true),
            .init(title: "FROM", width: 9), .init(title: "TOK/S", width: 5, rightAligned: true),
            .init(title: "QUEUE", width: 5, rightAligned: true),
            .init(title: "FAILS", width: 5, rightAligned: true),
            .init(title: "OK/FAILED", width: 9, rightAligned: true), .init(title: "CHECKED", width: 10),
            .init(title: "REASON", width: 0),
        ])
        var content = TopContent(fixed: [table.header(width: width)])
        let healthy = s.health.filter { $0.state == "healthy" }.count
        content.summary =
            "\(healthy)/\(s.health.count) healthy" + (s.healthLeader.map { " · leader \($0)" } ?? "")
        if s.health.isEmpty { content.rows.append(empty(s, "no health records")) }
        for h in s.health {
            content.rows.append(
                table.line(
                    [
                        h.node, h.state, TopFormat.number(h.latencyP50Ms), TopFormat.number(h.latencyP99Ms),
                        h.latencySource ?? "-", TopFormat.number(h.throughput, digits: 0),
                        TopFormat.int(h.queueDepth),
                        TopFormat.int(h.consecutiveFailures),
                        "\(TopFormat.int(h.totalSuccesses))/\(TopFormat.int(h.totalFailures))",
                        TopFormat.ago(h.lastCheck, now: s.fetchedAtMs), h.reason ?? "",
                    ], width: width))
        }
        return content
    }

    static func routing(_ s: TopSnapshot, width: Int) -> TopContent {
        let table = TextTable(columns: [
            .init(title: "TIME", width: 8), .init(title: "GATEWAY", width: 9),
            .init(title: "MODEL", width: 13),
            .init(title: "NODE", width: 16), .init(title: "REGION", width: 8),
            .init(title: "HTTP", width: 4, rightAligned: true),
            .init(title: "MS", width: 6, rightAligned: true),
            .init(title: "TRY", width: 3, rightAligned: true),
            .init(title: "SCORE", width: 5, rightAligned: true),
            .init(title: "SSE", width: 3), .init(title: "STRATEGY", width: 15),
            .init(title: "ERROR", width: 20),
            .init(title: "CAP", width: 8), .init(title: "REQUEST", width: 0),
        ])
        var content = TopContent(fixed: [table.header(width: width)])
        let failed = s.decisions.filter { $0.error != nil }.count
        content.summary = "\(s.decisions.count) recent decisions · \(failed) failed"
        if s.decisions.isEmpty { content.rows.append(empty(s, "no requests routed yet")) }
        for d in s.decisions {
            content.rows.append(
                table.line(
                    [
                        TopFormat.clock(d.timeMs), d.gateway, d.model ?? "-", d.node ?? "-", d.region ?? "-",
                        TopFormat.int(d.status), TopFormat.number(d.latencyMs), TopFormat.int(d.attempts),
                        TopFormat.number(d.score, digits: 2), d.streamed ? "yes" : "no", d.strategy ?? "-",
                        d.error ?? "", d.capability ?? "-", d.requestId,
                    ], width: width))
        }
        return content
    }

    static func circuits(_ s: TopSnapshot, width: Int) -> TopContent {
        let table = TextTable(columns: [
            .init(title: "NODE", width: 22), .init(title: "CIRCUIT", width: 10),
            .init(title: "FAILURES", width: 8, rightAligned: true),
            .init(title: "TRIPS", width: 5, rightAligned: true),
            .init(title: "OPENED", width: 12), .init(title: "RESET", width: 0),
        ])
        var content = TopContent(fixed: [table.header(width: width)])
        let open = s.circuits.filter { $0.state == "open" }.count
        content.summary = "\(open) open · \(s.circuits.filter { $0.state == "half_open" }.count) half-open"
        if s.circuits.isEmpty { content.rows.append(empty(s, "no circuits")) }
        for c in s.circuits {
            let reset: String
            switch c.state {
            case "open":
                if let until = c.openUntil {
                    reset =
                        until > s.fetchedAtMs
                        ? "half-open in \(TopFormat.span(until - s.fetchedAtMs))" : "half-open now"
                } else {
                    reset = "-"
                }
            case "half_open": reset = "probing: closes after successful probes"
            default: reset = "-"
            }
            content.rows.append(
                table.line(
                    [
                        c.node, c.state, TopFormat.int(c.consecutiveFailures), TopFormat.int(c.trips),
                        TopFormat.ago(c.openedAt, now: s.fetchedAtMs), reset,
                    ], width: width))
        }
        return content
    }

    static func stats(_ s: TopSnapshot, width: Int) -> TopContent {
        var content = TopContent()
        guard let cluster = s.cluster else {
            content.rows.append(empty(s, "no gateway answered /v1/stats?scope=cluster"))
            return content
        }
        content.summary = "\(s.replicas.count) live replica\(s.replicas.count == 1 ? "" : "s")"
        let rate = cluster.successRate
        let gaugeWidth = max(0, min(40, width - 40))
        content.rows.append(
            "success  " + TopFormat.gauge(rate, width: gaugeWidth) + " "
                + (rate.map { TopFormat.number($0 * 100) + "%" } ?? "-")
                + "  (\(cluster.successfulRequests) ok, \(cluster.failedRequests) failed)")
        content.rows.append(
            "req/s    " + TopFormat.number(s.requestsPerSecond)
                + (s.requestsPerSecond == nil
                    ? "  (after the next refresh)" : "  (cluster total_requests per second)"))
        if let p99 = s.decisionLatencyP99 {
            content.rows.append(
                "p99      " + TopFormat.number(p99.ms)
                    + " ms  (computed from the last \(p99.count) routing decisions)")
        } else {
            content.rows.append("p99      -  (no routing decisions yet)")
        }
        content.rows.append(
            "avg      " + TopFormat.number(cluster.averageLatencyMs)
                + " ms · requests \(cluster.totalRequests)"
                + " · tokens \(cluster.totalTokens) · streams \(cluster.activeStreams)")
        content.rows.append("")
        let table = TextTable(columns: [
            .init(title: "REPLICA", width: 24), .init(title: "REQUESTS", width: 9, rightAligned: true),
            .init(title: "OK", width: 9, rightAligned: true),
            .init(title: "FAILED", width: 7, rightAligned: true),
            .init(title: "SUCCESS", width: 7, rightAligned: true),
            .init(title: "TOKENS", width: 9, rightAligned: true),
            .init(title: "AVG MS", width: 8, rightAligned: true), .init(title: "STREAMS", width: 0),
        ])
        content.rows.append(table.header(width: width))
        for r in s.replicas {
            content.rows.append(
                table.line(
                    [
                        r.gateway, "\(r.totalRequests)", "\(r.successfulRequests)", "\(r.failedRequests)",
                        r.successRate.map { TopFormat.number($0 * 100) + "%" } ?? "-", "\(r.totalTokens)",
                        TopFormat.number(r.averageLatencyMs), "\(r.activeStreams)",
                    ], width: width))
        }
        return content
    }

    static func policies(_ s: TopSnapshot) -> TopContent {
        var content = TopContent()
        guard let policy = s.policy else {
            content.rows.append(empty(s, "no policy: the router did not answer"))
            return content
        }
        content.summary = "version \(TopFormat.int(policy.version))"
        content.fixed = [
            "live routing policy (router GET /v1/policy), version \(TopFormat.int(policy.version))"
        ]
        content.rows = policy.document.prettyLines()
        return content
    }

    static func help() -> TopContent {
        TopContent(
            fixed: ["keys"],
            rows: [
                "  1 … 6      Catalog, Health, Routing, Circuits, Stats, Policies",
                "  ?          this help (again: back to Catalog)",
                "  Tab        next tab          Shift-Tab  previous tab",
                "  j / ↓      scroll down       k / ↑      scroll up",
                "  Space/PgDn page down         PgUp       page up",
                "  q, Ctrl-C  quit (the terminal is restored)",
                "",
                "Routing lists every gateway's recent decisions (GET /v1/decisions), newest first.",
                "Circuits: RESET is when an open circuit lets probes through (half-open).",
                "Stats: req/s from successive refreshes; p99 from the recent decisions' latencies.",
            ], summary: "")
    }
}
