import Foundation
import Testing

/// Issue 14 end to end: `format: "json"`, CSV `nullValues` and `fields.where`, run against
/// `logship emulate` in a process of its own, the stored rows compared with Python's reading of
/// the input (json and csv modules, not logship's reader).
@Suite(.serialized) struct InputsTests {
    /// JSON arrays (compact and pretty-printed, nested values, escaped quotes and brackets) and
    /// a sequence of top-level values: written by Python, read back from the emulator's table.
    static let writeJSON = #"""
        import json, random, sys
        out, n = sys.argv[1], int(sys.argv[2])
        rng = random.Random(14)
        recs = []
        for i in range(n):
            r = {"seq": i, "msg": rng.choice(['plain', 'quote " ] } [ {', 'back\\slash', 'café ✓', 'tab\there']) + str(i),
                 "nested": {"list": [i, {"deep": "]"}, []], "o": {}}, "ok": i % 3 == 0}
            if i % 5 == 0:
                r["none"] = None
            recs.append(r)
        third = n // 3
        with open(out + "/a.json", "w") as f:
            json.dump(recs[:third], f, separators=(",", ":"), ensure_ascii=False)
        with open(out + "/b.json", "w") as f:
            f.write("\ufeff")
            json.dump(recs[third:2 * third], f, indent=2, ensure_ascii=(third % 2 == 0))
        with open(out + "/c.json", "w") as f:
            rest = recs[2 * third:]
            f.write(json.dumps(rest[0]) + "\n" + json.dumps(rest[1:10], indent=1) + " " + "".join(json.dumps(r) for r in rest[10:]))
        """#

    /// Python's reading: seq → msg, over every object of every top-level value of every file.
    static let readJSON = #"""
        import json, sys, glob
        dec, out = json.JSONDecoder(), {}
        for p in sorted(glob.glob(sys.argv[1] + "/*.json")):
            text, i = open(p, encoding="utf-8-sig").read(), 0
            while True:
                while i < len(text) and text[i] in " \t\r\n":
                    i += 1
                if i == len(text):
                    break
                v, i = dec.raw_decode(text, i)
                for r in (v if isinstance(v, list) else [v]):
                    out[r["seq"]] = r["msg"]
        print(json.dumps(out))
        """#

    func expectedMessages(_ folder: URL) throws -> [Int: String] {
        let r = try python(Self.readJSON, [folder.path])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: String])
        return Dictionary(uniqueKeysWithValues: o.map { (Int($0.key)!, $0.value) })
    }

    func jsonPipeline(_ dir: TempDir, maxBody: Int = 20_000, extra: String = "") -> URL {
        dir.write(
            "p.json5",
            """
            { version: 1, name: "inputs",
              source: { files: ["in/*.json"], format: "json" },
              limits: { maxBodyBytes: \(maxBody) },
              upload: { concurrency: 4, maxAttempts: 20 },
              \(extra)
              target: { logType: "Engine" } }
            """)
    }

    @Test func jsonArraysAndSequencesAreStoredAsPythonReadsThem() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let input = dir.file("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        let w = try python(Self.writeJSON, [input.path, "3000"])
        #expect(w.status == 0, "\(w.stderr)")
        let expected = try expectedMessages(input)
        #expect(expected.count == 3000)
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let state = dir.file("state")
        let r = try run(
            [
                "run", jsonPipeline(dir).path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path,
                "--progress", "none",
            ], env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = emu.rows("Engine_CL")
        var stored: [Int: String] = [:]
        var twice = 0
        for row in rows {
            guard let s = (row["seq_d"] as? NSNumber)?.intValue else { continue }
            if stored[s] != nil { twice += 1 }
            stored[s] = row["msg_s"] as? String
        }
        #expect(twice == 0)
        #expect(stored == expected)
        #expect(report(state)["recordsRejected"] as? Int == 0)
        // Nested values are kept as JSON, whichever layout the file had.
        let nested = rows.compactMap { $0["nested_s"] as? String }
        #expect(nested.count == 3000)
        #expect(nested.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
    }

    /// Killed (SIGKILL by PID) after a few acknowledgements inside one large array, resumed:
    /// every record stored exactly once, the manifest's positions being exact.
    @Test func aRunKilledInsideAnArrayResumesThereAndStoresEveryRecordOnce() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let input = dir.file("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        let w = try python(
            #"""
            import json, sys
            recs = [{"seq": i, "msg": "record \"%d\" [x]" % i, "pad": "p" * (i % 50)} for i in range(6000)]
            open(sys.argv[1] + "/big.json", "w").write(json.dumps(recs, indent=2 if len(sys.argv) > 2 else None))
            """#, [input.path])
        #expect(w.status == 0, "\(w.stderr)")
        let expected = try expectedMessages(input)
        let emu = try EmulatorProcess(["--latency-ms", "150"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        let state = dir.file("state")
        let args = [
            "run", jsonPipeline(dir).path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path,
            "--progress", "none",
        ]
        let rotation = RotationTests()
        try rotation.killAfter(acks: 3, args, env: emu.env, state: state, gate: emu)
        try rotation.killAfter(acks: rotation.acks(state) + 3, args, env: emu.env, state: state, gate: emu)
        let before = seqCounts(emu)
        #expect(before.count < expected.count, "the kills came part way")
        let r = try run(args, env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")
        let counts = seqCounts(emu)
        #expect(Set(counts.keys) == Set(expected.keys))
        // Only chunks in flight at a kill may be stored twice (at most concurrency per kill).
        let twice = counts.values.filter { $0 > 1 }.count
        #expect(twice <= 2 * 4 * 1000, "\(twice)")
        #expect(
            (report(state)["recordsAlreadyDelivered"] as? Int ?? 0) > 0, "the resumed run skipped what was acknowledged"
        )
    }

    /// CSV with null tokens and a filter: what is stored is what Python's csv module reads,
    /// with PostgreSQL's null rule and the same conditions applied.
    @Test func csvNullTokensAndFiltersAreAppliedAsDocumented() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let input = dir.file("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        let w = try python(
            #"""
            import csv, random, sys
            rng = random.Random(6)
            with open(sys.argv[1] + "/orders.csv", "w", newline="") as f:
                f.write("id,status,level,amount,note\n")
                for i in range(2000):
                    status = rng.choice(["200", "404", "500", "NULL", ""])
                    level = rng.choice(["info", "warn", "error", "debug"])
                    amount = rng.choice(["1.5", "NULL", "", "\\N", "12"])
                    note = rng.choice(['plain', '"NULL"', '""', 'NULL', '"has, comma"', '"say ""hi"""'])
                    f.write(f"{i},{status},{level},{amount},{note}\n")
            """#, [input.path])
        #expect(w.status == 0, "\(w.stderr)")
        let p = dir.write(
            "p.json5",
            #"""
            { version: 1, name: "nulls",
              source: { files: ["in/*.csv"], format: "csv", nullValues: ["NULL", "\\N", ""] },
              fields: {
                map: { Id: { from: "id", type: "long" }, Amount: { from: "amount", type: "double" } },
                where: [
                  { any: [ { field: "level", in: ["warn", "error"] }, { field: "status", gte: 500 } ] },
                  { field: "note", exists: true },
                ],
              },
              limits: { maxBodyBytes: 20000 },
              target: { logType: "Nulls" } }
            """#)
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let state = dir.file("state")
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
            env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")
        // Python: csv.reader with quoting noted per field (a field is quoted when its raw text starts with a quote).
        let py = try python(
            #"""
            import csv, json, sys
            raw = open(sys.argv[1] + "/orders.csv", newline="").read().split("\n")[1:]
            rows = []
            for line in raw:
                if not line:
                    continue
                vals = next(csv.reader([line]))
                # Recover quotedness by re-splitting the raw line on commas outside quotes.
                q, inq, start = [], False, True
                for ch in line:
                    if start:
                        q.append(ch == '"'); start = False
                    if ch == '"':
                        inq = not inq
                    elif ch == "," and not inq:
                        start = True
                if start:
                    q.append(False)
                null = lambda i: (not q[i]) and vals[i] in ("NULL", "\\N", "")
                rec = {name: (None if null(i) else vals[i]) for i, name in enumerate(["id", "status", "level", "amount", "note"])}
                def num(v):
                    try: return float(v)
                    except (TypeError, ValueError): return None
                ok = (rec["level"] in ("warn", "error") or (num(rec["status"]) is not None and num(rec["status"]) >= 500)) and rec["note"] is not None
                if ok:
                    rows.append({"Id": int(rec["id"]), "Amount": num(rec["amount"]), "note": rec["note"], "status": rec["status"]})
            print(json.dumps(rows))
            """#, [input.path])
        #expect(py.status == 0, "\(py.stderr)")
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(py.stdout.utf8)) as? [[String: Any]])
        let stored = emu.rows("Nulls_CL")
        #expect(stored.count == expected.count)
        var byId: [Int: [String: Any]] = [:]
        for row in stored { if let id = (row["Id_d"] as? NSNumber)?.intValue { byId[id] = row } }
        for e in expected {
            let id = (e["Id"] as! NSNumber).intValue
            guard let row = byId[id] else {
                Issue.record("record \(id) was not stored")
                continue
            }
            #expect((row["Amount_d"] as? NSNumber)?.doubleValue == (e["Amount"] as? NSNumber)?.doubleValue, "\(id)")
            #expect(row["note_s"] as? String == e["note"] as? String, "\(id)")
            #expect(row["status_s"] as? String == e["status"] as? String, "\(id)")
        }
        let filtered = report(state)["recordsFiltered"] as? Int
        #expect(filtered == 2000 - expected.count)
        #expect(r.stderr.contains("\(2000 - expected.count) left out by fields.where"), "\(r.stderr)")
        let status = try run(["status", p.path, "--state-dir", state.path])
        #expect(status.stdout.contains("filtered: \(2000 - expected.count) record(s)"), "\(status.stdout)")
        let preview = try run(["preview", p.path])
        #expect(
            preview.stdout.contains("fields.where: \(expected.count) of 2000 record(s) read pass"), "\(preview.stdout)")
    }
}
