import FederationCore
import Synchronization

/// ``CatalogStore`` in memory, with the same semantics as the Redis one (contract-tested): every
/// write applies the pure functions of ``CatalogRecords`` under one lock.
public final class InMemoryCatalogStore: CatalogStore {
    private let state = Mutex(Versioned(value: CatalogRecords(), version: 0))
    private let bus: InMemoryEventBus
    private let clock: any FederationClock

    public init(bus: InMemoryEventBus = .init(), clock: any FederationClock = SystemClock()) {
        self.bus = bus
        self.clock = clock
    }

    private func bump(
        _ state: inout Versioned<CatalogRecords>, _ kind: String, node: NodeId?, model: ModelId?
    ) -> UInt64 {
        state.version += 1
        bus.publish(
            .event(
                .init(
                    family: .catalog, version: state.version, kind: kind, node: node, model: model,
                    at: clock.now().milliseconds)))
        return state.version
    }

    private func check(_ state: Versioned<CatalogRecords>, knownVersion: UInt64) throws {
        if state.version < knownVersion {
            throw CatalogBehindError(stored: state.version, known: knownVersion)
        }
    }

    @discardableResult
    public func register(node: NodeInfo, model: ModelId, capabilities: [Capability]) async throws -> UInt64 {
        if let problem = node.validationProblem { throw FederationError.invalidInput(problem) }
        if let problem = Identifier.problem(with: model.rawValue, kind: "model id") {
            throw FederationError.invalidInput(problem)
        }
        return state.withLock { state in
            state.value.state.register(node: node, model: model, capabilities: capabilities)
            return bump(&state, "register", node: node.id, model: model)
        }
    }

    public func replaceNode(
        _ registration: NodeRegistration, knownVersion: UInt64
    ) async throws -> NodeReplacement {
        if let problem = registration.validationProblem { throw FederationError.invalidInput(problem) }
        return try state.withLock { state in
            try check(state, knownVersion: knownVersion)
            let removed = state.value.replace(registration)
            let version = bump(&state, "register", node: registration.node.id, model: nil)
            return NodeReplacement(version: version, removedModels: removed)
        }
    }

    @discardableResult
    public func deregister(model: ModelId, node: NodeId, knownVersion: UInt64) async throws -> UInt64? {
        try state.withLock { state in
            try check(state, knownVersion: knownVersion)
            guard state.value.deregister(model: model, node: node) else { return nil }
            return bump(&state, "deregister", node: node, model: model)
        }
    }

    public func removeNode(
        _ node: NodeId, expiredBy: Timestamp?, knownVersion: UInt64
    ) async throws -> NodeRemoval? {
        try state.withLock { state in
            try check(state, knownVersion: knownVersion)
            guard let models = state.value.removeNode(node, expiredBy: expiredBy) else { return nil }
            let version = bump(&state, expiredBy == nil ? "deregister" : "expire", node: node, model: nil)
            return NodeRemoval(version: version, models: models)
        }
    }

    public func restore(_ known: CatalogRecords, knownVersion: UInt64) async throws -> CatalogRestoration? {
        state.withLock { state in
            guard state.version < knownVersion else { return nil }
            let restored = state.value.restore(from: known)
            state.version = knownVersion
            let version = bump(&state, "restore", node: nil, model: nil)
            return CatalogRestoration(version: version, restoredNodes: restored)
        }
    }

    @discardableResult
    public func putModel(_ metadata: ModelMetadata) async throws -> UInt64 {
        if let problem = Identifier.problem(with: metadata.id.rawValue, kind: "model id") {
            throw FederationError.invalidInput(problem)
        }
        return state.withLock { state in
            var stored = metadata
            stored.capabilities = Array(Set(metadata.capabilities)).sorted()
            state.value.state.models[metadata.id] = stored
            return bump(&state, "model", node: nil, model: metadata.id)
        }
    }

    public func loadCatalog() async throws -> Versioned<CatalogState> {
        let records = try await loadRecords()
        return Versioned(value: records.value.state, version: records.version)
    }

    public func loadRecords() async throws -> Versioned<CatalogRecords> {
        var copy = state.withLock { $0 }
        copy.value.state.deployments.sort { ($0.model, $0.node) < ($1.model, $1.node) }
        return copy
    }

    public func deployments(for capability: Capability) async throws -> [Deployment] {
        state.withLock { $0.value.state.deployments.filter { $0.capabilities.contains(capability) } }
            .sorted { ($0.model, $0.node) < ($1.model, $1.node) }
    }

    public func catalogVersion() async throws -> UInt64 { state.withLock { $0.version } }

    public func lease(of node: NodeId) async throws -> Timestamp? {
        state.withLock { $0.value.leases[node] }
    }

    public func expiredLeases(at now: Timestamp, limit: Int) async throws -> [NodeId] {
        let leases = state.withLock { $0.value.leases }
        return leases.filter { $0.value <= now }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
            .prefix(max(1, limit)).map(\.key)
    }
}

/// ``HealthStore`` in memory.
public final class InMemoryHealthStore: HealthStore {
    private let state = Mutex(Versioned(value: HealthTable(), version: 0))
    private let bus: InMemoryEventBus
    private let clock: any FederationClock

    public init(bus: InMemoryEventBus = .init(), clock: any FederationClock = SystemClock()) {
        self.bus = bus
        self.clock = clock
    }

    private func bump(_ state: inout Versioned<HealthTable>, _ kind: String, node: NodeId) -> UInt64 {
        state.version += 1
        bus.publish(
            .event(
                .init(
                    family: .health, version: state.version, kind: kind, node: node,
                    at: clock.now().milliseconds)))
        return state.version
    }

    @discardableResult
    public func putHealth(_ health: NodeHealth) async throws -> UInt64 {
        try checkNode(health.node)
        return state.withLock { state in
            state.value.health[health.node] = health
            return bump(&state, "health", node: health.node)
        }
    }

    @discardableResult
    public func putCircuit(_ circuit: CircuitRecord) async throws -> UInt64 {
        try checkNode(circuit.node)
        return state.withLock { state in
            state.value.circuits[circuit.node] = circuit
            return bump(&state, "circuit", node: circuit.node)
        }
    }

    @discardableResult
    public func removeHealth(of node: NodeId) async throws -> UInt64? {
        state.withLock { state in
            let hadHealth = state.value.health.removeValue(forKey: node) != nil
            let hadCircuit = state.value.circuits.removeValue(forKey: node) != nil
            let removed = hadHealth || hadCircuit
            return removed ? bump(&state, "remove", node: node) : nil
        }
    }

    public func health(of node: NodeId) async throws -> NodeHealth? {
        state.withLock { $0.value.health[node] }
    }
    public func circuit(of node: NodeId) async throws -> CircuitRecord? {
        state.withLock { $0.value.circuits[node] }
    }
    public func loadHealth() async throws -> Versioned<HealthTable> { state.withLock { $0 } }
}

/// ``PolicyStore`` in memory.
public final class InMemoryPolicyStore: PolicyStore {
    private let state = Mutex(Versioned(value: RoutingPolicyDocument(), version: 0))
    private let bus: InMemoryEventBus
    private let clock: any FederationClock

    public init(bus: InMemoryEventBus = .init(), clock: any FederationClock = SystemClock()) {
        self.bus = bus
        self.clock = clock
    }

    @discardableResult
    public func putPolicy(_ document: RoutingPolicyDocument) async throws -> UInt64 {
        if let problem = document.validationProblem { throw FederationError.invalidInput(problem) }
        return state.withLock { state in
            state.version += 1
            state.value = document
            state.value.version = state.version
            bus.publish(
                .event(
                    .init(
                        family: .policy, version: state.version, kind: "policy", at: clock.now().milliseconds)
                ))
            return state.version
        }
    }

    public func loadPolicy() async throws -> Versioned<RoutingPolicyDocument> { state.withLock { $0 } }
}

/// ``GatewayStore`` in memory.
public final class InMemoryGatewayStore: GatewayStore {
    private struct State {
        var gateways: [String: GatewayHeartbeat] = [:]
        var inFlight: [String: [NodeId: Int]] = [:]
        var stats: [String: Int64] = [:]
    }
    private let state = Mutex(State())
    /// A gateway whose heartbeat is older than this is dead.
    public let heartbeatTTL: Duration

    public init(heartbeatTTL: Duration = .seconds(15)) { self.heartbeatTTL = heartbeatTTL }

    public func heartbeat(_ heartbeat: GatewayHeartbeat) async throws {
        if let problem = Identifier.problem(with: heartbeat.id, kind: "gateway id") {
            throw FederationError.invalidInput(problem)
        }
        state.withLock { $0.gateways[heartbeat.id] = heartbeat }
    }

    public func liveGateways(now: Timestamp) async throws -> [GatewayHeartbeat] {
        let cutoff = now.milliseconds - heartbeatTTL.wholeMilliseconds
        return state.withLock { $0.gateways.values.filter { $0.at.milliseconds >= cutoff } }.sorted {
            $0.id < $1.id
        }
    }

    public func remove(gateway: String) async throws {
        state.withLock { state in
            state.gateways[gateway] = nil
            state.inFlight[gateway] = nil
        }
    }

    public func adjustInFlight(gateway: String, deltas: [NodeId: Int]) async throws {
        state.withLock { state in
            for (node, delta) in deltas { state.inFlight[gateway, default: [:]][node, default: 0] += delta }
        }
    }

    @discardableResult
    public func adjustInFlight(gateway: String, node: NodeId, by delta: Int) async throws -> Int {
        state.withLock { state in
            state.inFlight[gateway, default: [:]][node, default: 0] += delta
            return state.inFlight[gateway]![node]!
        }
    }

    public func clusterInFlight(now: Timestamp) async throws -> [NodeId: Int] {
        let live = Set(try await liveGateways(now: now).map(\.id))
        return state.withLock { state in
            var totals: [NodeId: Int] = [:]
            for (gateway, counts) in state.inFlight where live.contains(gateway) {
                for (node, count) in counts { totals[node, default: 0] += count }
            }
            return totals.mapValues { max(0, $0) }
        }
    }

    public func incrementStats(_ deltas: [String: Int64]) async throws {
        state.withLock { state in
            for (name, delta) in deltas { state.stats[name, default: 0] += delta }
        }
    }

    public func stats() async throws -> [String: Int64] { state.withLock { $0.stats } }
}
