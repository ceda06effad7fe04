// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "federation-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "FederationCore", targets: ["FederationCore"]),
        .executable(name: "federation-bench", targets: ["federation-bench"]),
    ],
    targets: [
        // Pure decision logic: no I/O, no networking, injectable clock and randomness.
        .target(name: "FederationCore"),
        .executableTarget(name: "federation-bench", dependencies: ["FederationCore"]),
        .testTarget(name: "FederationCoreTests", dependencies: ["FederationCore"]),
    ],
    swiftLanguageModes: [.v6]
)
