import FederationCatalogService
import FederationCore
import FederationRedis
import FederationState
import FederationTestSupport
import Foundation
import Testing

@Suite("Leases")
struct LeaseTests {
    @Test("a node whose lease passes is deregistered; a permanent node stays")
    func expiry() async throws {
        try await withCatalog { catalog in
            try await catalog.register(registration("permanent"))
            // A 3 s lease: long enough that a loaded machine still lists the node before it passes.
            let reply = try await catalog.register(registration("leased", lease: 3))
            let registered = try reply.decode(RegistrationReply.self)
            let expires = try #require(registered.node.leaseExpiresAt)
            #expect(expires > Int64(Date().timeIntervalSince1970 * 1000))
            #expect(try await catalog.nodeIds() == ["leased", "permanent"])
            let versionBefore = registered.version

            let gone = try await eventually { try await catalog.nodeIds() == ["permanent"] }
            #expect(gone, "the leased node was not removed after its lease passed")
            #expect(try await catalog.send(.get, "/v1/nodes/leased").status == 404)
            #expect(catalog.metric("federation_catalog_lease_expiries_total") == 1)
            let leases = try await catalog.redis.command("ZCARD", catalog.keys.leases)
            #expect(leases.int == 0, "the expired lease is removed")
            let versionAfter = try await catalog.send(.get, "/v1/nodes").decode(NodeList.self).version
            #expect(versionAfter > versionBefore, "the expiry went through the store (version bump + event)")
        }
    }

    @Test("renewing before expiry keeps the node; when renewals stop it goes")
    func renewal() async throws {
        try await withCatalog { catalog in
            // A lease sixteen renewal periods long, so a loaded machine's scheduling hiccups cannot
            // let it lapse between two renewals. The node is checked before each renewal, and the
            // loop runs until checks have seen it alive after its first lease would have passed.
            let lease = 4.0
            try await catalog.register(registration("renewing", lease: lease))
            let firstExpiry = ContinuousClock.now + .seconds(lease)
            var checksAfterFirstExpiry = 0
            while checksAfterFirstExpiry < 3 {
                try await Task.sleep(for: .milliseconds(250))
                #expect(try await catalog.nodeIds() == ["renewing"], "the renewed lease lapsed")
                if ContinuousClock.now > firstExpiry { checksAfterFirstExpiry += 1 }
                try await catalog.register(registration("renewing", lease: lease))
            }
            #expect(catalog.metric("federation_catalog_lease_expiries_total") == 0)
            let gone = try await eventually { try await catalog.nodeIds() == [] }
            #expect(gone)
        }
    }

    @Test("re-registering without a lease makes a leased node permanent")
    func leaseRemoved() async throws {
        try await withCatalog { catalog in
            try await catalog.register(registration("n1", lease: 60))
            #expect(try await catalog.send(.get, "/v1/nodes/n1").decode(NodeView.self).leaseExpiresAt != nil)
            try await catalog.register(registration("n1"))
            #expect(try await catalog.send(.get, "/v1/nodes/n1").decode(NodeView.self).leaseExpiresAt == nil)
            #expect(try await catalog.redis.command("ZCARD", catalog.keys.leases).int == 0)
        }
    }

    @Test("\"lease\": true without lease_seconds uses the configured default")
    func defaultLease() async throws {
        try await withCatalog(configure: { $0.catalog.defaultLeaseSeconds = 120 }) { catalog in
            var request = registration("n1")
            request.lease = true
            let before = Int64(Date().timeIntervalSince1970 * 1000)
            let node = try await catalog.register(request).decode(RegistrationReply.self).node
            let expiry = try #require(node.leaseExpiresAt)
            #expect(expiry >= before + 119_000)
            #expect(expiry <= Int64(Date().timeIntervalSince1970 * 1000) + 121_000)
        }
    }

    @Test("deleting a leased node removes its lease too")
    func deleteRemovesLease() async throws {
        try await withCatalog { catalog in
            try await catalog.register(registration("n1", lease: 60))
            #expect(try await catalog.redis.command("ZCARD", catalog.keys.leases).int == 1)
            #expect(try await catalog.send(.delete, "/v1/deployments/llama-3-8b/n1").status == 200)
            #expect(try await catalog.redis.command("ZCARD", catalog.keys.leases).int == 0)
        }
    }
}
