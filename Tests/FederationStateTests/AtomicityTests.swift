import FederationCore
import FederationState
import Testing

/// Multi-key writes are single Lua scripts: a concurrent reader never sees half of one.
@Suite struct AtomicityTests {
    @Test(arguments: Backend.allCases)
    func concurrentReadersNeverSeeHalfWrittenRegistrations(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        var rng = SplitMix(seed: UInt64(writer))
                        for _ in 0..<40 {
                            let n = "n\(rng.next() % 5)"
                            let m = ModelId("m\(rng.next() % 3)")
                            if rng.next() % 3 == 0 {
                                try await stores.catalog.deregister(model: m, node: NodeId(n))
                            } else {
                                let capabilities = Capability.builtIn.filter { _ in rng.next() % 2 == 0 }
                                try await stores.catalog.register(
                                    node: node(n), model: m, capabilities: capabilities)
                            }
                        }
                    }
                }
                group.addTask {
                    for _ in 0..<60 { Self.checkInvariants(try await stores.catalog.loadCatalog().value) }
                }
                try await group.waitForAll()
            }
            let final = try await stores.catalog.loadCatalog()
            Self.checkInvariants(final.value)
            for capability in Capability.builtIn {
                let indexed = try await stores.catalog.deployments(for: capability)
                let expected = final.value.deployments.filter { $0.capabilities.contains(capability) }
                #expect(Set(indexed) == Set(expected), "index of \(capability)")
            }
        }
    }

    static func checkInvariants(_ state: CatalogState) {
        for deployment in state.deployments {
            #expect(state.nodes[deployment.node] != nil, "deployment on unknown node \(deployment.node)")
            #expect(state.models[deployment.model] != nil, "deployment of unknown model \(deployment.model)")
            let modelCapabilities = Set(state.models[deployment.model]?.capabilities ?? [])
            #expect(modelCapabilities.isSuperset(of: deployment.capabilities))
        }
        for id in state.nodes.keys {
            #expect(state.deployments.contains { $0.node == id }, "node \(id) without deployments")
        }
    }
}
