// swift-tools-version: 6.1
import PackageDescription

// One module per responsibility (docs/ARCHITECTURE.md): a pure core, the Redis layer, the shared
// configuration and HTTP pieces, and one library per service under a thin executable.

let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let hummingbirdTesting = Target.Dependency.product(name: "HummingbirdTesting", package: "hummingbird")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let lifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let httpClient = Target.Dependency.product(name: "AsyncHTTPClient", package: "async-http-client")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "federation-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "FederationCore", targets: ["FederationCore"]),
        .library(name: "FederationRedis", targets: ["FederationRedis"]),
        .library(name: "FederationState", targets: ["FederationState"]),
        .library(name: "FederationConfig", targets: ["FederationConfig"]),
        .library(name: "FederationHTTP", targets: ["FederationHTTP"]),
        .library(name: "FederationOpenAI", targets: ["FederationOpenAI"]),
        .library(name: "FederationServiceKit", targets: ["FederationServiceKit"]),
        .library(name: "FederationNode", targets: ["FederationNode"]),
        .library(name: "FederationTestSupport", targets: ["FederationTestSupport"]),
        .library(name: "FederationCatalogService", targets: ["FederationCatalogService"]),
        .library(name: "FederationHealthService", targets: ["FederationHealthService"]),
        .library(name: "FederationRouterService", targets: ["FederationRouterService"]),
        .library(name: "FederationGatewayService", targets: ["FederationGatewayService"]),
        .library(name: "FederationTop", targets: ["FederationTop"]),
        .executable(name: "federation-catalog", targets: ["federation-catalog"]),
        .executable(name: "federation-health", targets: ["federation-health"]),
        .executable(name: "federation-router", targets: ["federation-router"]),
        .executable(name: "federation-gateway", targets: ["federation-gateway"]),
        .executable(name: "federation-node", targets: ["federation-node"]),
        .executable(name: "federation-bench", targets: ["federation-bench"]),
        .executable(name: "federation-redis-bench", targets: ["federation-redis-bench"]),
        .executable(name: "federation-fuzz", targets: ["federation-fuzz"]),
        // For the coverage-guided libFuzzer build in fuzz/ (its own package; fuzz/README.md).
        .library(name: "FederationFuzzing", targets: ["FederationFuzzing"]),
        .executable(name: "federation-loadgen", targets: ["federation-loadgen"]),
        .library(name: "FederationCtl", targets: ["FederationCtl"]),
        .executable(name: "fedctl", targets: ["fedctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // Pure decision logic: no I/O, no networking, injectable clock and randomness.
        .target(name: "FederationCore"),
        .testTarget(name: "FederationCoreTests", dependencies: ["FederationCore"]),
        .executableTarget(name: "federation-bench", dependencies: ["FederationCore"]),

        // hiredis (Debian libhiredis-dev) as a Swift module.
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // Our Swift client over hiredis: commands, pipelines, scripts, pool, subscriber.
        .target(name: "FederationRedis", dependencies: ["CHiredis", logging]),
        .testTarget(
            name: "FederationRedisTests", dependencies: ["FederationRedis", "FederationTestSupport"]),
        // The shared-state stores (Redis and in-memory) and the synced FederationView.
        .target(
            name: "FederationState",
            dependencies: [
                "FederationCore", "FederationRedis", logging, lifecycle,
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        .testTarget(
            name: "FederationStateTests",
            dependencies: [
                "FederationState", "FederationCore", "FederationRedis", "FederationTestSupport", lifecycle,
            ]),
        .executableTarget(
            name: "federation-redis-bench",
            dependencies: [
                "FederationCore", "FederationRedis", "FederationState", "FederationTestSupport", logging,
            ]),
        // Helpers for tests (a real redis-server per test process); not a test target so that
        // every test target and benchmark can use it.
        .target(
            name: "FederationTestSupport",
            dependencies: [
                "FederationRedis", "CHiredis", nioCore, logging, lifecycle,
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),

        // The one configuration file (YAML) + environment every service reads.
        .target(
            name: "FederationConfig",
            dependencies: ["FederationCore", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "FederationConfigTests", dependencies: ["FederationConfig", "FederationCore"]),

        // What every HTTP surface shares: OpenAI-style errors, JSON bodies with limits, the admin
        // token, /healthz /readyz /metrics.
        .target(
            name: "FederationHTTP",
            dependencies: [
                "FederationCore", hummingbird, nioCore,
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]),
        .testTarget(
            name: "FederationHTTPTests",
            dependencies: [
                "FederationHTTP", "FederationCore", "FederationTestSupport", hummingbird, hummingbirdTesting,
                logging,
                lifecycle,
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),

        // The OpenAI wire format the node serves and the gateway relays: request envelopes with
        // OpenAI's validation, JSONValue and the hot-path JSON parser, SSE writing and parsing.
        .target(
            name: "FederationOpenAI",
            dependencies: [
                "FederationHTTP", hummingbird, nioCore,
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]),
        .testTarget(name: "FederationOpenAITests", dependencies: ["FederationOpenAI", nioCore]),

        // What every service executable shares: flags → configuration, logging/metrics bootstrap.
        .target(
            name: "FederationServiceKit",
            dependencies: [
                "FederationConfig", "FederationRedis", argumentParser, logging, hummingbird, lifecycle,
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),

        // A runnable OpenAI-compatible inference node with configurable latency, token rate and faults.
        .target(
            name: "FederationNode",
            dependencies: [
                "FederationCore", "FederationHTTP", "FederationOpenAI", hummingbird, logging, lifecycle,
                nioCore,
                httpClient, .product(name: "Yams", package: "Yams"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]),
        .executableTarget(
            name: "federation-node",
            dependencies: [
                "FederationNode", argumentParser, hummingbird, logging, nioCore,
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .testTarget(
            name: "FederationNodeTests",
            dependencies: [
                "FederationNode", "FederationCore", "FederationHTTP", "FederationOpenAI",
                "FederationTestSupport",
                hummingbird, hummingbirdTesting, httpClient,
                logging, nioCore, .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),

        // federation-catalog: the single writer of catalog keys (JSON admin API, leases).
        .target(
            name: "FederationCatalogService",
            dependencies: [
                "FederationCore", "FederationRedis", "FederationState", "FederationConfig", "FederationHTTP",
                hummingbird, logging, lifecycle, nioCore,
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]),
        .executableTarget(
            name: "federation-catalog",
            dependencies: [
                "FederationCatalogService", "FederationServiceKit", "FederationConfig", "FederationRedis",
                argumentParser, hummingbird, logging,
            ]),
        .testTarget(
            name: "FederationCatalogServiceTests",
            dependencies: [
                "FederationCatalogService", "FederationCore", "FederationRedis", "FederationState",
                "FederationConfig", "FederationTestSupport", "FederationNode", hummingbird,
                hummingbirdTesting,
                logging, lifecycle, httpClient,
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),

        // federation-health: the single writer of health and circuit keys (probes, reports, breakers).
        .target(
            name: "FederationHealthService",
            dependencies: [
                "FederationCore", "FederationRedis", "FederationState", "FederationConfig", "FederationHTTP",
                hummingbird, logging, lifecycle, nioCore, httpClient,
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        .executableTarget(
            name: "federation-health",
            dependencies: [
                "FederationHealthService", "FederationServiceKit", "FederationRedis", argumentParser,
                hummingbird,
                logging,
            ]),
        .testTarget(
            name: "FederationHealthServiceTests",
            dependencies: [
                "FederationHealthService", "FederationCore", "FederationRedis", "FederationState",
                "FederationConfig",
                "FederationNode", "FederationTestSupport", hummingbird, hummingbirdTesting, httpClient,
                logging,
                lifecycle, nioCore, .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),

        // federation-router: owns the routing policy, answers route/explain queries with the gateways' engine.
        .target(
            name: "FederationRouterService",
            dependencies: [
                "FederationCore", "FederationRedis", "FederationState", "FederationConfig", "FederationHTTP",
                hummingbird, logging, lifecycle, nioCore,
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]),
        .executableTarget(
            name: "federation-router",
            dependencies: [
                "FederationRouterService", "FederationServiceKit", "FederationConfig", "FederationRedis",
                argumentParser, hummingbird, logging,
            ]),
        .testTarget(
            name: "FederationRouterServiceTests",
            dependencies: [
                "FederationRouterService", "FederationCore", "FederationRedis", "FederationState",
                "FederationConfig", "FederationTestSupport", hummingbird, hummingbirdTesting, logging,
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),

        // federation-gateway: the data plane — OpenAI API in, routed over the synced view, forwarded
        // to real nodes, streamed, retried elsewhere; outcomes reported for the shared circuits.
        .target(
            name: "FederationGatewayService",
            dependencies: [
                "FederationCore", "FederationRedis", "FederationState", "FederationConfig", "FederationHTTP",
                "FederationOpenAI", hummingbird, logging, lifecycle, nioCore, httpClient,
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]),
        .executableTarget(
            name: "federation-gateway",
            dependencies: ["FederationGatewayService", "FederationServiceKit", argumentParser]),
        .testTarget(
            name: "FederationGatewayServiceTests",
            dependencies: [
                "FederationGatewayService", "FederationCore", "FederationRedis", "FederationState",
                "FederationConfig", "FederationHTTP", "FederationOpenAI", "FederationNode",
                "FederationTestSupport",
                "FederationHealthService",
                hummingbird, hummingbirdTesting, httpClient, logging, lifecycle, nioCore,
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]),

        // Every decoder of outside bytes under seeded mutation (docs/CORE.md, Fuzzing); a trap kills
        // the run, which fails CI. `scripts/test` runs it for a bounded time.
        .target(
            name: "FederationFuzzing",
            dependencies: [
                "FederationCore", "FederationState", "FederationConfig", "FederationHTTP", "FederationNode",
                "FederationRouterService", "FederationCatalogService", "FederationHealthService",
                "FederationGatewayService", hummingbird,
                hummingbirdTesting, logging,
                nioCore, .product(name: "HTTPTypes", package: "swift-http-types"),
            ]),
        .executableTarget(name: "federation-fuzz", dependencies: ["FederationFuzzing", argumentParser]),
        .testTarget(name: "FederationFuzzingTests", dependencies: ["FederationFuzzing", "FederationCore"]),

        // The benchmark's open-loop HTTP load generator (bench/gateway/): fixed arrival rate, latency
        // from the intended send time, streaming TTFT, held streams, several targets interleaved.
        .executableTarget(
            name: "federation-loadgen",
            dependencies: [
                "FederationCore", argumentParser, httpClient, nioCore,
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]),
        .testTarget(name: "FederationLoadgenTests", dependencies: ["federation-loadgen"]),

        // fedctl, the operator's CLI: the services' HTTP client, tables and JSON output, the command
        // logic (FederationCtl), under a thin ArgumentParser tree (fedctl). docs/FEDCTL.md.
        .target(
            name: "FederationCtl",
            dependencies: [
                "FederationCore", "FederationRedis", "FederationState", argumentParser, httpClient, nioCore,
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .executableTarget(
            name: "fedctl",
            dependencies: [
                "FederationCtl", "FederationTop", "FederationCore", "FederationState", argumentParser,
            ]),
        .testTarget(
            name: "FederationCtlTests",
            dependencies: [
                "FederationCtl", "fedctl", "FederationCore", "FederationRedis", "FederationState",
                "FederationConfig", "FederationTestSupport", "FederationCatalogService",
                "FederationHealthService",
                "FederationRouterService", "FederationGatewayService", "FederationNode", argumentParser,
                httpClient,
                hummingbird, logging, lifecycle, nioCore,
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),

        // The control plane as real processes: the service executables, a real Redis, real nodes.
        .testTarget(
            name: "FederationClusterTests",
            dependencies: [
                "FederationTestSupport", "FederationCore", httpClient, nioCore,
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),

        // `fedctl top`: the live terminal dashboard over every service's HTTP API (docs/TOP.md).
        .target(
            name: "FederationTop",
            dependencies: [
                "FederationCtl", httpClient, nioCore, .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .testTarget(
            name: "FederationTopTests",
            dependencies: [
                "FederationTop", "FederationCtl", "FederationTestSupport", "FederationCatalogService",
                "FederationHealthService",
                "FederationRouterService", "FederationGatewayService", "FederationNode", "FederationConfig",
                "FederationCore", "FederationRedis", "FederationState", hummingbird, logging, lifecycle,
                httpClient,
                nioCore, .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
