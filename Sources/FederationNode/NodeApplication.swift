import FederationCore
import FederationHTTP
import Hummingbird
import Logging
import NIOCore

/// Builds the node's HTTP application: every OpenAI-compatible route, health and the fault admin API.
///
/// Tests start it in-process with `port = 0`; the executable runs it with `runService()`.
/// - Parameters:
///   - configuration: the node's settings (validated here).
///   - logger: where the node logs.
///   - onServerRunning: called with the bound port once the server listens.
public func buildNodeApplication(
    configuration: NodeConfiguration,
    logger: Logger = Logger(label: "federation-node"),
    onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    try configuration.validate()
    var logger = logger
    logger[metadataKey: "node"] = .string(configuration.nodeId)
    let runtime = NodeRuntime(configuration: configuration, logger: logger)
    let router = Router(context: NodeRequestContext.self)
    router.addOpenAIErrors()  // unknown routes: a JSON 404, like every other error
    router.addNodeRoutes(runtime: runtime)
    var app = Application(
        router: router, server: configuration.server.httpServer(logger: logger),
        configuration: configuration.server.applicationConfiguration(
            address: .hostname(configuration.host, port: configuration.port), serverName: "federation-node",
            logger: logger),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port)
        },
        logger: logger
    )
    if let url = configuration.registerURL {
        app.addServices(RegistrationService(configuration: configuration, catalogURL: url, logger: logger))
    }
    return app
}

/// The node's request context: Hummingbird's basic one plus the connection (FederationHTTP).
public typealias NodeRequestContext = ConnectionRequestContext

extension Router<NodeRequestContext> {
    /// Registers every route the node serves.
    func addNodeRoutes(runtime: NodeRuntime) {
        post("/v1/chat/completions") { request, context in
            try await runtime.chatCompletion(request, gone: context.clientDisconnect)
        }
        post("/v1/completions") { request, context in
            try await runtime.completion(request, gone: context.clientDisconnect)
        }
        post("/v1/embeddings") { request, context in
            try await runtime.embeddings(request, gone: context.clientDisconnect)
        }
        post("/v1/audio/transcriptions") { request, context in
            try await runtime.transcription(request, gone: context.clientDisconnect)
        }
        post("/v1/audio/speech") { request, context in
            try await runtime.speech(request, gone: context.clientDisconnect)
        }
        post("/v1/images/generations") { request, context in
            try await runtime.imageGeneration(request, gone: context.clientDisconnect)
        }
        post("/v1/infer") { request, context in
            try await runtime.infer(request, gone: context.clientDisconnect)
        }
        get("/v1/models") { _, _ in try runtime.listModels() }
        get("/health") { _, _ in try runtime.health() }
        get("/healthz") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}")))
        }
        get("/admin/faults") { _, _ in try runtime.faultReport() }
        post("/admin/faults") { request, _ in try await runtime.setFaults(request) }
        delete("/admin/faults") { _, _ in try runtime.clearFaults() }
    }
}
