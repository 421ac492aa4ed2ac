import Foundation
import Testing

@Suite(.serialized) struct RunAgainstEmulatorTests {
    /// `logship run` and `logship emulate` as two processes: every line of a sample with
    /// non-ASCII text lands as one row.
    @Test func deliversEveryRecordOfTheSample() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emulator"))
        defer { emu.stop() }
        let samples = Binary.packageRoot.appendingPathComponent("samples/app")
        let files = try FileManager.default.contentsOfDirectory(atPath: samples.path).filter { $0.hasSuffix(".ndjson") }
        var expected = 0
        for f in files {
            let text = try String(contentsOf: samples.appendingPathComponent(f), encoding: .utf8)
            expected += text.split(separator: "\n").count
            #expect(text.unicodeScalars.contains { $0.value > 127 }, "the sample must hold non-ASCII text")
        }
        let pipeline = dir.write(
            "p.json5",
            """
            { version: 1, name: "e2e",
              source: { files: ["\(samples.path)/*.ndjson"], format: "ndjson" },
              target: { logType: "EndToEnd", workspaceId: "${LOGSHIP_WORKSPACE_ID}", sharedKey: "${LOGSHIP_SHARED_KEY}" } }
            """)
        let r = try run(["run", pipeline.path, "--endpoint", emu.url.absoluteString], env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = emu.rows("EndToEnd_CL")
        #expect(rows.count == expected)
        #expect(Set(rows.compactMap { $0["seq_d"] as? Double }).count == expected)
        #expect(rows.contains { ($0["message_s"] as? String)?.contains("注文") == true })
        #expect(!r.stderr.contains(emu.key) && !r.stdout.contains(emu.key), "the key must never be printed")
    }

    @Test func wrongKeyStopsWithExit3() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emulator"))
        defer { emu.stop() }
        let data = dir.write("in.ndjson", (0..<100).map { "{\"n\":\($0)}" }.joined(separator: "\n"))
        let pipeline = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["\(data.path)"], format: "ndjson" }, limits: { maxBodyBytes: 1000 },
              target: { logType: "Refused" } }
            """)
        var bytes = [UInt8](repeating: 0, count: 64)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        let wrongKey = Data(bytes).base64EncodedString()
        let started = Date()
        let r = try run(
            ["run", pipeline.path, "--endpoint", emu.url.absoluteString],
            env: ["LOGSHIP_WORKSPACE_ID": emu.workspace, "LOGSHIP_SHARED_KEY": wrongKey])
        #expect(r.status == 3, "\(r.stderr)")
        // The first answer is the 403: the whole run, process start included, takes well under 2 s.
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(r.stderr.contains("InvalidAuthorization"))
        #expect(r.stderr.contains(emu.workspace))
        #expect(!r.stderr.contains(wrongKey) && !r.stdout.contains(wrongKey))
        #expect((emu.stats()["requests"] as? Int) == 1, "a refused run sends one request, not a retry storm")
    }

    @Test func badLogTypeIsRefusedBeforeSending() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let data = dir.write("in.ndjson", "{\"n\":1}\n")
        let pipeline = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["\(data.path)"], format: "ndjson" }, target: { logType: "My-Logs" } }
            """)
        let r = try run(["run", pipeline.path, "--endpoint", "http://127.0.0.1:9"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("target.logType"))
    }

    /// The README's first quick-start command, exactly as a newcomer types it in a fresh clone:
    /// from the repository's root, no flags added. The clone is a temporary copy of the
    /// pipeline and its samples, so the state written beside the pipeline goes away with it.
    @Test func quickstartRunsLocally() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let fm = FileManager.default
        let clone = dir.file("clone")
        try fm.createDirectory(at: clone.appendingPathComponent("pipelines"), withIntermediateDirectories: true)
        try fm.createDirectory(at: clone.appendingPathComponent("samples"), withIntermediateDirectories: true)
        for part in ["pipelines/quickstart.json5", "samples/app"] {
            try fm.copyItem(at: Binary.packageRoot.appendingPathComponent(part), to: clone.appendingPathComponent(part))
        }
        #expect(QuickStart.logshipArguments == ["run", "pipelines/quickstart.json5", "--local"])
        let r = try run(QuickStart.logshipArguments, cwd: clone)
        #expect(r.status == 0, "\(r.stderr)")
        // The Logs Ingestion API: the planned DCR's stream, typed from the data.
        #expect(r.stdout.contains("Stream Custom-QuickstartApp: 240 row(s)"), "\(r.stdout)")
        for line in [
            "  durationMs     real\n", "  status         long\n", "  client         dynamic\n",
            "  cached         boolean\n",
        ] {
            #expect(r.stdout.contains(line), "\(r.stdout)")
        }
        #expect(!r.stdout.contains("not declared"), "\(r.stdout)")
        // What the README shows of the output is what the command prints.
        for line in try Readme.load().quickStartOutput() where line.trimmingCharacters(in: .whitespaces) != "..." {
            #expect(
                r.stdout.contains(line), "the README's quick start shows \"\(line)\", the run printed:\n\(r.stdout)")
        }
        // The state went where the README says: .logship/<name>/ beside the pipeline, local/ for --local.
        #expect(
            fm.fileExists(
                atPath: clone.appendingPathComponent("pipelines/.logship/quickstart/local/manifest.jsonl").path))
    }

    @Test func unknownFlagsAndCommandsAreUsageErrors() throws {
        let a = try run(["run", "--bogus"])
        #expect(a.status == 2)
        #expect(a.stderr.contains("unknown option --bogus"))
        let b = try run(["rnu"])
        #expect(b.status == 2)
        #expect(b.stderr.contains("did you mean `run`"))
        for c in ["run", "validate", "emulate"] {
            let h = try run([c, "--help"])
            #expect(h.status == 0)
            #expect(h.stdout.contains("Usage: logship \(c)"))
        }
    }
}

@Suite(.serialized) struct RunExitCodeTests {
    /// Bodies are cut at limits.maxBodyBytes; a bad line is rejected with its location and
    /// the rest is delivered; the exit code says "finished with rejects" (1).
    @Test func cutsBodiesAndReportsRejects() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emulator"))
        defer { emu.stop() }
        var lines = (0..<500).map { "{\"n\":\($0),\"pad\":\"\(String(repeating: "x", count: 50))\"}" }
        lines[123] = "{\"n\":123,broken"
        let data = dir.write("in.ndjson", lines.joined(separator: "\n") + "\n")
        let pipeline = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["\(data.path)"], format: "ndjson" }, limits: { maxBodyBytes: 5000 },
              target: { logType: "Cut" } }
            """)
        let state = dir.file("state")
        let r = try run(
            ["run", pipeline.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path], env: emu.env)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(emu.rows("Cut_CL").count == 499)
        let requests = emu.stats()["requests"] as? Int ?? 0
        #expect(requests >= 499 * 70 / 5000, "bodies must be cut at maxBodyBytes (got \(requests) requests)")
        let rejects = try String(contentsOf: state.appendingPathComponent("rejects.ndjson"), encoding: .utf8)
        let entry =
            try JSONSerialization.jsonObject(with: Data(rejects.split(separator: "\n")[0].utf8)) as? [String: Any]
        #expect(entry?["line"] as? Int == 124)
        #expect((entry?["file"] as? String)?.hasSuffix("in.ndjson") == true)
        #expect((entry?["reason"] as? String)?.contains("invalid JSON") == true)
        #expect(entry?["excerpt"] as? String == "{\"n\":123,broken")
        let report =
            try JSONSerialization.jsonObject(with: Data(contentsOf: state.appendingPathComponent("last-run.json")))
            as? [String: Any]
        #expect(report?["recordsRejected"] as? Int == 1)
        #expect(report?["recordsSent"] as? Int == 499)
    }
}

@Suite struct DamagedInputTests {
    @Test func aTruncatedGzipIsReportedAndTheRunGoesOn() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let lines =
            (0..<20_000).map { "{\"seq\":\($0),\"pad\":\"\(String(repeating: "q", count: 30))\"}" }.joined(
                separator: "\n") + "\n"
        dir.write("in/a-damaged.ndjson", lines)
        dir.write("in/b-good.ndjson", (20_000..<20_100).map { "{\"seq\":\($0)}" }.joined(separator: "\n") + "\n")
        let gz = try run(
            [
                "-c",
                "import gzip,sys; d=gzip.compress(open(sys.argv[1],'rb').read()); open(sys.argv[1]+'.gz','wb').write(d[:len(d)//2])",
                dir.file("in/a-damaged.ndjson").path,
            ], executable: "/usr/bin/python3")
        #expect(gz.status == 0)
        try FileManager.default.removeItem(at: dir.file("in/a-damaged.ndjson"))
        let p = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["in/*"], format: "ndjson" }, target: { logType: "Damaged" } }
            """)
        let state = dir.file("state")
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
            env: emu.env)
        #expect(r.status == 1, "\(r.stderr)")
        let rejects = try String(contentsOf: state.appendingPathComponent("rejects.ndjson"), encoding: .utf8)
        let first =
            try JSONSerialization.jsonObject(with: Data(rejects.split(separator: "\n")[0].utf8)) as? [String: Any]
        #expect(first?["file"] as? String == "in/a-damaged.ndjson.gz")
        #expect((first?["offset"] as? Int ?? 0) > 0)
        #expect((first?["reason"] as? String)?.contains("truncated") == true)
        let rows = emu.rows("Damaged_CL").compactMap { $0["seq_d"] as? Double }.map { Int($0) }
        let damaged = rows.filter { $0 < 20_000 }
        #expect(damaged.count > 5000, "the records before the damage are delivered")
        #expect(Set(damaged) == Set(0..<damaged.count), "and they are the first ones, in full")
        #expect(rows.filter { $0 >= 20_000 }.count == 100, "the next file is read in full")
        // The damage is said as such: the file, where, why, and what of it was delivered
        // (counted by the records the emulator holds).
        let size =
            (try FileManager.default.attributesOfItem(atPath: dir.file("in/a-damaged.ndjson.gz").path)[.size]
            as? NSNumber)?.intValue ?? 0
        let f = NumberFormatter()
        f.numberStyle = .decimal
        f.locale = Locale(identifier: "en_US_POSIX")
        let said =
            r.stderr.split(separator: "\n").first { $0.contains("in/a-damaged.ndjson.gz: damaged at byte ") }.map(
                String.init) ?? ""
        #expect(said.contains(" of \(f.string(from: NSNumber(value: size)) ?? "?") ("), "\(r.stderr)")
        #expect(said.contains("truncated"))
        #expect(
            said.contains(
                ": \(f.string(from: NSNumber(value: damaged.count)) ?? "?") record(s) before the damage were delivered; the rest of the file was not read"
            ), "\(said)")
        let listed = report(state)["damagedFiles"] as? [[String: Any]]
        #expect(listed?.count == 1)
        #expect(listed?.first?["path"] as? String == "in/a-damaged.ndjson.gz")
        #expect((listed?.first?["offset"] as? Int ?? 0) > 0 && (listed?.first?["offset"] as? Int ?? 0) <= size)
        #expect(listed?.first?["recordsDelivered"] as? Int == damaged.count)
        let status = try run(["status", p.path, "--state-dir", state.path])
        #expect(status.stdout.contains("damaged:  in/a-damaged.ndjson.gz: damaged at byte"), "\(status.stdout)")
    }
}

@Suite struct TimeGeneratedWarningTests {
    /// A backfill's old event times: the run says the service will replace them, and counts
    /// exactly the records the emulator (by its own clock and rules) replaced.
    @Test func oldAndFutureTimeGeneratedValuesAreCountedAndExplained() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let now = Date()
        func iso(_ d: Date) -> String {
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime]
            return f.string(from: d)
        }
        var lines: [String] = []
        for i in 0..<30 { lines.append("{\"n\":\(i),\"when\":\"\(iso(now.addingTimeInterval(-10 * 86_400)))\"}") }  // too old
        for i in 30..<40 { lines.append("{\"n\":\(i),\"when\":\"\(iso(now.addingTimeInterval(3 * 86_400)))\"}") }  // future
        for i in 40..<100 { lines.append("{\"n\":\(i),\"when\":\"\(iso(now.addingTimeInterval(-3600)))\"}") }  // fine
        dir.write("in.ndjson", lines.joined(separator: "\n") + "\n")
        let p = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["in.ndjson"], format: "ndjson" },
              fields: { map: { EventTime: { from: "when", type: "datetime" }, N: { from: "n", type: "int" } }, passthrough: false },
              target: { logType: "Old", timeGeneratedField: "EventTime" } }
            """)
        let state = dir.file("state")
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
            env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("30 more than two days old and 10 more than a day in the future"), "\(r.stderr)")
        #expect(r.stderr.contains("replaces those with the ingestion time"))
        let rep = report(state)
        #expect(rep["timeGeneratedTooOld"] as? Int == 30)
        #expect(rep["timeGeneratedInFuture"] as? Int == 10)
        #expect(emu.stats()["timeGeneratedReplaced"] as? Int == 40, "the emulator replaced exactly those")
    }
}
