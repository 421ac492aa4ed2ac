import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

/// `TargetFactory`: each target kind built from a small pipeline and an injected environment
/// (no network), and the credential the chain chooses.
@Suite struct TargetFactoryTests {
    static let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    static let client = "0c6d5a4e-8b1f-4a73-9e2d-3f1b2c4d5e6f"
    static let workspace = "0b7c3a52-6f1d-4e8a-9c2b-1d5e6f7a8b9c"
    static let key = Data((0..<64).map { UInt8($0) }).base64EncodedString()
    static let dcr = "dcr-0123456789abcdef0123456789abcdef"
    static let logsIngestion =
        #"api: "logs-ingestion", endpoint: "https://app-dce.westeurope-1.ingest.monitor.azure.com", "#
        + #"dcrImmutableId: "\#(dcr)", stream: "Custom-AppLogs""#
    static let ids = ["LOGSHIP_TENANT_ID": tenant, "LOGSHIP_CLIENT_ID": client]

    func build(
        _ s: PipelineSpec, _ env: [String: String], endpoint: String? = nil, placeholder: Bool = false,
        scope: String? = nil
    ) throws -> TargetFactory.Built {
        try TargetFactory.make(
            s, endpoint: endpoint, environment: env, placeholderCredentials: placeholder, scope: scope)
    }

    /// Which credential a logs-ingestion target got, by name (and its secret's value).
    func credential(_ b: TargetFactory.Built) -> String {
        guard case .logsIngestion(let c) = b.credentials else { return "not logs-ingestion" }
        switch c.credential {
        case .clientSecret(let s): return "secret:\(s.value)"
        case .federatedTokenFile(let u): return "federated:\(u.lastPathComponent)"
        case .managedIdentity: return "managed identity"
        case .azureCLI: return "az"
        }
    }

    @Test func dataCollectorTarget() throws {
        let dir = TempDir("factory-dc")
        defer { dir.cleanup() }
        let s = try targetSpec(dir, #"logType: "AppLogs""#)
        let env = ["LOGSHIP_WORKSPACE_ID": Self.workspace, "LOGSHIP_SHARED_KEY": Self.key]
        let b = try build(s, env)
        let t = try #require(b.target as? DataCollectorTarget)
        #expect(t.logType == "AppLogs")
        #expect(t.url.absoluteString.hasPrefix("https://\(Self.workspace).ods.opinsights.azure.com/"))
        #expect(b.destination == "data-collector \(Self.workspace) AppLogs_CL")
        guard case .dataCollector(let c) = b.credentials else {
            Issue.record("data-collector credentials")
            return
        }
        #expect(c.sharedKey.value == Self.key)
        // An endpoint from the flag or the environment is named in the destination.
        #expect(
            try build(s, env, endpoint: "http://127.0.0.1:9999").destination
                == "data-collector \(Self.workspace) AppLogs_CL at http://127.0.0.1:9999")
        var moved = env
        moved["LOGSHIP_ENDPOINT"] = "http://127.0.0.1:9998"
        #expect(try build(s, moved).destination.hasSuffix(" at http://127.0.0.1:9998"))
        // Without a key: the chain's error, unless a dry run asks for placeholders.
        #expect(errorText { _ = try build(s, [:]) }.contains("no workspace id: set LOGSHIP_WORKSPACE_ID"))
        let dry = try build(s, [:], placeholder: true)
        #expect(dry.destination == "data-collector 00000000-0000-0000-0000-000000000000 AppLogs_CL")
    }

    @Test func logsIngestionTargets() throws {
        let dir = TempDir("factory-li")
        defer { dir.cleanup() }
        let s = try targetSpec(dir, Self.logsIngestion)
        var env = Self.ids
        env["LOGSHIP_CLIENT_SECRET"] = "s1"
        let b = try build(s, env)
        let t = try #require(b.target as? LogsIngestionTarget)
        #expect(t.dcrImmutableId == Self.dcr && t.stream == "Custom-AppLogs")
        #expect(
            b.destination == "logs-ingestion app-dce.westeurope-1.ingest.monitor.azure.com \(Self.dcr) Custom-AppLogs")
        guard case .logsIngestion(let c) = b.credentials else {
            Issue.record("logs-ingestion credentials")
            return
        }
        #expect(c.scope == "https://monitor.azure.com//.default")
        #expect(c.authorityHost.absoluteString == "https://login.microsoftonline.com")
        // Another scope (dcr --apply asks for ARM's).
        let armScope = "https://management.azure.com//.default"
        guard case .logsIngestion(let arm) = try build(s, env, scope: armScope).credentials else {
            Issue.record("logs-ingestion credentials")
            return
        }
        #expect(arm.scope == armScope)
        // Several DCRs of one stream: one target each, spread.
        let two = "dcr-11111111111111111111111111111111"
        let spread = try targetSpec(
            dir,
            Self.logsIngestion.replacingOccurrences(
                of: #"dcrImmutableId: "\#(Self.dcr)""#, with: #"dcrImmutableId: ["\#(Self.dcr)", "\#(two)"]"#))
        let st = try #require(try build(spread, env).target as? SpreadTarget)
        #expect(st.members.compactMap { ($0 as? LogsIngestionTarget)?.dcrImmutableId } == [Self.dcr, two])
        // Nothing in the chain: its error, or a dry run's placeholders (never a token).
        let empty = ["PATH": ""]
        #expect(errorText { _ = try build(s, empty) }.contains("no Entra ID tenant id"))
        #expect(
            try build(s, empty, placeholder: true).destination == "logs-ingestion 127.0.0.1 \(Self.dcr) Custom-AppLogs")
        // A pipeline without a stream fails before any credential is looked at.
        var noStream = s
        noStream.target.stream = nil
        #expect(
            errorText { _ = try build(noStream, env) }
                == "target: dcrImmutableId, stream and a known cloud are required for api \"logs-ingestion\"")
    }

    /// The client secret (value, then its file), then the federated token file, then the Azure
    /// CLI; `managedIdentity: true` before all of them.
    @Test func theCredentialChainsOrder() throws {
        let dir = TempDir("factory-chain")
        defer { dir.cleanup() }
        let s = try targetSpec(dir, Self.logsIngestion)
        let secretFile = dir.write("secret", "from-file\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secretFile.path)
        let az = dir.write("bin/az", "#!/bin/sh\nexit 1\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: az.path)
        let token = dir.write("token.jwt", "x")
        let path = ["PATH": dir.file("bin").path]
        func with(_ extra: [String: String]) -> [String: String] {
            Self.ids.merging(path) { a, _ in a }.merging(extra) { _, b in b }
        }

        #expect(
            credential(try build(s, with(["LOGSHIP_CLIENT_SECRET": "s1", "LOGSHIP_CLIENT_SECRET_FILE": ""])))
                == "secret:s1")
        #expect(
            credential(try build(s, with(["AZURE_CLIENT_SECRET": "s2", "AZURE_FEDERATED_TOKEN_FILE": token.path])))
                == "secret:s2")
        #expect(
            credential(
                try build(
                    s,
                    with([
                        "LOGSHIP_CLIENT_SECRET_FILE": secretFile.path,
                        "AZURE_FEDERATED_TOKEN_FILE": token.path,
                    ]))) == "secret:from-file")
        // The value variables before the `_FILE` one.
        let valueAndFile = ["AZURE_CLIENT_SECRET": "s2", "LOGSHIP_CLIENT_SECRET_FILE": secretFile.path]
        #expect(credential(try build(s, with(valueAndFile))) == "secret:s2")
        #expect(credential(try build(s, with(["AZURE_FEDERATED_TOKEN_FILE": token.path]))) == "federated:token.jwt")
        // Nothing configured and `az` on PATH: the Azure CLI's sign-in.
        #expect(credential(try build(s, with([:]))) == "az")
        #expect(credential(try build(s, with(["LOGSHIP_AZ_PATH": az.path, "PATH": ""]))) == "az")
        // Without `az`, the chain says what to set.
        #expect(errorText { _ = try build(s, with(["PATH": ""])) }.contains("no client credential"))
        // A managed identity is what the pipeline asks for, whatever the environment holds.
        let mi = try targetSpec(dir, Self.logsIngestion + ", managedIdentity: true")
        #expect(credential(try build(mi, with(["LOGSHIP_CLIENT_SECRET": "s1"]))) == "managed identity")
        #expect(credential(try build(mi, with([:]))) == "managed identity")
    }

    /// The built target is wired: its token request carries the chosen secret to the chosen
    /// authority, and both go through the chosen transport.
    @Test func theTargetSendsWithTheChosenCredential() async throws {
        let dir = TempDir("factory-send")
        defer { dir.cleanup() }
        let s = try targetSpec(dir, Self.logsIngestion)
        let service = LogsIngestionTargetTests.Service()
        let chosen = Chosen()
        var env = Self.ids
        env["LOGSHIP_CLIENT_SECRET"] = "the-secret"
        env["AZURE_AUTHORITY_HOST"] = "https://login.example.test"
        let b = try TargetFactory.make(
            s, endpoint: nil, environment: env, placeholderCredentials: false,
            transport: { url, n in
                chosen.add("\(url.host ?? "?") \(n)")
                return service
            })
        #expect(await b.target.send(body: Data("[{\"a\":1}]".utf8)) == .acknowledged(status: 204))
        let tokenRequest = try #require(service.tokens.requests.first)
        #expect(tokenRequest.url.absoluteString == "https://login.example.test/\(Self.tenant)/oauth2/v2.0/token")
        #expect(tokenRequest.form["client_secret"] == "the-secret")
        #expect(tokenRequest.form["client_id"] == Self.client)
        #expect(service.ingestion.requests.count == 1)
        #expect(
            chosen.all.sorted() == [
                "app-dce.westeurope-1.ingest.monitor.azure.com \(s.upload.concurrency)",
                "login.example.test 1",
            ])
    }

    @Test func localCredentialsAreUsedAsGiven() throws {
        let dir = TempDir("factory-local")
        defer { dir.cleanup() }
        let s = try targetSpec(dir, #"logType: "AppLogs""#)
        let url = URL(string: "http://127.0.0.1:9997")!
        let local = TargetFactory.Credentials.dataCollector(
            CredentialResolver.DataCollector(workspaceId: Self.workspace, sharedKey: Secret(Self.key), baseURL: url))
        let b = try TargetFactory.make(s, endpoint: nil, environment: [:], placeholderCredentials: false, local: local)
        #expect(b.destination == "local emulator")
        #expect((b.target as? DataCollectorTarget)?.url.absoluteString.hasPrefix("http://127.0.0.1:9997/") == true)
    }

    /// `validate`'s line on credentials: the chain's choice without a secret, or why there is none.
    @Test func theCredentialCheckNamesTheChoiceOrWhyNone() throws {
        let dir = TempDir("factory-check")
        defer { dir.cleanup() }
        let dc = try targetSpec(dir, #"logType: "AppLogs""#)
        let dcEnv = ["LOGSHIP_WORKSPACE_ID": Self.workspace, "LOGSHIP_SHARED_KEY": Self.key]
        #expect(
            TargetFactory.checkCredentials(dc, environment: dcEnv)
                == .init(
                    summary: "workspace \(Self.workspace), endpoint https://\(Self.workspace).ods.opinsights.azure.com",
                    warnings: []))
        let none = TargetFactory.checkCredentials(dc, environment: [:])
        #expect(none.summary.hasPrefix("credentials not set here (no workspace id: set LOGSHIP_WORKSPACE_ID"))
        #expect(none.summary.hasSuffix("; `run --local` needs none") && none.warnings.isEmpty)
        let li = try targetSpec(dir, Self.logsIngestion)
        var env = Self.ids
        env["LOGSHIP_CLIENT_SECRET"] = "the-secret"
        let check = TargetFactory.checkCredentials(li, environment: env)
        #expect(
            check.summary
                == "tenant \(Self.tenant), client \(Self.client) (client secret), endpoint "
                + "https://app-dce.westeurope-1.ingest.monitor.azure.com, tokens from https://login.microsoftonline.com"
        )
        #expect(!check.summary.contains("the-secret"))
    }
}

/// What the transport choice was asked for.
final class Chosen: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []  // guarded by `lock`
    func add(_ s: String) { lock.withLock { items.append(s) } }
    var all: [String] { lock.withLock { items } }
}
