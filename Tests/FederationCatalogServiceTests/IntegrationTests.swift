import FederationCatalogService
import FederationCore
import FederationNode
import FederationTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@Suite("Self-registering node")
struct NodeRegistrationTests {
    @Test("a real federation-node with registerURL appears in GET /v1/nodes with its models and lease")
    func nodeRegisters() async throws {
        try await withCatalog(live: true) { catalog in
            guard let port = catalog.client.port else { throw TestFailure("the live catalog has no port") }
            var configuration = NodeConfiguration()
            configuration.nodeId = "self-registered"
            configuration.region = "eu-central"
            configuration.port = 0
            configuration.advertisedEndpoint = "http://127.0.0.1:1"
            configuration.registerURL = "http://127.0.0.1:\(port)"
            // a 3 s lease: a loaded machine still renews in time
            configuration.registrationIntervalSeconds = 1
            configuration.crashAction = { _ in }
            var logger = Logger(label: "node-under-test")
            logger.logLevel = .warning
            let node = try buildNodeApplication(configuration: configuration, logger: logger)
            try await node.test(.live) { _ in
                let appeared = try await eventually { try await catalog.nodeIds() == ["self-registered"] }
                #expect(appeared, "the node never appeared in the catalog")
                let view = try await catalog.send(.get, "/v1/nodes/self-registered").decode(NodeView.self)
                #expect(view.region == "eu-central")
                #expect(Set(view.models.map(\.name)) == Set(ServedModel.defaults.map(\.name)))
                #expect(view.leaseExpiresAt != nil, "the node asked for a lease")
                #expect(try await catalog.nodeIds(capability: "embed") == ["self-registered"])
            }
            // The node stopped renewing: its lease (3 × 1 s) passes and the reaper removes it.
            let gone = try await eventually { try await catalog.nodeIds() == [] }
            #expect(gone, "the stopped node's lease did not expire")
        }
    }
}

@Suite("Redis restart", .serialized)
struct RedisRestartTests {
    @Test("while Redis is down reads answer 503 JSON; after it returns the catalog answers again")
    func survivesRestart() async throws {
        try await withRedisServer(persistent: true) { server in
            try await withCatalog(server: server) { catalog in
                try await catalog.register(registration("durable"))
                await server.kill()

                let down = try await catalog.send(.get, "/v1/nodes")
                #expect(down.status == 503)
                #expect(down.errorCode == "redis_unavailable", "\(down.text)")
                #expect(try await catalog.send(.get, "/readyz").status == 503)
                #expect(try await catalog.send(.get, "/healthz").status == 200)
                let write = try await catalog.send(.post, "/v1/deployments", json: registration("other"))
                #expect(write.status == 503)

                try await server.start()
                let back = try await eventually {
                    let reply = try await catalog.send(.get, "/v1/nodes")
                    return reply.status == 200
                        && (try? reply.decode(NodeList.self).nodes.map(\.id)) == ["durable"]
                }
                #expect(back, "the catalog did not recover after Redis returned")
                // Ready again once the Redis client's availability settled (docs/REDIS.md).
                #expect(try await eventually { try await catalog.send(.get, "/readyz").status == 200 })
                #expect(catalog.metric("federation_catalog_redis_failures_total") ?? 0 >= 2)
            }
        }
    }
}
