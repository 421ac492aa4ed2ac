import Foundation
import Testing

/// Logs for operators (issue 15 items 3 and 4): every stderr line stamped off a terminal, JSON
/// lines, -q/-v, `--report -`, a report path checked before sending, `validate --json`,
/// `replay --report`, and a progress bar that fits the terminal it is drawn on.
@Suite struct OperatorLogTests {
    /// 300 (or `records`) NDJSON records in 4,000-byte chunks, to the Data Collector API unless
    /// `target` says otherwise.
    static func setup(
        records: Int = 300, target: String = #"target: { api: "data-collector", logType: "Ops" }"#,
        upload: String = ""
    ) -> (TempDir, URL) {
        let dir = TempDir("logship-ops")
        var lines = ""
        for i in 0..<records { lines += "{\"Level\":\"info\",\"N\":\(i),\"Msg\":\"record \(i)\"}\n" }
        dir.write("in/a.ndjson", lines)
        let p = dir.write(
            "p.json5",
            """
            { version: 1, name: "ops", source: { files: ["in/*.ndjson"], format: "ndjson" },
              limits: { maxBodyBytes: 4000 }, \(upload)
              \(target) }
            """)
        return (dir, p)
    }

    static let stamp = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO |WARN |ERROR) "#

    static func lines(_ s: String) -> [String] { s.split(separator: "\n").map(String.init) }

    @Test func everyStderrLineOffATerminalHasATimeAndALevel() throws {
        let (dir, p) = Self.setup()
        defer { dir.cleanup() }
        let r = try run(["run", p.path, "--local", "--progress", "plain", "-v"], cwd: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = Self.lines(r.stderr)
        #expect(lines.count >= 3)
        for l in lines { #expect(l.range(of: Self.stamp, options: .regularExpression) != nil, "not stamped: \(l)") }
        #expect(
            lines.contains { $0.contains(" DEBUG ") && $0.contains("acknowledged") }, "-v shows each acknowledgement")
        #expect(lines.contains { $0.contains(" INFO ") && $0.contains("logship: sent 300 records") })
    }

    @Test func jsonLinesForCollectors() throws {
        let (dir, p) = Self.setup()
        defer { dir.cleanup() }
        let r = try run(
            ["run", p.path, "--local", "--progress", "none", "--log-format", "json", "--verbose"], cwd: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        var acks = 0
        for l in Self.lines(r.stderr) {
            let o = try #require(
                try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any], "not JSON: \(l)")
            #expect(o["time"] is String && o["level"] is String && o["msg"] is String, "\(l)")
            if (o["msg"] as? String)?.contains("acknowledged") == true {
                acks += 1
                #expect(
                    o["level"] as? String == "DEBUG" && o["chunk"] is String && o["file"] as? String == "in/a.ndjson",
                    "\(l)")
            }
        }
        #expect(acks >= 2, "a chunk acknowledgement line per chunk: \(r.stderr)")
        let bad = try run(["run", p.path, "--local", "--log-format", "xml"], cwd: dir.url)
        #expect(bad.status == 2 && bad.stderr.contains("--log-format xml"))
    }

    /// Every JSON line about a Logs Ingestion request names it (`requestId`, the
    /// `x-ms-client-request-id` sent), so an operator can quote it in a support case: the
    /// acknowledgements and the retries, each request its own id.
    @Test func jsonLinesNameTheRequest() throws {
        let (dir, p) = Self.setup(
            records: 600,
            target: #"target: { api: "logs-ingestion", endpoint: "http://127.0.0.1:9", dcrImmutableId: "dcr-ops", "#
                + #"stream: "Custom-Ops" }"#,
            upload: "upload: { concurrency: 2, maxAttempts: 20 },")
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(
            ["--fail-rate", "0.3", "--fail-codes", "500", "--retry-after", "0", "--seed", "3"], dataDir: dir.file("emu")
        )
        defer { emu.stop() }
        let r = try run(
            [
                "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("state").path,
                "--progress", "none", "--log-format", "json", "--verbose",
            ], env: emu.ingestionEnv)
        #expect(r.status == 0, "\(r.stderr)")
        let uuid = #"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"#
        var acked: [String] = [], retried: [String] = []
        for l in Self.lines(r.stderr) {
            let o = try #require(
                try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any], "not JSON: \(l)")
            let msg = o["msg"] as? String ?? ""
            let isAck = msg.contains("acknowledged")
            let isRetry = o["status"] as? Int == 500
            guard isAck || isRetry else { continue }
            let id = try #require(o["requestId"] as? String, "no requestId: \(l)")
            #expect(id.range(of: uuid, options: .regularExpression) != nil, "\(l)")
            #expect(o["chunk"] is String && o["file"] as? String == "in/a.ndjson", "\(l)")
            if isAck { acked.append(id) } else { retried.append(id) }
        }
        #expect(acked.count >= 5, "an acknowledgement line per chunk: \(r.stderr)")
        #expect(!retried.isEmpty, "the injected 500s are logged with their request: \(r.stderr)")
        // Each request its own id; the emulator saw exactly the ids the log names.
        let all = acked + retried
        #expect(Set(all).count == all.count, "ids repeat: \(all)")
        #expect(emu.int("requestIds") == all.count, "emulator: \(emu.stats())")
    }

    @Test func quietKeepsTheSummaryOnly() throws {
        let (dir, p) = Self.setup()
        defer { dir.cleanup() }
        let r = try run(["run", p.path, "--local", "-q"], cwd: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = Self.lines(r.stderr)
        #expect(lines.count == 1 && lines[0].contains("logship: sent 300 records"), "\(r.stderr)")
        let normal = try run(["run", p.path, "--local", "--restart", "--progress", "none"], cwd: dir.url)
        #expect(normal.stderr.contains("local emulator listening"), "without -q the informational lines are there")
    }

    @Test func reportToStdoutAndAReportPathCheckedBeforeSending() throws {
        let (dir, p) = Self.setup()
        defer { dir.cleanup() }
        let r = try run(["run", p.path, "--local", "--progress", "none", "--report", "-"], cwd: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(
            try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "stdout: \(r.stdout)")
        #expect(o["recordsSent"] as? Int == 300)

        let state = dir.file("state2")
        for bad in [dir.file("missing/r.json").path, dir.url.path] {
            let b = try run(["run", p.path, "--local", "--state-dir", state.path, "--report", bad], cwd: dir.url)
            #expect(
                b.status == 2 && b.stderr.contains("--report") && b.stderr.contains("nothing was sent"), "\(b.stderr)")
            #expect(
                !FileManager.default.fileExists(atPath: state.path),
                "a bad --report path stops the run before it starts")
        }
        let fine = dir.file("r.json").path
        let f = try run(
            ["run", p.path, "--local", "--state-dir", state.path, "--progress", "none", "--report", fine], cwd: dir.url)
        #expect(f.status == 0 && FileManager.default.fileExists(atPath: fine))
    }

    @Test func validateJSON() throws {
        let (dir, p) = Self.setup()
        defer { dir.cleanup() }
        let ok = try run(["validate", p.path, "--json"], cwd: dir.url)
        #expect(ok.status == 0, "\(ok.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any])
        #expect(o["ok"] as? Bool == true && o["files"] as? Int == 1 && o["api"] as? String == "data-collector")
        let broken = dir.write(
            "b.json5",
            """
            { version: 1, name: "b", source: { files: ["in/*.ndjson"], format: "ndjson" },
              target: { api: "data-collector", logType: "Ops", workspaceId: "not-a-guid" } }
            """)
        let b = try run(["validate", broken.path, "--json"], cwd: dir.url)
        #expect(b.status == 2)
        let bo = try #require(
            try JSONSerialization.jsonObject(with: Data(b.stdout.utf8)) as? [String: Any], "stdout: \(b.stdout)")
        let problems = try #require(bo["problems"] as? [[String: Any]])
        #expect(bo["ok"] as? Bool == false)
        #expect(
            problems.contains { $0["path"] as? String == "target.workspaceId" && $0["line"] as? Int == 2 },
            "\(problems)")
    }

    @Test func replayWritesItsReport() throws {
        let (dir, p) = Self.setup()
        defer { dir.cleanup() }
        let report = dir.file("replay.json")
        let env = [
            "LOGSHIP_WORKSPACE_ID": "8f2a1b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b", "LOGSHIP_SHARED_KEY": "c2VjcmV0",
            "LOGSHIP_ENDPOINT": "http://127.0.0.1:9",
        ]
        let r = try run(["replay", p.path, "--report", report.path], env: env, cwd: dir.url)
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any])
        #expect(o["found"] as? Int == 0 && o["exitCode"] as? Int == 0)
        let bad = try run(["replay", p.path, "--report", dir.file("no/such/dir.json").path], env: env, cwd: dir.url)
        #expect(bad.status == 2 && bad.stderr.contains("--report"))
    }

    /// A real terminal, 60 columns wide (python3's pty module): the bar's redraws fit it and clear
    /// to the end of the line, the lines carry no time stamp; `TERM=dumb` gets no escapes at all.
    @Test func theBarFitsAPseudoTerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { return }
        let (dir, p) = Self.setup()
        defer { dir.cleanup() }
        let script = dir.write(
            "drive_tty.py",
            """
            import fcntl, os, pty, select, struct, subprocess, sys, termios, time
            out, term = sys.argv[1], sys.argv[2]
            master, slave = pty.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
            env = dict(os.environ, TERM=term)
            env.pop("COLUMNS", None)
            proc = subprocess.Popen(sys.argv[3:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave, env=env)
            os.close(slave)
            data = b""
            deadline = time.time() + 90
            while time.time() < deadline:
                r, _, _ = select.select([master], [], [], 0.5)
                if r:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:
                        chunk = b""
                    if not chunk:
                        break
                    data += chunk
                elif proc.poll() is not None:
                    break
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            open(out, "wb").write(data)
            sys.exit(proc.returncode)
            """)
        for term in ["xterm", "dumb"] {
            let out = dir.file("tty-\(term).txt")
            let r = try run(
                [script.path, out.path, term, Binary.path, "run", p.path, "--local", "--restart", "--progress", "bar"],
                executable: "/usr/bin/python3", cwd: dir.url, timeout: 120)
            #expect(r.status == 0, "\(r.stderr)")
            let text = String(decoding: try Data(contentsOf: out), as: UTF8.self)
            #expect(text.contains("logship: sent 300 records") && !text.contains("INFO"), "\(text)")
            if term == "dumb" {
                #expect(!text.contains("\u{1B}") && !text.contains("\r\u{1B}"), "TERM=dumb: \(text.debugDescription)")
                continue
            }
            let bars = text.components(separatedBy: "\u{1B}[K").filter { $0.contains("%") }
            #expect(!bars.isEmpty, "no bar drawn: \(text.debugDescription)")
            for b in bars {
                let shown = b.components(separatedBy: "\r").last ?? b
                #expect(shown.count <= 59, "\(shown.count) columns on a 60-column terminal: \(shown)")
            }
        }
    }
}
