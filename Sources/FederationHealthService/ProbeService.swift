import FederationCore
import Logging
import ServiceLifecycle
import Synchronization

/// Probes every catalog node's `/health` every `interval` (leader only). Each node has at most one
/// probe in flight: a node that hangs is probed again only after its probe timed out, and never
/// delays the others.
struct ProbeService: Service {
    let owner: HealthOwner
    let interval: Duration
    let timeout: Duration
    let logger: Logger

    func run() async throws {
        let prober = NodeProber(timeout: timeout)
        let inFlight = InFlightNodes()
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled {
                    for (node, endpoint) in await owner.probeTargets() where inFlight.start(node) {
                        group.addTask {
                            let outcome = await prober.probe(endpoint: endpoint)
                            inFlight.finish(node)
                            if Task.isCancelled { return }
                            await owner.apply(probe: outcome, node: node)
                        }
                    }
                    try? await Task.sleep(for: interval)
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
