// swift-tools-version: 6.1
import PackageDescription

// The coverage-guided fuzz build (libFuzzer + AddressSanitizer), a package of its own so that its
// sanitizer build lives in fuzz/.build and never touches the main build. It reuses the main
// package's decoder harnesses (FederationFuzzing) by path. Build it only with the sanitizer flags
// (the entry point calls libFuzzer's driver): bench/fuzz/run.sh --build-only, or
//   swift build --product federation-libfuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
// See fuzz/README.md (Cost: why debug; How it is wired: why lld).

let package = Package(
    name: "federation-fuzz-libfuzzer",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "federation-libfuzz", targets: ["federation-libfuzz"])
    ],
    dependencies: [
        // The main package (its identity is its folder's name, so it is named explicitly).
        .package(name: "federation-gateway", path: "..")
    ],
    targets: [
        .executableTarget(
            name: "federation-libfuzz",
            dependencies: [
                .product(name: "FederationFuzzing", package: "federation-gateway"),
                .product(name: "FederationGatewayService", package: "federation-gateway"),
                .product(name: "FederationHTTP", package: "federation-gateway"),
                .product(name: "FederationOpenAI", package: "federation-gateway"),
            ],
            // No `main`: libFuzzer's driver is the entry point (Entry.swift).
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    ],
    swiftLanguageModes: [.v6]
)
