import Foundation
import Testing

/// Issue 14, items 5 and 7 end to end against `logship emulate` in a process of its own:
/// derived fields over many servers' folders, and `run --adopt` after a changed mapping. The
/// stored rows are compared with Python's reading of the input (json, os, socket), not logship's.
@Suite(.serialized) struct DerivedAndAdoptTests {
    /// Two servers' folders, `count` NDJSON records each, with `seq` unique over both.
    func writeServers(_ dir: TempDir, count: Int) {
        for (k, host) in ["web-01", "web-02"].enumerated() {
            var text = ""
            for i in 0..<count {
                let seq = k * count + i
                // A blank line now and then: $line counts the file's lines, not its records.
                if i % 97 == 5 { text += "\n" }
                text += #"{"seq":\#(seq),"msg":"request \#(seq) from \#(host)"}"# + "\n"
            }
            _ = dir.write("servers/\(host)/access.log", text)
        }
    }

    /// Python's reading: seq → [host folder, path relative to the pipeline, line number].
    static let readServers = #"""
        import json, os, sys, glob, socket
        base, out = sys.argv[1], {}
        for p in sorted(glob.glob(os.path.join(base, "servers/*/access.log"))):
            rel = os.path.relpath(p, base)
            for n, line in enumerate(open(p, encoding="utf-8"), 1):
                if line.strip():
                    r = json.loads(line)
                    out[r["seq"]] = [rel.split("/")[1], rel, n]
        print(json.dumps({"rows": out, "host": socket.gethostname()}))
        """#

    func expected(_ dir: TempDir) throws -> (rows: [Int: [Any]], host: String) {
        let r = try python(Self.readServers, [dir.url.path])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let rows = try #require(o["rows"] as? [String: [Any]])
        return (
            Dictionary(uniqueKeysWithValues: rows.map { (Int($0.key)!, $0.value) }), try #require(o["host"] as? String)
        )
    }

    func pipeline(_ dir: TempDir, map: String, logType: String = "Web") -> URL {
        dir.write(
            "web.json5",
            """
            { version: 1,
              source: { files: ["servers/*/access.log"], format: "ndjson" },
              fields: { map: { \(map) } },
              limits: { maxRecordsPerChunk: 100 },
              upload: { maxAttempts: 20 },
              target: { logType: "\(logType)" } }
            """)
    }

    static let derivedMap = """
        Host: { from: "$file", extract: "^servers/(?<host>[^/]+)/" }, File: "$file", Line: "$line",
        Pipe: "$pipeline", Machine: "$host"
        """

    @Test func serversFoldersBecomeAHostColumn() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        writeServers(dir, count: 700)
        let want = try expected(dir)
        #expect(want.rows.count == 1400)
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let p = pipeline(dir, map: Self.derivedMap)
        let r = try run(
            [
                "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("state").path,
                "--progress", "none",
            ], env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")
        var seen: [Int: Int] = [:]
        for row in emu.rows("Web_CL") {
            let seq = try #require((row["seq_d"] as? NSNumber)?.intValue)
            seen[seq, default: 0] += 1
            let w = try #require(want.rows[seq])
            #expect(row["Host_s"] as? String == w[0] as? String)
            #expect(row["File_s"] as? String == w[1] as? String)
            #expect((row["Line_d"] as? NSNumber)?.intValue == w[2] as? Int, "seq \(seq)")
            #expect(row["Pipe_s"] as? String == "web")
            #expect(row["Machine_s"] as? String == want.host)
        }
        #expect(Set(seen.keys) == Set(want.rows.keys))
        #expect(seen.values.allSatisfy { $0 == 1 })
    }

    @Test func adoptSendsTheRestWithTheNewMappingAndNothingTwice() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        writeServers(dir, count: 1000)
        let want = try expected(dir)
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let state = dir.file("state")
        let p = pipeline(dir, map: #"Version: { value: "one" }"#)
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        // Three chunks of 100 acknowledged (the emulator holds the fourth), then killed: web-01
        // is delivered in part.
        let rotation = RotationTests()
        try rotation.killAfter(acks: 3, args, env: emu.env, state: state, gate: emu)
        #expect(rotation.acks(state) == 3)
        #expect(emu.rows("Web_CL").count == 300)

        // The mapping changes: refused without --adopt, with both ways named.
        _ = pipeline(dir, map: #"Version: { value: "two" }, "# + Self.derivedMap)
        let refused = try run(args, env: emu.env)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--adopt") && refused.stderr.contains("--restart"), "\(refused.stderr)")
        #expect(emu.rows("Web_CL").count == 300)

        let adopted = try run(args + ["--adopt"], env: emu.env)
        #expect(adopted.status == 0, "\(adopted.stderr)")
        #expect(adopted.stderr.contains("--adopt: the pipeline changed"), "\(adopted.stderr)")

        var stored: [Int: [String: Any]] = [:]
        var twice = 0
        for row in emu.rows("Web_CL") {
            let seq = try #require((row["seq_d"] as? NSNumber)?.intValue)
            if stored[seq] != nil { twice += 1 }
            stored[seq] = row
        }
        #expect(twice == 0, "nothing sent twice")
        #expect(Set(stored.keys) == Set(want.rows.keys), "nothing lost")
        // The first 300 records of web-01 (in file order) went out with the old mapping, the
        // rest with the new one, derived columns included.
        let firstFile = want.rows.filter { ($0.value[0] as? String) == "web-01" }.sorted {
            ($0.value[2] as! Int) < ($1.value[2] as! Int)
        }
        let old = Set(firstFile.prefix(300).map(\.key))
        for (seq, row) in stored {
            if old.contains(seq) {
                #expect(row["Version_s"] as? String == "one", "seq \(seq)")
                #expect(row["Host_s"] == nil)
            } else {
                #expect(row["Version_s"] as? String == "two", "seq \(seq)")
                #expect(row["Host_s"] as? String == want.rows[seq]?[0] as? String)
                #expect((row["Line_d"] as? NSNumber)?.intValue == want.rows[seq]?[2] as? Int)
            }
        }

        // The manifest records the change; later runs resume under the new pipeline.
        let manifest = try String(contentsOf: state.appendingPathComponent("manifest.jsonl"), encoding: .utf8)
        #expect(manifest.split(separator: "\n").filter { $0.contains("\"adopted\":") }.count == 1)
        let again = try run(args, env: emu.env)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(report(state)["recordsSent"] as? Int == 0)

        // status: per spec hash, what it delivered.
        let status = try run(["status", p.path, "--state-dir", state.path, "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let specs = try #require(doc["specs"] as? [[String: Any]])
        #expect(specs.map { $0["records"] as? Int } == [300, 1700])
        #expect(specs.map { $0["files"] as? Int } == [1, 2])
        #expect(specs.map { $0["current"] as? Bool } == [false, true])
        #expect(specs[1]["adoptedFrom"] as? String == specs[0]["spec"] as? String)
        let human = try run(["status", p.path, "--state-dir", state.path])
        #expect(human.stdout.contains("300 records from 1 file(s)"), "\(human.stdout)")

        // Another table is never adopted.
        _ = pipeline(dir, map: #"Version: { value: "three" }"#, logType: "Other")
        let other = try run(args + ["--adopt"], env: emu.env)
        #expect(other.status == 2)
        #expect(other.stderr.contains("table changed"), "\(other.stderr)")
        #expect(emu.rows("Other_CL").isEmpty)
    }

    @Test func adoptRefusesAChangeInHowRecordsAreCut() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        writeServers(dir, count: 50)
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let state = dir.file("state")
        let p = pipeline(dir, map: #"Version: { value: "one" }"#)
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        #expect(try run(args, env: emu.env).status == 0)
        var text = try String(contentsOf: p, encoding: .utf8)
        text = text.replacingOccurrences(of: #"format: "ndjson""#, with: #"format: "lines", lines: { pattern: "raw" }"#)
        try text.write(to: p, atomically: true, encoding: .utf8)
        let r = try run(args + ["--adopt"], env: emu.env)
        #expect(r.status == 2)
        #expect(r.stderr.contains("cut into records"), "\(r.stderr)")
        #expect(emu.rows("Web_CL").count == 100)
    }
}
