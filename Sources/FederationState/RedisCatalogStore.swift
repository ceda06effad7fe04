import FederationCore
import FederationRedis

/// ``CatalogStore`` on Redis: registrations are single Lua scripts (atomic, version + event included).
public struct RedisCatalogStore: CatalogStore {
    public let client: RedisClient
    public let keys: FederationKeys
    let clock: any FederationClock

    public init(
        client: RedisClient, keys: FederationKeys = .init(), clock: any FederationClock = SystemClock()
    ) {
        self.client = client
        self.keys = keys
        self.clock = clock
    }

    private var now: String { String(clock.now().milliseconds) }

    @discardableResult
    public func register(node: NodeInfo, model: ModelId, capabilities: [Capability]) async throws -> UInt64 {
        if let problem = node.validationProblem { throw FederationError.invalidInput(problem) }
        if let problem = Identifier.problem(with: model.rawValue, kind: "model id") {
            throw FederationError.invalidInput(problem)
        }
        let fields = RecordEncoding.fields(of: node).flatMap { [$0.0, $0.1] }
        let reply = try await client.evalScript(
            FederationScripts.register,
            arguments: [
                keys.namespace, node.id.rawValue, model.rawValue, RecordEncoding.csv(capabilities), now,
            ] + fields)
        return try version(reply, "register")
    }

    @discardableResult
    public func putModel(_ metadata: ModelMetadata) async throws -> UInt64 {
        if let problem = Identifier.problem(with: metadata.id.rawValue, kind: "model id") {
            throw FederationError.invalidInput(problem)
        }
        let fields = RecordEncoding.fields(of: metadata).flatMap { [$0.0, $0.1] }
        let reply = try await client.evalScript(
            FederationScripts.putModel, arguments: [keys.namespace, metadata.id.rawValue, now] + fields)
        return try version(reply, "putModel")
    }

    public func loadCatalog() async throws -> Versioned<CatalogState> {
        let loaded = try await load(withLeases: false)
        return Versioned(value: loaded.value.state, version: loaded.version, problems: loaded.problems)
    }

    public func loadRecords() async throws -> Versioned<CatalogRecords> {
        try await load(withLeases: true)
    }

    private func load(withLeases: Bool) async throws -> Versioned<CatalogRecords> {
        let reply = try await client.evalScript(
            FederationScripts.loadCatalog, arguments: [keys.namespace, withLeases ? "leases" : ""])
        guard let parts = reply.array, parts.count >= 4, let version = parts[0].int,
            let nodes = parts[1].array, let models = parts[2].array, let deployments = parts[3].array
        else { throw RedisError.unexpectedReply(command: "loadCatalog", reply: reply.description) }
        var state = CatalogState()
        var problems: [String] = []
        for (id, fields) in hashEntries(nodes) {
            do throws(FederationError) {
                let node = try RecordEncoding.node(NodeId(id), from: fields)
                state.nodes[node.id] = node
            } catch { problems.append(error.message) }
        }
        for (id, fields) in hashEntries(models) {
            do throws(FederationError) {
                state.models[ModelId(id)] = try RecordEncoding.model(ModelId(id), from: fields)
            } catch { problems.append(error.message) }
        }
        for (model, byNode) in hashEntries(deployments) {
            for (node, csv) in byNode {
                guard let capabilities = RecordEncoding.capabilities(csv) else {
                    problems.append(
                        "deployment of '\(model)' on '\(node)': invalid capabilities '\(csv.prefix(64))'")
                    continue
                }
                state.deployments.append(
                    Deployment(model: ModelId(model), node: NodeId(node), capabilities: capabilities))
            }
        }
        state.deployments.sort { ($0.model, $0.node) < ($1.model, $1.node) }
        var leases: [NodeId: Timestamp] = [:]
        let flat = parts.count > 4 ? parts[4].array ?? [] : []
        for index in stride(from: 0, to: flat.count - 1, by: 2) {
            guard let id = flat[index].string else { continue }
            guard let expiry = leaseExpiry(flat[index + 1]) else {
                problems.append(
                    "lease of '\(id)': invalid expiry '\(flat[index + 1].description.prefix(64))'")
                continue
            }
            leases[NodeId(id)] = expiry
        }
        return Versioned(
            value: CatalogRecords(state: state, leases: leases), version: UInt64(max(0, version)),
            problems: problems)
    }

    public func deployments(for capability: Capability) async throws -> [Deployment] {
        let members = try await client.command("SMEMBERS", keys.capability(capability))
        let pairs: [(ModelId, NodeId)] = (members.array ?? []).compactMap { member in
            guard let text = member.string, let bar = text.firstIndex(of: "|") else { return nil }
            return (ModelId(String(text[..<bar])), NodeId(String(text[text.index(after: bar)...])))
        }
        if pairs.isEmpty { return [] }
        let replies = try await client.pipeline(
            pairs.map { RedisCommand("HGET", keys.deployments($0.0), $0.1.rawValue) })
        var result: [Deployment] = []
        for ((model, node), reply) in zip(pairs, replies) {
            guard let csv = reply.string, let capabilities = RecordEncoding.capabilities(csv) else {
                continue
            }
            result.append(Deployment(model: model, node: node, capabilities: capabilities))
        }
        return result.sorted { ($0.model, $0.node) < ($1.model, $1.node) }
    }

    public func catalogVersion() async throws -> UInt64 {
        UInt64(max(0, try await client.command("GET", keys.version(.catalog)).int ?? 0))
    }
}

/// `[id, HGETALL-reply, id, HGETALL-reply…]` (what the load scripts return) as (id, fields)
/// pairs; malformed entries are skipped.
func hashEntries(_ flat: [RedisValue]) -> [(String, [String: String])] {
    stride(from: 0, to: flat.count - 1, by: 2).compactMap { index in
        guard let id = flat[index].string, let fields = flat[index + 1].hashFields else { return nil }
        return (id, fields)
    }
}

func version(_ reply: RedisValue, _ operation: String) throws -> UInt64 {
    guard let value = reply.int, value > 0 else {
        throw RedisError.unexpectedReply(command: operation, reply: reply.description)
    }
    return UInt64(value)
}
