import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

/// Secrets from files (docs/commands.md "Credentials"): the chain's order, and what a secret file must be.
@Suite struct SecretFileTests {
    static func key(_ seed: UInt8) -> String {
        Data((0..<64).map { UInt8(truncatingIfNeeded: Int($0) &* 7 &+ Int(seed)) }).base64EncodedString()
    }
    static let workspace = "0b7c3a52-6f1d-4e8a-9c2b-1d5e6f7a8b9c"

    /// Writes `text` to `name` in `dir` with `mode`.
    @discardableResult
    func secretFile(_ dir: TempDir, _ name: String, _ text: String, mode: Int = 0o600) throws -> URL {
        let u = dir.write(name, text)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: u.path)
        return u
    }

    func sharedKey(_ s: PipelineSpec, _ env: [String: String]) throws -> CredentialResolver.DataCollector {
        var e = env
        e["LOGSHIP_WORKSPACE_ID"] = Self.workspace
        return try CredentialResolver.dataCollector(s, endpointFlag: nil, environment: e)
    }

    /// LOGSHIP_SHARED_KEY, then LOGSHIP_SHARED_KEY_FILE, then $CREDENTIALS_DIRECTORY, then the pipeline.
    @Test func theChainsOrder() throws {
        let dir = TempDir("secret-chain")
        defer { dir.cleanup() }
        let (k1, k2, k3, k4) = (Self.key(1), Self.key(2), Self.key(3), Self.key(4))
        let envFile = try secretFile(dir, "env-key", k2 + "\n")
        try secretFile(dir, "creds/logship-shared-key", k3)
        let s = try targetSpec(dir, #"logType: "A", sharedKey: "\#(k4)""#)
        let creds = dir.file("creds").path
        #expect(try sharedKey(s, ["LOGSHIP_SHARED_KEY": k1, "CREDENTIALS_DIRECTORY": creds]).sharedKey.value == k1)
        #expect(
            try sharedKey(s, ["LOGSHIP_SHARED_KEY_FILE": envFile.path, "CREDENTIALS_DIRECTORY": creds]).sharedKey.value
                == k2)
        #expect(try sharedKey(s, ["CREDENTIALS_DIRECTORY": creds]).sharedKey.value == k3)
        #expect(try sharedKey(s, [:]).sharedKey.value == k4)
        // A credentials directory without logship's credential (another unit's) is passed over.
        #expect(try sharedKey(s, ["CREDENTIALS_DIRECTORY": dir.file("elsewhere").path]).sharedKey.value == k4)
        // target.sharedKeyFile, relative to the pipeline's folder, comes last like target.sharedKey.
        let inFile = try targetSpec(dir, #"logType: "A", sharedKeyFile: "keys/shared""#)
        try secretFile(dir, "keys/shared", k4 + "\n\n")
        #expect(try sharedKey(inFile, [:]).sharedKey.value == k4)
        #expect(try sharedKey(inFile, ["CREDENTIALS_DIRECTORY": creds]).sharedKey.value == k3)
    }

    @Test func theClientSecretsChain() throws {
        let dir = TempDir("secret-chain")
        defer { dir.cleanup() }
        let target =
            #"api: "logs-ingestion", endpoint: "https://app-dce.westeurope-1.ingest.monitor.azure.com", dcrImmutableId: "dcr-0123456789abcdef0123456789abcdef", stream: "Custom-AppLogs", tenantId: "0b7c3a52-6f1d-4e8a-9c2b-1d5e6f7a8b9c", clientId: "1b7c3a52-6f1d-4e8a-9c2b-1d5e6f7a8b9c""#
        let envFile = try secretFile(dir, "env-secret", "from-env-file\r\n")
        try secretFile(dir, "creds/logship-client-secret", "from-credentials")
        try secretFile(dir, "secret.txt", "from-pipeline-file\n")
        let s = try targetSpec(dir, target + #", clientSecretFile: "secret.txt""#)
        func secret(_ env: [String: String]) throws -> String {
            guard
                case .clientSecret(let x) = try CredentialResolver.logsIngestion(s, endpointFlag: nil, environment: env)
                    .credential
            else { return "not a secret" }
            return x.value
        }
        let creds = dir.file("creds").path
        #expect(
            try secret(["AZURE_CLIENT_SECRET": "from-azure", "LOGSHIP_CLIENT_SECRET_FILE": envFile.path])
                == "from-azure")
        #expect(
            try secret(["LOGSHIP_CLIENT_SECRET_FILE": envFile.path, "CREDENTIALS_DIRECTORY": creds]) == "from-env-file")
        #expect(
            try secret(["CREDENTIALS_DIRECTORY": creds, "AZURE_FEDERATED_TOKEN_FILE": "/var/run/t.jwt"])
                == "from-credentials")
        #expect(try secret([:]) == "from-pipeline-file")
    }

    @Test func aKeyAndItsFileInOnePlaceIsAnError() throws {
        let dir = TempDir("secret-both")
        defer { dir.cleanup() }
        let url = dir.write(
            "p.json5",
            #"{ version: 1, source: { files: ["a"], format: "ndjson" }, target: { logType: "A", sharedKey: "${K}", sharedKeyFile: "k" } }"#
        )
        let r = PipelineLoader(environment: [:]).load(url)
        #expect(r.spec == nil)
        #expect(
            r.errors.map(\.description) == [
                "p.json5:1:117: target.sharedKeyFile: target.sharedKey and target.sharedKeyFile are both set; keep one (the file keeps the secret out of the pipeline)"
            ])
        let li = dir.write(
            "q.json5",
            #"{ version: 1, source: { files: ["a"], format: "ndjson" }, target: { api: "logs-ingestion", endpoint: "https://x.ingest.monitor.azure.com", dcrImmutableId: "dcr-0123456789abcdef0123456789abcdef", stream: "Custom-A", clientSecret: "${S}", clientSecretFile: "s" } }"#
        )
        #expect(
            PipelineLoader(environment: [:]).load(li).errors.map(\.message) == [
                "target.clientSecret and target.clientSecretFile are both set; keep one (the file keeps the secret out of the pipeline)"
            ])
        let s = try targetSpec(dir, #"logType: "A""#)
        let f = try secretFile(dir, "k", Self.key(1))
        #expect(
            errorText { _ = try sharedKey(s, ["LOGSHIP_SHARED_KEY": Self.key(2), "LOGSHIP_SHARED_KEY_FILE": f.path]) }
                == "LOGSHIP_SHARED_KEY and LOGSHIP_SHARED_KEY_FILE are both set; unset one of them")
    }

    /// The file keys are credential keys: an unset `${VAR}` in them waits for the environment, and a
    /// managed identity takes no client secret from a file either.
    @Test func theFileKeysAreCredentialKeys() throws {
        let dir = TempDir("secret-keys")
        defer { dir.cleanup() }
        let li =
            #"api: "logs-ingestion", endpoint: "https://x.ingest.monitor.azure.com", dcrImmutableId: "dcr-0123456789abcdef0123456789abcdef", stream: "Custom-A""#
        for target in [#"logType: "A", sharedKeyFile: "${KEY_PATH}""#, li + #", clientSecretFile: "${SECRET_PATH}""#] {
            let url = dir.write(
                "p.json5", #"{ version: 1, source: { files: ["a"], format: "ndjson" }, target: { \#(target) } }"#)
            #expect(PipelineLoader(environment: [:]).load(url).problems.isEmpty, "\(target)")
        }
        let url = dir.write(
            "m.json5",
            #"{ version: 1, source: { files: ["a"], format: "ndjson" }, target: { \#(li), managedIdentity: true, clientSecretFile: "s" } }"#
        )
        #expect(
            PipelineLoader(environment: [:]).load(url).errors.map(\.message) == [
                "true together with target.clientSecretFile; choose one credential"
            ])
    }

    @Test func trailingNewlinesAreTrimmedAndNothingElse() throws {
        let dir = TempDir("secret-file")
        defer { dir.cleanup() }
        for (text, want) in [
            ("abc\n", "abc"), ("abc\n\n\n", "abc"), ("abc\r\n", "abc"), ("abc", "abc"), (" a b \n", " a b "),
            ("a\nb\n", "a\nb"),
        ] {
            let f = try secretFile(dir, "s", text)
            #expect(try SecretFile.read(f.path, origin: "X").secret.value == want)
        }
    }

    @Test func aSecretFileMustBeASmallNonEmptyRegularFile() throws {
        let dir = TempDir("secret-file")
        defer { dir.cleanup() }
        func error(_ path: String) -> String {
            errorText { _ = try SecretFile.read(path, origin: "target.sharedKeyFile") }
        }
        #expect(error(dir.url.path) == "target.sharedKeyFile: \(dir.url.path): not a regular file")
        let fifo = dir.file("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(error(fifo) == "target.sharedKeyFile: \(fifo): not a regular file", "a FIFO must not block the start")
        #expect(
            error(dir.file("nope").path)
                == "target.sharedKeyFile: \(dir.file("nope").path): cannot read it: No such file or directory")
        let empty = try secretFile(dir, "empty", "")
        #expect(error(empty.path) == "target.sharedKeyFile: \(empty.path): empty")
        let newline = try secretFile(dir, "newline", "\n\n")
        #expect(error(newline.path) == "target.sharedKeyFile: \(newline.path): empty")
        let limit = try secretFile(dir, "limit", String(repeating: "k", count: 64 * 1024))
        #expect(try SecretFile.read(limit.path, origin: "X").secret.value.count == 64 * 1024)
        let big = try secretFile(dir, "big", String(repeating: "k", count: 64 * 1024 + 1))
        #expect(
            error(big.path) == "target.sharedKeyFile: \(big.path): 65537 bytes; a secret file holds at most 65536 bytes"
        )
        // Symlinks are followed (Kubernetes secret volumes are made of them).
        try FileManager.default.createSymbolicLink(atPath: dir.file("link").path, withDestinationPath: limit.path)
        #expect(try SecretFile.read(dir.file("link").path, origin: "X").secret.value.count == 64 * 1024)
        // Unreadable: root reads anything, so this half needs an ordinary user.
        if getuid() != 0 {
            let locked = try secretFile(dir, "locked", "k", mode: 0o000)
            #expect(error(locked.path) == "target.sharedKeyFile: \(locked.path): cannot read it: Permission denied")
        }
    }

    @Test func aFileOthersCanReadWorksWithAWarning() throws {
        let dir = TempDir("secret-file")
        defer { dir.cleanup() }
        let s = try targetSpec(dir, #"logType: "A", sharedKeyFile: "k""#)
        let f = try secretFile(dir, "k", Self.key(5), mode: 0o644)
        let c = try sharedKey(s, [:])
        #expect(c.sharedKey.value == Self.key(5))
        #expect(c.warnings == ["target.sharedKeyFile: \(f.path) is readable by others (mode 644); chmod 600 it"])
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: f.path)
        #expect(
            try sharedKey(s, [:]).warnings == [
                "target.sharedKeyFile: \(f.path) is readable by its group (mode 640); chmod 600 it"
            ])
        for mode in [0o600, 0o400] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: f.path)
            #expect(try sharedKey(s, [:]).warnings.isEmpty)
        }
    }

    /// A file holding the wrong thing is named, its contents never shown.
    @Test func errorsNameTheFileNeverItsContents() throws {
        let dir = TempDir("secret-file")
        defer { dir.cleanup() }
        let contents = "-----BEGIN PRIVATE KEY----- not a shared key"
        let f = try secretFile(dir, "wrong", contents)
        let s = try targetSpec(dir, #"logType: "A""#)
        let message = errorText { _ = try sharedKey(s, ["LOGSHIP_SHARED_KEY_FILE": f.path]) }
        #expect(
            message
                == "the shared key (from LOGSHIP_SHARED_KEY_FILE) is not valid base64; copy the workspace's primary or secondary key"
        )
        #expect(!message.contains("PRIVATE"))
        let unset = try targetSpec(dir, #"logType: "A", sharedKeyFile: "${KEY_PATH}""#)
        #expect(
            errorText { _ = try sharedKey(unset, [:]) }.contains(
                "target.sharedKeyFile: environment variable KEY_PATH is not set"))
        #expect(
            errorText { _ = try sharedKey(s, [:]) }.contains(
                "LOGSHIP_SHARED_KEY_FILE, target.sharedKeyFile or the systemd credential logship-shared-key"))
        #expect(
            "\(try sharedKey(s, ["LOGSHIP_SHARED_KEY_FILE": try secretFile(dir, "ok", Self.key(9)).path]).sharedKey)"
                == "<redacted>")
    }
}
