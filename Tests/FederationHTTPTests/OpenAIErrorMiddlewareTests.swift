import FederationCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import FederationHTTP

@Suite("JSON errors for Hummingbird's own errors and the decoding translator")
struct OpenAIErrorMiddlewareTests {
    struct Thing: Codable {
        var name: String
        var count: Int
    }

    func app() -> some ApplicationProtocol {
        let router = Router()
        router.addOpenAIErrors()
        router.get("known") { _, _ in "ok" }
        router.get("teapot") { _, _ -> String in throw HTTPError(.badRequest, message: "No teapots here.") }
        router.post("things") { request, _ -> Response in
            let thing = try await request.decodeJSON(Thing.self, limit: 4096)
            return jsonResponse(["name": thing.name])
        }
        return Application(router: router)
    }

    func json(_ body: ByteBuffer) -> [String: Any] {
        let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        return object?["error"] as? [String: Any] ?? [:]
    }

    @Test(
        "unknown routes answer an OpenAI-style JSON 404", arguments: [("GET", "/nope"), ("POST", "/known")])
    func unknownRoutes(method: String, path: String) async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: path, method: .init(method)!) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/json")
                let error = json(response.body)
                #expect(error["code"] as? String == "unknown_route")
                #expect(error["type"] as? String == "not_found_error")
                #expect((error["message"] as? String)?.contains("\(method) \(path)") == true, "\(error)")
            }
        }
    }

    @Test func routesHTTPErrorsBecomeJSONToo() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/teapot", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(json(response.body)["message"] as? String == "No teapots here.")
            }
        }
    }

    @Test(
        "valid JSON with a number out of range names the field (not 'not valid JSON')",
        arguments: [
            (#"{"name":"x","count":1.5}"#, "invalid_value", "a number does not fit"),
            (#"{"name":"x"}"#, "missing_required_parameter", "Missing required field 'count'."),
            (#"{"name":"x","count":"two"}"#, "invalid_type", "expected a whole number, found a string"),
            (#"{"name":"#, "invalid_json", "not valid JSON"),
        ])
    func decodingErrors(body: String, code: String, says: String) async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/things", method: .post, body: ByteBuffer(string: body)) {
                response in
                #expect(response.status == .badRequest)
                let error = json(response.body)
                #expect(error["code"] as? String == code, "\(error)")
                #expect((error["message"] as? String)?.contains(says) == true, "\(error)")
            }
        }
    }
}
