/// How the router picks one node among the eligible, best-scored candidates.
public enum LoadBalanceStrategy: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Each eligible node in turn, exactly evenly.
    case roundRobin = "round_robin"
    /// The node with the fewest requests in flight, cluster-wide.
    case leastConnections = "least_connections"
    /// The node with the lowest median latency.
    case leastLatency = "least_latency"
    /// At random, with probability proportional to score.
    case weightedRandom = "weighted_random"
    /// Rendezvous hashing on the request's affinity key, with bounded load.
    case consistentHash = "consistent_hash"

    public var description: String { rawValue }

    public init(parsing text: String) throws(FederationError) {
        guard let strategy = LoadBalanceStrategy(rawValue: text) else {
            throw .invalidInput(
                "unknown strategy '\(text)'; expected one of "
                    + LoadBalanceStrategy.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = strategy
    }
}
