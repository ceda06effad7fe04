import FederationCatalogService
import FederationCore
import Foundation
import Testing

/// One invalid request: its body, and the status and `error.param` it must get.
struct InvalidCase: Sendable, CustomTestStringConvertible {
    let label: String
    let body: String
    let status: Int
    let param: String?
    var testDescription: String { label }

    init(_ label: String, _ body: String, status: Int = 400, param: String?) {
        self.label = label
        self.body = body
        self.status = status
        self.param = param
    }

    /// A registration of node `n1` (already registered by the test) with `fields` replaced.
    static func registration(_ label: String, param: String?, _ fields: [String: String]) -> InvalidCase {
        var all = [
            "node_id": "\"n1\"", "region": "\"us-west\"", "endpoint": "\"http://10.0.0.9:8000\"",
            "gpu": "true",
            "models":
                "[{\"name\":\"fresh\",\"capabilities\":[\"generate\"]},{\"name\":\"other\",\"capabilities\":[\"embed\"]}]",
            "lease_seconds": "30",
        ]
        for (key, value) in fields { all[key] = value.isEmpty ? nil : value }
        let body =
            "{" + all.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
            + "}"
        return InvalidCase(label, body, param: param)
    }
}

@Suite("Validation")
struct ValidationTests {
    static let cases: [InvalidCase] = [
        .registration("empty node id", param: "node_id", ["node_id": "\"\""]),
        .registration("node id with a space", param: "node_id", ["node_id": "\"a b\""]),
        .registration("missing node id", param: "node_id", ["node_id": ""]),
        .registration("empty region", param: "region", ["region": "\"\""]),
        .registration("ftp endpoint", param: "endpoint", ["endpoint": "\"ftp://10.0.0.9\""]),
        .registration("endpoint not a URL", param: "endpoint", ["endpoint": "\"not a url\""]),
        .registration("endpoint without host", param: "endpoint", ["endpoint": "\"http://\""]),
        .registration("endpoint with query", param: "endpoint", ["endpoint": "\"http://h:1/v1?x=1\""]),
        .registration("empty model list", param: "models", ["models": "[]"]),
        .registration(
            "unknown capability in the second model", param: "models[1].capabilities[0]",
            [
                "models":
                    "[{\"name\":\"a\",\"capabilities\":[\"generate\"]},{\"name\":\"b\",\"capabilities\":[\"generat\"]}]"
            ]),
        .registration(
            "empty capabilities", param: "models[0].capabilities",
            ["models": "[{\"name\":\"a\",\"capabilities\":[]}]"]),
        .registration(
            "invalid model name", param: "models[1].name",
            [
                "models":
                    "[{\"name\":\"a\",\"capabilities\":[\"embed\"]},{\"name\":\"b c\",\"capabilities\":[\"embed\"]}]"
            ]),
        .registration(
            "duplicate model", param: "models[1].name",
            [
                "models":
                    "[{\"name\":\"a\",\"capabilities\":[\"embed\"]},{\"name\":\"a\",\"capabilities\":[\"code\"]}]"
            ]),
        .registration(
            "zero parameters", param: "models[0].parameters",
            ["models": "[{\"name\":\"a\",\"capabilities\":[\"embed\"],\"parameters\":0}]"]),
        .registration("cost above 1", param: "cost", ["cost": "1.5"]),
        .registration("negative cost", param: "cost", ["cost": "-0.1"]),
        .registration("cost as text", param: "cost", ["cost": "\"cheap\""]),
        .registration("unknown privacy", param: "privacy", ["privacy": "\"secret\""]),
        .registration("zero lease", param: "lease_seconds", ["lease_seconds": "0"]),
        .registration("negative lease", param: "lease_seconds", ["lease_seconds": "-5"]),
        .registration("gpu as text", param: "gpu", ["gpu": "\"yes\""]),
        .registration(
            "label value too long", param: "labels.rack",
            ["labels": "{\"rack\":\"\(String(repeating: "x", count: 2000))\"}"]),
        InvalidCase("not JSON", "{node_id:", param: nil),
        InvalidCase("empty body", "", param: nil),
    ]

    @Test("an invalid registration answers 400 naming the field and writes nothing", arguments: cases)
    func invalidRegistration(_ invalid: InvalidCase) async throws {
        try await withCatalog { catalog in
            try await catalog.register(registration("n1"))
            let before = try await catalog.keySnapshot()
            let reply = try await catalog.send(.post, "/v1/deployments", body: invalid.body)
            #expect(reply.status == invalid.status, "\(reply.text)")
            #expect(reply.errorParam == invalid.param, "\(reply.text)")
            #expect(try await catalog.keySnapshot() == before, "Redis changed after a refused request")
            #expect(catalog.metric("federation_catalog_validation_failures_total") == 1)
        }
    }

    @Test("an oversize body answers 413 and writes nothing")
    func oversize() async throws {
        try await withCatalog(configure: { $0.catalog.maxBodyBytes = 1024 }) { catalog in
            try await catalog.register(registration("n1"))
            let before = try await catalog.keySnapshot()
            var big = registration("n1")
            big.labels = ["padding": String(repeating: "x", count: 1000)]
            let reply = try await catalog.send(.post, "/v1/deployments", json: big)
            #expect(reply.status == 413, "\(reply.text)")
            #expect(try await catalog.keySnapshot() == before)
            let put = try await catalog.send(
                .put, "/v1/models/llama-3-8b", json: ModelUpdate(name: String(repeating: "y", count: 2000)))
            #expect(put.status == 413)
            #expect(try await catalog.keySnapshot() == before)
        }
    }

    @Test("invalid ids in paths answer 400 naming them")
    func invalidPathIds() async throws {
        try await withCatalog { catalog in
            let reply = try await catalog.send(.delete, "/v1/deployments/a%20b/n1")
            #expect(reply.status == 400)
            #expect(reply.errorParam == "model")
            let put = try await catalog.send(.put, "/v1/models/a%7Cb", json: ModelUpdate())
            #expect(put.status == 400)
            #expect(put.errorParam == "model")
        }
    }
}
