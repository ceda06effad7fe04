import FederationCore
import Logging
import ServiceLifecycle
import Synchronization

/// Probes every catalog node's `/health` every `interval` (leader only). Each node has its own
/// schedule: a node new to the catalog (or to a new leader) is probed at once, and a node has at
/// most one probe in flight — one that hangs is probed again only after its probe timed out, and
/// never delays the others.
struct ProbeService: Service {
    let owner: HealthOwner
    let interval: Duration
    let timeout: Duration
    let logger: Logger

    func run() async throws {
        let prober = NodeProber(timeout: timeout)
        let inFlight = InFlightNodes()
        // How often the schedule is looked at: often enough for new nodes, never busier than probing.
        let scan = min(interval, .milliseconds(100))
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                var lastStarted: [NodeId: ContinuousClock.Instant] = [:]
                while !Task.isCancelled {
                    let now = ContinuousClock.now
                    let targets = await owner.probeTargets()
                    if targets.isEmpty { lastStarted = [:] }  // standby: probe at once when leading
                    for (node, endpoint) in targets {
                        if let last = lastStarted[node], now - last < interval { continue }
                        guard inFlight.start(node) else { continue }
                        lastStarted[node] = now
                        group.addTask {
                            let outcome = await prober.probe(endpoint: endpoint)
                            inFlight.finish(node)
                            if Task.isCancelled { return }
                            await owner.apply(probe: outcome, node: node)
                        }
                    }
                    try? await Task.sleep(for: scan)
                }
            }
        }
        await prober.shutdown()
    }
}

/// The nodes with a probe in flight.
final class InFlightNodes: Sendable {
    private let nodes = Mutex<Set<NodeId>>([])

    /// Marks `node` as probed; false when a probe is already in flight.
    func start(_ node: NodeId) -> Bool { nodes.withLock { $0.insert(node).inserted } }

    /// Marks `node`'s probe as done.
    func finish(_ node: NodeId) { _ = nodes.withLock { $0.remove(node) } }
}
