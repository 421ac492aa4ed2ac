import Foundation
import Testing

/// `logship dcr --apply` against the emulator's ARM endpoints: the table and the rule are
/// created with the target's credentials (ARM's token scope), `--write` fills the pipeline's
/// target in, and a run goes into the rule. Re-applying adds columns; a type change is refused.
@Suite(.serialized) struct DcrApplyTests {
    static func pipeline(map: String) -> String {
        """
        // The app's logs; endpoint and dcrImmutableId are filled in by `logship dcr --apply --write`.
        {
          version: 1,
          name: "apply-test",
          source: { files: ["in/*.ndjson"], format: "ndjson" },
          fields: {
            map: {
              \(map)
            },
            passthrough: false,  // only the mapped columns
          },
          target: {
            api: "logs-ingestion",
            endpoint: "https://placeholder.invalid",   /* --write replaces this */
            dcrImmutableId: "dcr-00000000000000000000000000000000",
            stream: "Custom-ApplyApp",
          },
        }
        """
    }

    static let map = #"""
        TimeGenerated: { from: "time", type: "datetime" },
              Level: { from: "level", type: "string" },
              Seq: { from: "seq", type: "long" },
        """#

    static func input(_ n: Int) -> String {
        (0..<n).map {
            #"{"time":"2026-11-23T10:00:\#(String(format: "%02d", $0 % 60))Z","level":"info","seq":\#($0),"extra":"e\#($0)"}"#
        }
        .joined(separator: "\n") + "\n"
    }

    func apply(_ p: URL, _ emu: EmulatorProcess, _ extra: [String] = []) throws -> ProcessResult {
        try run(
            [
                "dcr", p.path, "--apply", "--subscription", "sub-1", "--resource-group", "rg-1", "--workspace", "ws-1",
                "--arm-endpoint", emu.url.absoluteString,
            ] + extra, env: emu.ingestionEnv)
    }

    @Test func applyWritesTheTargetAndARunGoesIntoTheRule() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        dir.write("in/a.ndjson", Self.input(50))
        let p = dir.write("p.json5", Self.pipeline(map: Self.map))
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }

        let r = try apply(p, emu, ["--write"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("the workspace is in westeurope"), "\(r.stderr)")
        #expect(r.stderr.contains("created table ApplyApp_CL"), "\(r.stderr)")
        #expect(
            r.stdout.contains(
                "az role assignment create --assignee \(emu.client) --role \"Monitoring Metrics Publisher\" --scope /subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Insights/dataCollectionRules/logship-apply-test"
            ), "\(r.stdout)")
        let text = try String(contentsOf: p, encoding: .utf8)
        let id = try #require(matches(#"dcrImmutableId: "(dcr-[0-9a-f]{32})""#, in: text).first, "\(text)")
        #expect(id != "dcr-00000000000000000000000000000000")
        #expect(
            text.contains("endpoint: \"\(emu.url.absoluteString)\",   /* --write replaces this */"),
            "comments kept: \(text)")
        #expect(text.contains("// The app's logs;") && text.contains("passthrough: false,  // only the mapped columns"))

        // The rule the emulator made serves the run, with its declared columns.
        let state = dir.file("state")
        let sent = try run(["run", p.path, "--state-dir", state.path, "--progress", "none"], env: emu.ingestionEnv)
        #expect(sent.status == 0, "\(sent.stderr)")
        let stats = emu.stats()
        #expect((stats["streams"] as? [String: Int])?["Custom-ApplyApp"] == 50, "\(stats)")
        #expect((stats["undeclaredColumns"] as? [String: Int] ?? [:]).isEmpty)

        // Again, unchanged: the same rule, nothing added.
        let again = try apply(p, emu)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("table ApplyApp_CL unchanged"), "\(again.stderr)")
        #expect(again.stdout.contains("dcrImmutableId: \"\(id)\""))

        // More columns: added to the table and the stream; the rule keeps its id.
        try Self.pipeline(map: Self.map + #"\#n      Extra: { from: "extra", type: "string" },"#)
            .replacingOccurrences(of: "https://placeholder.invalid", with: emu.url.absoluteString)
            .replacingOccurrences(of: "dcr-00000000000000000000000000000000", with: id)
            .write(to: p, atomically: true, encoding: .utf8)
        let more = try apply(p, emu)
        #expect(more.status == 0, "\(more.stderr)")
        #expect(more.stderr.contains("added Extra"), "\(more.stderr)")
        #expect(more.stdout.contains("dcrImmutableId: \"\(id)\""))
        dir.write("in/b.ndjson", Self.input(7))
        let sent2 = try run(
            ["run", p.path, "--state-dir", dir.file("state2").path, "--progress", "none"], env: emu.ingestionEnv)
        #expect(sent2.status == 0, "\(sent2.stderr)")
        #expect((emu.stats()["undeclaredColumns"] as? [String: Int] ?? [:]).isEmpty, "Extra is declared now")

        // A type change is refused before anything changes, saying which column.
        try (try String(contentsOf: p, encoding: .utf8)).replacingOccurrences(
            of: #"Seq: { from: "seq", type: "long" }"#, with: #"Seq: { from: "seq", type: "int" }"#
        )
        .write(to: p, atomically: true, encoding: .utf8)
        let changed = try apply(p, emu)
        #expect(changed.status == 2, "\(changed.stderr)")
        #expect(changed.stderr.contains("Seq is long in the table but int in the plan"), "\(changed.stderr)")
        #expect(changed.stderr.contains("Nothing was changed"))
        #expect(!changed.stderr.contains("PUT"), "no PUT was sent: \(changed.stderr)")
    }

    /// The emulator's own check, without logship's GET first: a PUT changing a column's type is refused.
    @Test func theEmulatorRefusesATypeChangeItself() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let script = #"""
            import http.client, json, sys, urllib.parse
            url, tenant, client, secret = sys.argv[1:5]
            host, port = url.split("//")[1].split(":")
            def call(method, path, body, headers):
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                out = (r.status, r.read().decode("utf-8"))
                conn.close()
                return out
            form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client, "client_secret": secret,
                                           "scope": "https://management.azure.com/.default"})
            tok = json.loads(call("POST", "/%s/oauth2/v2.0/token" % tenant, form, {"Content-Type": "application/x-www-form-urlencoded"})[1])["access_token"]
            auth = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
            path = "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w/tables/T_CL?api-version=2022-10-01"
            def body(t):
                return json.dumps({"properties": {"schema": {"name": "T_CL", "columns": [{"name": "TimeGenerated", "type": "dateTime"}, {"name": "N", "type": t}]}}})
            print(call("PUT", path, body("long"), auth)[0])
            print(call("PUT", path, body("long"), auth)[0])
            s, text = call("PUT", path, body("string"), auth)
            print(s)
            print(text)
            """#
        let r = try python(script, [emu.url.absoluteString, emu.tenant, emu.client, emu.secret])
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.prefix(3) == ["201", "200", "400"], "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("Changing the type of column 'N' from long to string is not supported."))
    }

    /// A 403 on the first ingestion request names the command that grants the role.
    @Test func aMissingRoleIsDiagnosedWithTheCommandThatGrantsIt() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        dir.write("in/a.ndjson", Self.input(5))
        let p = dir.write(
            "p.json5",
            Self.pipeline(map: Self.map).replacingOccurrences(
                of: "dcr-00000000000000000000000000000000", with: "dcr-0123456789abcdef0123456789abcdef"))
        let emu = try EmulatorProcess(["--fail-rate", "1", "--fail-codes", "403"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        var env = emu.ingestionEnv
        env["LOGSHIP_ENDPOINT"] = emu.url.absoluteString
        let r = try run(["run", p.path, "--state-dir", dir.file("state").path, "--progress", "none"], env: env)
        #expect(r.status == 3, "\(r.stderr)")
        #expect(
            r.stderr.contains(
                "az role assignment create --assignee \(emu.client) --role \"Monitoring Metrics Publisher\" --scope \"$(az monitor data-collection rule list --query \"[?immutableId=='dcr-0123456789abcdef0123456789abcdef'].id\" -o tsv)\""
            ), "\(r.stderr)")
    }

    /// --write refuses an endpoint kept in an environment variable, and says what to do.
    @Test func writeLeavesAnEnvironmentReferenceAlone() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        dir.write("in/a.ndjson", Self.input(3))
        let text = Self.pipeline(map: Self.map).replacingOccurrences(
            of: "\"https://placeholder.invalid\"", with: "\"${APP_ENDPOINT}\"")
        let p = dir.write("p.json5", text)
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let r = try apply(p, emu, ["--write", "--location", "westeurope"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(
            r.stderr.contains(
                "an environment reference; left as it is: set the variable to \(emu.url.absoluteString) instead"),
            "\(r.stderr)")
        #expect(r.stdout.contains("dcrImmutableId: \"dcr-"), "the target block is printed instead: \(r.stdout)")
        #expect(try String(contentsOf: p, encoding: .utf8) == text, "the file is untouched")
    }
}

/// `--from-data-collector`: a table the Data Collector API made keeps its suffixed columns; the
/// rule's stream declares them, the table is migrated, and the pipeline sends those names.
@Suite struct DataCollectorMigrationTests {
    static let fields = #"""
        fields: {
            map: {
              TimeGenerated: { from: "time", type: "datetime" },
              Level: { from: "level", type: "string" },
              Status: { from: "status", type: "int" },
              When: { from: "time", type: "datetime" },
            },
            passthrough: false,
          },
        """#

    @Test func aDataCollectorTableIsMigratedAndKeepsItsColumnNames() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var lines = ""
        for i in 0..<30 {
            lines +=
                #"{"time":"2026-11-23T10:\#(String(format: "%02d", i)):00Z","level":"warn","status":\#(200 + i)}"#
                + "\n"
        }
        dir.write("in/a.ndjson", lines)
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }

        // Last year's pipeline fills AppMig_CL through the Data Collector API.
        let old = dir.write(
            "old.json5",
            """
            { version: 1, name: "old", source: { files: ["in/*.ndjson"], format: "ndjson" },
              \(Self.fields.replacingOccurrences(of: "TimeGenerated: { from: \"time\", type: \"datetime\" },", with: ""))
              target: { api: "data-collector", logType: "AppMig" } }
            """)
        var dcEnv = emu.env
        dcEnv["LOGSHIP_ENDPOINT"] = emu.url.absoluteString
        let first = try run(["run", old.path, "--state-dir", dir.file("s1").path, "--progress", "none"], env: dcEnv)
        #expect(first.status == 0, "\(first.stderr)")
        let stored = Set(emu.rows("AppMig_CL").first?.keys.map { $0 } ?? [])
        #expect(stored.isSuperset(of: ["Level_s", "Status_d", "When_t"]), "\(stored)")

        // Its logs-ingestion copy sends the suffixed names into the same table.
        let text = """
            { version: 1, name: "migrated", source: { files: ["in/*.ndjson"], format: "ndjson" },
              \(Self.fields)
              target: { api: "logs-ingestion", endpoint: "https://placeholder.invalid",
                        dcrImmutableId: "dcr-00000000000000000000000000000000", stream: "Custom-AppMig",
                        columnSuffixes: "data-collector" } }
            """
        let p = dir.write("new.json5", text)
        let plan = try run(["dcr", p.path, "--from-data-collector"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(
            plan.stdout.contains(
                "az rest --method post --url 'https://management.azure.com/subscriptions/<SUBSCRIPTION_ID>/resourceGroups/<RESOURCE_GROUP>/providers/Microsoft.OperationalInsights/workspaces/<WORKSPACE_NAME>/tables/AppMig_CL/migrate?api-version=2021-12-01-preview'"
            ), "\(plan.stdout)")
        #expect(plan.stdout.range(of: #"Status_d\s+real\s+real"#, options: .regularExpression) != nil, "\(plan.stdout)")

        // Without the flag, the classic table is not touched.
        let args = [
            "--apply", "--subscription", "s", "--resource-group", "g", "--workspace", "w", "--arm-endpoint",
            emu.url.absoluteString,
        ]
        let plain = try run(["dcr", p.path] + args, env: emu.ingestionEnv)
        #expect(plain.status == 2 && plain.stderr.contains("made by the Data Collector API"), "\(plain.stderr)")

        let applied = try run(["dcr", p.path, "--from-data-collector", "--write"] + args, env: emu.ingestionEnv)
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stderr.contains("POST AppMig_CL/migrate"), "\(applied.stderr)")
        #expect(applied.stderr.contains("(migrated to DCR-based ingestion)"), "\(applied.stderr)")
        let sent = try run(
            ["run", p.path, "--state-dir", dir.file("s2").path, "--progress", "none"], env: emu.ingestionEnv)
        #expect(sent.status == 0, "\(sent.stderr)")
        let rows = emu.rows("Custom-AppMig")
        #expect(rows.count == 30)
        #expect(
            Set(rows.first?.keys.map { $0 } ?? []) == ["TimeGenerated", "Level_s", "Status_d", "When_t"],
            "\(rows.first ?? [:])")
        #expect((emu.stats()["undeclaredColumns"] as? [String: Int] ?? [:]).isEmpty)

        // Applied again: already migrated, nothing to add.
        let again = try run(["dcr", p.path, "--from-data-collector"] + args, env: emu.ingestionEnv)
        #expect(again.status == 0 && again.stderr.contains("table AppMig_CL unchanged"), "\(again.stderr)")
    }

    @Test func suffixesNeedEveryFieldMappedWithAType() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let p = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["x.ndjson"], format: "ndjson" }, fields: { map: { A: "a", B: { from: "b", type: "json" } } },
              target: { api: "logs-ingestion", endpoint: "https://e.invalid", dcrImmutableId: "dcr-00000000000000000000000000000000",
                        stream: "Custom-X", columnSuffixes: "data-collector" } }
            """)
        let r = try run(["validate", p.path])
        #expect(r.status == 2)
        #expect(
            r.stderr.contains("target.columnSuffixes: \"data-collector\" needs fields.passthrough: false"),
            "\(r.stderr)")
        let q = dir.write(
            "q.json5",
            try String(contentsOf: p, encoding: .utf8).replacingOccurrences(
                of: "} } },", with: "} }, passthrough: false },"))
        let s = try run(["validate", q.path])
        #expect(s.status == 2)
        #expect(
            s.stderr.contains("fields.map.A: with target.columnSuffixes \"data-collector\", give it a type"),
            "\(s.stderr)")
        #expect(s.stderr.contains("fields.map.B: with target.columnSuffixes"), "\(s.stderr)")
    }
}
