import AsyncHTTPClient
import FederationCore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// What a node tells the catalog about itself (`POST {catalog}/v1/deployments`).
public struct NodeRegistration: Sendable, Codable, Hashable {
    public struct Model: Sendable, Codable, Hashable {
        public var name: String
        public var capabilities: [Capability]
    }

    public var nodeId: String
    public var region: String
    public var endpoint: String
    public var gpu: Bool
    public var models: [Model]
    /// How long the registration holds without renewal.
    public var leaseSeconds: Double
    /// `federation.resume` (the capabilities whose broken-off streams this node continues), when
    /// it declares any.
    public var labels: [String: String]?

    enum CodingKeys: String, CodingKey {
        case nodeId = "node_id"
        case region, endpoint, gpu, models, labels
        case leaseSeconds = "lease_seconds"
    }

    public init(configuration: NodeConfiguration) {
        nodeId = configuration.nodeId
        region = configuration.region
        endpoint = configuration.endpoint
        gpu = configuration.gpu
        models = configuration.models.map { Model(name: $0.name, capabilities: $0.capabilities) }
        leaseSeconds = configuration.registrationIntervalSeconds * 3
        let resumable = Set(configuration.models.flatMap(\.capabilities)).intersection([.generate, .code])
        if configuration.resume, !resumable.isEmpty {
            labels = [NodeInfo.resumeLabel: resumable.map(\.description).sorted().joined(separator: ",")]
        }
    }

    /// Pretty, stable JSON (what `--print-registration` prints).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// Registers the node at the catalog and renews the lease every interval until shutdown.
/// Failures are logged and retried at the next interval; they never stop the node.
struct RegistrationService: Service {
    let registration: NodeRegistration
    let url: String
    let interval: Duration
    let token: String?
    let logger: Logger

    init(configuration: NodeConfiguration, catalogURL: String, logger: Logger) {
        self.registration = NodeRegistration(configuration: configuration)
        let base = catalogURL.hasSuffix("/") ? String(catalogURL.dropLast()) : catalogURL
        self.url = base + "/v1/deployments"
        self.interval = .seconds(configuration.registrationIntervalSeconds)
        self.token = configuration.registerToken
        self.logger = logger
    }

    func run() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(2), read: .seconds(5))
        let client = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            try await cancelWhenGracefulShutdown {
                var lastSucceeded: Bool?
                while !Task.isCancelled {
                    let ok = await register(client)
                    if ok != lastSucceeded {
                        if ok {
                            logger.info("registered at catalog", metadata: ["url": "\(url)"])
                        }
                        lastSucceeded = ok
                    }
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            // Shutdown.
        }
        try? await client.shutdown()
    }

    /// One attempt; logs the outcome and never throws.
    private func register(_ client: HTTPClient) async -> Bool {
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            request.body = .bytes(ByteBuffer(bytes: try encoder.encode(registration)))
            let response = try await client.execute(request, timeout: .seconds(5))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            guard (200..<300).contains(response.status.code) else {
                logger.warning(
                    "registration refused", metadata: ["url": "\(url)", "status": "\(response.status.code)"])
                return false
            }
            return true
        } catch is CancellationError {
            return false
        } catch {
            logger.warning(
                "registration failed; will retry", metadata: ["url": "\(url)", "error": "\(error)"])
            return false
        }
    }
}
