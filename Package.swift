// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "federation-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "FederationCore", targets: ["FederationCore"]),
        .library(name: "FederationRedis", targets: ["FederationRedis"]),
        .library(name: "FederationState", targets: ["FederationState"]),
        .library(name: "FederationTestSupport", targets: ["FederationTestSupport"]),
        .library(name: "FederationConfig", targets: ["FederationConfig"]),
        .library(name: "FederationHTTP", targets: ["FederationHTTP"]),
        .executable(name: "federation-bench", targets: ["federation-bench"]),
        .executable(name: "federation-redis-bench", targets: ["federation-redis-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // Pure decision logic: no I/O, no networking, injectable clock and randomness.
        .target(name: "FederationCore"),
        .executableTarget(name: "federation-bench", dependencies: ["FederationCore"]),
        .testTarget(name: "FederationCoreTests", dependencies: ["FederationCore"]),

        // hiredis (Debian libhiredis-dev) as a Swift module.
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // Our Swift client over hiredis: commands, pipelines, scripts, pool, subscriber.
        .target(
            name: "FederationRedis",
            dependencies: ["CHiredis", .product(name: "Logging", package: "swift-log")]),
        // The shared-state stores (Redis and in-memory) and the synced FederationView.
        .target(
            name: "FederationState",
            dependencies: [
                "FederationCore", "FederationRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // Helpers for tests of this and later packages (a real redis-server per test process).
        .target(name: "FederationTestSupport", dependencies: ["FederationRedis", "CHiredis"]),
        .executableTarget(
            name: "federation-redis-bench",
            dependencies: [
                "FederationCore", "FederationRedis", "FederationState", "FederationTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "FederationRedisTests", dependencies: ["FederationRedis", "FederationTestSupport"]),
        .testTarget(
            name: "FederationStateTests",
            dependencies: [
                "FederationState", "FederationCore", "FederationRedis", "FederationTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
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
                "FederationCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .testTarget(
            name: "FederationHTTPTests",
            dependencies: [
                "FederationHTTP", "FederationCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
