import Foundation
import Testing

/// The state directory holds copies of records (dead letters, rejects, kept bodies, the local
/// emulator's table): folders 0700 and files 0600 whatever the umask, and never a key.
@Suite(.serialized) struct PrivateStateTests {
    /// `logship ARGS` under `umask 000`, the umask that would leave everything world-writable.
    func runUnderUmask000(_ args: [String], env: [String: String]) throws -> ProcessResult {
        try run(["-c", "umask 000; exec \"$0\" \"$@\"", Binary.path] + args, executable: "/bin/sh", env: env)
    }

    @Test func stateFilesArePrivateWhateverTheUmask() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(
            ["--fail-rate", "0.5", "--fail-codes", "400", "--seed", "7"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        var lines = (0..<600).map { "{\"n\":\($0),\"email\":\"person\($0)@example.com\"}" }
        lines[42] = "{\"n\": broken"
        dir.write("in.ndjson", lines.joined(separator: "\n") + "\n")
        let pipeline = dir.write(
            "p.json5",
            """
            { version: 1, name: "private", source: { files: ["in.ndjson"], format: "ndjson" },
              limits: { maxBodyBytes: 2000 }, target: { logType: "Private", workspaceId: "${LOGSHIP_WORKSPACE_ID}", sharedKey: "${LOGSHIP_SHARED_KEY}" } }
            """)
        let endpoint = ["--endpoint", emu.url.absoluteString]
        let first = try runUnderUmask000(["run", pipeline.path, "--progress", "none"] + endpoint, env: emu.env)
        #expect(first.status == 1, "rejects and dead letters: \(first.stderr)")
        let state = dir.file(".logship/private")
        let letters =
            (try? FileManager.default.contentsOfDirectory(atPath: state.appendingPathComponent("deadletter").path))
            ?? []
        #expect(letters.contains { $0.hasSuffix(".meta.json") }, "the run must leave dead letters to check")
        #expect(FileManager.default.fileExists(atPath: state.appendingPathComponent("rejects.ndjson").path))
        _ = try runUnderUmask000(["replay", pipeline.path] + endpoint, env: emu.env)
        let dry = try runUnderUmask000(
            ["run", pipeline.path, "--dry-run", "--keep-bodies", "--progress", "none"], env: emu.env)
        #expect(dry.status == 1, "\(dry.stderr)")
        let local = try runUnderUmask000(["run", pipeline.path, "--local", "--progress", "none"], env: emu.env)
        #expect(local.status == 1, "\(local.stderr)")

        let root = dir.file(".logship")
        var files = 0, folders = 0
        var paths = [root.path]
        paths += (FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? []).map {
            root.appendingPathComponent($0).path
        }
        let probes = [emu.key, String(emu.key.prefix(12)), String(emu.key.suffix(12))]
        for path in paths {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
            if attributes[.type] as? FileAttributeType == .typeDirectory {
                folders += 1
                #expect(mode == 0o700, "\(path) is \(String(mode, radix: 8)), not 700")
            } else {
                files += 1
                #expect(mode == 0o600, "\(path) is \(String(mode, radix: 8)), not 600")
                let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
                for probe in probes { #expect(!text.contains(probe), "\(path) holds the shared key") }
            }
        }
        // manifest, rejects, last-run, dead letters, bodies/, the local emulator's rows: all seen.
        for part in [
            "private/manifest.jsonl", "private/rejects.ndjson", "private/last-run.json", "private/deadletter",
            "private/dry-run/bodies", "private/local/emulator/Private_CL.ndjson",
        ] {
            #expect(
                FileManager.default.fileExists(atPath: root.appendingPathComponent(part).path),
                "\(part) was not written")
        }
        #expect(files > 10 && folders >= 5)
        for r in [first, dry, local] {
            for probe in probes { #expect(!r.stderr.contains(probe) && !r.stdout.contains(probe)) }
        }
    }
}
