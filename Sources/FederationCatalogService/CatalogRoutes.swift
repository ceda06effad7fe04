import FederationCore
import FederationHTTP
import FederationState
import Foundation
import Hummingbird

/// The handlers of the catalog's JSON API. Reads go straight to the store (one atomic load);
/// writes go through the ``CatalogWriter`` after the whole request was validated.
struct CatalogAPI: Sendable {
    let writer: CatalogWriter
    let maxBodyBytes: Int
    let defaultLease: Duration

    var catalog: any CatalogStore { writer.catalog }

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.post("deployments") { request, _ in try await register(request) }
        group.delete("deployments/:model/:node") { _, context in
            try await deregister(
                model: try pathId(context, "model") { ModelId($0) },
                node: try pathId(context, "node") { NodeId($0) })
        }
        group.delete("nodes/**") { _, context in try await deregisterNode(try catchAllId(context, "node")) }
        group.get("nodes") { request, _ in try await listNodes(request) }
        group.get("nodes/**") { _, context in try await node(NodeId(try catchAllId(context, "node"))) }
        group.get("models") { _, _ in try await listModels() }
        group.get("models/**") { _, context in try await model(ModelId(try catchAllId(context, "model"))) }
        group.put("models/**") { request, context in
            try await putModel(request, id: ModelId(try catchAllId(context, "model")))
        }
    }

    func register(_ request: Request) async throws -> Response {
        let body = try await request.decodeJSON(RegistrationRequest.self, limit: maxBodyBytes)
        let registration = try body.validated(defaultLease: defaultLease)
        let result = try await writer.register(registration)
        let state = try await catalog.loadCatalog().value
        let node = state.nodes[registration.node.id] ?? registration.node
        let view = NodeView(node, state: state, lease: result.leaseExpiresAt)
        return jsonResponse(
            RegistrationReply(
                node: view, version: result.version, removedModels: result.removedModels.map(\.rawValue)))
    }

    func deregister(model: ModelId, node: NodeId) async throws -> Response {
        guard try await writer.deregister(model: model, node: node) != nil else {
            throw OpenAIError.notFound(
                "Model '\(model)' is not deployed on node '\(node)'; GET /v1/nodes/\(node) lists its models.",
                code: "deployment_not_found")
        }
        return jsonResponse(DeletionReply(removed: [model.rawValue], node: node.rawValue))
    }

    func deregisterNode(_ id: String) async throws -> Response {
        let models = try await writer.deregisterNode(NodeId(id))
        if models.isEmpty {
            throw OpenAIError.notFound("Node '\(id)' is not registered.", code: "node_not_found")
        }
        return jsonResponse(DeletionReply(removed: models.map(\.rawValue), node: id))
    }

    func listNodes(_ request: Request) async throws -> Response {
        var filter: Capability?
        if let text = request.uri.queryParameters["capability"] {
            do throws(FederationError) {
                filter = try Capability(parsing: String(text))
            } catch {
                throw OpenAIError.invalid(
                    "Invalid 'capability': \(error.message)", param: "capability", code: "invalid_value")
            }
        }
        let loaded = try await catalog.loadRecords()
        let state = loaded.value.state
        let allLeases = loaded.value.leases
        var ids = state.nodes.keys.sorted()
        if let filter { ids = state.nodes(for: filter).map(\.0) }
        writer.metrics.nodes.set(Double(state.nodes.count))
        let views = ids.compactMap { id in
            state.nodes[id].map { NodeView($0, state: state, lease: allLeases[id]) }
        }
        return jsonResponse(NodeList(nodes: views, version: loaded.version))
    }

    func node(_ id: NodeId) async throws -> Response {
        let state = try await catalog.loadCatalog().value
        guard let node = state.nodes[id] else {
            throw OpenAIError.notFound(
                "Node '\(id)' is not registered; GET /v1/nodes lists the nodes.", code: "node_not_found")
        }
        return jsonResponse(NodeView(node, state: state, lease: try await catalog.lease(of: id)))
    }

    func listModels() async throws -> Response {
        let loaded = try await catalog.loadCatalog()
        let views = loaded.value.models.values.sorted { $0.id < $1.id }.map {
            ModelView($0, state: loaded.value)
        }
        return jsonResponse(ModelList(models: views, version: loaded.version))
    }

    func model(_ id: ModelId) async throws -> Response {
        let state = try await catalog.loadCatalog().value
        guard let model = state.models[id] else {
            throw OpenAIError.notFound(
                "Model '\(id)' is not known; GET /v1/models lists the models.", code: "model_not_found")
        }
        return jsonResponse(ModelView(model, state: state))
    }

    func putModel(_ request: Request, id: ModelId) async throws -> Response {
        let update = try await request.decodeJSON(ModelUpdate.self, limit: maxBodyBytes)
        try update.validate()
        let metadata = try await writer.putModel(update, id: id)
        let state = try await catalog.loadCatalog().value
        return jsonResponse(ModelView(state.models[id] ?? metadata, state: state))
    }
}

extension ModelUpdate {
    /// 400 naming the field when a value cannot be stored.
    func validate() throws(OpenAIError) {
        let limit = RegistrationLimits.maximumTextBytes
        for (param, value) in [("name", name), ("version", version), ("quantization", quantization)] {
            if let value, value.isEmpty || value.utf8.count > limit {
                throw OpenAIError.invalid(
                    "Invalid '\(param)': must have 1…\(limit) bytes.", param: param, code: "invalid_value")
            }
        }
        if parameters == 0 {
            throw OpenAIError.invalid(
                "Invalid 'parameters': must be a positive integer.", param: "parameters",
                code: "invalid_value")
        }
    }
}

/// A path parameter, percent-decoded and checked as an identifier (400 naming it otherwise).
func pathId<T>(_ context: BasicRequestContext, _ name: String, _ make: (String) -> T) throws -> T {
    let raw = context.parameters.get(name) ?? ""
    return make(try checkedId(raw.removingPercentEncoding ?? raw, name))
}

/// The rest of the path after a `**` route, percent-decoded, as one identifier (ids may hold `/`).
func catchAllId(_ context: BasicRequestContext, _ name: String) throws -> String {
    let raw = context.parameters.getCatchAll().joined(separator: "/")
    return try checkedId(raw.removingPercentEncoding ?? raw, name)
}

private func checkedId(_ value: String, _ name: String) throws -> String {
    if let problem = Identifier.problem(with: value, kind: "\(name) id") {
        throw OpenAIError.invalid(
            "Invalid '\(name)' in the path: \(problem)", param: name, code: "invalid_value")
    }
    return value
}
