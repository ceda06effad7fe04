// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "federation-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "FederationCore", targets: ["FederationCore"]),
        .library(name: "FederationNode", targets: ["FederationNode"]),
        .executable(name: "federation-bench", targets: ["federation-bench"]),
        .executable(name: "federation-node", targets: ["federation-node"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        // Pure decision logic: no I/O, no networking, injectable clock and randomness.
        .target(name: "FederationCore"),
        .executableTarget(name: "federation-bench", dependencies: ["FederationCore"]),
        .testTarget(name: "FederationCoreTests", dependencies: ["FederationCore"]),

        // A runnable OpenAI-compatible inference node with configurable latency, token rate and faults.
        .target(
            name: "FederationNode",
            dependencies: [
                "FederationCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "federation-node",
            dependencies: [
                "FederationNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FederationNodeTests",
            dependencies: [
                "FederationNode",
                "FederationCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
