import Foundation
import Testing

/// `logship dcr`: the table and rule it plans are what the emulator's ARM endpoints accept, and a
/// run into the rule they create stores every record with no undeclared column. Each example
/// pipeline with `api: "logs-ingestion"` is planned, created and run.
@Suite(.serialized) struct DcrCommandTests {
    static let root = Binary.packageRoot

    static func ingestionExamples() throws -> [URL] {
        let dir = root.appendingPathComponent("pipelines")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json5") }.sorted()
            .map { dir.appendingPathComponent($0) }
            .filter {
                (try? String(contentsOf: $0, encoding: .utf8))?.range(
                    of: #"api:\s*"logs-ingestion""#, options: .regularExpression) != nil
            }
    }

    /// An independent ARM client: a token for management.azure.com from the emulator's token
    /// endpoint, then the two PUTs as `az rest` would send them. Prints each answer as a JSON line.
    static let armClient = #"""
        import http.client, json, sys, urllib.parse
        url, tenant, client, secret, plan, sub, rg, ws = sys.argv[1:9]
        host, port = url.split("//")[1].split(":")
        def call(method, path, body, headers):
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            out = {"status": r.status, "body": json.loads(r.read().decode("utf-8") or "null")}
            conn.close()
            return out
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client, "client_secret": secret,
                                       "scope": "https://management.azure.com/.default"})
        tok = call("POST", "/%s/oauth2/v2.0/token" % tenant, form, {"Content-Type": "application/x-www-form-urlencoded"})["body"]["access_token"]
        doc = json.load(open(plan))
        auth = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
        table = doc["table"]["properties"]["schema"]["name"]
        base = "/subscriptions/%s/resourceGroups/%s/providers" % (sub, rg)
        print(json.dumps(call("PUT", "%s/Microsoft.OperationalInsights/workspaces/%s/tables/%s?api-version=2022-10-01" % (base, ws, table),
                              json.dumps(doc["table"]), auth)))
        print(json.dumps(call("PUT", "%s/Microsoft.Insights/dataCollectionRules/logship-test?api-version=2023-03-11" % base,
                              json.dumps(doc["dataCollectionRule"]), auth)))
        """#

    @Test func everyLogsIngestionExampleIsAcceptedByTheEmulatorAndRunsIntoTheRule() throws {
        let examples = try Self.ingestionExamples()
        #expect(!examples.isEmpty, "pipelines/ holds a logs-ingestion example")
        for example in examples {
            let dir = TempDir()
            defer { dir.cleanup() }
            let emu = try EmulatorProcess(dataDir: dir.file("emu"))
            defer { emu.stop() }
            let name = example.lastPathComponent

            let planned = try run([
                "dcr", example.path, "--json", "--subscription", "sub-1", "--resource-group", "rg-1", "--workspace",
                "ws-1", "--location", "westeurope",
            ])
            #expect(planned.status == 0, "\(name): \(planned.stderr)")
            let plan = dir.write("plan.json", planned.stdout)
            let doc = try #require(
                try JSONSerialization.jsonObject(with: Data(planned.stdout.utf8)) as? [String: Any], "\(name)")
            let rule = try #require(doc["dataCollectionRule"] as? [String: Any])
            let stream = try #require(
                ((rule["properties"] as? [String: Any])?["streamDeclarations"] as? [String: Any])?.keys.first)

            let r = try python(
                Self.armClient,
                [emu.url.absoluteString, emu.tenant, emu.client, emu.secret, plan.path, "sub-1", "rg-1", "ws-1"])
            #expect(r.status == 0, "\(name): \(r.stderr)")
            let answers = r.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            try #require(answers.count == 2, "\(name): \(r.stdout) \(r.stderr)")
            #expect(answers[0]["status"] as? Int == 201, "\(name): table \(answers[0])")
            #expect(answers[1]["status"] as? Int == 201, "\(name): rule \(answers[1])")
            let props = try #require(
                (answers[1]["body"] as? [String: Any])?["properties"] as? [String: Any], "\(name): \(answers[1])")
            let immutableId = try #require(props["immutableId"] as? String)
            let endpoint = try #require((props["endpoints"] as? [String: Any])?["logsIngestion"] as? String)
            #expect(endpoint == emu.url.absoluteString)

            // The example, pointed at the created rule; its relative paths made absolute.
            var text = try String(contentsOf: example, encoding: .utf8)
            text = text.replacingOccurrences(
                of: #"dcrImmutableId:\s*(\[[^\]]*\]|"[^"]*")"#, with: "dcrImmutableId: \"\(immutableId)\"",
                options: .regularExpression)
            text = text.replacingOccurrences(of: "\"../", with: "\"\(Self.root.path)/")
            text = text.replacingOccurrences(of: "\"dcr/", with: "\"\(Self.root.path)/pipelines/dcr/")
            let p = dir.write(name, text)
            let state = dir.file("state")
            var env = emu.ingestionEnv
            env["LOGSHIP_ENDPOINT"] = endpoint
            let sent = try run(
                ["run", p.path, "--state-dir", state.path, "--progress", "none"], env: env, timeout: 300)
            #expect(sent.status == 0, "\(name): \(sent.stderr)")
            let rep = report(state)
            let read = rep["recordsRead"] as? Int ?? -1
            #expect(read > 0, "\(name): \(rep)")
            #expect(rep["recordsSent"] as? Int == read && rep["recordsRejected"] as? Int == 0, "\(name): \(rep)")
            let stats = emu.stats()
            #expect((stats["streams"] as? [String: Int])?[stream] == read, "\(name): every record stored (\(stats))")
            #expect(
                (stats["undeclaredColumns"] as? [String: Int] ?? [:]).isEmpty,
                "\(name): \(stats["undeclaredColumns"] ?? "")")
            #expect(stats["missingTimeGenerated"] as? Int == 0, "\(name)")
        }
    }

    /// --apply needs to know where; --from-data-collector needs the suffixed names; a
    /// data-collector pipeline is a usage error (with --from-data-collector: the target to switch to).
    @Test func missingPiecesAndDataCollectorPipelinesExitTwo() throws {
        let li = Self.root.appendingPathComponent("pipelines/logs-ingestion.json5").path
        let apply = try run(["dcr", li, "--apply", "--subscription", "s"])
        #expect(apply.status == 2 && apply.stderr.contains("--resource-group is required"), "\(apply.stderr)")
        let write = try run(["dcr", li, "--write"])
        #expect(write.status == 2 && write.stderr.contains("--write goes with --apply"), "\(write.stderr)")
        let from = try run(["dcr", li, "--from-data-collector"])
        #expect(
            from.status == 2 && from.stderr.contains("set target.columnSuffixes to \"data-collector\""),
            "\(from.stderr)")
        for r in [apply, write, from] { #expect(r.stdout.isEmpty) }
        let dcPath = Self.root.appendingPathComponent("pipelines/syslog-rfc3164.json5").path
        let dc = try run(["dcr", dcPath, "--json"])
        #expect(dc.status == 2 && dc.stderr.contains("Data Collector API"), "\(dc.stderr)")
        #expect(dc.stdout.isEmpty)
        let dcFrom = try run(["dcr", dcPath, "--from-data-collector"])
        #expect(dcFrom.status == 2 && dcFrom.stderr.contains("columnSuffixes: \"data-collector\""), "\(dcFrom.stderr)")
        #expect(dcFrom.stderr.contains("stream: \"Custom-HostSyslog\""), "\(dcFrom.stderr)")
    }

    /// Without --json: the columns with both types, placeholders for what was not given, and
    /// the az commands.
    @Test func theSummaryNamesColumnsTypesAndTheCommands() throws {
        let r = try run(["dcr", Self.root.appendingPathComponent("pipelines/logs-ingestion.json5").path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Table AppLogs_CL"))
        #expect(r.stdout.range(of: #"RequestId\s+string\s+guid"#, options: .regularExpression) != nil, "\(r.stdout)")
        #expect(r.stdout.range(of: #"TimeGenerated\s+datetime\s+dateTime"#, options: .regularExpression) != nil)
        #expect(
            r.stdout.contains(
                "az rest --method put --url 'https://management.azure.com/subscriptions/<SUBSCRIPTION_ID>/resourceGroups/<RESOURCE_GROUP>/providers/Microsoft.OperationalInsights/workspaces/<WORKSPACE_NAME>/tables/AppLogs_CL?api-version=2022-10-01'"
            ))
        #expect(
            r.stdout.contains(
                "Microsoft.Insights/dataCollectionRules/logship-app-logs-ingestion?api-version=2023-03-11"))
    }
}

/// `run --local` on a logs-ingestion pipeline with no `target.dcr` file provisions its emulator
/// with the stream `logship dcr` plans, so any such pipeline can be tried with no account.
@Suite struct LocalProvisioningTests {
    @Test func aLocalRunWithoutADeclarationUsesThePlannedStream() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        dir.write("in/a.ndjson", records(0..<500))
        let p = dir.write(
            "p.json5",
            """
            { version: 1, name: "planned", source: { files: ["in/*.ndjson"], format: "ndjson" },
              fields: { map: { Seq: { from: "seq", type: "long" }, Msg: "msg" }, passthrough: false, recordId: "LogshipId" },
              target: { api: "logs-ingestion", endpoint: "http://127.0.0.1:9", dcrImmutableId: "dcr-00000000000000000000000000000000",
                        stream: "Custom-Planned" } }
            """)
        let r = try run(["run", p.path, "--local", "--state-dir", dir.file("state").path, "--progress", "none"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Stream Custom-Planned: 500 row(s)"), "\(r.stdout)")
        #expect(r.stdout.contains("  Seq            long\n"), "the planned types are declared: \(r.stdout)")
        #expect(r.stdout.contains("  LogshipId      string\n"), "\(r.stdout)")
        #expect(!r.stdout.contains("not declared"), "\(r.stdout)")
    }

    /// A record of 61 fields bound for a DCR is sent: the Data Collector API's 50-field default
    /// does not apply to the Logs Ingestion API (its table holds 500 columns).
    @Test func aSixtyOneFieldRecordGoesToADCR() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let fields = (0..<60).map { "\"f\($0)\":\($0)" }.joined(separator: ",")
        dir.write("in/a.ndjson", "{\"time\":\"2026-11-23T10:00:00Z\",\(fields)}\n")
        let p = dir.write(
            "p.json5",
            """
            { version: 1, name: "wide", source: { files: ["in/*.ndjson"], format: "ndjson" },
              fields: { map: { TimeGenerated: { from: "time", type: "datetime" } } },
              target: { api: "logs-ingestion", endpoint: "http://127.0.0.1:9", dcrImmutableId: "dcr-00000000000000000000000000000000",
                        stream: "Custom-Wide" } }
            """)
        let state = dir.file("state")
        let r = try run(["run", p.path, "--local", "--state-dir", state.path, "--progress", "none"], env: samplesClock)
        #expect(r.status == 0, "\(r.stderr)")
        let rep = report(state.appendingPathComponent("local"))
        #expect(rep["recordsSent"] as? Int == 1 && rep["recordsRejected"] as? Int == 0, "\(rep)")
        #expect(r.stdout.contains("  f59            long\n"), "\(r.stdout)")
    }
}
