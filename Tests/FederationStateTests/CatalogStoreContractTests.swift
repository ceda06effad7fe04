import FederationCore
import FederationState
import Testing

@Suite struct CatalogStoreContractTests {
    @Test(arguments: Backend.allCases)
    func registerLoadsBackAsCatalogStateWould(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            #expect(try await stores.catalog.catalogVersion() == 0)
            var reference = CatalogState()
            let ops: [(NodeInfo, ModelId, [Capability])] = [
                (node("gpu-1"), "llama-3-8b", [.generate, .code]),
                (node("gpu-2", region: "eu-central"), "llama-3-8b", [.generate]),
                (node("gpu-3"), "whisper-large-v3", [.transcribe]),
                (node("gpu-1"), "bge/large:v1.5", [.embed, .custom("rerank")]),
            ]
            for (index, (info, model, capabilities)) in ops.enumerated() {
                let version = try await stores.catalog.register(
                    node: info, model: model, capabilities: capabilities)
                #expect(version == UInt64(index + 1))
                reference.register(node: info, model: model, capabilities: capabilities)
            }
            let loaded = try await stores.catalog.loadCatalog()
            #expect(loaded.version == 4)
            #expect(loaded.problems.isEmpty)
            #expect(loaded.value.nodes == reference.nodes)
            #expect(loaded.value.models == reference.models)
            #expect(Set(loaded.value.deployments) == Set(reference.deployments))
            #expect(try await stores.catalog.catalogVersion() == 4)
        }
    }

    @Test(arguments: Backend.allCases)
    func reregisteringReplacesTheDeploymentAndItsIndex(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            try await stores.catalog.register(node: node("n1"), model: "m", capabilities: [.generate, .code])
            var moved = node("n1")
            moved.endpoint = "http://n1.other:9000"
            moved.labels = [:]
            try await stores.catalog.register(node: moved, model: "m", capabilities: [.embed])
            #expect(try await stores.catalog.deployments(for: .generate).isEmpty)
            #expect(
                try await stores.catalog.deployments(for: .embed) == [
                    Deployment(model: "m", node: "n1", capabilities: [.embed])
                ])
            let loaded = try await stores.catalog.loadCatalog().value
            #expect(loaded.nodes["n1"] == moved)
            // merged, as CatalogState does
            #expect(loaded.models["m"]?.capabilities == [.code, .embed, .generate])
        }
    }

    @Test(arguments: Backend.allCases)
    func deregisterRemovesNodeAndModelWithTheirLastDeployment(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            try await stores.catalog.register(node: node("a"), model: "m1", capabilities: [.generate])
            try await stores.catalog.register(node: node("a"), model: "m2", capabilities: [.embed])
            try await stores.catalog.register(node: node("b"), model: "m1", capabilities: [.generate])
            #expect(try await stores.catalog.deregister(model: "m9", node: "a") == nil)
            #expect(try await stores.catalog.catalogVersion() == 3)  // a no-op does not bump
            #expect(try await stores.catalog.deregister(model: "m1", node: "a") == 4)
            var state = try await stores.catalog.loadCatalog().value
            #expect(state.nodes.keys.sorted() == ["a", "b"])
            #expect(state.models.keys.sorted() == ["m1", "m2"])
            #expect(try await stores.catalog.deployments(for: .generate).map(\.node) == ["b"])
            try await stores.catalog.deregister(model: "m2", node: "a")
            try await stores.catalog.deregister(model: "m1", node: "b")
            state = try await stores.catalog.loadCatalog().value
            #expect(state == CatalogState())
            #expect(try await stores.catalog.deployments(for: .embed).isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func modelMetadataRoundTrips(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            let metadata = ModelMetadata(
                id: "llama-3-70b", name: "Llama 3 70B", version: "3.0", capabilities: [.code, .generate],
                parameters: 70_000_000_000, quantization: "q4_K_M")
            #expect(try await stores.catalog.putModel(metadata) == 1)
            #expect(try await stores.catalog.loadCatalog().value.models["llama-3-70b"] == metadata)
            try await stores.catalog.register(node: node("n"), model: "llama-3-70b", capabilities: [.embed])
            let merged = try await stores.catalog.loadCatalog().value.models["llama-3-70b"]
            #expect(merged?.name == "Llama 3 70B")
            #expect(merged?.capabilities == [.code, .embed, .generate])
        }
    }

    @Test(arguments: Backend.allCases)
    func findByCapabilityIsSortedAndExact(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            try await stores.catalog.register(node: node("z"), model: "m", capabilities: [.generate])
            try await stores.catalog.register(
                node: node("a"), model: "m", capabilities: [.generate, .custom("x")])
            try await stores.catalog.register(node: node("a"), model: "b", capabilities: [.generate])
            let found = try await stores.catalog.deployments(for: .generate)
            #expect(found.map { "\($0.model)|\($0.node)" } == ["b|a", "m|a", "m|z"])
            #expect(try await stores.catalog.deployments(for: .custom("x")).map(\.node) == ["a"])
            #expect(try await stores.catalog.deployments(for: .custom("y")).isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func invalidRecordsAreRejectedWithoutWriting(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            var bad = node("ok")
            bad.endpoint = "ftp://x"
            await #expect(throws: FederationError.self) {
                try await stores.catalog.register(node: bad, model: "m", capabilities: [.generate])
            }
            await #expect(throws: FederationError.self) {
                try await stores.catalog.register(
                    node: node("has space"), model: "m", capabilities: [.generate])
            }
            await #expect(throws: FederationError.self) {
                try await stores.catalog.register(node: node("ok"), model: "bad model", capabilities: [])
            }
            #expect(try await stores.catalog.catalogVersion() == 0)
        }
    }

    @Test(arguments: Backend.allCases)
    func randomOperationsMatchTheReferenceModel(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            var reference = CatalogState()
            var rng = SplitMix(seed: 42)
            let nodes = ["n1", "n2", "n3", "n4"]
            let models = ["m1", "m2", "m3"]
            for _ in 0..<60 {
                let n = nodes[Int(rng.next() % 4)]
                let m = ModelId(models[Int(rng.next() % 3)])
                if rng.next() % 3 == 0 {
                    try await stores.catalog.deregister(model: m, node: NodeId(n))
                    reference.deregister(model: m, node: NodeId(n))
                } else {
                    let capabilities = Capability.builtIn.filter { _ in rng.next() % 2 == 0 }
                    try await stores.catalog.register(node: node(n), model: m, capabilities: capabilities)
                    reference.register(node: node(n), model: m, capabilities: capabilities)
                }
                let loaded = try await stores.catalog.loadCatalog().value
                #expect(loaded.nodes == reference.nodes)
                #expect(loaded.models == reference.models)
                #expect(Set(loaded.deployments) == Set(reference.deployments))
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func everyWriteAnnouncesItsVersion(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            try await stores.feed.withChanges { changes in
                var iterator = changes.makeAsyncIterator()
                #expect(await iterator.next() == .connected)
                try await stores.catalog.register(node: node("n1"), model: "m", capabilities: [.generate])
                try await stores.catalog.putModel(ModelMetadata(id: "m"))
                try await stores.catalog.deregister(model: "m", node: "n1")
                try await stores.health.putHealth(NodeHealth(node: "n1", state: .healthy))
                try await stores.policy.putPolicy(RoutingPolicyDocument())
                var events: [FederationEvent] = []
                while events.count < 5, let change = await iterator.next() {
                    if case .event(let event) = change { events.append(event) }
                }
                #expect(
                    events.map { "\($0.family):\($0.version):\($0.kind)" } == [
                        "catalog:1:register", "catalog:2:model", "catalog:3:deregister", "health:1:health",
                        "policy:1:policy",
                    ])
                #expect(events[0].node == "n1" && events[0].model == "m" && (events[0].at ?? 0) > 0)
            }
        }
    }
}

/// A tiny seeded generator so the random test is repeatable.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
