import FederationCatalogService
import FederationCore
import Foundation
import Testing

@Suite("Catalog API")
struct CatalogAPITests {
    @Test("a registered node is listed, found by capability and readable; its model shows where it runs")
    func registerListFindGet() async throws {
        try await withCatalog { catalog in
            try await catalog.register(
                registration(
                    "gpu-1",
                    models: [
                        .init(name: "llama-3-8b", capabilities: [.generate, .code]),
                        .init(name: "bge-small", capabilities: [.embed]),
                    ]))
            try await catalog.register(registration("cpu-1", endpoint: "http://10.0.0.2:8000/"))

            #expect(try await catalog.nodeIds() == ["cpu-1", "gpu-1"])
            #expect(try await catalog.nodeIds(capability: "embed") == ["gpu-1"])
            #expect(try await catalog.nodeIds(capability: "generate") == ["cpu-1", "gpu-1"])
            #expect(try await catalog.nodeIds(capability: "transcribe") == [])

            let node = try await catalog.send(.get, "/v1/nodes/gpu-1").decode(NodeView.self)
            #expect(node.region == "us-west")
            #expect(node.gpu)
            #expect(node.models.map(\.name) == ["bge-small", "llama-3-8b"])
            #expect(node.capabilities == [.code, .embed, .generate])
            #expect(node.leaseExpiresAt == nil)
            let cpu = try await catalog.send(.get, "/v1/nodes/cpu-1").decode(NodeView.self)
            #expect(cpu.endpoint == "http://10.0.0.2:8000", "a trailing '/' is removed")

            let model = try await catalog.send(.get, "/v1/models/llama-3-8b").decode(ModelView.self)
            #expect(model.deployments.map(\.node) == ["cpu-1", "gpu-1"])
            #expect(model.capabilities == [.code, .generate])
            let models = try await catalog.send(.get, "/v1/models").decode(ModelList.self)
            #expect(models.models.map(\.id) == ["bge-small", "llama-3-8b"])

            #expect(try await catalog.send(.get, "/v1/nodes/nope").status == 404)
            #expect(try await catalog.send(.get, "/v1/models/nope").status == 404)
            let bad = try await catalog.send(.get, "/v1/nodes?capability=generat")
            #expect(bad.status == 400)
            #expect(bad.errorParam == "capability")
        }
    }

    @Test("re-registering replaces the node: new endpoint, models it no longer lists are removed")
    func reRegisterReplaces() async throws {
        try await withCatalog { catalog in
            try await catalog.register(
                registration(
                    "n1",
                    models: [
                        .init(name: "a", capabilities: [.generate]), .init(name: "b", capabilities: [.embed]),
                    ]))
            let reply = try await catalog.register(
                registration(
                    "n1", models: [.init(name: "a", capabilities: [.code])], endpoint: "http://10.9.9.9:9000")
            )
            let body = try reply.decode(RegistrationReply.self)
            #expect(body.removedModels == ["b"])
            #expect(body.node.endpoint == "http://10.9.9.9:9000")
            #expect(body.node.models == [.init(name: "a", capabilities: [.code])])
            #expect(try await catalog.send(.get, "/v1/models/b").status == 404, "nothing serves b any more")
            #expect(try await catalog.nodeIds(capability: "embed") == [])
            #expect(
                try await catalog.nodeIds(capability: "generate") == [], "the old deployment was replaced")
            #expect(try await catalog.nodeIds(capability: "code") == ["n1"])
        }
    }

    @Test("deregistering a deployment, then a whole node")
    func deregister() async throws {
        try await withCatalog { catalog in
            try await catalog.register(
                registration(
                    "n1",
                    models: [
                        .init(name: "a", capabilities: [.generate]), .init(name: "b", capabilities: [.embed]),
                    ]))
            try await catalog.register(
                registration("n2", models: [.init(name: "a", capabilities: [.generate])]))

            #expect(try await catalog.send(.delete, "/v1/deployments/b/n1").status == 200)
            #expect(try await catalog.send(.delete, "/v1/deployments/b/n1").status == 404)
            #expect(try await catalog.nodeIds(capability: "embed") == [])
            #expect(try await catalog.nodeIds() == ["n1", "n2"])

            let removed = try await catalog.send(.delete, "/v1/nodes/n1")
            #expect(removed.status == 200)
            #expect(try removed.decode(DeletionReply.self).removed == ["a"])
            #expect(try await catalog.nodeIds() == ["n2"])
            #expect(try await catalog.send(.delete, "/v1/nodes/n1").status == 404)
            let model = try await catalog.send(.get, "/v1/models/a").decode(ModelView.self)
            #expect(model.deployments.map(\.node) == ["n2"])
            #expect(catalog.metric("federation_catalog_deregistrations_total") == 2)
            #expect(catalog.metric("federation_catalog_nodes") == 1)
        }
    }

    @Test("model metadata: PUT replaces it, GET shows it, registrations may carry it; ids may hold '/'")
    func modelMetadata() async throws {
        try await withCatalog { catalog in
            try await catalog.register(
                registration("n1", models: [.init(name: "meta/llama-3", capabilities: [.generate])]))
            let put = try await catalog.send(
                .put, "/v1/models/meta/llama-3",
                json: ModelUpdate(
                    name: "Llama 3", version: "3.0", parameters: 8_000_000_000, quantization: "q4"))
            #expect(put.status == 200, "\(put.text)")
            let model = try await catalog.send(.get, "/v1/models/meta%2Fllama-3").decode(ModelView.self)
            #expect(model.name == "Llama 3")
            #expect(model.version == "3.0")
            #expect(model.parameters == 8_000_000_000)
            #expect(model.quantization == "q4")
            #expect(model.capabilities == [.generate], "capabilities follow the deployments")
            #expect(model.deployments.map(\.node) == ["n1"])

            try await catalog.register(
                registration(
                    "n2", models: [.init(name: "whisper", capabilities: [.transcribe], version: "large-v3")]))
            let whisper = try await catalog.send(.get, "/v1/models/whisper").decode(ModelView.self)
            #expect(whisper.version == "large-v3")

            let bad = try await catalog.send(.put, "/v1/models/whisper", json: ModelUpdate(parameters: 0))
            #expect(bad.status == 400)
            #expect(bad.errorParam == "parameters")
        }
    }

    @Test("/healthz and /readyz answer 200 while Redis is up; /metrics counts registrations")
    func operationalRoutes() async throws {
        try await withCatalog { catalog in
            #expect(try await catalog.send(.get, "/healthz").status == 200)
            let ready = try await catalog.send(.get, "/readyz")
            #expect(ready.status == 200, "\(ready.text)")
            try await catalog.register(registration("n1"))
            let metrics = try await catalog.send(.get, "/metrics")
            #expect(metrics.text.contains("federation_catalog_registrations_total 1"))
            #expect(catalog.metric("federation_catalog_nodes") == 1)
        }
    }
}

@Suite("Admin token")
struct AdminTokenTests {
    @Test("writes need the token when one is configured (401 without, 403 wrong); reads stay open")
    func tokenRequired() async throws {
        try await withCatalog(token: "s3cret") { catalog in
            let missing = try await catalog.send(
                .post, "/v1/deployments", json: registration("n1"), token: .some(nil))
            #expect(missing.status == 401)
            let wrong = try await catalog.send(
                .post, "/v1/deployments", json: registration("n1"), token: "nope")
            #expect(wrong.status == 403)
            #expect(try await catalog.send(.delete, "/v1/nodes/n1", token: .some(nil)).status == 401)
            #expect(
                try await catalog.send(.put, "/v1/models/m", json: ModelUpdate(), token: .some(nil)).status
                    == 401)
            #expect(try await catalog.nodeIds() == [], "a refused write leaves nothing behind")
            #expect(try await catalog.send(.post, "/v1/deployments", json: registration("n1")).status == 200)
            #expect(try await catalog.send(.get, "/v1/nodes", token: .some(nil)).status == 200)
            #expect(try await catalog.send(.get, "/v1/models/llama-3-8b", token: .some(nil)).status == 200)
        }
    }

    @Test("without a configured token, writes need none")
    func noToken() async throws {
        try await withCatalog { catalog in
            let created = try await catalog.send(.post, "/v1/deployments", json: registration("n1"))
            #expect(created.status == 200)
            let deleted = try await catalog.send(.delete, "/v1/nodes/n1")
            #expect(deleted.status == 200)
        }
    }
}
