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
    /// Power of two choices: of two eligible nodes drawn at random, the one with the lower
    /// peak-EWMA latency × (in-flight + 1); a node not measured yet counts as the slowest known.
    case p2cEWMA = "p2c_ewma"

    public var description: String { rawValue }

    /// Parses the wire form, ignoring case (``WireEnum``).
    public init(parsing text: String) throws(FederationError) {
        self = try Self.parse(text)
    }

    public init(from decoder: any Decoder) throws {
        self = try Self.decodeWire(from: decoder)
    }
}

extension LoadBalanceStrategy: WireEnum {
    public static var wireKind: String { "strategy" }
}
