import Foundation
import LogshipCore
import Testing

/// `source.multiline` and `timezone` end to end: `logship run` against `logship emulate` in
/// processes of their own, the stored rows compared with Python's own reading of the input
/// (its `re` and `zoneinfo`, not logship's byte rules and transition table).
@Suite struct MultilineAndTimezoneTests {
    /// The example: every stored row is one record as Python groups the file, with the fields the
    /// pattern gives on the joined text and the event time converted by zoneinfo (fold=0: the
    /// earlier of a repeated time, the README's rule); the repeats are counted in the report.
    @Test func jvmExampleStoresWhatPythonReads() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let pipeline = ExamplePipelineTests.folder.appendingPathComponent("jvm-app.json5")
        let spec = try #require(PipelineLoader(environment: [:]).load(pipeline).spec)
        let state = dir.file("state")
        let r = try run(
            [
                "run", pipeline.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress",
                "none",
            ],
            env: emu.env.merging(samplesClock) { $1 })
        #expect(r.status == 0, "\(r.stderr)")
        let py = try python(
            """
            import json, re, sys
            from datetime import datetime, timezone
            from zoneinfo import ZoneInfo
            \(ExamplePipelineTests.pythonGrouping)
            raw = open(sys.argv[1], "rb").read()
            pattern = re.compile(sys.argv[2].replace("(?<", "(?P<"), re.S)
            zone = ZoneInfo(sys.argv[3])
            rows, repeated = [], 0
            for _, text in group(raw, "java"):
                m = pattern.search(text)
                local = datetime.strptime(m["time"], "%Y-%m-%d %H:%M:%S.%f")
                a, b = local.replace(tzinfo=zone, fold=0), local.replace(tzinfo=zone, fold=1)
                if a.utcoffset() != b.utcoffset():
                    repeated += 1
                u = a.astimezone(timezone.utc)
                rows.append({"EventTime_t": u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z",
                             "Level_s": m["level"], "Thread_s": m["thread"], "Logger_s": m["logger"], "Message_s": m["message"]})
            print(json.dumps({"rows": rows, "repeated": repeated}))
            """,
            [
                spec.baseDirectory.appendingPathComponent(spec.source.files[0]).path,
                try #require(spec.source.lines?.pattern),
                try #require(spec.source.timezone),
            ])
        try #require(py.status == 0, "\(py.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(py.stdout.utf8)) as? [String: Any])
        let expected = try #require(doc["rows"] as? [[String: String]])
        func key(_ row: [String: Any]) -> String {
            ["EventTime_t", "Level_s", "Thread_s", "Logger_s", "Message_s"].map { "\(row[$0] ?? "-")" }.joined(
                separator: "|")
        }
        let stored = emu.rows("JvmApp_CL")
        #expect(stored.count == expected.count)
        #expect(stored.map(key).sorted() == expected.map(key).sorted())
        #expect(
            stored.contains { ($0["Message_s"] as? String)?.contains("\n\tat com.acme") == true },
            "stack traces kept with their line breaks")
        let rep = report(state)
        #expect(rep["recordsSent"] as? Int == expected.count)
        #expect(rep["timezoneRepeatedValues"] as? Int == doc["repeated"] as? Int)
        #expect((doc["repeated"] as? Int ?? 0) > 0, "the sample covers the repeated hour")
        #expect(rep["timezoneGapValues"] as? Int == 0)
        #expect(r.stderr.contains("in a repeated hour"), "the summary counts them: \(r.stderr)")
    }

    /// A record past maxLines is cut before a line, the rest sent as a record of its own: every
    /// line is stored once, and the report and summary say where the cut is.
    @Test func aRecordPastItsBoundIsCutAndSaidWhere() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let lines = ["START a", " 1", " 2", "START b"] + (1...12).map { " trace \($0)" } + ["START c", ""]
        _ = dir.write("in/app.log", lines.joined(separator: "\n"))
        let p = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["in/app.log"], format: "lines", lines: { pattern: "raw" },
                multiline: { start: "^START", maxLines: 5 } },
              fields: { map: { Text: "message" }, passthrough: false },
              target: { api: "data-collector", logType: "Cut", workspaceId: "${LOGSHIP_WORKSPACE_ID}", sharedKey: "${LOGSHIP_SHARED_KEY}" } }
            """)
        let state = dir.file("state")
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
            env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")
        let texts = emu.rows("Cut_CL").compactMap { $0["Text_s"] as? String }
        #expect(
            texts.sorted()
                == [
                    "START a\n 1\n 2", "START b\n trace 1\n trace 2\n trace 3\n trace 4",
                    " trace 5\n trace 6\n trace 7\n trace 8\n trace 9", " trace 10\n trace 11\n trace 12", "START c",
                ].sorted())
        #expect(texts.joined(separator: "\n").split(separator: "\n").count == lines.count - 1, "no line lost")
        let rep = report(state)
        #expect(rep["multilineRecordsCut"] as? Int == 2)
        let warnings = (rep["warnings"] as? [String] ?? []).joined(separator: "\n")
        #expect(warnings.contains("in/app.log:9 (byte") && warnings.contains("in/app.log:14 (byte"), "\(warnings)")
        #expect(r.stderr.contains("2 multi-line record(s) cut"), "\(r.stderr)")
    }

    /// Killed (SIGKILL, by PID) twice after some acknowledgements, then resumed: each record,
    /// whole with its trace, is stored under one id, as Python groups the file.
    @Test func resumeMidFileWithMultilineStoresEveryRecordOnce() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(["--latency-ms", "120"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        let n = 3000
        var text = ""
        for k in 0..<n {
            text += "2026-03-29 0\(k % 4):\(10 + k % 50):00 seq=\(k) event \(k)\n"
            if k % 3 == 0 {
                text +=
                    "Traceback (most recent call last):\n  File \"a.py\", line \(k), in f\n    g()\nValueError: bad \(k)\n\n"
            }
        }
        let input = dir.write("in/app.log", text)
        let p = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["in/app.log"], format: "lines", multiline: "python", timezone: "Europe/Amsterdam",
                lines: { pattern: "^(?<time>\\\\S+ \\\\S+) seq=(?<seq>\\\\d+) (?<message>.*)$" } },
              fields: { map: { Seq: { from: "seq", type: "long" }, At: { from: "time", type: "datetime" }, Message: "message" }, passthrough: false,
                recordId: "Id" },
              limits: { maxRecordsPerChunk: 100 },
              target: { api: "data-collector", logType: "Resume", workspaceId: "${LOGSHIP_WORKSPACE_ID}", sharedKey: "${LOGSHIP_SHARED_KEY}" } }
            """)
        let state = dir.file("state")
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        let rotation = RotationTests()
        try rotation.killAfter(acks: 3, args, env: emu.env, state: state, gate: emu)
        try rotation.killAfter(acks: rotation.acks(state) + 3, args, env: emu.env, state: state, gate: emu)
        #expect(emu.rows("Resume_CL").count < n, "the kills came part way")
        let r = try run(args, env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = emu.rows("Resume_CL")
        let ids = rows.compactMap { $0["Id_g"] as? String }
        // Once by id: every record arrives under one id; a SIGKILL between the service storing a
        // body and the manifest's ack can store that one chunk twice (the at-least-once window
        // of docs/delivery.md "Delivery guarantee"), as identical rows, at most a chunk per kill.
        #expect(Set(ids).count == n, "every record by id: \(ids.count) rows, \(Set(ids).count) ids")
        #expect(ids.count - n <= 2 * 100, "\(ids.count - n) rows stored twice")
        var byId: [String: String] = [:]
        for row in rows {
            guard let id = row["Id_g"] as? String, let m = row["Message_s"] as? String else { continue }
            #expect(byId[id] == nil || byId[id] == m, "one id, one record")
            byId[id] = m
        }
        #expect(Set(rows.compactMap { ($0["Seq_d"] as? NSNumber)?.intValue }) == Set(0..<n))
        let py = try python(
            """
            import json, re, sys
            \(ExamplePipelineTests.pythonGrouping)
            out = {}
            for _, t in group(open(sys.argv[1], "rb").read(), "python"):
                m = re.match(r"^\\S+ \\S+ seq=(\\d+) (.*)$", t, re.S)
                out[m[1]] = m[2]
            print(json.dumps(out))
            """, [input.path])
        try #require(py.status == 0, "\(py.stderr)")
        let want = try #require(try JSONSerialization.jsonObject(with: Data(py.stdout.utf8)) as? [String: String])
        #expect(want.count == n)
        var differ = 0
        for row in rows {
            guard let seq = (row["Seq_d"] as? NSNumber)?.intValue, want[String(seq)] == row["Message_s"] as? String
            else {
                differ += 1
                continue
            }
        }
        #expect(differ == 0, "\(differ) stored messages differ from Python's grouping")
        #expect(rows.contains { ($0["Message_s"] as? String)?.hasSuffix("\nValueError: bad 0") == true })
    }
}
