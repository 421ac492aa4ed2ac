import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

/// Loading a logs-ingestion pipeline: TimeGenerated, the DCR declaration, credentials.
@Suite struct LogsIngestionPipelineTests {
    static let target =
        #"api: "logs-ingestion", endpoint: "https://app-dce.westeurope-1.ingest.monitor.azure.com", dcrImmutableId: "dcr-0123456789abcdef0123456789abcdef", stream: "Custom-AppLogs""#

    func load(_ text: String, files: [String: String] = [:], env: [String: String] = [:]) -> (
        PipelineLoader.Result, TempDir
    ) {
        let dir = TempDir("li-pipeline")
        for (name, content) in files { _ = dir.write(name, content) }
        let url = dir.write("p.json5", text)
        return (PipelineLoader(environment: env).load(url), dir)
    }

    @Test func timeGeneratedIsAColumnHereNotAReservedName() throws {
        let (r, dir) = load(
            #"{ version: 1, source: { files: ["*.ndjson"], format: "ndjson" }, fields: { map: { TimeGenerated: { from: "ts", type: "datetime" } } }, target: { \#(Self.target) } }"#
        )
        defer { dir.cleanup() }
        #expect(r.errors.isEmpty, "\(r.problems)")
        let spec = try #require(r.spec)
        #expect(spec.fields.map.map(\.output) == ["TimeGenerated"])
        #expect(spec.limits.maxBodyBytes == 1_000_000)
        #expect(spec.limits.maxValueBytes == 65_535)
        #expect(spec.upload.compress)
    }

    /// `upload.compression` picks the gzip encoder: logship's own by default, zlib when asked;
    /// anything else fails with the key and the allowed values.
    @Test func theGzipEncoderIsChosenByUploadCompression() throws {
        let src = #"source: { files: ["*.ndjson"], format: "ndjson" }"#
        let (plain, d1) = load("{ version: 1, \(src), target: { \(Self.target) } }")
        let (zlib, d2) = load(#"{ version: 1, \#(src), target: { \#(Self.target) }, upload: { compression: "zlib" } }"#)
        let (bad, d3) = load(#"{ version: 1, \#(src), target: { \#(Self.target) }, upload: { compression: "zlip" } }"#)
        defer { for d in [d1, d2, d3] { d.cleanup() } }
        #expect(try #require(plain.spec).upload.compression == .fast)
        #expect(try #require(zlib.spec).upload.compression == .zlib)
        #expect(try #require(plain.spec).specHash == (try #require(zlib.spec)).specHash, "not part of what a record is")
        let message = bad.problems.map(\.description).joined(separator: "\n")
        #expect(
            bad.spec == nil && message.contains("upload.compression") && message.contains("fast, zlib"), "\(message)")
    }

    /// The field limit is the API's: 500 (a table's columns) for the Logs Ingestion API, 50 for
    /// the Data Collector API; one written is kept. A defaulted limit hashes as 50 did, so the
    /// state of pipelines that leave it out resumes (StateCompatibilityTests runs one).
    @Test func theFieldLimitDefaultsPerAPIAndKeepsTheHash() throws {
        let map = #"fields: { map: { TimeGenerated: { from: "ts", type: "datetime" } } }"#
        let src = #"source: { files: ["*.ndjson"], format: "ndjson" }"#
        let (li, d1) = load("{ version: 1, \(src), \(map), target: { \(Self.target) } }")
        let (li50, d2) = load("{ version: 1, \(src), \(map), target: { \(Self.target) }, limits: { maxFields: 50 } }")
        let (li500, d3) = load("{ version: 1, \(src), \(map), target: { \(Self.target) }, limits: { maxFields: 500 } }")
        let (dc, d4) = load(
            #"{ version: 1, \#(src), \#(map.replacingOccurrences(of: "TimeGenerated", with: "T")), target: { logType: "A" } }"#
        )
        defer { for d in [d1, d2, d3, d4] { d.cleanup() } }
        let spec = try #require(li.spec)
        #expect(spec.limits.maxFields == 500)
        #expect(try #require(li50.spec).limits.maxFields == 50)
        #expect(try #require(dc.spec).limits.maxFields == 50)
        #expect(spec.specHash == (try #require(li50.spec)).specHash, "a defaulted limit hashes as the old default")
        #expect(spec.specHash != (try #require(li500.spec)).specHash, "a written limit is hashed as written")
    }

    /// The value limit defaults to the Logs Ingestion API's own; one written in the pipeline is
    /// kept, 32766 too (it used to be taken for "not written" and raised to 65535).
    @Test func aWrittenValueLimitIsKept() throws {
        for (written, expected) in [
            ("", 65_535), ("limits: { maxValueBytes: 32766 },", 32_766), ("limits: { maxValueBytes: 1000 },", 1_000),
        ] {
            let (r, dir) = load(
                #"{ version: 1, source: { files: ["*.ndjson"], format: "ndjson" }, \#(written) target: { \#(Self.target) } }"#
            )
            defer { dir.cleanup() }
            let spec = try #require(r.spec, "\(r.problems)")
            #expect(spec.limits.maxValueBytes == expected, "\(written)")
        }
    }

    /// A pipeline moved over from the Data Collector keeps its timeGeneratedField and gets a
    /// TimeGenerated column from the same input.
    @Test func timeGeneratedFieldBecomesATimeGeneratedColumn() throws {
        let mapped =
            #"{ version: 1, source: { files: ["*.ndjson"], format: "ndjson" }, fields: { map: { EventTime: { from: "ts", type: "datetime", format: "epoch" } } }, target: { \#(Self.target), timeGeneratedField: "EventTime" } }"#
        let (r, dir) = load(mapped)
        defer { dir.cleanup() }
        let spec = try #require(r.spec, "\(r.problems)")
        #expect(spec.fields.map.map(\.output) == ["TimeGenerated", "EventTime"])
        #expect(spec.fields.map[0].type == .datetime && spec.fields.map[0].format == "epoch")

        let passed =
            #"{ version: 1, source: { files: ["*.ndjson"], format: "ndjson" }, target: { \#(Self.target), timeGeneratedField: "when" } }"#
        let (r2, dir2) = load(passed)
        defer { dir2.cleanup() }
        let spec2 = try #require(r2.spec, "\(r2.problems)")
        #expect(spec2.fields.map.map(\.output) == ["TimeGenerated", "when"], "the field keeps its own column")

        let both =
            #"{ version: 1, source: { files: ["*.ndjson"], format: "ndjson" }, fields: { map: { TimeGenerated: { from: "a", type: "datetime" }, B: { from: "b", type: "datetime" } } }, target: { \#(Self.target), timeGeneratedField: "B" } }"#
        let (r3, dir3) = load(both)
        defer { dir3.cleanup() }
        #expect(r3.spec?.fields.map.map(\.output) == ["TimeGenerated", "B"])
        #expect(r3.warnings.map(\.path) == ["target.timeGeneratedField"])
    }

    @Test func theRecordsCarryTimeGenerated() throws {
        let dir = TempDir("li-transform")
        defer { dir.cleanup() }
        _ = dir.write("in.ndjson", "{\"ts\":1763900000,\"TimeGenerated\":\"x\",\"n\":1}\n")
        let url = dir.write(
            "p.json5",
            #"{ version: 1, source: { files: ["in.ndjson"], format: "ndjson" }, target: { \#(Self.target), timeGeneratedField: "ts" } }"#
        )
        let r = PipelineLoader(environment: [:]).load(url)
        let spec = try #require(r.spec, "\(r.problems)")
        #expect(spec.fields.map.first?.output == "TimeGenerated")
        let read = PreviewReader.read(spec, records: 1, sample: 1)
        #expect(
            read.rejectedCount == 1,
            "a number of seconds is not an ISO 8601 date-time: refused, not sent without a time")
        let (r2, d2) = load(
            #"{ version: 1, source: { files: ["in.ndjson"], format: "ndjson" }, fields: { map: { TimeGenerated: { from: "ts", type: "datetime", format: "epoch" } } }, target: { \#(Self.target) } }"#,
            files: ["in.ndjson": "{\"ts\":1763900000,\"n\":1}\n"])
        defer { d2.cleanup() }
        let read2 = PreviewReader.read(try #require(r2.spec), records: 1, sample: 1)
        let text = String(decoding: try #require(read2.shown.first).json, as: UTF8.self)
        #expect(text == #"{"TimeGenerated":"2025-11-23T12:13:20.000Z","n":1}"#)
        // Passed through, an input TimeGenerated keeps its name (the Data Collector renames it).
        let (r3, d3) = load(
            #"{ version: 1, source: { files: ["in.ndjson"], format: "ndjson" }, target: { \#(Self.target) } }"#,
            files: ["in.ndjson": "{\"TimeGenerated\":\"2026-11-23T10:00:00Z\",\"n\":1}\n"])
        defer { d3.cleanup() }
        let read3 = PreviewReader.read(try #require(r3.spec), records: 1, sample: 1)
        #expect(
            String(decoding: try #require(read3.shown.first).json, as: UTF8.self)
                == #"{"TimeGenerated":"2026-11-23T10:00:00Z","n":1}"#)
    }

    @Test func theDCRDeclarationMustDeclareTheStream() throws {
        let decl =
            #"{"dcrImmutableId":"dcr-0123456789abcdef0123456789abcdef","streams":{"Custom-Other":{"columns":[{"name":"TimeGenerated","type":"datetime"}]}}}"#
        let (r, dir) = load(
            #"{ version: 1, source: { files: ["*.ndjson"], format: "ndjson" }, target: { \#(Self.target), dcr: "dcr.json" } }"#,
            files: ["dcr.json": decl])
        defer { dir.cleanup() }
        #expect(
            r.errors.map(\.description) == [
                "p.json5:1:230: target.stream: \"Custom-AppLogs\" is not declared in dcr.json; declared: Custom-Other"
            ])
        let (r2, dir2) = load(
            #"{ version: 1, source: { files: ["*.ndjson"], format: "ndjson" }, target: { \#(Self.target), dcr: "missing.json" } }"#
        )
        defer { dir2.cleanup() }
        #expect(r2.errors.count == 1)
        #expect(r2.errors.first?.path == "target.dcr")
        #expect(r2.errors.first?.message.contains("cannot read the DCR declaration") == true)
    }

    @Test func immutableIdsGoIntoTheURLSoTheyAreChecked() {
        let bad = Self.target.replacingOccurrences(of: "dcr-0123456789abcdef0123456789abcdef", with: "dcr-1/../x")
        let (r, dir) = load(#"{ version: 1, source: { files: ["*.ndjson"], format: "ndjson" }, target: { \#(bad) } }"#)
        defer { dir.cleanup() }
        #expect(r.errors.map(\.path) == ["target.dcrImmutableId"])
    }

    // MARK: DCR declaration files

    @Test func declarationsAreReadInBothShapes() throws {
        let small = try DCRDeclaration.parse(
            Data(
                #"{"dcrImmutableId":"dcr-1","streams":{"Custom-B":{"columns":[{"name":"TimeGenerated","type":"datetime"},{"name":"N","type":"Long"}]},"Custom-A":{"columns":[]}}}"#
                    .utf8),
            file: "d.json")
        #expect(small.dcrImmutableId == "dcr-1")
        #expect(small.streams.map(\.name) == ["Custom-A", "Custom-B"])
        #expect(
            small.stream("Custom-B")?.columns == [
                .init(name: "TimeGenerated", type: .datetime), .init(name: "N", type: .long),
            ])
        let arm = try DCRDeclaration.parse(
            Data(
                #"{"id":"/subscriptions/x","properties":{"immutableId":"dcr-2","streamDeclarations":{"Custom-C":{"columns":[{"name":"Raw","type":"dynamic"}]}}}}"#
                    .utf8),
            file: "arm.json")
        #expect(arm.dcrImmutableId == "dcr-2")
        #expect(arm.stream("Custom-C")?.column(named: "Raw")?.type == .dynamic)
        #expect(arm.stream("Custom-C")?.column(named: "raw") == nil, "names as written")
        #expect(arm.stream("Custom-C")?.column(ignoringCaseOf: "raw")?.name == "Raw")
        let cli = try DCRDeclaration.parse(
            Data(
                #"{"immutableId":"dcr-3","streamDeclarations":{"Custom-D":{"columns":[{"name":"TimeGenerated","type":"datetime"}]}}}"#
                    .utf8), file: "cli.json")
        #expect(cli.dcrImmutableId == "dcr-3" && cli.streams.map(\.name) == ["Custom-D"])
    }

    @Test func badDeclarationsSayWhereAndWhat() {
        func error(_ text: String) -> String {
            do {
                _ = try DCRDeclaration.parse(Data(text.utf8), file: "d.json")
                return "no error"
            } catch {
                return error.description
            }
        }
        #expect(error("[]").hasPrefix("d.json: not a JSON object"))
        #expect(
            error(#"{"dcrImmutableId":"dcr-1"}"#)
                == "d.json: streams: missing; declare the DCR's streams and their columns")
        #expect(
            error(#"{"streams":{"Custom-A":{"columns":[{"name":"a","type":"guid"}]}}}"#)
                == "d.json: streams.Custom-A.columns[0].type: \"guid\" is not a column type; allowed: string, int, long, real, boolean, datetime, dynamic"
        )
        #expect(
            error(#"{"streams":{"Custom-A":{"columns":[{"name":"a","type":"int"},{"name":"A","type":"int"}]}}}"#)
                == "d.json: streams.Custom-A.columns[1].name: \"A\" is declared twice (column names ignore letter case)"
        )
        #expect(
            error(#"{"streams":{"Custom-A":{}}}"#).hasPrefix("d.json: streams.Custom-A.columns: missing or not a list"))
    }

    // MARK: Credentials

    func spec(_ target: String) throws -> PipelineSpec {
        let dir = TempDir("li-creds")
        let url = dir.write(
            "p.json5", #"{ version: 1, source: { files: ["*.ndjson"], format: "ndjson" }, target: { \#(target) } }"#)
        let r = PipelineLoader(environment: [:]).load(url)
        return try #require(r.spec, "\(r.problems)")
    }

    static let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    static let client = "0c6d5a4e-8b1f-4a73-9e2d-3f1b2c4d5e6f"

    @Test func flagsThenEnvironmentThenTheFile() throws {
        let s = try spec(
            Self.target + #", tenantId: "\#(Self.tenant)", clientId: "\#(Self.client)", clientSecret: "${APP_SECRET}""#)
        // The file's ${APP_SECRET} is unset; LOGSHIP_CLIENT_SECRET supplies it.
        let a = try CredentialResolver.logsIngestion(
            s, endpointFlag: nil, environment: ["LOGSHIP_CLIENT_SECRET": "from-env"])
        #expect(a.tenantId == Self.tenant && a.clientId == Self.client)
        guard case .clientSecret(let secret) = a.credential else {
            Issue.record("a client secret")
            return
        }
        #expect(secret.value == "from-env")
        #expect(a.endpoint.absoluteString == "https://app-dce.westeurope-1.ingest.monitor.azure.com")
        #expect(a.authorityHost.absoluteString == "https://login.microsoftonline.com")
        #expect(a.scope == "https://monitor.azure.com//.default")
        // LOGSHIP_* before AZURE_*, both before the file; the flag before everything.
        let other = "11111111-2222-3333-4444-555555555555"
        let b = try CredentialResolver.logsIngestion(
            s, endpointFlag: "http://127.0.0.1:8080",
            environment: [
                "AZURE_TENANT_ID": other, "LOGSHIP_CLIENT_SECRET": "x", "AZURE_CLIENT_ID": other,
                "LOGSHIP_CLIENT_ID": Self.client,
                "LOGSHIP_ENDPOINT": "https://ignored.example", "AZURE_AUTHORITY_HOST": "http://127.0.0.1:8080/",
            ])
        #expect(b.tenantId == other)
        #expect(b.clientId == Self.client)
        #expect(b.endpoint.absoluteString == "http://127.0.0.1:8080")
        #expect(
            b.authorityHost.absoluteString == "http://127.0.0.1:8080", "workload identity's trailing slash is dropped")
    }

    @Test func workloadIdentityUsesTheFederatedTokenFile() throws {
        let s = try spec(Self.target)
        let r = try CredentialResolver.logsIngestion(
            s, endpointFlag: nil,
            environment: [
                "AZURE_TENANT_ID": Self.tenant, "AZURE_CLIENT_ID": Self.client,
                "AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/tokens/azure-identity-token",
                "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/",
            ])
        guard case .federatedTokenFile(let url) = r.credential else {
            Issue.record("the federated token file")
            return
        }
        #expect(url.path == "/var/run/secrets/azure/tokens/azure-identity-token")
        let inFile = try spec(
            Self.target
                + #", tenantId: "\#(Self.tenant)", clientId: "\#(Self.client)", federatedTokenFile: "tokens/t.jwt""#)
        guard
            case .federatedTokenFile(let rel) = try CredentialResolver.logsIngestion(
                inFile, endpointFlag: nil, environment: [:]
            ).credential
        else {
            Issue.record("the federated token file")
            return
        }
        #expect(
            rel.path == inFile.baseDirectory.appendingPathComponent("tokens/t.jwt").standardizedFileURL.path,
            "relative to the pipeline")
    }

    @Test func missingCredentialsSayWhatToSetAndNeverShowASecret() throws {
        let s = try spec(Self.target + #", clientSecret: "${APP_SECRET}""#)
        func failure(_ env: [String: String], _ spec: PipelineSpec? = nil) -> String {
            do {
                _ = try CredentialResolver.logsIngestion(spec ?? s, endpointFlag: nil, environment: env)
                return "no error"
            } catch {
                return error.description
            }
        }
        #expect(
            failure([:]).contains("no Entra ID tenant id: set LOGSHIP_TENANT_ID or AZURE_TENANT_ID or target.tenantId"))
        let noSecret = failure(["LOGSHIP_TENANT_ID": Self.tenant, "LOGSHIP_CLIENT_ID": Self.client])
        #expect(noSecret.contains("no client credential") && noSecret.contains("${APP_SECRET}"))
        #expect(
            failure(["LOGSHIP_TENANT_ID": Self.tenant, "LOGSHIP_CLIENT_ID": "my-app", "LOGSHIP_CLIENT_SECRET": "hush"])
                .contains("is not a GUID"))
        #expect(
            !failure(["LOGSHIP_TENANT_ID": "a/b", "LOGSHIP_CLIENT_ID": Self.client, "LOGSHIP_CLIENT_SECRET": "hush"])
                .contains("hush"))
        #expect(
            failure([
                "LOGSHIP_TENANT_ID": Self.tenant, "LOGSHIP_CLIENT_ID": Self.client, "LOGSHIP_CLIENT_SECRET": "hush",
                "AZURE_AUTHORITY_HOST": "http://login.example.com",
            ])
            .contains("plain http is allowed only to a loopback address"))
    }
}
