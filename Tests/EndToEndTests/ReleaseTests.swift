import Foundation
import Testing

/// scripts/release.sh and the Dockerfile: the archive holds a binary that runs without a Swift
/// toolchain, and the image is built by the same script.
@Suite struct ReleaseTests {
    static let script = Binary.packageRoot.appendingPathComponent("scripts/release.sh")

    /// The toolchain's static libraries, which `--static-swift-stdlib` links from.
    static var staticLibraries: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for dir in path.split(separator: ":") {
            let swift = URL(fileURLWithPath: String(dir)).appendingPathComponent("swift")
            guard FileManager.default.isExecutableFile(atPath: swift.path) else { continue }
            let usr = swift.resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
            return usr.appendingPathComponent("lib/swift_static/linux")
        }
        return nil
    }

    static func version() throws -> String {
        let o =
            try JSONSerialization.jsonObject(with: Data(try run(["--version", "--json"]).stdout.utf8))
            as? [String: String]
        return try #require(o?["version"])
    }

    /// Runs the real script: a release build with --static-swift-stdlib. The build folder is the
    /// script's default (.build/release-static), kept between runs, and the stamp is fixed, so
    /// after the first run (about two minutes of compiling on 2 cores) only changed sources are
    /// rebuilt. The archive goes to a temporary folder, not dist/.
    @Test(.timeLimit(.minutes(20)))
    func archiveHoldsAStaticBinaryThatRunsAlone() throws {
        guard let libs = Self.staticLibraries,
            FileManager.default.fileExists(atPath: libs.appendingPathComponent("libswiftCore.a").path),
            FileManager.default.fileExists(atPath: libs.appendingPathComponent("libFoundation.a").path)
        else {
            try Test.cancel(
                "this toolchain has no static Swift libraries (lib/swift_static/linux): no static release build here")
        }
        let dir = TempDir("logship-release")
        defer { dir.cleanup() }
        let dist = dir.file("dist")
        let epoch = 1_796_126_400  // 2026-12-01T12:00:00Z
        let r = try run(
            [Self.script.path], executable: "/bin/bash",
            env: ["DIST_DIR": dist.path, "LOGSHIP_COMMIT": "0123456789ab", "SOURCE_DATE_EPOCH": String(epoch)],
            cwd: Binary.packageRoot, timeout: 1200)
        #expect(r.status == 0, "release.sh: \(r.stderr.suffix(3000))")
        guard r.status == 0 else { return }

        let arch = try run(["-m"], executable: "/usr/bin/uname").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let name = "logship-\(try Self.version())-linux-\(arch)"
        let archive = dist.appendingPathComponent("\(name).tar.gz")
        #expect(FileManager.default.fileExists(atPath: archive.path), "no \(archive.lastPathComponent) in \(dist.path)")

        // SHA256SUMS names the archive with its digest, in the format `sha256sum --check` reads.
        let sums = try String(contentsOf: dist.appendingPathComponent("SHA256SUMS"), encoding: .utf8)
        let check = try run(["--check", "SHA256SUMS"], executable: "/usr/bin/sha256sum", cwd: dist)
        #expect(check.status == 0 && sums.contains("  \(name).tar.gz\n"), "\(sums) \(check.stdout) \(check.stderr)")

        let listing = try run(["-tzf", archive.path], executable: "/bin/tar").stdout.split(separator: "\n").map(
            String.init)
        // The README links into docs/, so the reference travels with it: every docs/*.md file.
        let docs = try Readme.all().map(\.name).filter { $0.hasPrefix("docs/") }
        #expect(docs.contains("docs/pipeline.md"))
        let expected =
            [
                "logship", "README.md", "NOTICE", "completions/logship.bash", "completions/_logship",
                "completions/logship.fish", "man/logship.1",
            ] + docs
        for e in expected { #expect(listing.contains("\(name)/\(e)"), "the archive has no \(e): \(listing)") }

        let out = dir.file("unpacked")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        #expect(try run(["-xzf", archive.path, "-C", out.path], executable: "/bin/tar").status == 0)
        let root = out.appendingPathComponent(name)
        let binary = root.appendingPathComponent("logship").path

        // No Swift runtime or Foundation loaded from the system.
        let ldd = try run([binary], executable: "/usr/bin/ldd")
        #expect(ldd.status == 0)
        for lib in ["libswift", "libFoundation", "libdispatch", "libBlocksRuntime"] {
            #expect(!ldd.stdout.contains(lib), "the release binary loads \(lib): \(ldd.stdout)")
        }
        // It runs with no library path at all, and names its stamp.
        let v = try run(["--version", "--json"], executable: binary, env: ["LD_LIBRARY_PATH": ""])
        #expect(v.status == 0, "\(v.stderr)")
        let stamp = try JSONSerialization.jsonObject(with: Data(v.stdout.utf8)) as? [String: String]
        #expect(stamp?["commit"] == "0123456789ab")
        #expect(stamp?["date"] == "2026-12-01T12:00:00Z")
        #expect(stamp?["swift"]?.split(separator: ".").count ?? 0 >= 2)

        // The completions and the man page are the binary's own.
        for (file, args) in [
            ("completions/logship.bash", ["completion", "bash"]), ("completions/_logship", ["completion", "zsh"]),
            ("completions/logship.fish", ["completion", "fish"]), ("man/logship.1", ["man"]),
        ] {
            let packed = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            #expect(
                packed == (try run(args, executable: binary).stdout),
                "\(file) is not `logship \(args.joined(separator: " "))`")
        }
        for doc in try Readme.all() {
            let packed = try String(contentsOf: root.appendingPathComponent(doc.name), encoding: .utf8)
            #expect(packed == doc.text, "the archive's \(doc.name) is not the repository's")
        }
        let notice = try String(contentsOf: root.appendingPathComponent("NOTICE"), encoding: .utf8)
        #expect(notice.contains("Runtime Library Exception") && notice.contains("0123456789ab"))
    }

    static func dockerfile() throws -> [String] {
        let text = try String(contentsOf: Binary.packageRoot.appendingPathComponent("Dockerfile"), encoding: .utf8)
        // Continuation lines joined, comments dropped: one instruction per element.
        return text.replacingOccurrences(of: "\\\n", with: " ").split(separator: "\n").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// Docker is not available to the tests: what can be checked is that the image is built by
    /// scripts/release.sh on a Swift image of this toolchain's version and runs as non-root.
    @Test func dockerfileBuildsTheReleaseBinary() throws {
        let lines = try Self.dockerfile()
        let froms = lines.filter { $0.hasPrefix("FROM ") }
        #expect(froms.count == 2, "a builder stage and a runtime stage: \(froms)")
        let builder = try #require(froms.first)
        let toolchain = try run(["swift", "--version"], executable: "/usr/bin/env").stdout
        let minor = matches("Swift version (\\d+\\.\\d+)", in: toolchain).first ?? "?"
        #expect(
            builder.hasPrefix("FROM swift:\(minor)-") && builder.hasSuffix(" AS build"),
            "\(builder): not swift:\(minor) (the toolchain the tests build with)")

        // The builder's build is the release script, not a command of its own.
        let runs = lines.filter { $0.hasPrefix("RUN ") }
        #expect(runs.contains { $0.contains("scripts/release.sh") }, "the Dockerfile does not run scripts/release.sh")
        #expect(!runs.contains { $0.contains("swift build") }, "the Dockerfile builds with its own command")
        // FoundationNetworking, linked statically, needs libcurl.so to link and libcurl at run time.
        #expect(runs.first?.contains("libcurl4-openssl-dev") == true)

        let runtime = lines.split { $0.hasPrefix("FROM ") }.last ?? []
        #expect(runtime.contains { $0.hasPrefix("RUN ") && $0.contains("ca-certificates") && $0.contains("libcurl") })
        #expect(runtime.contains { $0.hasPrefix("COPY --from=build ") && $0.hasSuffix(" /usr/local/bin/logship") })
        let user = try #require(runtime.last { $0.hasPrefix("USER ") })
        let uid = user.dropFirst(5).split(separator: ":")[0]
        #expect(uid != "root" && uid != "0", "the image runs as root")
        #expect(runtime.contains("ENTRYPOINT [\"/usr/local/bin/logship\"]"))

        let ignore = try String(contentsOf: Binary.packageRoot.appendingPathComponent(".dockerignore"), encoding: .utf8)
        for p in [".build", "dist"] {
            #expect(ignore.split(separator: "\n").contains(Substring(p)), ".dockerignore does not leave out \(p)")
        }
    }

    /// The Kubernetes examples run the image the Dockerfile builds, under the user it creates.
    @Test func kubernetesExamplesUseTheLocalImage() throws {
        let version = try Self.version()
        let user = try #require(try Self.dockerfile().last { $0.hasPrefix("USER ") }).dropFirst(5).split(
            separator: ":")[0]
        for file in ["kubernetes/backfill-job.yaml", "kubernetes/nightly-cronjob.yaml"] {
            let text = try DeployTests.text(file)
            #expect(text.contains("image: logship:\(version)\n"), "\(file): not image logship:\(version)")
            #expect(!text.contains("registry.example.com"))
            #expect(text.contains("runAsUser: \(user)"), "\(file): runAsUser is not the image's user \(user)")
        }
    }
}
