import FederationCore
import FederationHTTP
import Hummingbird

/// `GET /v1/models`: the federation's models from the view, in OpenAI's list shape, each with its
/// capabilities and the regions it is deployed in.
struct ModelList: Encodable, Sendable {
    struct Model: Encodable, Sendable {
        var id: String
        var object = "model"
        var created: Int64 = 0
        var ownedBy = "federation"
        var capabilities: [String]
        var regions: [String]
        var nodes: Int
        enum CodingKeys: String, CodingKey {
            case id, object, created, ownedBy = "owned_by", capabilities, regions, nodes
        }
    }
    var object = "list"
    var data: [Model]

    init(snapshot: FederationSnapshot) {
        var byModel: [ModelId: (capabilities: Set<Capability>, regions: Set<RegionId>, nodes: Set<NodeId>)] =
            [:]
        for deployment in snapshot.catalog.deployments {
            guard let node = snapshot.catalog.nodes[deployment.node] else { continue }
            byModel[deployment.model, default: ([], [], [])].capabilities.formUnion(deployment.capabilities)
            byModel[deployment.model, default: ([], [], [])].regions.insert(node.region)
            byModel[deployment.model, default: ([], [], [])].nodes.insert(node.id)
        }
        data = byModel.keys.sorted().map { model in
            let entry = byModel[model]!
            return Model(
                id: model.rawValue, capabilities: entry.capabilities.sorted().map(\.description),
                regions: entry.regions.sorted().map(\.rawValue), nodes: entry.nodes.count)
        }
    }

    func response() -> Response { jsonResponse(self) }
}

/// `GET /v1/nodes`: every node as this replica routes with it — region, health, the circuit's
/// effective state now, this replica's in-flight requests and the cluster estimate — so an
/// operator (or a test) can see what one replica believes without asking Redis.
struct NodeList: Encodable, Sendable {
    struct Node: Encodable, Sendable {
        var node: String
        var region: String
        var endpoint: String
        var health: String
        var circuit: String
        var inFlightHere: Int
        var inFlightCluster: Int
        var coolingDown: Bool
        enum CodingKeys: String, CodingKey {
            case node, region, endpoint, health, circuit, inFlightHere = "in_flight_here"
            case inFlightCluster = "in_flight_cluster", coolingDown = "cooling_down"
        }
    }
    var versions: SnapshotVersions
    var nodes: [Node]

    init(snapshot: FederationSnapshot, load: ReplicaLoad, now: Timestamp) {
        let cooling = load.cooling()
        versions = snapshot.versions
        nodes = snapshot.catalog.nodes.values.sorted { $0.id < $1.id }.map { info in
            Node(
                node: info.id.rawValue, region: info.region.rawValue, endpoint: info.endpoint,
                health: snapshot.health[info.id]?.state.description ?? HealthState.unknown.description,
                circuit: snapshot.circuits[info.id]?.effectiveState(at: now).description
                    ?? CircuitState.closed.description,
                inFlightHere: load.localInFlight(info.id), inFlightCluster: load.inFlight(info.id),
                coolingDown: cooling.contains(info.id))
        }
    }
}
