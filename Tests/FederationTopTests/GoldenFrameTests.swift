import Testing

@testable import FederationTop

/// Frames of fixed snapshots, compared line by line with what the operator sees (trailing padding
/// trimmed). Regenerate with `RendererTests/printGoldenFrames` after a deliberate layout change
/// and read the diff.
@Suite struct GoldenFrameTests {
    static let golden: [String: String] = [
        "catalog-100x12": #"""
         fedctl top  [1 Catalog]  2 Health   3 Routing   4 Circuits   5 Stats   6 Policies   ? Help
        ── Catalog · 3 nodes · 2 models ────────────────────────────────────────────────────────────────────
        NODE                   REGION     GPU PRIVACY       COST LEASE   MODELS
        ap-south-cpu-01        ap-south   no  public        0.10 25.0s   bge-small, llama-3-8b
        eu-west-gpu-01         eu-west    yes confidential  0.60 perm    llama-3-8b
        us-west-gpu-01         us-west    yes internal      0.40 perm    llama-3-8b, whisper-1

        MODEL                  VERSION    CAPABILITIES                 SERVED BY
        bge-small              1.5        embed                        ap-south-cpu-01
        llama-3-8b             3.1        code,generate                ap-south-cpu-01, eu-west-gpu-01, us-…

         catalog ok  health ok  router ok  gateways 2/2 ok │ 12:00:00 UTC (12 ms) │ no errors │ q quit  ? h…
        """#,
        "catalog-scrolled-100x8": #"""
         fedctl top  [1 Catalog]  2 Health   3 Routing   4 Circuits   5 Stats   6 Policies   ? Help
        ── Catalog · 3 nodes · 2 models ────────────────────────────────────────────────── 3–6 of 7 (j/k) ──
        NODE                   REGION     GPU PRIVACY       COST LEASE   MODELS
        us-west-gpu-01         us-west    yes internal      0.40 perm    llama-3-8b, whisper-1

        MODEL                  VERSION    CAPABILITIES                 SERVED BY
        bge-small              1.5        embed                        ap-south-cpu-01
         catalog ok  health ok  router ok  gateways 2/2 ok │ 12:00:00 UTC (12 ms) │ no errors │ q quit  ? h…
        """#,
        "health-100x7": #"""
         fedctl top   1 Catalog  [2 Health]  3 Routing   4 Circuits   5 Stats   6 Policies   ? Help
        ── Health · 2/3 healthy · leader health-a ──────────────────────────────────────────────────────────
        NODE               STATE     P50 MS P99 MS FROM      TOK/S QUEUE FAILS OK/FAILED CHECKED    REASON
        ap-south-cpu-01    healthy     41.5   88.0 inference   120     0     0     310/2 400ms ago
        eu-west-gpu-01     unhealthy   12.0   30.0 probe         -     3     5      90/7 1.2s ago   5 conse…
        us-west-gpu-01     healthy        -      - -             -     -     -       -/- 1m05s ago
         catalog ok  health ok  router ok  gateways 2/2 ok │ 12:00:00 UTC (12 ms) │ no errors │ q quit  ? h…
        """#,
        "routing-120x7": #"""
         fedctl top   1 Catalog   2 Health  [3 Routing]  4 Circuits   5 Stats   6 Policies   ? Help
        ── Routing · 3 recent decisions · 2 failed ─────────────────────────────────────────────────────────────────────────────
        TIME     GATEWAY   MODEL         NODE             REGION   HTTP     MS TRY SCORE SSE STRATEGY        ERROR
        11:59:59 gw-1      llama-3-8b    us-west-gpu-01   us-west   200   14.2   1  0.83 yes least_latency
        11:59:59 gw-2      llama-3-8b    eu-west-gpu-01   eu-west   502  230.5   3  0.61 no  least_latency   node_unreachable
        11:59:58 gw-1      bge-small     -                -         503    0.4   0     - no  -               no_capacity
         catalog ok  health ok  router ok  gateways 2/2 ok │ 12:00:00 UTC (12 ms) │ no errors │ q quit  ? help
        """#,
        "routing-narrow-48x7": #"""
         fedctl top   1 Catalog   2 Health  [3 Routing]…
        ── Routing · 3 recent decisions · 2 failed ─────
        TIME     GATEWAY   MODEL         NODE
        11:59:59 gw-1      llama-3-8b    us-west-gpu-01
        11:59:59 gw-2      llama-3-8b    eu-west-gpu-01
        11:59:58 gw-1      bge-small     -
         catalog ok  health ok  router ok  gateways 2/2…
        """#,
        "circuits-90x7": #"""
         fedctl top   1 Catalog   2 Health   3 Routing  [4 Circuits]  5 Stats   6 Policies   ? He…
        ── Circuits · 1 open · 1 half-open ───────────────────────────────────────────────────────
        NODE                   CIRCUIT    FAILURES TRIPS OPENED       RESET
        ap-south-cpu-01        closed            0     0 -            -
        eu-west-gpu-01         open              5     2 4.0s ago     half-open in 26.0s
        us-west-gpu-01         half_open         0     1 40.0s ago    probing: closes after succe…
         catalog ok  health ok  router ok  gateways 2/2 ok │ 12:00:00 UTC (12 ms) │ no errors │ q…
        """#,
        "stats-100x12": #"""
         fedctl top   1 Catalog   2 Health   3 Routing   4 Circuits  [5 Stats]  6 Policies   ? Help
        ── Stats · 2 live replicas ─────────────────────────────────────────────────────────────────────────
        success  [███████████████████████████████████████░] 97.5%  (390 ok, 10 failed)
        req/s    12.5  (cluster total_requests per second)
        p99      230.5 ms  (computed from the last 3 routing decisions)
        avg      18.3 ms · requests 400 · tokens 5120 · streams 1

        REPLICA                   REQUESTS        OK  FAILED SUCCESS    TOKENS   AVG MS STREAMS
        gw-1                           250       245       5   98.0%      3000     17.0 1
        gw-2                           150       145       5   96.7%      2120     20.3 0

         catalog ok  health ok  router ok  gateways 2/2 ok │ 12:00:00 UTC (12 ms) │ no errors │ q quit  ? h…
        """#,
        "policies-70x8": #"""
         fedctl top   1 Catalog   2 Health   3 Routing   4 Circuits   5 Stats…
        ── Policies · version 3 ─────────────────────────── 1–4 of 10 (j/k) ──
        live routing policy (router GET /v1/policy), version 3
        {
          "max_candidates": 10,
          "min_score": 0.1,
          "regions": {},
         catalog ok  health ok  router ok  gateways 2/2 ok │ 12:00:00 UTC (12…
        """#,
        "catalog-down-80x8": #"""
         fedctl top  [1 Catalog]  2 Health   3 Routing   4 Circuits   5 Stats   6 Polic…
        ── Catalog · 0 nodes · 0 models ────────────────────────────── 1–2 of 4 (j/k) ──
        ! the catalog at http://127.0.0.1:7101 is not reachable (connection refused);
          start it with ./scripts/cluster up
        NODE                   REGION     GPU PRIVACY       COST LEASE   MODELS
          (no nodes registered)

         catalog DOWN  health ok  router ok  gateways 2/2 ok │ 12:00:00 UTC (12 ms) │ 1…
        """#,
        "stats-empty-80x5": #"""
         fedctl top   1 Catalog   2 Health   3 Routing   4 Circuits  [5 Stats]  6 Polic…
        ── Stats ───────────────────────────────────────────────────────────────────────
          (no gateway answered /v1/stats?scope=cluster)

         catalog ok  health ok  router ok  gateways 2/2 ok │ 12:00:00 UTC │ no errors │…
        """#,
        "routing-empty-80x5": #"""
         fedctl top   1 Catalog   2 Health  [3 Routing]  4 Circuits   5 Stats   6 Polic…
        ── Routing · 0 recent decisions · 0 failed ─────────────────────────────────────
        TIME     GATEWAY   MODEL         NODE             REGION   HTTP     MS TRY SCORE
          (no requests routed yet)
         catalog ok  health ok  router ok  gateways 2/2 ok │ 12:00:00 UTC │ no errors │…
        """#,
    ]

    @Test(arguments: RendererTests.goldenCases.map(\.name))
    func frameMatches(_ name: String) throws {
        let item = try #require(RendererTests.goldenCases.first { $0.name == name })
        let expected = try #require(Self.golden[name])
        let actual = RendererTests().frame(item.tab, item.size, item.snapshot, scroll: item.scroll)
        let (want, got) = (
            expected.split(separator: "\n", omittingEmptySubsequences: false),
            actual.split(separator: "\n", omittingEmptySubsequences: false)
        )
        #expect(got.count == want.count, "\(name): \(got.count) lines, expected \(want.count)")
        for (index, line) in got.enumerated() where index < want.count && line != want[index] {
            Issue.record("\(name) line \(index):\n  got      '\(line)'\n  expected '\(want[index])'")
        }
    }
}
