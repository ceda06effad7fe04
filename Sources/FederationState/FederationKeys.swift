import FederationCore

/// Names of every Redis key and channel the federation uses, under one namespace (default `fed`).
/// docs/REDIS.md is the reference for what each holds.
public struct FederationKeys: Sendable, Hashable {
    /// The prefix of every key and channel, without the trailing colon.
    public let namespace: String

    /// - Precondition: `namespace` is a valid identifier (letters, digits, `.`, `_`, `-`, `:`, `/`).
    public init(namespace: String = "fed") {
        precondition(
            Identifier.problem(with: namespace, kind: "namespace") == nil, "invalid namespace '\(namespace)'")
        self.namespace = namespace
    }

    private func key(_ parts: String...) -> String { ([namespace] + parts).joined(separator: ":") }

    // Catalog
    /// Set of registered node ids.
    public var nodes: String { key("nodes") }
    /// Hash describing one node.
    public func node(_ id: NodeId) -> String { key("node", id.rawValue) }
    /// Set of the models deployed on one node.
    public func nodeModels(_ id: NodeId) -> String { key("node-models", id.rawValue) }
    /// Set of model ids.
    public var models: String { key("models") }
    /// Hash of one model's metadata.
    public func model(_ id: ModelId) -> String { key("model", id.rawValue) }
    /// Hash node id → comma-separated capabilities, one field per node serving the model.
    public func deployments(_ model: ModelId) -> String { key("deployments", model.rawValue) }
    /// Set of `{model}|{node}` pairs that serve a capability.
    public func capability(_ capability: Capability) -> String { key("capability", capability.description) }
    /// Sorted set of leased node ids scored by lease expiry (ms since the epoch).
    public var leases: String { key("leases") }

    // Health
    /// Set of node ids with a health hash.
    public var healthIndex: String { key("health-index") }
    /// Hash of one node's health.
    public func health(_ id: NodeId) -> String { key("health", id.rawValue) }
    /// Set of node ids with a circuit hash.
    public var circuitIndex: String { key("circuit-index") }
    /// Hash of one node's circuit breaker.
    public func circuit(_ id: NodeId) -> String { key("circuit", id.rawValue) }

    // Policy
    /// Hash holding the active routing policy document.
    public var policy: String { key("policy") }

    // Gateways
    /// Sorted set of gateway ids scored by last heartbeat (ms since the epoch).
    public var gateways: String { key("gateways") }
    /// Hash of one gateway (heartbeat, info, `inflight:{node}` counters), with a TTL.
    public func gateway(_ id: String) -> String { key("gateway", id) }
    /// Hash of cluster-wide counters (HINCRBY).
    public var stats: String { key("stats") }

    // Versions
    /// Counter bumped by every write of a family.
    public func version(_ family: FederationFamily) -> String { key("version", family.rawValue) }

    // Channels
    /// Where changes of a family are announced.
    public func events(_ family: FederationFamily) -> String { key("events", family.rawValue) }
    /// Where anyone publishes health observations (see ``HealthReport``).
    public var healthReports: String { key("health", "reports") }
}

/// The three families of shared state, each with one writer, one version counter, one channel.
public enum FederationFamily: String, Sendable, Codable, CaseIterable, Hashable {
    case catalog, health, policy
}
