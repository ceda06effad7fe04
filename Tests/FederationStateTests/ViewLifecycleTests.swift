import FederationCore
import FederationState
import Logging
import ServiceLifecycle
import Testing

@Suite struct ViewLifecycleTests {
    @Test func viewRunsInAServiceGroupAndShutsDownGracefully() async throws {
        let bus = InMemoryEventBus()
        let catalog = InMemoryCatalogStore(bus: bus)
        let view = FederationView(
            catalog: catalog, health: InMemoryHealthStore(bus: bus), policy: InMemoryPolicyStore(bus: bus),
            gateways: nil, changes: bus)
        let group = ServiceGroup(
            configuration: .init(services: [view], gracefulShutdownSignals: [], logger: Logger(label: "test"))
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(await view.waitUntil { _ in view.status.connected })
            try await catalog.register(node: node("n1"), model: "m", capabilities: [.generate])
            #expect(await view.waitUntil { $0.catalog.nodes["n1"] != nil })
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()  // run() returned: no error, nothing left running
        }
        #expect(view.snapshot.catalog.nodes["n1"] != nil)  // still readable after shutdown
    }

    @Test func versionGapsAreDetectedAndTriggerAReload() async throws {
        let bus = InMemoryEventBus()
        let health = InMemoryHealthStore(bus: bus)
        let view = FederationView(
            catalog: InMemoryCatalogStore(bus: bus), health: health, policy: InMemoryPolicyStore(bus: bus),
            gateways: nil, changes: bus, configuration: .init(backstopInterval: .seconds(60)))
        try await running([view]) {
            #expect(await view.waitUntil { _ in view.status.connected })
            // three writes whose events are lost, then one that arrives: versions 1–3 are a gap
            for index in 1...3 {
                try await health.putHealth(NodeHealth(node: NodeId("silent-\(index)"), state: .healthy))
            }
            #expect(await view.waitUntil { $0.versions.health == 3 })  // (events were delivered here)
            bus.publish(.event(FederationEvent(family: .health, version: 9, kind: "health", node: "n")))
            #expect(await view.waitUntil { _ in view.status.gapsDetected == 1 })
            bus.publish(.event(FederationEvent(family: .health, version: 2, kind: "health", node: "n")))
            bus.publish(.malformed(channel: "x", problem: "test"))
            #expect(await view.waitUntil { _ in view.status.malformedMessages == 1 })
            #expect(view.status.gapsDetected == 1)  // an old version is not a gap
        }
    }
}
