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
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .executableTarget(name: "logship", dependencies: ["LogshipCore"]),
        .testTarget(name: "LogshipCoreTests", dependencies: ["LogshipCore"]),
        .testTarget(name: "EndToEndTests", dependencies: ["LogshipCore", "logship"]),
    ]
)
