import FederationCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Prometheus
import Testing

@testable import FederationHTTP

@Suite("Shared HTTP pieces")
struct FederationHTTPTests {
    struct Thing: Codable, Equatable {
        var name: String
        var count: Int
    }

    func app(token: String?, ready: Bool = true) -> some ApplicationProtocol {
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(
            descriptor: MetricNameDescriptor(metricName: "things", unitName: "total", helpText: "Things.")
        ).increment(by: Int64(3))
        let router = Router()
        router.addOperationalRoutes(service: "test", registry: registry) {
            Readiness(checks: ["redis": ready ? "ok" : "redis: connection refused"])
        }
        let admin = router.group("admin").add(middleware: AdminTokenMiddleware(token: token))
        admin.post("things") { request, _ -> Response in
            let thing = try await request.decodeJSON(Thing.self, limit: 64)
            return jsonResponse(thing, status: .created)
        }
        admin.get("things") { _, _ in jsonResponse([Thing(name: "a", count: 1)]) }
        router.get("fail") { _, _ -> Response in
            throw OpenAIError(FederationError.allNodesUnhealthy(.generate, detail: "x"))
        }
        return Application(router: router)
    }

    @Test func operationalRoutes() async throws {
        try await app(token: nil).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(String(buffer: response.body).contains("things_total 3"))
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            }
        }
        try await app(token: nil, ready: false).test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("connection refused"))
            }
        }
    }

    @Test func adminTokenGuardsWritesWhenConfigured() async throws {
        let body = ByteBuffer(string: #"{"name":"x","count":2}"#)
        try await app(token: "s3cret").test(.router) { client in
            try await client.execute(uri: "/admin/things", method: .post, body: body) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("missing_admin_token"))
            }
            try await client.execute(
                uri: "/admin/things", method: .post, headers: [.authorization: "Bearer wrong"], body: body
            ) { #expect($0.status == .forbidden) }
            try await client.execute(
                uri: "/admin/things", method: .post, headers: [.authorization: "Bearer s3cret"], body: body
            ) { response in
                #expect(response.status == .created)
                let thing = try? JSONDecoder().decode(Thing.self, from: response.body)
                #expect(thing == Thing(name: "x", count: 2))
            }
            try await client.execute(uri: "/admin/things", method: .get) { #expect($0.status == .ok) }
        }
        try await app(token: nil).test(.router) { client in
            try await client.execute(uri: "/admin/things", method: .post, body: body) {
                #expect($0.status == .created)
            }
        }
    }

    @Test(
        "bad bodies get 400 naming the field, oversize gets 413",
        arguments: [
            (#"{"name":"x"}"#, 400, "count"),
            (#"{"name":"x","count":"two"}"#, 400, "count"),
            (#"{"name":"#, 400, "invalid_json"),
            ("", 400, "empty"),
            (String(repeating: "x", count: 100), 413, "request_too_large"),
        ])
    func badBodies(body: String, status: Int, mentions: String) async throws {
        try await app(token: nil).test(.router) { client in
            try await client.execute(uri: "/admin/things", method: .post, body: ByteBuffer(string: body)) {
                response in
                #expect(response.status.code == status)
                let text = String(buffer: response.body)
                #expect(text.contains(mentions), "\(text)")
                #expect(text.hasPrefix(#"{"error":"#))
            }
        }
    }

    @Test func federationErrorsMapToStatusAndCode() async throws {
        try await app(token: nil).test(.router) { client in
            try await client.execute(uri: "/fail", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("all_nodes_unhealthy"))
            }
        }
        #expect(OpenAIError(FederationError.timeout(.seconds(30))).status.code == 504)
        #expect(OpenAIError(FederationError.invalidInput("x")).type == "invalid_request_error")
    }

    @Test func constantTimeCompare() {
        #expect(
            AdminTokenMiddleware<BasicRequestContext>.constantTimeEqual(Array("ab".utf8), Array("ab".utf8)))
        #expect(
            !AdminTokenMiddleware<BasicRequestContext>.constantTimeEqual(Array("ab".utf8), Array("abc".utf8)))
        #expect(
            !AdminTokenMiddleware<BasicRequestContext>.constantTimeEqual(Array("ab".utf8), Array("ac".utf8)))
    }
}
