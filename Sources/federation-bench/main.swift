import FederationCore

#if canImport(Glibc)
    import Glibc
#endif

/// Route-decision cost as the number of candidate nodes grows, per strategy.
/// Run in release: `swift run -c release federation-bench [--quick]`.
/// Prints, for each size, the median time per decision over several rounds.

let quick = CommandLine.arguments.contains("--quick")

let sizes = [10, 100, 1_000, 10_000]
let regions = ["us-west", "eu-west", "ap-south"]

func makeSnapshot(nodes: Int, strategy: LoadBalanceStrategy, unhealthyEvery: Int? = nil) -> FederationSnapshot
{
    let random = SeededRandomSource(seed: UInt64(nodes))
    var catalog = CatalogState()
    var health: [NodeId: NodeHealth] = [:]
    var inFlight: [NodeId: Int] = [:]
    for i in 0..<nodes {
        let id = NodeId("node-\(i)")
        let region = RegionId(regions[i % regions.count])
        catalog.register(
            node: NodeInfo(
                id: id, region: region, endpoint: "http://10.0.\(i / 250).\(i % 250):8000", gpu: i % 2 == 0),
            model: "llama-3-8b", capabilities: [.generate, .code])
        health[id] = NodeHealth(
            node: id,
            state: unhealthyEvery.map { i % $0 == 1 } == true
                ? .unhealthy : i % 10 == 0 ? .degraded : .healthy,
            latencyP50Ms: 20 + random.nextUnit() * 400,
            throughput: 50 + random.nextUnit() * 100)
        inFlight[id] = random.next(below: 8)
    }
    var policy = RoutingPolicyDocument()
    policy.strategy = strategy
    policy.regions = [
        "us-west": RegionSettings(privacy: .internal, cost: 0.8),
        "eu-west": RegionSettings(privacy: .confidential, cost: 0.6),
        "ap-south": RegionSettings(privacy: .public, cost: 0.3),
    ]
    return FederationSnapshot(catalog: catalog, health: health, policy: policy, inFlight: inFlight)
}

/// Median nanoseconds per call of `body` over `rounds` rounds of `iterations` calls.
func measure(iterations: Int, rounds: Int, _ body: () -> Void) -> Double {
    var samples: [Double] = []
    let clock = ContinuousClock()
    for _ in 0..<rounds {
        let start = clock.now
        for _ in 0..<iterations { body() }
        let elapsed = clock.now - start
        samples.append(
            Double(elapsed.components.attoseconds) / 1e9 + Double(elapsed.components.seconds) * 1e9)
    }
    samples.sort()
    return samples[samples.count / 2] / Double(iterations)
}

func format(_ ns: Double) -> String {
    ns >= 1_000_000
        ? String(format3(ns / 1_000_000)) + " ms"
        : ns >= 1000 ? format3(ns / 1000) + " µs" : format3(ns) + " ns"
}

func format3(_ value: Double) -> String {
    let scaled = (value * 100).rounded() / 100
    return String(scaled)
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

// `--profile N`: only route N times over 100 nodes (least latency), for perf/callgrind.
if let flag = CommandLine.arguments.firstIndex(of: "--profile"), flag + 1 < CommandLine.arguments.count,
    let count = Int(CommandLine.arguments[flag + 1])
{
    let snapshot = makeSnapshot(nodes: 100, strategy: .leastLatency)
    let router = RoutingEngine(random: SeededRandomSource(seed: 1))
    let req = InferenceRequest(requestId: "r", capability: .generate, originRegion: "eu-west")
    var eligible = 0
    for _ in 0..<count { eligible &+= (try? router.route(req, in: snapshot))?.eligibleCount ?? 0 }
    print("routed \(count) times over 100 nodes (eligible sum \(eligible))")
    exit(0)
}

print("Route-decision cost (median per decision; \(quick ? "quick" : "full") run)")
print(pad("nodes", 8) + LoadBalanceStrategy.allCases.map { pad($0.rawValue, 19) }.joined() + "explain (all)")
var sink = 0
for size in sizes {
    var row = pad(String(size), 8)
    let budget = quick ? 200_000 : 2_000_000
    let iterations = max(20, budget / size)
    for strategy in LoadBalanceStrategy.allCases {
        let snapshot = makeSnapshot(nodes: size, strategy: strategy)
        let router = RoutingEngine(random: SeededRandomSource(seed: 1))
        var k = 0
        let ns = measure(iterations: iterations, rounds: quick ? 3 : 7) {
            k &+= 1
            let req = InferenceRequest(
                requestId: "r", capability: .generate, originRegion: "eu-west",
                affinityKey: "session-\(k & 1023)")
            if let decision = try? router.route(req, in: snapshot) { sink &+= decision.eligibleCount }
        }
        row += pad(format(ns), 19)
    }
    let snapshot = makeSnapshot(nodes: size, strategy: .leastLatency)
    let router = RoutingEngine(random: SeededRandomSource(seed: 1))
    let req = InferenceRequest(requestId: "r", capability: .generate, originRegion: "eu-west")
    let explainNs = measure(iterations: max(5, iterations / 10), rounds: 3) {
        sink &+= router.candidates(for: req, in: snapshot).count
    }
    row += format(explainNs)
    print(row)
}
// p2c_ewma where sampling has more to prove or skip: 1 % of the nodes unhealthy (the panic
// threshold must be shown not to apply: that many eligible nodes are drawn), and a retry that
// excludes the two nodes already tried.
print("")
print("p2c_ewma, harder cases (median per decision)")
print(pad("nodes", 8) + pad("1 % unhealthy", 19) + pad("2 excluded", 19))
for size in sizes {
    var row = pad(String(size), 8)
    let iterations = max(20, (quick ? 200_000 : 2_000_000) / size)
    let sick = makeSnapshot(nodes: size, strategy: .p2cEWMA, unhealthyEvery: 100)
    let plain = makeSnapshot(nodes: size, strategy: .p2cEWMA)
    let router = RoutingEngine(random: SeededRandomSource(seed: 1))
    let req = InferenceRequest(requestId: "r", capability: .generate, originRegion: "eu-west")
    row += pad(
        format(
            measure(iterations: iterations, rounds: quick ? 3 : 7) {
                if let decision = try? router.route(req, in: sick) { sink &+= decision.eligibleCount }
            }), 19)
    let tried: Set<NodeId> = ["node-1", "node-2"]
    row += pad(
        format(
            measure(iterations: iterations, rounds: quick ? 3 : 7) {
                if let decision = try? router.route(req, in: plain, excluding: tried) {
                    sink &+= decision.eligibleCount
                }
            }), 19)
    print(row)
}
let buildClock = ContinuousClock()
let start = buildClock.now
let big = makeSnapshot(nodes: 10_000, strategy: .leastLatency)
print("building a 10,000-node snapshot (what a view does per change): \(buildClock.now - start)")
if sink == 42 { print(big.versions) }
