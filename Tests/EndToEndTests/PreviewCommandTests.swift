import Foundation
import Testing

/// `logship preview` (and, for secrets, `validate` and `run --dry-run`) run as the built binary.
@Suite struct PreviewCommandTests {
    /// The quick start's application logs, passed through to the Data Collector API (whose
    /// column suffixes preview shows).
    static var quickstart: String {
        Binary.packageRoot.appendingPathComponent("pipelines/app-data-collector.json5").path
    }
    static var samples: String { Binary.packageRoot.appendingPathComponent("samples/app").path }

    static func json(_ text: String) throws -> [String: Any] {
        let o = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(o as? [String: Any])
    }

    @Test func showsTheSuffixesLogAnalyticsWouldGive() throws {
        let r = try run(["preview", Self.quickstart])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr == "")
        for column in [
            "TimeGenerated", "requestId_g", "durationMs_d", "cached_b", "time_t", "message_s", "client_s",
            "LogshipId_g", "tags_s",
        ] {
            #expect(r.stdout.contains("\n  \(column) "), "\(column) missing from:\n\(r.stdout)")
        }
        #expect(
            r.stdout.hasPrefix("Records (first 10, as they would be sent):\n  ../samples/app/app-2026-11-22.ndjson:1\n")
        )
        #expect(
            r.stdout.contains(
                "Table QuickstartApp_CL as a new table would get it, from all 240 record(s) of 2 file(s):"))
        #expect(
            r.stdout.contains(
                "  Column         Type      Records  Example\n  TimeGenerated  datetime      240  ingestion time\n"))
        #expect(r.stdout.contains("  tags_s         string         35  [\"eu\", \"mobile\"]\n"))
        #expect(r.stdout.contains("No warnings."))
    }

    @Test func jsonIsOneDocumentForScripts() throws {
        let r = try run(["preview", Self.quickstart, "--json", "--records", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try Self.json(r.stdout)
        let records = try #require(doc["records"] as? [[String: Any]])
        #expect(records.count == 3)
        #expect(records[0]["requestId"] as? String == "627655da-ab13-49df-a094-a0c50ff9bb51")
        let schema = try #require(doc["schema"] as? [[String: Any]])
        let names = schema.compactMap { $0["name"] as? String }
        #expect(names.first == "TimeGenerated")
        for column in ["requestId_g", "durationMs_d", "cached_b", "time_t", "message_s", "client_s"] {
            #expect(names.contains(column))
        }
        let duration = try #require(schema.first { $0["name"] as? String == "durationMs_d" })
        #expect(duration["type"] as? String == "real")
        #expect(duration["records"] as? Int == 240)
        #expect(duration["example"] as? String == "348.32")
        #expect((doc["warnings"] as? [Any])?.isEmpty == true)
        #expect((doc["rejected"] as? [Any])?.isEmpty == true)
        #expect(doc["sampledRecords"] as? Int == 240)
    }

    /// The preview's inference and the emulator's are written apart; on the samples they must agree.
    @Test func agreesWithTheTableTheEmulatorBuilds() throws {
        let dir = TempDir("preview-vs-emulator")
        defer { dir.cleanup() }
        let local = try run(["run", Self.quickstart, "--local", "--state-dir", dir.url.path])
        #expect(local.status == 0, "\(local.stderr)")
        let schemaFile = dir.url.appendingPathComponent("local/emulator/QuickstartApp_CL.schema.json")
        let stored = try Self.json(String(decoding: try Data(contentsOf: schemaFile), as: UTF8.self))
        let emulated = try #require(stored["columns"] as? [[String: Any]]).compactMap { $0["name"] as? String }

        let preview = try run(["preview", Self.quickstart, "--json"])
        let schema = try #require(try Self.json(preview.stdout)["schema"] as? [[String: Any]])
        #expect(Array(schema.compactMap { $0["name"] as? String }.dropFirst()) == emulated)
    }

    /// The same on values where the two inferences could drift: date-time shapes, GUID case,
    /// numbers and booleans written as strings.
    @Test func agreesWithTheEmulatorOnAwkwardValues() throws {
        let dir = TempDir("preview-vs-emulator-awkward")
        defer { dir.cleanup() }
        let values: [(String, String)] = [
            ("iso", "\"2016-05-12T20:00:00.625Z\""), ("lower", "\"2016-05-12t20:00z\""),
            ("offset", "\"2016-05-12T20:00:00+02:00\""),
            ("micro", "\"2016-05-12T20:00:00.123456Z\""), ("nozone", "\"2016-05-12T20:00:00\""),
            ("dateonly", "\"2016-05-12\""),
            ("spaced", "\"2016-05-12 20:00:00Z\""), ("leap", "\"2016-12-31T23:59:60Z\""),
            ("badday", "\"2016-02-30T00:00:00Z\""),
            ("guidU", "\"9909ED01-A74C-4874-8ABF-D2678E3AE23D\""),
            ("guidBraced", "\"{9909ed01-a74c-4874-8abf-d2678e3ae23d}\""),
            ("numText", "\"42\""), ("boolText", "\"true\""), ("num", "1.5"), ("flag", "false"), ("nested", "{\"a\":1}"),
        ]
        let record = "{" + values.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
        dir.write("in/a.ndjson", record + "\n")
        let p = dir.write(
            "p.json5",
            #"{ version: 1, name: "awkward", source: { files: ["in/*.ndjson"], format: "ndjson" }, target: { logType: "Awkward" } }"#
        )
        let local = try run(["run", p.path, "--local", "--state-dir", dir.file("state").path])
        #expect(local.status == 0, "\(local.stderr)")
        let stored = try Self.json(
            String(
                decoding: try Data(contentsOf: dir.file("state/local/emulator/Awkward_CL.schema.json")), as: UTF8.self))
        let emulated = try #require(stored["columns"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        let preview = try run(["preview", p.path, "--json"])
        let schema = try #require(try Self.json(preview.stdout)["schema"] as? [[String: Any]])
        #expect(Array(schema.compactMap { $0["name"] as? String }.dropFirst()) == emulated)
        #expect(emulated.contains("dateonly_s") && emulated.contains("spaced_s") && emulated.contains("iso_t"))
    }

    @Test func everyPipelineInTheRepositoryValidates() throws {
        let folder = Binary.packageRoot.appendingPathComponent("pipelines")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json5") }
            .sorted()
        #expect(!files.isEmpty)
        for f in files {
            let r = try run(["validate", folder.appendingPathComponent(f).path])
            #expect(r.status == 0, "\(f): \(r.stderr)")
            #expect(r.stdout.contains("\(f): ok"))
        }
    }

    @Test func rejectedRecordsAreListedAndThePreviewGoesOn() throws {
        let dir = TempDir("preview-rejects")
        defer { dir.cleanup() }
        dir.write("in.ndjson", "{\"n\": 1}\n{\"n\": \n{\"n\": \"x\"}\n")
        let p = dir.write(
            "p.json5",
            #"{ version: 1, source: { files: ["in.ndjson"], format: "ndjson" }, fields: { map: { N: { from: "n", type: "int" } } }, target: { logType: "T" } }"#
        )
        let r = try run(["preview", p.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("  in.ndjson:1\n    {\"N\": 1}\n"))
        #expect(r.stdout.contains("Rejected (2):\n  in.ndjson:2: invalid JSON"))
        #expect(r.stdout.contains("  in.ndjson:3: fields.map.N: cannot convert \"x\" to int"))
        let doc = try Self.json(try run(["preview", p.path, "--json"]).stdout)
        let rejected = try #require(doc["rejected"] as? [[String: Any]])
        #expect(rejected.map { $0["line"] as? Int } == [2, 3])
        #expect(rejected.map { $0["file"] as? String } == ["in.ndjson", "in.ndjson"])
    }

    @Test func warnsAboutOldTimeGeneratedAndUnstableTypes() throws {
        let dir = TempDir("preview-warnings")
        defer { dir.cleanup() }
        dir.write(
            "in.ndjson",
            "{\"t\": \"2020-01-01T00:00:00Z\", \"code\": 200}\n{\"t\": \"2020-01-02T00:00:00Z\", \"code\": \"n/a\"}\n")
        let p = dir.write(
            "p.json5",
            #"{ version: 1, source: { files: ["in.ndjson"], format: "ndjson" }, fields: { map: { EventTime: { from: "t", type: "datetime" } } }, target: { logType: "T", timeGeneratedField: "EventTime" } }"#
        )
        let r = try run(["preview", p.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("  EventTime_t    datetime        2  2020-01-01T00:00:00.000Z\n"))
        #expect(r.stdout.contains("  code_d         real            1  200\n  code_s         string          1  n/a\n"))
        #expect(
            r.stdout.contains(
                "more than two days old (oldest 2020-01-01T00:00:00.000Z, first in.ndjson:1); the service replaces them with the ingestion time; the event time stays in EventTime_t"
            ))
        #expect(r.stdout.contains("\"code\" would create 2 columns"))
        let warnings = try #require(
            try Self.json(try run(["preview", p.path, "--json"]).stdout)["warnings"] as? [[String: Any]])
        #expect(warnings.compactMap { $0["kind"] as? String } == ["two-columns", "old-time-generated"])
    }

    @Test func usageAndPipelineErrorsExitTwo() throws {
        let help = try run(["preview", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("Usage: logship preview PIPELINE [--records N] [--json]"))
        #expect(help.stdout.contains("--records N"))
        for bad in [
            ["preview"], ["preview", Self.quickstart, "--records", "0"],
            ["preview", Self.quickstart, "--records", "10001"],
            ["preview", Self.quickstart, "--records", "ten"], ["preview", Self.quickstart, "--recrods", "3"],
        ] {
            let r = try run(bad)
            #expect(r.status == 2, "\(bad)")
            #expect(r.stdout == "")
            #expect(r.stderr.contains("logship preview"), "\(bad): \(r.stderr)")
        }
        let dir = TempDir("preview-broken")
        defer { dir.cleanup() }
        let p = dir.write(
            "broken.json5",
            "{\n  version: 1,\n  source: { files: [\"a\"], format: \"ndjson\" },\n  target: { logType: \"My-Logs\" },\n}\n"
        )
        let r = try run(["preview", p.path])
        #expect(r.status == 2)
        #expect(r.stdout == "")
        #expect(
            unstamped(r.stderr).hasPrefix(
                "broken.json5:4:22: target.logType: \"My-Logs\" may contain only letters, digits and underscore"))
        let missing = try run(["preview", dir.file("nope.json5").path])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cannot read the pipeline file"))
    }

    /// No command prints the shared key, whether it comes from the environment or the file.
    @Test func theSharedKeyAppearsInNoOutput() throws {
        var bytes = [UInt8](repeating: 0, count: 64)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        let key = Data(bytes).base64EncodedString()
        let env = ["LOGSHIP_SHARED_KEY": key, "LOGSHIP_WORKSPACE_ID": UUID().uuidString.lowercased()]
        let dir = TempDir("preview-secret")
        defer { dir.cleanup() }
        let literal = dir.write(
            "literal.json5",
            """
            {
              version: 1,
              name: "literal",
              source: { files: ["\(Self.samples)/*.ndjson"], format: "ndjson" },
              target: { logType: "Secrets", workspaceId: "\(env["LOGSHIP_WORKSPACE_ID"]!)", sharedKey: "\(key)" },
            }
            """)
        var outputs: [(String, ProcessResult)] = []
        for (pipeline, environment) in [
            (Self.quickstart, env), (literal.path, [String: String]()), (literal.path, env),
        ] {
            let state = dir.url.appendingPathComponent("state-\(outputs.count)").path
            for args in [
                ["validate", pipeline], ["preview", pipeline], ["preview", pipeline, "--json", "--records", "100"],
                ["run", pipeline, "--dry-run", "--state-dir", state],
            ] {
                let r = try run(args, env: environment)
                #expect(r.status == 0, "\(args): \(r.stderr)")
                outputs.append((args.joined(separator: " "), r))
            }
        }
        let probes = [key, String(key.prefix(16)), String(key.suffix(16))]
        for (what, r) in outputs {
            for probe in probes {
                #expect(!r.stdout.contains(probe), "\(what) printed the key on stdout")
                #expect(!r.stderr.contains(probe), "\(what) printed the key on stderr")
            }
        }
        // Nor do the files a dry run leaves behind (the report, rejects).
        let files = FileManager.default.enumerator(atPath: dir.url.path)?.compactMap { $0 as? String } ?? []
        for f in files where f.hasPrefix("state-") {
            guard let data = FileManager.default.contents(atPath: dir.url.appendingPathComponent(f).path) else {
                continue
            }
            #expect(!String(decoding: data, as: UTF8.self).contains(key), "\(f) holds the key")
        }
        // The test would be worthless if the commands had not run.
        #expect(outputs.count == 12)
        #expect(outputs.contains { $0.1.stdout.contains("requestId_g") })
    }
}
