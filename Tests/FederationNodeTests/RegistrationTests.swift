import FederationNode
import FederationOpenAI
import FederationTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Self-registration")
struct RegistrationTests {
    @Test("the node registers at the catalog and renews its lease")
    func registersAndRenews() async throws {
        let received = Recorder<JSONValue>()
        let catalog = Router()
        catalog.post("/v1/deployments") { request, context in
            received.append(try await request.decode(as: JSONValue.self, context: context))
            return HTTPResponse.Status.created
        }
        try await Application(router: catalog).test(.live) { catalogClient in
            let catalogURL = "http://127.0.0.1:\(catalogClient.port!)"
            try await withNode({
                $0.nodeId = "reg-node"
                $0.registerURL = catalogURL
                $0.registrationIntervalSeconds = 0.2
            }) { _ in
                let renewed = try await eventually { received.all.count >= 2 }
                #expect(renewed)
            }
        }
        let registration = try #require(received.all.first)
        #expect(registration["node_id"]?.stringValue == "reg-node")
        #expect(registration["lease_seconds"]?.doubleValue ?? 0 > 0.5)
        #expect(registration["models"]?[0]?["name"]?.stringValue == "fed-chat")
    }

    @Test("an unreachable catalog is logged, never fatal")
    func unreachableCatalog() async throws {
        try await withNode({
            $0.registerURL = "http://127.0.0.1:1"
            $0.registrationIntervalSeconds = 0.2
        }) { node in
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await node.get("/healthz").status == 200)
        }
    }
}
