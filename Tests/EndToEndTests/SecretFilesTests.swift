import Foundation
import Testing

/// `logship run` against `logship emulate` (two processes, HTTP on 127.0.0.1) with the shared key
/// only in a file: the pipeline's `target.sharedKeyFile`, `LOGSHIP_SHARED_KEY_FILE`, or systemd's
/// `$CREDENTIALS_DIRECTORY/logship-shared-key`. Everything arrives, and the key shows up in no
/// output and no state file.
@Suite(.serialized) struct SecretFilesTests {
    enum Via: String, CaseIterable, Sendable { case pipelineKey, fileVariable, credentialsDirectory }

    /// Writes `text` to `name` 0600 (or `mode`).
    static func secret(_ dir: TempDir, _ name: String, _ text: String, mode: Int = 0o600) throws -> URL {
        let u = dir.write(name, text)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: u.path)
        return u
    }

    /// The key's text and pieces of it, in every file under `root`.
    static func expectNoKey(under root: URL, _ key: String) {
        let probes = [key, String(key.prefix(12)), String(key.suffix(12))]
        var files = 0
        for case let rel as String in FileManager.default.enumerator(atPath: root.path)
            ?? FileManager.DirectoryEnumerator()
        {
            let path = root.appendingPathComponent(rel).path
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { continue }
            files += 1
            let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
            for p in probes { #expect(!text.contains(p), "\(path) holds the shared key") }
        }
        #expect(files >= 2, "the run must leave state files to check (\(root.path))")
    }

    @Test(arguments: Via.allCases)
    func theKeyOnlyInAFile(_ via: Via) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emulator"))
        defer { emu.stop() }
        let data = dir.write(
            "in.ndjson", (0..<250).map { "{\"n\":\($0),\"msg\":\"é\($0)\"}" }.joined(separator: "\n") + "\n")
        var env = ["LOGSHIP_WORKSPACE_ID": emu.workspace]
        var keyLine = ""
        switch via {
        case .pipelineKey:
            _ = try Self.secret(dir, "keys/shared-key", emu.key + "\n")
            keyLine = #", sharedKeyFile: "keys/shared-key""#
        case .fileVariable:
            env["LOGSHIP_SHARED_KEY_FILE"] = try Self.secret(dir, "elsewhere/key", emu.key + "\n").path
        case .credentialsDirectory:
            // What systemd's LoadCredential=logship-shared-key:… leaves for the run.
            _ = try Self.secret(dir, "credentials/logship-shared-key", emu.key, mode: 0o400)
            env["CREDENTIALS_DIRECTORY"] = dir.file("credentials").path
        }
        let pipeline = dir.write(
            "p.json5",
            """
            { version: 1, name: "from-file", source: { files: ["\(data.path)"], format: "ndjson" }, limits: { maxBodyBytes: 2000 },
              target: { logType: "FromFile"\(keyLine) } }
            """)
        let r = try run(["run", pipeline.path, "--endpoint", emu.url.absoluteString, "--progress", "none"], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(emu.rows("FromFile_CL").count == 250)
        #expect(!r.stderr.contains("warning"), "a 0600 file gets no warning: \(r.stderr)")
        for p in [emu.key, String(emu.key.prefix(12)), String(emu.key.suffix(12))] {
            #expect(!r.stdout.contains(p) && !r.stderr.contains(p), "the key must never be printed")
        }
        Self.expectNoKey(under: dir.file(".logship"), emu.key)
        // validate reads the same chain, and says nothing of the key either.
        let v = try run(["validate", pipeline.path], env: env)
        #expect(v.status == 0 && v.stdout.contains("workspace \(emu.workspace)"), "\(v.stdout)\(v.stderr)")
        #expect(!v.stdout.contains(emu.key) && !v.stderr.contains(emu.key))
    }

    /// A key file others can read still works, with ssh's kind of warning; a bad one stops the
    /// run before anything is sent, naming the file and never showing what it holds.
    @Test func openAndBadKeyFiles() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emulator"))
        defer { emu.stop() }
        let data = dir.write("in.ndjson", (0..<10).map { "{\"n\":\($0)}" }.joined(separator: "\n") + "\n")
        let pipeline = dir.write(
            "p.json5",
            """
            { version: 1, name: "bad-file", source: { files: ["\(data.path)"], format: "ndjson" }, target: { logType: "BadFile" } }
            """)
        let args = ["run", pipeline.path, "--endpoint", emu.url.absoluteString, "--progress", "none"]
        let open = try Self.secret(dir, "open-key", emu.key + "\n", mode: 0o644)
        let ok = try run(args, env: ["LOGSHIP_WORKSPACE_ID": emu.workspace, "LOGSHIP_SHARED_KEY_FILE": open.path])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(
            ok.stderr.contains(
                "warning: LOGSHIP_SHARED_KEY_FILE: \(open.path) is readable by others (mode 644); chmod 600 it"),
            "\(ok.stderr)")
        #expect(!ok.stderr.contains(emu.key))

        let before = emu.int("requests")
        let empty = try Self.secret(dir, "empty-key", "\n")
        let e = try run(args, env: ["LOGSHIP_WORKSPACE_ID": emu.workspace, "LOGSHIP_SHARED_KEY_FILE": empty.path])
        #expect(e.status == 2 && e.stderr.contains("LOGSHIP_SHARED_KEY_FILE: \(empty.path): empty"), "\(e.stderr)")
        let wrong = try Self.secret(dir, "wrong-key", "hunter2-not-base64!")
        let w = try run(args, env: ["LOGSHIP_WORKSPACE_ID": emu.workspace, "LOGSHIP_SHARED_KEY_FILE": wrong.path])
        #expect(
            w.status == 2 && w.stderr.contains("the shared key (from LOGSHIP_SHARED_KEY_FILE) is not valid base64"),
            "\(w.stderr)")
        #expect(!w.stderr.contains("hunter2") && !w.stdout.contains("hunter2"))
        let both = try run(
            args,
            env: [
                "LOGSHIP_WORKSPACE_ID": emu.workspace, "LOGSHIP_SHARED_KEY_FILE": open.path,
                "LOGSHIP_SHARED_KEY": emu.key,
            ])
        #expect(
            both.status == 2 && both.stderr.contains("LOGSHIP_SHARED_KEY and LOGSHIP_SHARED_KEY_FILE are both set"),
            "\(both.stderr)")
        #expect(!both.stderr.contains(emu.key))
        #expect(emu.int("requests") == before, "nothing is sent with a bad key file")
    }

    /// The Logs Ingestion API's client secret the same ways: LOGSHIP_CLIENT_SECRET_FILE and the
    /// systemd credential logship-client-secret; the emulator's token endpoint accepts it.
    @Test(arguments: [Via.fileVariable, .credentialsDirectory])
    func theClientSecretOnlyInAFile(_ via: Via) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<300))
        let p = pipeline(dir, files: ["in/a.ndjson"], api: .logsIngestion)
        var env = emu.ingestionEnv
        env["LOGSHIP_CLIENT_SECRET"] = nil
        switch via {
        case .fileVariable: env["LOGSHIP_CLIENT_SECRET_FILE"] = try Self.secret(dir, "secret", emu.secret + "\n").path
        case .credentialsDirectory, .pipelineKey:
            _ = try Self.secret(dir, "credentials/logship-client-secret", emu.secret, mode: 0o400)
            env["CREDENTIALS_DIRECTORY"] = dir.file("credentials").path
        }
        let r = try run(["run", p.path, "--endpoint", emu.url.absoluteString, "--progress", "none"], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(seqCounts(emu, .logsIngestion).count == 300)
        #expect(emu.int("tokensIssued") >= 1)
        #expect(!r.stderr.contains(emu.secret) && !r.stdout.contains(emu.secret), "the secret must never be printed")
        Self.expectNoKey(under: dir.file(".logship"), emu.secret)
    }
}
