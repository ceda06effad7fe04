import FederationCatalogService
import FederationConfig
import FederationCore
import FederationCtl
import FederationGatewayService
import FederationHealthService
import FederationNode
import FederationRedis
import FederationRouterService
import FederationState
import FederationTestSupport
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing

/// What one run of the built `fedctl` executable did: as a user sees it.
struct FedctlRun: CustomStringConvertible {
    let arguments: [String]
    let status: Int32
    let stdout: String
    let stderr: String

    var json: JSON? { JSON.parse(stdout) }
    var description: String {
        "fedctl \(arguments.joined(separator: " ")) → \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)"
    }
}

/// Runs `.build/…/fedctl arguments` as a real process (off the cooperative pool) and collects its
/// exit status, stdout and stderr.
func fedctl(
    _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil
) async throws
    -> FedctlRun
{
    let path = ServiceProcess.binDirectory + "/fedctl"
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw SetupFailure(message: "\(path) is not built; run `swift build --build-tests` first")
    }
    return try await blocking {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        // The tests pass every address explicitly: the developer's FEDCTL_* must not leak in.
        var env = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("FEDCTL_") && !$0.key.hasPrefix("FED_")
        }
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        // Read both pipes concurrently so neither fills up and blocks the child.
        let errors = PipeCollector()
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errors.store(err.fileHandleForReading.readDataToEndOfFile())
            finished.signal()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        finished.wait()
        return FedctlRun(
            arguments: arguments, status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errors.data, as: UTF8.self))
    }
}

/// Errors only: the scenario empties the catalog on purpose, which the health service warns about.
func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .error
    return logger
}

/// The test environment is not ready (e.g. fedctl not built).
struct SetupFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// What the stderr reader collected.
final class PipeCollector: Sendable {
    private let state = Mutex(Data())
    func store(_ data: Data) { state.withLock { $0 = data } }
    var data: Data { state.withLock { $0 } }
}

/// A control plane in-process on the shared test redis-server: catalog, health and router on free
/// ports in a namespace of their own, with an admin token, a demo node, and optionally a gateway.
struct ControlPlane: Sendable {
    static let adminToken = "ctl-test-token"
    let redisServer: RedisServerProcess
    let namespace: String
    let catalog: String
    let health: String
    let router: String
    let gateway: String?
    /// A demo node's URL (running, not registered).
    let node: String

    /// The global options that point fedctl at this control plane.
    var options: [String] {
        var options = [
            "--catalog", catalog, "--health", health, "--router", router, "--redis", redisServer.url,
            "--namespace",
            namespace, "--admin-token", Self.adminToken, "--timeout", "10",
        ]
        if let gateway { options += ["--gateway", gateway] }
        return options
    }

    var urls: ServiceURLs {
        ServiceURLs(
            gateway: gateway ?? "http://127.0.0.1:1", catalog: catalog, health: health, router: router,
            redis: redisServer.url, namespace: namespace, adminToken: Self.adminToken, timeout: .seconds(10))
    }

    /// Runs fedctl with this control plane's options after `arguments`.
    func run(
        _ arguments: String..., stdin: String? = nil, environment: [String: String] = [:]
    ) async throws
        -> FedctlRun
    {
        try await fedctl(arguments + options, environment: environment, stdin: stdin)
    }

    static func configuration(redis: RedisServerProcess, namespace: String) -> FederationConfiguration {
        var c = FederationConfiguration()
        c.namespace = namespace
        c.redisURL = redis.url
        c.adminToken = adminToken
        c.catalog.listen = Listen(host: "127.0.0.1", port: 0)
        c.health.listen = Listen(host: "127.0.0.1", port: 0)
        c.router.listen = Listen(host: "127.0.0.1", port: 0)
        c.gateway.listen = Listen(host: "127.0.0.1", port: 0)
        c.gateway.retry = RetryPolicy(maxRetries: 2, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50))
        c.health.probeInterval = .milliseconds(200)
        c.health.probeTimeout = .milliseconds(1000)
        c.health.circuit = CircuitBreakerConfiguration(
            resetTimeout: .seconds(30), maxOpenDuration: .seconds(600), probeTimeout: .seconds(5))
        c.policy.strategy = .roundRobin
        return c
    }

    /// Starts everything for `body` and stops it afterwards (also when `body` throws).
    static func with<T: Sendable>(
        withGateway: Bool = false, _ body: (ControlPlane) async throws -> T
    ) async throws -> T {
        let server = RedisServerProcess.shared
        let namespace = uniqueNamespace("ctl")
        let configuration = configuration(redis: server, namespace: namespace)
        return try await RedisClient.withClient(configuration: server.configuration(poolSize: 4)) { redis in
            let catalogPort = PortBox()
            let catalogApp = buildCatalogApplication(
                configuration: configuration, redis: redis, registry: .init(), logger: testLogger("catalog"),
                onServerRunning: { catalogPort.report($0) })
            return try await withService(catalogApp) {
                let healthPort = PortBox()
                var options = HealthServiceOptions()
                options.catalogPollInterval = .milliseconds(100)
                options.leaseRenewInterval = .milliseconds(200)
                options.leaseDuration = .seconds(2)
                options.writeInterval = .milliseconds(100)
                options.onServerRunning = { healthPort.report($0) }
                let healthApp = try buildHealthApplication(
                    configuration: configuration, redis: redis, registry: .init(),
                    logger: quietLogger("health"),
                    options: options)
                return try await withService(healthApp) {
                    let routerPort = PortBox()
                    let routerApp = try buildRouterApplication(
                        configuration: configuration, redis: redis, registry: .init(),
                        logger: testLogger("router"),
                        tuning: RouterTuning(
                            view: FederationView.Configuration(backstopInterval: .seconds(2)),
                            policyCheckInterval: .milliseconds(500)),
                        onServerRunning: { routerPort.report($0) })
                    return try await withService(routerApp) {
                        let base = { (port: Int) in "http://127.0.0.1:\(port)" }
                        let (catalog, health, router) = (
                            base(await catalogPort.port()), base(await healthPort.port()),
                            base(await routerPort.port())
                        )
                        return try await withNode { node in
                            guard withGateway else {
                                return try await body(
                                    ControlPlane(
                                        redisServer: server, namespace: namespace, catalog: catalog,
                                        health: health,
                                        router: router, gateway: nil, node: node))
                            }
                            return try await withGatewayRunning(configuration: configuration, redis: redis) {
                                gateway in
                                try await body(
                                    ControlPlane(
                                        redisServer: server, namespace: namespace, catalog: catalog,
                                        health: health,
                                        router: router, gateway: gateway, node: node))
                            }
                        }
                    }
                }
            }
        }
    }

    /// A demo node (model `m1`, generate+code, 200 tokens/s) for `body`; not registered (the tests
    /// register it with fedctl).
    static func withNode<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
        var node = NodeConfiguration()
        node.nodeId = "node-demo"
        node.region = "us-west"
        node.port = 0
        node.tokensPerSecond = 200
        node.models = [ServedModel(name: "m1", capabilities: [.generate, .code])]
        node.crashAction = { _ in }
        let nodePort = PortBox()
        let nodeApp = try buildNodeApplication(configuration: node, logger: testLogger("node")) {
            nodePort.report($0)
        }
        return try await withService(nodeApp) { try await body("http://127.0.0.1:\(await nodePort.port())") }
    }

    /// A gateway on this namespace for `body`.
    static func withGatewayRunning<T: Sendable>(
        configuration: FederationConfiguration, redis: RedisClient, _ body: (String) async throws -> T
    ) async throws -> T {
        let gatewayPort = PortBox()
        var tuning = GatewayTuning(gatewayId: uniqueNamespace("gw"))
        tuning.view = FederationView.Configuration(backstopInterval: .seconds(2))
        var logger = Logger(label: "gateway")
        logger.logLevel = .error
        let gateway = try buildGatewayApplication(
            configuration: configuration, redis: redis, registry: .init(), logger: logger, tuning: tuning,
            onServerRunning: { gatewayPort.report($0) })
        return try await withService(gateway) {
            try await body("http://127.0.0.1:\(await gatewayPort.port())")
        }
    }
}
