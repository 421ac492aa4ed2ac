import Foundation
import LogshipCore
import Testing

/// Every pipeline in pipelines/ does what the README says: it validates, and `run --local`
/// stores as many rows as its samples hold records, counted here without logship.
@Suite struct ExamplePipelineTests {
    static let folder = Binary.packageRoot.appendingPathComponent("pipelines")

    static let all: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".json5") }.sorted()
    }()

    /// Whether a pipeline targets the Logs Ingestion API (read from the text: the target may not
    /// be in this build yet).
    static func isLogsIngestion(_ name: String) -> Bool {
        let text = (try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)) ?? ""
        return !matches("(?m)^[^/\\n]*\\bapi\\s*:\\s*[\"']logs-ingestion[\"']", in: text).isEmpty
    }

    static let dataCollector = all.filter { !isLogsIngestion($0) }
    static let logsIngestion = all.filter { isLogsIngestion($0) }

    @Test func theIssuesExamplesAreThere() {
        for name in [
            "quickstart", "nginx-access", "orders-csv", "services-ndjson", "syslog-rfc3164", "syslog-rfc5424", "replay",
        ] {
            #expect(Self.all.contains("\(name).json5"), "pipelines/\(name).json5 is missing")
        }
        #expect(Self.all.count >= 7)
    }

    @Test(arguments: all) func validates(_ name: String) throws {
        let r = try run(["validate", Self.folder.appendingPathComponent(name).path])
        #expect(r.status == 0, "\(name): \(r.stderr)")
        #expect(r.stdout.hasPrefix("\(name): ok\n"))
        // A glob that matches nothing is only a warning for validate; for an example it is a bug.
        #expect(!r.stderr.contains("warning"), "\(name): \(r.stderr)")
        // The examples refer to credentials, they never contain them.
        let text = try String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8)
        for key in ["workspaceId", "sharedKey", "clientSecret"] {
            for value in matches("\\b\(key)\\s*:\\s*\"([^\"]*)\"", in: text) {
                #expect(
                    value.hasPrefix("${") && value.hasSuffix("}"), "\(name): target.\(key) must be a ${VAR} reference")
            }
        }
    }

    /// Every example validates and previews the same on any date: a year from today, the only
    /// difference from the samples' own time is preview saying their event times are too old
    /// (the backfill examples say so at the samples' time too: their files span several days).
    @Test(arguments: all) func previewsAndValidatesTheSameAYearAhead(_ name: String) throws {
        let path = Self.folder.appendingPathComponent(name).path
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        let yearAhead = ["LOGSHIP_NOW": f.string(from: Date().addingTimeInterval(366 * 86_400))]
        let validate = try run(["validate", path], env: yearAhead)
        #expect(validate.status == 0 && validate.stdout.hasPrefix("\(name): ok\n"), "\(name): \(validate.stderr)")
        #expect(!validate.stderr.contains("warning"), "\(name): \(validate.stderr)")

        func warnings(_ env: [String: String]) throws -> [[String: Any]] {
            let r = try run(["preview", path, "--json"], env: env)
            #expect(r.status == 0, "\(name): \(r.stderr)")
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            return try #require(doc["warnings"] as? [[String: Any]], "\(name): \(r.stdout.prefix(300))")
        }
        let then = try warnings(samplesClock)
        let later = try warnings(yearAhead)
        func kinds(_ w: [[String: Any]]) -> [String] { w.map { "\($0["kind"] ?? "")|\($0["message"] ?? "")" } }
        func others(_ w: [[String: Any]]) -> [String] {
            kinds(w.filter { $0["kind"] as? String != "old-time-generated" })
        }
        #expect(others(later) == others(then), "\(name): only the age warning may differ")
        let spec = try #require(PipelineLoader(environment: [:]).load(URL(fileURLWithPath: path)).spec)
        if spec.target.timeGeneratedField != nil || spec.target.api == .logsIngestion {
            #expect(later.contains { $0["kind"] as? String == "old-time-generated" }, "\(name): \(kinds(later))")
        }
    }

    @Test(arguments: dataCollector) func runsLocallyAndStoresEveryRecord(_ name: String) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let pipeline = Self.folder.appendingPathComponent(name)
        let expected = try Self.countRecords(pipeline)
        #expect(expected > 0)
        let state = dir.file("state")
        let r = try run(["run", pipeline.path, "--local", "--state-dir", state.path, "--progress", "none"])
        #expect(r.status == 0, "\(name): \(r.stderr)")
        let local = state.appendingPathComponent("local")
        let first = report(local)
        #expect(first["recordsSent"] as? Int == expected, "\(name): \(r.stderr)")
        #expect(first["recordsRejected"] as? Int == 0)
        #expect(first["chunksDeadLettered"] as? Int == 0)
        let rows = Self.storedRows(local.appendingPathComponent("emulator"))
        #expect(rows == expected, "\(name): the emulator stored \(rows) rows of \(expected) records")
        #expect(r.stdout.contains("_CL: \(expected) row(s)"), "\(name): \(r.stdout)")

        // The nightly promise: the same command again sends nothing and skips every file.
        let again = try run(["run", pipeline.path, "--local", "--state-dir", state.path, "--progress", "none"])
        #expect(again.status == 0, "\(name): \(again.stderr)")
        let second = report(local)
        #expect(second["recordsSent"] as? Int == 0)
        #expect(second["filesSkipped"] as? Int == second["filesMatched"] as? Int)
        #expect(Self.storedRows(local.appendingPathComponent("emulator")) == expected)
    }

    /// The Logs Ingestion example comes with that target. Until this build has it, its pipelines
    /// are reported as skipped (the test is cancelled with the reason), not passed silently.
    @Test func logsIngestionExamplesRunLocallyOnceTheTargetExists() throws {
        if Self.logsIngestion.isEmpty {
            try Test.cancel("no Logs Ingestion example in pipelines/ yet")
        }
        var unavailable: [String] = []
        for name in Self.logsIngestion {
            let dir = TempDir()
            defer { dir.cleanup() }
            let pipeline = Self.folder.appendingPathComponent(name)
            let state = dir.file("state")
            let r = try run(["run", pipeline.path, "--local", "--state-dir", state.path, "--progress", "none"])
            if r.status == 2 && r.stderr.contains("is not available in this build") {
                unavailable.append(name)
                continue
            }
            #expect(r.status == 0, "\(name): \(r.stderr)")
            let expected = try Self.countRecords(pipeline)
            #expect(
                report(state.appendingPathComponent("local"))["recordsSent"] as? Int == expected, "\(name): \(r.stderr)"
            )
        }
        if !unavailable.isEmpty {
            try Test.cancel(
                "the Logs Ingestion target is not in this build yet; not run: \(unavailable.joined(separator: ", "))")
        }
    }

    /// Lines of the emulator's tables (`<table>.ndjson`), one row each.
    static func storedRows(_ folder: URL) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var n = 0
        for f in names where f.hasSuffix(".ndjson") {
            let d = (try? Data(contentsOf: folder.appendingPathComponent(f))) ?? Data()
            n += d.split(separator: UInt8(ascii: "\n")).count
        }
        return n
    }

    /// The records in a pipeline's input, counted by Python: its glob, gzip (all members) and csv
    /// modules, not logship's reader. NDJSON: non-blank lines; lines: non-empty lines; CSV: rows
    /// (quoted line breaks included) minus the header; JSON: objects, top-level or in a top-level array.
    static func countRecords(_ pipeline: URL) throws -> Int {
        let loaded = PipelineLoader(environment: [:]).load(pipeline)
        let spec = try #require(loaded.spec, "\(pipeline.lastPathComponent): \(loaded.errors.map(\.description))")
        let source: [String: Any] = [
            "base": spec.baseDirectory.path,
            "files": spec.source.files,
            "format": spec.source.format.rawValue,
            "delimiter": String(UnicodeScalar(spec.source.csv.delimiter)),
            "quote": String(UnicodeScalar(spec.source.csv.quote)),
            "header": spec.source.csv.header,
            "multiline": Self.multilineStart(spec.source.multiline),
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: source), as: UTF8.self)
        let r = try python(
            """
            import csv, glob, gzip, io, json, os, re, sys
            s = json.loads(sys.argv[1])
            \(Self.pythonGrouping)
            paths = sorted({os.path.normpath(p) for pattern in s["files"]
                            for p in glob.glob(os.path.join(s["base"], pattern), recursive=True) if os.path.isfile(p)})
            total = 0
            for path in paths:
                raw = open(path, "rb").read()
                if raw[:2] == b"\\x1f\\x8b":
                    raw = gzip.decompress(raw)
                if s["format"] == "csv":
                    text = raw.decode("utf-8-sig")
                    rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=s["delimiter"], quotechar=s["quote"]) if r]
                    total += len(rows) - (1 if s["header"] else 0)
                elif s["format"] == "json":
                    # Top-level values one after another: every object, and every object in an array.
                    text, i, dec = raw.decode("utf-8-sig"), 0, json.JSONDecoder()
                    while True:
                        while i < len(text) and text[i] in " \\t\\r\\n":
                            i += 1
                        if i == len(text):
                            break
                        value, i = dec.raw_decode(text, i)
                        total += sum(1 for v in value if isinstance(v, dict)) if isinstance(value, list) else 1
                elif s["format"] == "ndjson":
                    total += sum(1 for line in raw.split(b"\\n") if line.strip())
                elif s["multiline"]:
                    total += len(group(raw, s["multiline"]))
                else:
                    total += sum(1 for line in raw.split(b"\\n") if line.rstrip(b"\\r"))
            print(total)
            """, [json])
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// `source.multiline`'s start rule for `pythonGrouping`: "java", "python", "go" or "re:REGEX".
    static func multilineStart(_ m: MultilineSpec?) -> String {
        switch m?.start {
        case nil: return ""
        case .preset(let p): return p.rawValue
        case .regex(let r): return "re:" + r
        }
    }

    /// Multi-line grouping as the README describes it, written again in Python with regular
    /// expressions (not logship's byte rules): a start line opens a record, empty lines never
    /// do, lines before the first start form a record of their own. No bounds (the samples stay
    /// inside them). `group(raw, start)` → list of (first line number, text).
    static let pythonGrouping = #"""
        JAVA_CONT = re.compile(r"^(?:[ \t]|Caused by:|Suppressed:|\.\.\. |[\w$.]*\.[\w$]*(?:Exception|Error|Throwable)(?::|$))")
        def group(raw, start):
            lines = [l[:-1] if l.endswith(b"\r") else l for l in raw.split(b"\n")]
            if lines and lines[-1] == b"":
                lines.pop()
            if lines and lines[0].startswith(b"\xef\xbb\xbf"):
                lines[0] = lines[0][3:]
            records = []
            in_tb = False
            for n, b in enumerate(lines, 1):
                line = b.decode("utf-8", "replace")
                if line == "":
                    starts = False
                elif start == "java":
                    starts = not JAVA_CONT.match(line)
                elif start == "python":
                    if line.startswith("Traceback (most recent call last):"):
                        starts, in_tb = False, True
                    elif line[0] in " \t" or line.startswith(("During handling of the above exception", "The above exception was the direct cause")):
                        starts = False
                    elif in_tb and re.match(r"^[\w.]+(?::|$)", line):
                        starts, in_tb = False, False
                    else:
                        starts, in_tb = True, False
                elif start.startswith("re:"):
                    starts = re.search(start[3:], line) is not None
                else:
                    raise SystemExit("no Python reading for multiline " + start)
                if not records:
                    if line != "":
                        records.append([n, [line]])
                elif starts:
                    records.append([n, [line]])
                else:
                    records[-1][1].append(line)
            return [(n, "\n".join(ls).rstrip("\n")) for n, ls in records]
        """#

    /// samples/make_samples.py is how the samples were made: run again, it writes the same
    /// records (gzip compared decompressed, member by member).
    @Test func samplesAreWhatMakeSamplesWrites() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let out = dir.file("samples")
        let gen = try run(
            ["python3", Binary.packageRoot.appendingPathComponent("samples/make_samples.py").path, "--out", out.path],
            executable: "/usr/bin/env")
        #expect(gen.status == 0, "\(gen.stderr)")
        let r = try python(
            """
            import os, sys, zlib
            ours, theirs = sys.argv[1], sys.argv[2]
            def members(data):
                out = []
                while data:
                    d = zlib.decompressobj(31)
                    out.append(d.decompress(data))
                    data = d.unused_data
                return out
            problems, files = [], 0
            for root, _, names in os.walk(ours):
                for n in names:
                    a = os.path.join(root, n)
                    rel = os.path.relpath(a, ours)
                    b = os.path.join(theirs, rel)
                    files += 1
                    if not os.path.exists(b):
                        problems.append(rel + ": not checked in"); continue
                    x, y = open(a, "rb").read(), open(b, "rb").read()
                    if n.endswith(".gz"):
                        x, y = members(x), members(y)
                    if x != y:
                        problems.append(rel + ": differs")
                    if os.path.getsize(b) >= 1_000_000:
                        problems.append(rel + ": not small")
            print(files)
            print("\\n".join(problems))
            """, [out.path, Binary.packageRoot.appendingPathComponent("samples").path])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect((Int(lines.first ?? "") ?? 0) >= 12, "make_samples.py wrote \(lines.first ?? "nothing")")
        #expect(lines.dropFirst().isEmpty, "\(lines.dropFirst().joined(separator: "\n"))")
    }

    /// The nginx example promises a multi-member archive among its samples.
    @Test func nginxSamplesIncludeAMultiMemberGzip() throws {
        let r = try python(
            """
            import glob, sys, zlib
            for p in sorted(glob.glob(sys.argv[1] + "/access.log.*.gz")):
                data, n = open(p, "rb").read(), 0
                while data:
                    d = zlib.decompressobj(31); d.decompress(data); data = d.unused_data; n += 1
                print(n)
            """, [Binary.packageRoot.appendingPathComponent("samples/nginx").path])
        let counts = r.stdout.split(separator: "\n").compactMap { Int($0) }
        #expect(counts.count >= 3)
        #expect(counts.contains { $0 > 1 })
    }
}
