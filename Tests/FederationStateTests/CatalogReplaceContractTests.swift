import FederationCore
import FederationState
import Testing

/// The whole-node writes (atomic replace, node removal with the lease check, restore) and leases,
/// on both stores, against the pure functions of `CatalogRecords` as the reference.
@Suite struct CatalogReplaceContractTests {
    static let t0 = Timestamp(milliseconds: 1_700_000_000_000)

    static func registration(
        _ id: String, _ models: [String], lease: Timestamp? = nil, endpoint: String? = nil
    ) -> NodeRegistration {
        var info = node(id)
        if let endpoint { info.endpoint = endpoint }
        return NodeRegistration(
            node: info,
            models: models.enumerated().map { index, name in
                RegisteredModel(
                    id: ModelId(name), capabilities: index % 2 == 0 ? [.generate, .code] : [.embed])
            },
            leaseExpiresAt: lease)
    }

    /// The stored records equal `reference` (deployments compared as sets).
    static func expectEqual(
        _ loaded: Versioned<CatalogRecords>, _ reference: CatalogRecords, _ comment: Comment? = nil
    ) {
        #expect(loaded.problems.isEmpty, comment)
        #expect(loaded.value.state.nodes == reference.state.nodes, comment)
        #expect(loaded.value.state.models == reference.state.models, comment)
        #expect(Set(loaded.value.state.deployments) == Set(reference.state.deployments), comment)
        #expect(loaded.value.leases == reference.leases, comment)
    }

    @Test(arguments: Backend.allCases)
    func replaceWritesTheWholeNodeAndDropsWhatItNoLongerLists(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            var reference = CatalogRecords()
            let first = Self.registration("n1", ["a", "b", "c"], lease: Self.t0)
            let done = try await stores.catalog.replaceNode(first, knownVersion: 0)
            #expect(done == NodeReplacement(version: 1, removedModels: []))
            #expect(reference.replace(first) == [])
            try await stores.catalog.register(node: node("n2"), model: "b", capabilities: [.embed])
            reference.state.register(node: node("n2"), model: "b", capabilities: [.embed])

            var second = Self.registration("n1", ["c", "d"], endpoint: "http://moved:9000")
            second.models[1].version = "3.1"
            second.models[1].parameters = 8_000_000_000
            second.models[1].quantization = "q4_k_m"
            let replaced = try await stores.catalog.replaceNode(second, knownVersion: 2)
            #expect(replaced == NodeReplacement(version: 3, removedModels: ["a", "b"]), "one bump")
            #expect(reference.replace(second) == ["a", "b"])
            let loaded = try await stores.catalog.loadRecords()
            #expect(loaded.version == 3)
            Self.expectEqual(loaded, reference)
            #expect(loaded.value.state.models["a"] == nil, "nothing serves 'a' any more")
            #expect(loaded.value.state.models["b"] != nil, "n2 still serves 'b'")
            #expect(loaded.value.state.models["d"]?.version == "3.1")
            #expect(loaded.value.leases["n1"] == nil, "re-registered without a lease: permanent")
            #expect(
                try await stores.catalog.deployments(for: .embed).map { "\($0.model)|\($0.node)" } == [
                    "b|n2", "d|n1",
                ])
            #expect(try await stores.catalog.deployments(for: .code).map(\.model) == ["c"])
        }
    }

    @Test(arguments: Backend.allCases)
    func aReplaceIsOneEvent(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            try await stores.feed.withChanges { changes in
                var iterator = changes.makeAsyncIterator()
                #expect(await iterator.next() == .connected)
                _ = try await stores.catalog.replaceNode(
                    Self.registration("n1", ["a", "b", "c", "d"]), knownVersion: 0)
                _ = try await stores.catalog.removeNode("n1", expiredBy: nil, knownVersion: 0)
                var events: [FederationEvent] = []
                while events.count < 2, let change = await iterator.next() {
                    if case .event(let event) = change { events.append(event) }
                }
                #expect(
                    events.map { "\($0.version):\($0.kind):\($0.node?.rawValue ?? "-")" } == [
                        "1:register:n1", "2:deregister:n1",
                    ])
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func leasesAreReadListedAndGoWithTheNode(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            let catalog = stores.catalog
            for (id, seconds) in [("a", 2), ("b", 1), ("c", 10)] {
                _ = try await catalog.replaceNode(
                    Self.registration(id, ["m"], lease: Self.t0.advanced(by: .seconds(seconds))),
                    knownVersion: 0)
            }
            #expect(try await catalog.lease(of: "a") == Self.t0.advanced(by: .seconds(2)))
            #expect(try await catalog.lease(of: "nope") == nil)
            #expect(try await catalog.expiredLeases(at: Self.t0, limit: 10) == [])
            let later = Self.t0.advanced(by: .seconds(5))
            #expect(try await catalog.expiredLeases(at: later, limit: 10) == ["b", "a"])
            #expect(try await catalog.expiredLeases(at: later, limit: 1) == ["b"])
            // deregistering the last deployment of a node removes its lease
            #expect(try await catalog.deregister(model: "m", node: "a") != nil)
            #expect(try await catalog.lease(of: "a") == nil)
            #expect(try await catalog.loadRecords().value.leases.keys.sorted() == ["b", "c"])
        }
    }

    @Test(arguments: Backend.allCases)
    func anExpiryLosesToARenewalThatGotInFirst(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            let catalog = stores.catalog
            _ = try await catalog.replaceNode(Self.registration("n", ["m"], lease: Self.t0), knownVersion: 0)
            // another catalog process renews it between the reaper's listing and its removal
            _ = try await catalog.replaceNode(
                Self.registration("n", ["m"], lease: Self.t0.advanced(by: .seconds(30))), knownVersion: 0)
            let now = Self.t0.advanced(by: .seconds(1))
            #expect(try await catalog.removeNode("n", expiredBy: now, knownVersion: 0) == nil)
            #expect(try await catalog.loadCatalog().value.nodes["n"] != nil, "the renewed node stays")
            #expect(try await catalog.catalogVersion() == 2, "a refused expiry does not bump")
            // once the renewed lease passed, it goes
            let removal = try await catalog.removeNode(
                "n", expiredBy: Self.t0.advanced(by: .seconds(31)), knownVersion: 0)
            #expect(removal == NodeRemoval(version: 3, models: ["m"]))
            #expect(try await catalog.loadRecords().value == CatalogRecords())
            // a permanent node never expires
            _ = try await catalog.replaceNode(Self.registration("p", ["m"]), knownVersion: 0)
            #expect(try await catalog.removeNode("p", expiredBy: now, knownVersion: 0) == nil)
            #expect(try await catalog.removeNode("unknown", expiredBy: nil, knownVersion: 0) == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func aStoreBehindTheWriterRefusesEveryWrite(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            let catalog = stores.catalog
            _ = try await catalog.replaceNode(Self.registration("n", ["m"]), knownVersion: 0)
            let behind = CatalogBehindError(stored: 1, known: 7)
            await #expect(throws: behind) {
                _ = try await catalog.replaceNode(Self.registration("x", ["m"]), knownVersion: 7)
            }
            await #expect(throws: behind) {
                try await catalog.deregister(model: "m", node: "n", knownVersion: 7)
            }
            await #expect(throws: behind) {
                _ = try await catalog.removeNode("n", expiredBy: nil, knownVersion: 7)
            }
            #expect(try await catalog.catalogVersion() == 1, "nothing was written")
            #expect(try await catalog.loadCatalog().value.nodes.keys.sorted() == ["n"])
        }
    }

    @Test(arguments: Backend.allCases)
    func restoreWritesBackOnlyWhatIsMissingAndOnlyOnce(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            let catalog = stores.catalog
            // what a catalog process knew before Redis lost its data: version 40
            var known = CatalogRecords()
            var described = Self.registration("old-1", ["a", "b"], lease: Self.t0)
            described.models[0].version = "2.0"
            _ = known.replace(described)
            _ = known.replace(Self.registration("old-2", ["b"]))
            _ = known.replace(Self.registration("both", ["a"]))
            // after the loss, a node registered again before the restore (with other models)
            let fresh = Self.registration("both", ["c"], endpoint: "http://fresh:1")
            _ = try await catalog.replaceNode(fresh, knownVersion: 0)
            var reference = CatalogRecords()
            _ = reference.replace(fresh)

            let restoration = try await catalog.restore(known, knownVersion: 40)
            #expect(restoration == CatalogRestoration(version: 41, restoredNodes: 2))
            #expect(reference.restore(from: known) == 2)
            let loaded = try await catalog.loadRecords()
            #expect(loaded.version == 41)
            Self.expectEqual(loaded, reference)
            #expect(loaded.value.state.nodes["both"]?.endpoint == "http://fresh:1", "present nodes stay")
            #expect(loaded.value.leases["old-1"] == Self.t0, "leases come back with their expiry")
            #expect(loaded.value.state.models["a"]?.version == "2.0", "model metadata comes back")
            // a second catalog process restoring the same loss finds nothing to do
            #expect(try await catalog.restore(known, knownVersion: 40) == nil)
            #expect(try await catalog.catalogVersion() == 41)
        }
    }

    @Test(arguments: Backend.allCases)
    func randomWholeNodeWritesMatchTheReference(backend: Backend) async throws {
        try await Stores.with(backend) { (stores: Stores) async throws -> Void in
            var reference = CatalogRecords()
            var rng = SplitMix(seed: 7)
            let models = ["m1", "m2", "m3", "m4"]
            for step in 0..<60 {
                let id = "n\(rng.next() % 4)"
                switch rng.next() % 4 {
                case 0:
                    let removal = try await stores.catalog.removeNode(
                        NodeId(id), expiredBy: nil, knownVersion: 0)
                    #expect(removal?.models == reference.removeNode(NodeId(id)), "step \(step)")
                case 1:
                    let model = ModelId(models[Int(rng.next() % 4)])
                    let version = try await stores.catalog.deregister(model: model, node: NodeId(id))
                    #expect((version != nil) == reference.deregister(model: model, node: NodeId(id)))
                default:
                    let listed = models.filter { _ in rng.next() % 2 == 0 }
                    let lease = rng.next() % 2 == 0 ? Self.t0.advanced(by: .seconds(Int(step))) : nil
                    let registration = Self.registration(id, listed.isEmpty ? ["m1"] : listed, lease: lease)
                    let replaced = try await stores.catalog.replaceNode(registration, knownVersion: 0)
                    #expect(replaced.removedModels == reference.replace(registration), "step \(step)")
                }
                Self.expectEqual(try await stores.catalog.loadRecords(), reference, "step \(step)")
            }
        }
    }
}
