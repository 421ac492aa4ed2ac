// swift-tools-version:6.0
// logship: no package dependencies. Foundation, Dispatch, and two system C libraries.
import PackageDescription

let package = Package(
    name: "logship",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "logship", targets: ["logship"]),
        .library(name: "LogshipCore", targets: ["LogshipCore"]),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "LogshipCore",
            dependencies: ["CZlib", "COpenSSL"],
            // The per-record code is byte loops; unoptimized they run 20-50x slower, which makes
            // the end-to-end tests (hundreds of MB through the emulator) slow. Tests still get
            // -enable-testing from SwiftPM in debug builds.
            // Release builds drop the dynamic exclusivity checks (measured at 12 % of a typed CSV
            // transform); debug builds, which the tests use, keep them.
            swiftSettings: [
                .unsafeFlags(["-O"], .when(configuration: .debug)),
                .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
            ]
        ),
        .executableTarget(name: "logship", dependencies: ["LogshipCore"]),
        // Stage timings for bench/run.py (reader, decoder, transformer, emulator parsing alone).
        .executableTarget(name: "logship-bench", dependencies: ["LogshipCore"], path: "bench/Sources/logship-bench"),
        .testTarget(name: "LogshipCoreTests", dependencies: ["LogshipCore"]),
        .testTarget(name: "EndToEndTests", dependencies: ["LogshipCore", "logship"]),
    ]
)
