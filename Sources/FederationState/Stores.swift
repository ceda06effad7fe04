import FederationCore

/// A value read together with the version of its family, atomically.
public struct Versioned<Value: Sendable>: Sendable {
    public var value: Value
    /// The family's version counter when the value was read (0: never written).
    public var version: UInt64
    /// Records that could not be decoded and were skipped (each says which and why).
    public var problems: [String]

    public init(value: Value, version: UInt64, problems: [String] = []) {
        self.value = value
        self.version = version
        self.problems = problems
    }
}

/// Every node's health and circuit, as one value.
public struct HealthTable: Sendable, Equatable {
    public var health: [NodeId: NodeHealth]
    public var circuits: [NodeId: CircuitRecord]
    public init(health: [NodeId: NodeHealth] = [:], circuits: [NodeId: CircuitRecord] = [:]) {
        self.health = health
        self.circuits = circuits
    }
}

/// Who serves what. Written only by the catalog service. Every write is atomic, bumps the
/// catalog version and announces it on `{ns}:events:catalog`.
public protocol CatalogStore: Sendable {
    /// Adds or replaces `node` and its deployment of `model` with `capabilities` (semantics of
    /// ``CatalogState/register(node:model:capabilities:)``). Returns the new catalog version.
    @discardableResult
    func register(node: NodeInfo, model: ModelId, capabilities: [Capability]) async throws -> UInt64
    /// Replaces a node and its whole deployment list in one atomic step (semantics of
    /// ``CatalogRecords/replace(_:)``): one version bump, one `register` event. Two catalog
    /// processes registering the same node at once leave exactly one of the two registrations.
    /// - Parameter knownVersion: the highest catalog version the caller has seen (0: none); when
    ///   the store is below it, nothing is written and ``CatalogBehindError`` is thrown.
    func replaceNode(_ registration: NodeRegistration, knownVersion: UInt64) async throws -> NodeReplacement
    /// Removes the deployment (semantics of ``CatalogRecords/deregister(model:node:)``: the node's
    /// lease goes with its last deployment). Returns the new version, or nil when there was no such
    /// deployment (nothing changes then). Throws ``CatalogBehindError`` like `replaceNode`.
    @discardableResult
    func deregister(model: ModelId, node: NodeId, knownVersion: UInt64) async throws -> UInt64?
    /// Removes a node, its deployments and its lease in one atomic step (semantics of
    /// ``CatalogRecords/removeNode(_:expiredBy:)``: with `expiredBy`, only when the stored lease
    /// expired by then, checked inside the same step). nil when nothing was removed. Throws
    /// ``CatalogBehindError`` like `replaceNode`.
    func removeNode(_ node: NodeId, expiredBy: Timestamp?, knownVersion: UInt64) async throws -> NodeRemoval?
    /// Writes `known` back into a store that lost it (semantics of
    /// ``CatalogRecords/restore(from:)``), but only when the store's version is below
    /// `knownVersion`; the version becomes `knownVersion + 1` and one `restore` event is published.
    /// nil when the store was not behind (someone restored first, or nothing was lost).
    func restore(_ known: CatalogRecords, knownVersion: UInt64) async throws -> CatalogRestoration?
    /// The catalog and every lease with the version, read atomically.
    func loadRecords() async throws -> Versioned<CatalogRecords>
    /// `node`'s lease expiry, or nil when it has none.
    func lease(of node: NodeId) async throws -> Timestamp?
    /// Up to `limit` nodes whose lease expired at or before `now`, earliest first.
    func expiredLeases(at now: Timestamp, limit: Int) async throws -> [NodeId]
    /// Sets a model's descriptive metadata. Returns the new version.
    @discardableResult
    func putModel(_ metadata: ModelMetadata) async throws -> UInt64
    /// The whole catalog and its version, read atomically.
    func loadCatalog() async throws -> Versioned<CatalogState>
    /// The deployments that have `capability`, sorted by model then node.
    func deployments(for capability: Capability) async throws -> [Deployment]
    /// The catalog version (0 before the first write).
    func catalogVersion() async throws -> UInt64
}

extension CatalogStore {
    /// Removes the deployment without a version check (see ``deregister(model:node:knownVersion:)``).
    @discardableResult
    public func deregister(model: ModelId, node: NodeId) async throws -> UInt64? {
        try await deregister(model: model, node: node, knownVersion: 0)
    }
}

/// Node health and circuit breakers. Written only by the health service.
public protocol HealthStore: Sendable {
    /// Stores a node's health; returns the new health version.
    @discardableResult
    func putHealth(_ health: NodeHealth) async throws -> UInt64
    /// Stores a node's circuit; returns the new health version.
    @discardableResult
    func putCircuit(_ circuit: CircuitRecord) async throws -> UInt64
    /// Forgets a node's health and circuit; returns the new version (nil when there was nothing).
    @discardableResult
    func removeHealth(of node: NodeId) async throws -> UInt64?
    func health(of node: NodeId) async throws -> NodeHealth?
    func circuit(of node: NodeId) async throws -> CircuitRecord?
    /// Every health and circuit record and the version, read atomically.
    func loadHealth() async throws -> Versioned<HealthTable>
}

/// The active routing policy. Written only by the router service.
public protocol PolicyStore: Sendable {
    /// Stores `document`; returns the new policy version, which the stored document carries as
    /// its `version`.
    @discardableResult
    func putPolicy(_ document: RoutingPolicyDocument) async throws -> UInt64
    /// The active document (version 0 and the defaults before the first put).
    func loadPolicy() async throws -> Versioned<RoutingPolicyDocument>
}

/// A gateway replica's last heartbeat.
public struct GatewayHeartbeat: Sendable, Equatable {
    public var id: String
    public var at: Timestamp
    /// Free-form facts (address, version, started_at…).
    public var info: [String: String]
    public init(id: String, at: Timestamp, info: [String: String] = [:]) {
        self.id = id
        self.at = at
        self.info = info
    }
}

/// Gateway replicas' liveness, their in-flight requests per node, and cluster-wide counters.
/// Each gateway writes only its own hash; counters use atomic increments.
public protocol GatewayStore: Sendable {
    /// Records that `gateway` is alive; its hash expires after the store's heartbeat TTL.
    func heartbeat(_ heartbeat: GatewayHeartbeat) async throws
    /// Gateways whose last heartbeat is younger than the TTL, sorted by id.
    func liveGateways(now: Timestamp) async throws -> [GatewayHeartbeat]
    /// Forgets `gateway` at once (a replica that drained and stops), its in-flight counts included.
    func remove(gateway: String) async throws
    /// Adds `delta` to `gateway`'s in-flight count for `node`; returns the new count.
    @discardableResult
    func adjustInFlight(gateway: String, node: NodeId, by delta: Int) async throws -> Int
    /// Adds every delta to `gateway`'s in-flight counts in one round trip (a replica's periodic flush).
    func adjustInFlight(gateway: String, deltas: [NodeId: Int]) async throws
    /// In-flight requests per node summed over live gateways (negative sums count as 0).
    func clusterInFlight(now: Timestamp) async throws -> [NodeId: Int]
    /// Adds each delta to the cluster counter of that name, atomically.
    func incrementStats(_ deltas: [String: Int64]) async throws
    /// The cluster counters.
    func stats() async throws -> [String: Int64]
}
