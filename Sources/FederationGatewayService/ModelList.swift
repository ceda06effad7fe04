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
