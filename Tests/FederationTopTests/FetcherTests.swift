import AsyncHTTPClient
import FederationCatalogService
import FederationConfig
import FederationCore
import FederationGatewayService
import FederationHealthService
import FederationNode
import FederationRedis
import FederationRouterService
import FederationState
import FederationTestSupport
import FederationTop
import Foundation
import Logging
import NIOCore
import Testing

/// The fetcher against real services in-process (catalog, health, router, a gateway and a node on
/// a real redis-server), with one gateway URL where nothing listens.
@Suite struct FetcherTests {
    /// A URL where nothing listens (port 1 is privileged and unused here).
    static let down = "http://127.0.0.1:1"

    @Test func aSnapshotOfTheRunningServicesWithOneGatewayDown() async throws {
        let server = RedisServerProcess.shared
        let keys = FederationKeys(namespace: uniqueNamespace("top"))
        var configuration = FederationConfiguration()
        configuration.namespace = keys.namespace
        configuration.redisURL = server.url
        configuration.catalog.listen = Listen(host: "127.0.0.1", port: 0)
        configuration.health.listen = Listen(host: "127.0.0.1", port: 0)
        configuration.router.listen = Listen(host: "127.0.0.1", port: 0)
        configuration.gateway.listen = Listen(host: "127.0.0.1", port: 0)
        configuration.health.probeInterval = .milliseconds(200)
        configuration.health.probeTimeout = .milliseconds(500)
        try await RedisClient.withClient(configuration: server.configuration(poolSize: 4)) { redis in
            var nodeConfiguration = NodeConfiguration()
            nodeConfiguration.nodeId = "top-node-1"
            nodeConfiguration.region = "us-west"
            nodeConfiguration.port = 0
            nodeConfiguration.tokensPerSecond = 0
            nodeConfiguration.models = [ServedModel(name: "m1", capabilities: [.generate])]
            nodeConfiguration.crashAction = { _ in }
            let nodePort = PortBox()
            let node = try buildNodeApplication(configuration: nodeConfiguration, logger: testLogger("node"))
            {
                nodePort.report($0)
            }
            try await withService(node) {
                let nodeURL = "http://127.0.0.1:\(await nodePort.port())"
                try await RedisCatalogStore(client: redis, keys: keys).register(
                    node: NodeInfo(id: "top-node-1", region: "us-west", endpoint: nodeURL),
                    model: "m1", capabilities: [.generate])
                var policy = RoutingPolicyDocument()
                policy.strategy = .roundRobin
                _ = try await RedisPolicyStore(client: redis, keys: keys).putPolicy(policy)

                let catalogPort = PortBox()
                let catalog = buildCatalogApplication(
                    configuration: configuration, redis: redis, registry: .init(),
                    logger: testLogger("catalog"),
                    onServerRunning: { catalogPort.report($0) })
                var healthOptions = HealthServiceOptions()
                healthOptions.catalogPollInterval = .milliseconds(100)
                healthOptions.writeInterval = .milliseconds(100)
                let healthPort = PortBox()
                healthOptions.onServerRunning = { healthPort.report($0) }
                let health = try buildHealthApplication(
                    configuration: configuration, redis: redis, registry: .init(),
                    logger: testLogger("health"),
                    options: healthOptions)
                let routerPort = PortBox()
                let router = try buildRouterApplication(
                    configuration: configuration, redis: redis, registry: .init(),
                    logger: testLogger("router"),
                    onServerRunning: { routerPort.report($0) })
                let gatewayPort = PortBox()
                let gateway = try buildGatewayApplication(
                    configuration: configuration, redis: redis, registry: .init(),
                    logger: testLogger("gateway"),
                    tuning: GatewayTuning(gatewayId: "gw-top-1"), onServerRunning: { gatewayPort.report($0) })
                try await withService(catalog) {
                    try await withService(health) {
                        try await withService(router) {
                            try await withService(gateway) {
                                let options = TopOptions(
                                    catalog: "http://127.0.0.1:\(await catalogPort.port())",
                                    health: "http://127.0.0.1:\(await healthPort.port())",
                                    router: "http://127.0.0.1:\(await routerPort.port())",
                                    gateways: ["http://127.0.0.1:\(await gatewayPort.port())", Self.down],
                                    timeout: .seconds(2))
                                try await check(options)
                            }
                        }
                    }
                }
            }
        }
    }

    func check(_ options: TopOptions) async throws {
        let gateway = options.gateways[0]
        try await TopFetcher.with(options) { fetcher in
            // Two requests through the gateway, once its view holds the node.
            try await eventually("the gateway answers a chat") {
                var request = HTTPClientRequest(url: gateway + "/v1/chat/completions")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(
                    ByteBuffer(string: #"{"model":"m1","messages":[{"role":"user","content":"hi"}]}"#))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                _ = try await response.body.collect(upTo: 1 << 20)
                return response.status.code == 200
            }
            var snapshot = TopSnapshot()
            try await eventually("every source but the dead gateway answered, with health and stats") {
                snapshot = await fetcher.fetch()
                return snapshot.errors.count == 1 && snapshot.health.first?.state == "healthy"
                    && (snapshot.cluster?.totalRequests ?? 0) >= 1 && !snapshot.decisions.isEmpty
            }
            #expect(snapshot.nodes.map(\.id) == ["top-node-1"])
            #expect(snapshot.nodes.first?.region == "us-west")
            #expect(snapshot.nodes.first?.models == ["m1"])
            #expect(snapshot.models.map(\.id) == ["m1"])
            #expect(snapshot.models.first?.nodes == ["top-node-1"])
            #expect(snapshot.health.map(\.node) == ["top-node-1"])
            #expect(snapshot.healthLeader != nil)
            #expect(snapshot.circuits.allSatisfy { $0.state == "closed" })
            #expect(snapshot.policy?.document["strategy"]?.string == "round_robin")
            #expect(snapshot.policy?.version != nil)
            let decision = try #require(snapshot.decisions.first)
            #expect(decision.gateway == "gw-top-1")
            #expect(decision.node == "top-node-1")
            #expect(decision.status == 200)
            #expect(decision.strategy == "round_robin")
            #expect(snapshot.replicas.map(\.gateway) == ["gw-top-1"])
            #expect(snapshot.fetchedAtMs > 0)

            // The dead gateway: an error naming the service, its URL and how to start it.
            let error = try #require(snapshot.errors[.gateway(Self.down)])
            #expect(error.contains("gateway at \(Self.down) is not reachable"), "\(error)")
            #expect(error.contains("./scripts/cluster up"), "\(error)")

            // The frame shows both: the decision and the error line in the Routing tab.
            let frame = TopRenderer.render(snapshot, state: UIState(tab: .routing), size: (160, 20))
            #expect(frame.count == 20)
            #expect(frame.contains { $0.contains("top-node-1") && $0.contains("round_robin") })
            #expect(frame.contains { $0.hasPrefix("! the gateway at \(Self.down)") })
            #expect(frame.last?.contains("gateways 1/2 ok") == true)
        }

        // Everything down but the catalog's URL: every other source reports, nothing throws.
        var dead = options
        dead.health = Self.down
        dead.router = "http://127.0.0.1:1/"
        dead.gateways = [Self.down]
        let snapshot = try await TopFetcher.with(dead) { await $0.fetch() }
        #expect(snapshot.errors[.catalog] == nil)
        #expect(snapshot.nodes.count == 1)
        #expect(snapshot.errors[.health]?.contains("health service at \(Self.down)") == true)
        #expect(snapshot.errors[.router]?.contains("router at http://127.0.0.1:1/") == true)
        #expect(snapshot.policy == nil && snapshot.cluster == nil && snapshot.decisions.isEmpty)
        let frame = TopRenderer.render(snapshot, state: UIState(tab: .policies), size: (80, 10))
        #expect(frame.contains { $0.hasPrefix("! the router at") })
        #expect(frame.last?.contains("router DOWN") == true)
    }

    @Test func aSourceAnsweringNonsenseIsAnErrorNotACrash() async throws {
        // The node's /v1/models is an OpenAI list, not the catalog's: shapes are checked.
        var nodeConfiguration = NodeConfiguration()
        nodeConfiguration.nodeId = "top-odd"
        nodeConfiguration.port = 0
        nodeConfiguration.crashAction = { _ in }
        let port = PortBox()
        let node = try buildNodeApplication(configuration: nodeConfiguration, logger: testLogger("node")) {
            port.report($0)
        }
        try await withService(node) {
            let url = "http://127.0.0.1:\(await port.port())"
            let options = TopOptions(
                catalog: url, health: url, router: url, gateways: [url], timeout: .seconds(2))
            let snapshot = try await TopFetcher.with(options) { await $0.fetch() }
            #expect(snapshot.errors.count == 4, "\(snapshot.errors)")
            for (source, message) in snapshot.errors {
                #expect(message.contains(url), "\(source): \(message)")
            }
            #expect(snapshot.nodes.isEmpty && snapshot.health.isEmpty && snapshot.policy == nil)
        }
    }
}
