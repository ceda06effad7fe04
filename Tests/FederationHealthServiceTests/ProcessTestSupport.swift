import FederationConfig
import FederationHealthService
import FederationTestSupport
import Foundation
import Prometheus
import ServiceLifecycle

/// Runs `redis-cli -p PORT args…` on a thread of its own (it blocks) and returns its output.
func redisCLI(_ server: RedisServerProcess, _ arguments: [String]) async throws -> String {
    let port = server.port
    return try await blocking {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        process.arguments = ["-p", String(port)] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

/// A service group started in the background; ``stop()`` shuts it down gracefully and waits.
final class RunningService: Sendable {
    let group: ServiceGroup
    let task: Task<Void, any Error>

    init(_ service: some Service) {
        let group = ServiceGroup(
            configuration: .init(
                services: [service], gracefulShutdownSignals: [], logger: testLogger("group")))
        self.group = group
        task = Task { try await group.run() }
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

extension HealthWorld {
    /// Starts a health service in the background (stop it with `stop()`); returns its base URL.
    func startHealth(
        _ configuration: FederationConfiguration? = nil, registry: PrometheusCollectorRegistry = .init(),
        options configure: (inout HealthServiceOptions) -> Void = { _ in }
    ) async throws -> (base: String, service: RunningService) {
        let box = PortBox()
        var options = HealthServiceOptions()
        options.catalogPollInterval = .milliseconds(100)
        options.leaseRenewInterval = .milliseconds(200)
        options.leaseDuration = .seconds(2)
        options.onServerRunning = { box.report($0) }
        configure(&options)
        let app = try buildHealthApplication(
            configuration: configuration ?? self.configuration(), redis: redis, registry: registry,
            logger: testLogger("health"), options: options)
        let running = RunningService(app)
        return ("http://127.0.0.1:\(await box.port())", running)
    }
}
