import FederationCatalogService
import FederationConfig
import FederationCore
import FederationRedis
import FederationState
import FederationTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus

/// A catalog under test: its namespace, Redis client and metrics registry.
struct CatalogHarness: Sendable {
    let client: any TestClientProtocol
    let redis: RedisClient
    let keys: FederationKeys
    let registry: PrometheusCollectorRegistry
    let token: String?

    /// Sends a request; JSON bodies are encoded from `json` (or sent as raw `body`).
    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ path: String, json: (any Encodable & Sendable)? = nil,
        body: String? = nil, token: String?? = .none
    ) async throws -> Reply {
        var headers: HTTPFields = [.contentType: "application/json"]
        let bearer = token ?? self.token
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        var buffer: ByteBuffer?
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            buffer = ByteBuffer(bytes: try encoder.encode(json))
        } else if let body {
            buffer = ByteBuffer(string: body)
        }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: buffer)
        return Reply(status: response.status.code, body: Data(buffer: response.body))
    }

    /// Registers `request`, expecting 200.
    @discardableResult
    func register(_ request: RegistrationRequest) async throws -> Reply {
        let reply = try await send(.post, "/v1/deployments", json: request)
        if reply.status != 200 {
            throw TestFailure("registration of \(request.nodeId) answered \(reply.status): \(reply.text)")
        }
        return reply
    }

    /// The ids `GET /v1/nodes` lists (with an optional capability filter).
    func nodeIds(capability: String? = nil) async throws -> [String] {
        let reply = try await send(.get, "/v1/nodes" + (capability.map { "?capability=\($0)" } ?? ""))
        if reply.status != 200 { throw TestFailure("GET /v1/nodes answered \(reply.status): \(reply.text)") }
        return try reply.decode(NodeList.self).nodes.map(\.id)
    }

    /// Every key of this test's namespace with its `DUMP` (type and content), to prove nothing changed.
    func keySnapshot() async throws -> [String: RedisValue] {
        var cursor = "0"
        var keys: [String] = []
        repeat {
            let reply = try await redis.command(
                "SCAN", cursor, "MATCH", "\(self.keys.namespace):*", "COUNT", "1000")
            guard let parts = reply.array, parts.count == 2 else {
                throw TestFailure("bad SCAN reply \(reply)")
            }
            cursor = parts[0].string ?? "0"
            keys += (parts[1].array ?? []).compactMap(\.string)
        } while cursor != "0"
        var snapshot: [String: RedisValue] = [:]
        for key in keys { snapshot[key] = try await redis.command("DUMP", key) }
        return snapshot
    }

    /// The Prometheus exposition text.
    func metricsText() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// The value of a metric line `name value` (nil when absent).
    func metric(_ name: String) -> Double? {
        for line in metricsText().split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1))
        }
        return nil
    }
}

/// A collected response.
struct Reply: Sendable {
    let status: Int
    let body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(T.self, from: body) }
    /// `error.param` / `error.code` of an OpenAI-style error.
    var errorParam: String? { errorField("param") }
    var errorCode: String? { errorField("code") }
    private func errorField(_ name: String) -> String? {
        let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        return (object?["error"] as? [String: Any])?[name] as? String
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Starts a catalog on `server` (default: the shared test Redis) in a fresh namespace, runs `body`,
/// and stops it (and its Redis client), also when `body` throws.
func withCatalog(
    token: String? = nil, server: RedisServerProcess = .shared, live: Bool = false,
    configure: (inout FederationConfiguration) -> Void = { _ in },
    _ body: @Sendable (CatalogHarness) async throws -> Void
) async throws {
    var configuration = FederationConfiguration()
    configuration.namespace = uniqueNamespace("cat")
    configuration.adminToken = token
    configuration.catalog.listen = Listen(host: "127.0.0.1", port: 0)
    configure(&configuration)
    let keys = FederationKeys(namespace: configuration.namespace)
    let registry = PrometheusCollectorRegistry()
    var logger = Logger(label: "catalog-test")
    logger.logLevel = .warning
    let redis = RedisClient(configuration: server.configuration(commandTimeout: .seconds(1)))
    let app = buildCatalogApplication(
        configuration: configuration, redis: redis, registry: registry, logger: logger,
        reapInterval: .milliseconds(100))
    do {
        try await app.test(live ? .live : .router) { client in
            try await body(
                CatalogHarness(client: client, redis: redis, keys: keys, registry: registry, token: token))
        }
    } catch {
        await redis.close()
        throw error
    }
    await redis.close()
}

/// A registration like the ones `federation-node` sends.
func registration(
    _ node: String,
    models: [RegistrationRequest.Model] = [.init(name: "llama-3-8b", capabilities: [.generate])],
    endpoint: String? = nil, lease: Double? = nil
) -> RegistrationRequest {
    RegistrationRequest(
        nodeId: node, region: "us-west", endpoint: endpoint ?? "http://10.0.0.1:8000", gpu: true,
        models: models,
        leaseSeconds: lease)
}
