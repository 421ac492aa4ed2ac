import Foundation
import LogshipSupport
import Testing

/// `logship run` against `logship emulate` (two processes) with a logs-ingestion pipeline: the
/// issue's acceptance items that are particular to this target. The engine's own acceptance
/// (faults, resume, kills, replay) runs for both targets in EngineTests.
@Suite(.serialized) struct LogsIngestionTests {
    static var example: String { Binary.packageRoot.appendingPathComponent("pipelines/logs-ingestion.json5").path }

    /// The token lives two seconds; the run takes longer. Tokens are fetched once and reused,
    /// refreshed as they run out, and nothing fails on the way.
    @Test func tokenIsRefreshedWhenItsLifetimeEndsMidRun() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(["--token-lifetime", "2", "--latency-ms", "150"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<24_000))
        let p = pipeline(dir, files: ["in/a.ndjson"], api: .logsIngestion)
        let state = dir.file("state")
        let started = Date()
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
            env: emu.ingestionEnv, timeout: 300)
        let seconds = Date().timeIntervalSince(started)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(seconds > 3, "the run must outlive the token (took \(seconds) s)")
        let counts = seqCounts(emu, .logsIngestion)
        #expect(counts.count == 24_000 && counts.values.allSatisfy { $0 == 1 })
        let issued = emu.int("tokensIssued")
        let requests = API.logsIngestion.dataRequests(emu)
        #expect(issued >= 2, "refreshed after the first one ran out")
        #expect(
            issued <= Int(seconds / 1.5) + 2,
            "one token per lifetime, not one per request (\(issued) tokens, \(requests) requests)")
        #expect(report(state)["chunksDeadLettered"] as? Int == 0)
        #expect(emu.int("tokenRequestsRefused") == 0)
    }

    /// Bodies are cut at 1,000,000 bytes before compression, sent gzipped, and what the emulator
    /// decodes is byte for byte what logship cut (the same chunks a dry run keeps), with either
    /// encoder (`upload.compression`).
    @Test(arguments: Gzip.Encoder.allCases)
    func bodiesStayWithinOneMillionBytesAndGzipDecodesToWhatWasSent(encoder: Gzip.Encoder) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<20_000, size: 300))
        let p = pipeline(
            dir, files: ["in/a.ndjson"], maxBody: 1_000_000, api: .logsIngestion,
            upload: ", compression: \"\(encoder.rawValue)\"")
        let dry = try run(
            ["run", p.path, "--dry-run", "--keep-bodies", "--state-dir", dir.file("dry").path], env: emu.ingestionEnv)
        #expect(dry.status == 0, "\(dry.stderr)")
        let bodiesDir = dir.file("dry/dry-run/bodies")
        let bodies = try FileManager.default.contentsOfDirectory(atPath: bodiesDir.path).sorted().map {
            try Data(contentsOf: bodiesDir.appendingPathComponent($0))
        }
        #expect(bodies.count >= 6)
        #expect(bodies.allSatisfy { $0.count <= 1_000_000 })
        #expect(bodies.dropLast().allSatisfy { $0.count > 990_000 }, "chunks are filled up to the limit")

        let r = try run(
            [
                "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("state").path,
                "--progress", "none",
            ], env: emu.ingestionEnv)
        #expect(r.status == 0, "\(r.stderr)")
        let requests = API.logsIngestion.dataRequests(emu)
        #expect(requests == bodies.count)
        #expect(emu.int("gzipRequests") == requests)
        #expect(emu.int("maxBodyBytes") <= 1_000_000 && emu.int("maxBodyBytes") == bodies.map(\.count).max())
        #expect(emu.int("maxWireBodyBytes") < 250_000, "gzip: the wire carries a fraction")
        // Both encoders are deterministic and write different streams: the largest request on
        // the wire is the one this encoder makes of these bodies.
        let wire = try bodies.map { try Gzip.compress($0, encoder: encoder).count }
        #expect(emu.int("maxWireBodyBytes") == wire.max(), "the bodies went through the \(encoder) encoder")
        #expect(emu.int("bytes") == bodies.reduce(0) { $0 + $1.count }, "decoded sizes add up to what was cut")
        #expect(emu.int("tokensIssued") == 1)
        #expect(emu.int("requestIds") == requests, "one x-ms-client-request-id per request")

        // The stream file holds each record as sent, one request's records together: rebuild
        // every cut body from them and compare bytes.
        let lines = try String(contentsOf: dir.file("emu/Custom-Engine.ndjson"), encoding: .utf8).split(separator: "\n")
            .map(String.init)
        var position: [Int: Int] = [:]
        for (k, l) in lines.enumerated() {
            if let o = try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any],
                let s = o["seq"] as? NSNumber
            {
                position[s.intValue] = k
            }
        }
        #expect(lines.count == 20_000 && position.count == 20_000)
        for body in bodies {
            let elements = try #require(try JSONSerialization.jsonObject(with: body) as? [[String: Any]])
            let first = try #require((elements.first?["seq"] as? NSNumber)?.intValue)
            let start = try #require(position[first])
            #expect(start + elements.count <= lines.count)
            guard start + elements.count <= lines.count else { continue }
            let rebuilt = "[" + lines[start..<start + elements.count].joined(separator: ",") + "]"
            #expect(Data(rebuilt.utf8) == body, "a decoded body differs from the one cut (first seq \(first))")
        }
    }

    /// The client secret is in no output, report, manifest, reject or dead letter.
    @Test func theClientSecretAppearsNowhere() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        // Injected 400s are refusals of whole bodies, which halving gets past; record 42 ("r42 ü")
        // is refused for its data, so a dead letter is written.
        let emu = try EmulatorProcess(
            [
                "--fail-rate", "0.3", "--fail-codes", "400,429", "--retry-after", "0", "--seed", "5",
                "--refuse-records-matching", "r42 ",
            ],
            dataDir: dir.file("emu"))
        defer { emu.stop() }
        var lines = records(0..<3000).split(separator: "\n").map(String.init)
        lines[17] = "{\"seq\": broken"
        dir.write("in/a.ndjson", lines.joined(separator: "\n") + "\n")
        let p = pipeline(dir, files: ["in/a.ndjson"], api: .logsIngestion)
        let text = try String(contentsOf: p, encoding: .utf8).replacingOccurrences(
            of: "stream: \"Custom-Engine\"",
            with: "stream: \"Custom-Engine\", clientSecret: \"${LOGSHIP_CLIENT_SECRET}\"")
        try Data(text.utf8).write(to: p)
        let state = dir.file("state")
        let reportFile = dir.file("report.json")
        let base = ["--endpoint", emu.url.absoluteString, "--state-dir", state.path]
        var outputs: [(String, ProcessResult)] = []
        func record(_ args: [String], env: [String: String] = emu.ingestionEnv) throws -> ProcessResult {
            let r = try run(args, env: env)
            outputs.append((args.prefix(2).joined(separator: " "), r))
            return r
        }
        let first = try record(["run", p.path, "--progress", "plain", "--report", reportFile.path] + base)
        #expect(first.status == 1, "rejects and dead letters: \(first.stderr)")
        #expect(first.stderr.contains("dead-lettered"))
        _ = try record(["status", p.path, "--state-dir", state.path])
        _ = try record(["status", p.path, "--state-dir", state.path, "--json"])
        _ = try record(["replay", p.path] + base)
        _ = try record(["validate", p.path])
        _ = try record(["preview", p.path, "--json"])
        _ = try record(["run", p.path, "--dry-run", "--state-dir", dir.file("dry").path])
        var wrong = emu.ingestionEnv
        wrong["LOGSHIP_CLIENT_SECRET"] = emu.secret + "x"
        let refused = try record(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("state2").path], env: wrong)
        #expect(refused.status == 3, "\(refused.stderr)")

        let probes = [emu.secret, String(emu.secret.prefix(12)), String(emu.secret.suffix(12))]
        for (what, r) in outputs {
            for probe in probes {
                #expect(!r.stdout.contains(probe), "\(what) printed the secret on stdout")
                #expect(!r.stderr.contains(probe), "\(what) printed the secret on stderr")
            }
        }
        var checked: [String] = []
        let files = FileManager.default.enumerator(atPath: dir.url.path)?.compactMap { $0 as? String } ?? []
        for f in files where !f.hasPrefix("emu") && !f.hasPrefix("in/") {
            let url = dir.url.appendingPathComponent(f)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue,
                let data = FileManager.default.contents(atPath: url.path)
            else { continue }
            checked.append(f)
            let text = String(decoding: data, as: UTF8.self)
            for probe in probes { #expect(!text.contains(probe), "\(f) holds the secret") }
        }
        for must in ["state/manifest.jsonl", "state/rejects.ndjson", "state/last-run.json", "report.json"] {
            #expect(checked.contains(must), "\(must) was written and checked")
        }
        #expect(
            checked.contains { $0.hasPrefix("state/deadletter/") && $0.hasSuffix(".meta.json") },
            "dead letters were written and checked")
        #expect(!emu.stderr.contains(emu.secret), "a secret given to the emulator is not echoed")
    }

    @Test func aWrongSecretStopsAtOnceWithExit3AndTheServiceText() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<2000))
        let p = pipeline(dir, files: ["in/a.ndjson"], api: .logsIngestion)
        var env = emu.ingestionEnv
        env["LOGSHIP_CLIENT_SECRET"] = "not-the-secret"
        let started = Date()
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("state").path], env: env)
        #expect(r.status == 3, "\(r.stderr)")
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(r.stderr.contains("invalid_client") && r.stderr.contains("AADSTS7000215"), "the service's own words")
        #expect(!r.stderr.contains("not-the-secret"))
        #expect(emu.int("tokenRequests") <= 4, "no retry storm against the token service")
        #expect(API.logsIngestion.dataRequests(emu) == 0, "nothing sent without a token")
    }

    /// Kubernetes workload identity: AZURE_* variables and a federated token file, no secret.
    @Test func workloadIdentityWithAFederatedTokenFile() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let assertion = dir.write(
            "azure-identity-token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl\n")
        let emu = try EmulatorProcess(["--federated-token-file", assertion.path], dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<500))
        let p = pipeline(dir, files: ["in/a.ndjson"], api: .logsIngestion)
        let env = [
            "AZURE_TENANT_ID": emu.tenant, "AZURE_CLIENT_ID": emu.client, "AZURE_FEDERATED_TOKEN_FILE": assertion.path,
            "AZURE_AUTHORITY_HOST": emu.url.absoluteString + "/",
        ]
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("state").path], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(seqCounts(emu, .logsIngestion).count == 500)
        let other = dir.write("other-token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvdGhlciJ9.c2ln")
        var wrong = env
        wrong["AZURE_FEDERATED_TOKEN_FILE"] = other.path
        let refused = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("state2").path], env: wrong)
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("AADSTS700213"))
    }

    /// `target.managedIdentity: true`: tokens from the host, with no secret in the pipeline or
    /// the environment. The emulator stands in for the instance metadata service (moved with
    /// AZURE_POD_IDENTITY_AUTHORITY_HOST, as in the Azure SDKs) and for App Service's endpoint.
    @Test func managedIdentityFromTheMetadataServiceOrAppService() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let user = "11111111-2222-3333-4444-555555555555"
        let header = "hdr-" + UUID().uuidString
        let emu = try EmulatorProcess(
            ["--user-assigned-identity", user, "--identity-header", header], dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<3000))
        let p = dir.write(
            "mi.json5",
            """
            { version: 1, source: { files: ["in/a.ndjson"], format: "ndjson" }, limits: { maxBodyBytes: 40000 },
              target: { api: "logs-ingestion", endpoint: "http://127.0.0.1:9", dcrImmutableId: "dcr-engine", stream: "Custom-Engine",
                        managedIdentity: true } }
            """)
        let imds = ["AZURE_POD_IDENTITY_AUTHORITY_HOST": emu.url.absoluteString]
        var outputs: [ProcessResult] = []

        // A VM's system-assigned identity.
        let vm = try run(
            [
                "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("s1").path, "--progress",
                "none",
            ], env: imds)
        outputs.append(vm)
        #expect(vm.status == 0, "\(vm.stderr)")
        #expect(seqCounts(emu, .logsIngestion).count == 3000)
        #expect(emu.int("tokensIssued") == 1, "one token for the run")

        // An app's user-assigned identity through IDENTITY_ENDPOINT and IDENTITY_HEADER.
        dir.write("in/a.ndjson", records(3000..<4000))
        let appEnv = [
            "IDENTITY_ENDPOINT": emu.url.absoluteString + "/msi/token", "IDENTITY_HEADER": header,
            "AZURE_CLIENT_ID": user,
        ]
        let app = try run(
            [
                "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("s2").path, "--progress",
                "none",
            ], env: appEnv)
        outputs.append(app)
        #expect(app.status == 0, "\(app.stderr)")
        #expect(seqCounts(emu, .logsIngestion).count == 4000)
        outputs.append(try run(["validate", p.path], env: appEnv))
        #expect(
            outputs.last?.stdout.contains("user-assigned managed identity \(user)") == true,
            "\(outputs.last?.stdout ?? "")")

        // An identity this host does not have: exit 3 at once, the service's words, nothing sent.
        let sentBefore = API.logsIngestion.dataRequests(emu)
        var other = imds
        other["AZURE_CLIENT_ID"] = "99999999-2222-3333-4444-555555555555"
        let started = Date()
        let missing = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("s3").path], env: other)
        outputs.append(missing)
        #expect(missing.status == 3, "\(missing.stderr)")
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(
            missing.stderr.contains("99999999-2222-3333-4444-555555555555")
                && missing.stderr.contains("Identity not found"), "\(missing.stderr)")
        #expect(API.logsIngestion.dataRequests(emu) == sentBefore)

        // A wrong IDENTITY_HEADER is refused; the header is never printed.
        var badHeader = appEnv
        badHeader["IDENTITY_HEADER"] = header + "x"
        let refused = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("s4").path], env: badHeader)
        outputs.append(refused)
        #expect(refused.status == 3, "\(refused.stderr)")

        // No endpoint at all: not an Azure host. Stops with a message saying what to use instead.
        let nowhere = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("s5").path],
            env: ["AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9"])
        outputs.append(nowhere)
        #expect(nowhere.status == 3, "\(nowhere.stderr)")
        #expect(
            nowhere.stderr.contains("ManagedIdentityUnavailable")
                && nowhere.stderr.contains("client secret or workload identity"), "\(nowhere.stderr)")

        for r in outputs {
            #expect(!r.stdout.contains(header) && !r.stderr.contains(header), "the identity header was printed")
        }
    }

    /// An Azure Arc-enabled server: the agent challenges the first request with a key file
    /// only members of its group can read; logship reads it (from the agent's folder only) and
    /// asks again. The emulator plays the agent with `--arc-key-dir`.
    @Test func managedIdentityOnAnAzureArcServer() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let keys = dir.file("azcmagent-tokens")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
        let emu = try EmulatorProcess(["--arc-key-dir", keys.path], dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<1500))
        let p = dir.write(
            "mi.json5",
            """
            { version: 1, source: { files: ["in/a.ndjson"], format: "ndjson" }, limits: { maxBodyBytes: 40000 },
              target: { api: "logs-ingestion", endpoint: "http://127.0.0.1:9", dcrImmutableId: "dcr-engine", stream: "Custom-Engine",
                        managedIdentity: true } }
            """)
        let arc = [
            "IDENTITY_ENDPOINT": emu.url.absoluteString + "/metadata/identity/oauth2/token",
            "IMDS_ENDPOINT": emu.url.absoluteString,
            "LOGSHIP_ARC_KEY_DIR": keys.path,
        ]
        let r = try run(
            [
                "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("s1").path, "--progress",
                "none",
            ], env: arc)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(seqCounts(emu, .logsIngestion).count == 1500)
        #expect(emu.int("tokensIssued") == 1)

        // Challenge keys are read from the agent's own folder only (by default /var/opt/azcmagent/tokens).
        var elsewhere = arc
        elsewhere["LOGSHIP_ARC_KEY_DIR"] = nil
        let refused = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("s2").path], env: elsewhere)
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(
            refused.stderr.contains("is not a .key file in /var/opt/azcmagent/tokens; refusing to read it"),
            "\(refused.stderr)")

        // Arc has only the system-assigned identity: a client id is a usage error, before anything is sent.
        var user = arc
        user["AZURE_CLIENT_ID"] = "11111111-2222-3333-4444-555555555555"
        let usage = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("s3").path], env: user)
        #expect(usage.status == 2, "\(usage.stderr)")
        #expect(usage.stderr.contains("only its system-assigned identity"), "\(usage.stderr)")
        let leftover = (try? FileManager.default.contentsOfDirectory(atPath: keys.path)) ?? []
        #expect(leftover.count == 1, "the used key is gone, the refused run's is left: \(leftover)")
    }

    @Test func theExamplePipelineRunsLocallyAndPreviewsClean() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let r = try run(["run", Self.example, "--local", "--state-dir", dir.file("state").path], env: samplesClock)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Stream Custom-AppLogs: 240 row(s)"))
        #expect(r.stdout.contains("  TimeGenerated  datetime\n"))
        #expect(r.stdout.contains("  Client         dynamic\n"))
        #expect(!r.stdout.contains("not declared"), "\(r.stdout)")
        #expect(r.stdout.contains("{\"TimeGenerated\":\"2026-11-22T00:00:00.000Z\",\"Level\":\"warn\""))
        // The samples' events are days old after 2026-11-25: at their own time, preview has nothing
        // to say; a year later it says exactly that they are too old, and nothing else.
        let preview = try run(["preview", Self.example], env: samplesClock)
        #expect(preview.status == 0, "\(preview.stderr)")
        #expect(preview.stdout.contains("No warnings."), "\(preview.stdout)")
        let later = try run(["preview", Self.example], env: ["LOGSHIP_NOW": "2027-11-23T12:00:00Z"])
        #expect(later.status == 0, "\(later.stderr)")
        #expect(
            later.stdout.contains("TimeGenerated: 240 record(s) have TimeGenerated values more than two days old"),
            "\(later.stdout)")
        let validate = try run(["validate", Self.example])
        #expect(validate.status == 0 && validate.stdout.contains("logs-ingestion.json5: ok"))
    }

    /// `emulate --dcr`: the service takes undeclared properties without a word; the emulator
    /// counts and reports them, and preview warns before anything is sent.
    @Test func undeclaredColumnsAreReportedByTheEmulatorAndByPreview() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let decl = dir.write(
            "dcr.json",
            """
            {"dcrImmutableId":"dcr-engine","streams":{"Custom-Engine":{"columns":[
              {"name":"TimeGenerated","type":"datetime"},{"name":"seq","type":"int"},{"name":"msg","type":"string"}]}}}
            """)
        let emu = try EmulatorProcess(["--dcr", decl.path], dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<300))
        let p = pipeline(dir, files: ["in/a.ndjson"], api: .logsIngestion)
        let text = try String(contentsOf: p, encoding: .utf8).replacingOccurrences(
            of: "stream: \"Custom-Engine\"", with: "stream: \"Custom-Engine\", dcr: \"dcr.json\"")
        try Data(text.utf8).write(to: p)
        let preview = try run(["preview", p.path, "--json"])
        #expect(preview.status == 0, "\(preview.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(preview.stdout.utf8)) as? [String: Any]
        let warnings = doc?["warnings"] as? [[String: Any]] ?? []
        #expect(warnings.contains { $0["kind"] as? String == "undeclared-column" && $0["field"] as? String == "pad" })
        #expect(warnings.contains { $0["kind"] as? String == "missing-time-generated" })
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("state").path],
            env: emu.ingestionEnv)
        #expect(r.status == 0, "the service accepts them: \(r.stderr)")
        #expect((emu.stats()["undeclaredColumns"] as? [String: Int])?["pad"] == 300)
        #expect(emu.int("missingTimeGenerated") == 300)
        #expect(emu.stderr.contains("\"pad\", which the DCR does not declare"))
    }

    /// The migration the README describes: a Data Collector pipeline with a time-generated
    /// field, its target switched to logs-ingestion, sends the same records with TimeGenerated.
    @Test func aDataCollectorPipelineMovesAcrossWithItsTargetSwitched() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write(
            "in/a.ndjson",
            (0..<100).map { "{\"seq\":\($0),\"ts\":\"23/Nov/2026:10:00:\(String(format: "%02d", $0 % 60)) +0100\"}" }
                .joined(separator: "\n") + "\n")
        let fields =
            #"fields: { map: { EventTime: { from: "ts", type: "datetime", format: "%d/%b/%Y:%H:%M:%S %z" } } },"#
        let dc = dir.write(
            "dc.json5",
            """
            { version: 1, name: "moved", source: { files: ["in/a.ndjson"], format: "ndjson" }, \(fields)
              target: { logType: "Moved", timeGeneratedField: "EventTime" } }
            """)
        let li = dir.write(
            "li.json5",
            """
            { version: 1, name: "moved", source: { files: ["in/a.ndjson"], format: "ndjson" }, \(fields)
              target: { api: "logs-ingestion", endpoint: "http://127.0.0.1:9", dcrImmutableId: "dcr-moved", stream: "Custom-Moved",
                        timeGeneratedField: "EventTime" } }
            """)
        #expect(
            try run(
                ["run", dc.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("s1").path], env: emu.env
            ).status == 0)
        let r = try run(
            ["run", li.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("s2").path],
            env: emu.ingestionEnv)
        #expect(r.status == 0, "\(r.stderr)")
        let dcRows = emu.rows("Moved_CL")
        let liRows = emu.rows("Custom-Moved")
        #expect(dcRows.count == 100 && liRows.count == 100)
        #expect(liRows.first?["TimeGenerated"] as? String == "2026-11-23T09:00:00.000Z")
        #expect(liRows.first?["EventTime"] as? String == dcRows.first?["EventTime_t"] as? String)
        #expect(emu.int("missingTimeGenerated") == 0)
    }
}
