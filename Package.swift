// swift-tools-version:6.0
// logship: no package dependencies. Foundation, Dispatch, and two system C libraries.
import PackageDescription

// The per-record code is byte loops; unoptimized they run 20-50x slower, which makes the
// end-to-end tests (hundreds of MB through the emulator) slow. Tests still get -enable-testing
// from SwiftPM in debug builds. Release builds drop the dynamic exclusivity checks (measured at
// 12 % of a typed CSV transform); debug builds, which the tests use, keep them.
let optimized: [SwiftSetting] = [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

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
        // Crypto, gzip, secrets, dates, the "did you mean" rule: what both the client and the
        // emulator need, and nothing of either. (Service limits are the client's, in LogshipCore's
        // Service room; the emulator keeps its own.)
        .target(name: "LogshipSupport", dependencies: ["CZlib", "COpenSSL"], swiftSettings: optimized),
        // The pipeline: reading, transforming, chunking, delivery, state.
        .target(name: "LogshipCore", dependencies: ["LogshipSupport"], swiftSettings: optimized),
        // The local service. It does not depend on LogshipCore, so it judges the client's requests
        // with its own code (string to sign, API versions, type inference): the compiler keeps a
        // client bug from hiding in a shared helper.
        .target(name: "LogshipEmulator", dependencies: ["LogshipSupport"], swiftSettings: optimized),
        // Commit, date and compiler of a release build, set by scripts/release.sh with -Xcc defines.
        .target(name: "CBuildInfo"),
        .executableTarget(name: "logship", dependencies: ["LogshipCore", "LogshipEmulator", "CBuildInfo"]),
        // Stage timings for bench/run.py (reader, decoder, transformer, emulator parsing alone).
        .executableTarget(
            name: "logship-bench", dependencies: ["LogshipCore", "LogshipEmulator"],
            path: "bench/Sources/logship-bench"),
        // Pipeline/Fixtures and State/Fixtures hold files the tests read by path (#filePath), not resources.
        .testTarget(
            name: "LogshipCoreTests", dependencies: ["LogshipCore", "LogshipEmulator", "LogshipSupport"],
            exclude: ["Pipeline/Fixtures", "State/Fixtures"]),
        .testTarget(name: "EndToEndTests", dependencies: ["LogshipCore", "LogshipSupport", "logship"]),
    ]
)
