import Dispatch
import Foundation
import LogshipCore
import LogshipEmulator
import LogshipSupport

#if canImport(Glibc)
    import Glibc
#endif

enum EmulateCommand {
    static let spec = CommandSpec(
        name: "emulate",
        summary:
            "Serve the Data Collector API, the Logs Ingestion API and its token endpoint on 127.0.0.1: signatures, tokens, limits and status codes checked as the services do; accepted records stored per table or stream.",
        usage:
            "logship emulate [--port N] [--workspace-id ID] [--shared-key KEY] [--tenant-id ID] [--client-id ID] [--client-secret S] [--token-lifetime S] [--dcr FILE] [--data-dir DIR] [--discard] [fault flags]",
        options: [
            OptionSpec(name: "--port", value: "N", help: "Port on 127.0.0.1 (0 picks a free one; default 0)"),
            OptionSpec(
                name: "--workspace-id", value: "ID", help: "Workspace id (default LOGSHIP_WORKSPACE_ID, else a new one)"
            ),
            OptionSpec(
                name: "--shared-key", value: "KEY",
                help: "Base64 key (default LOGSHIP_SHARED_KEY, else a new throw-away key)"),
            OptionSpec(
                name: "--tenant-id", value: "ID",
                help: "Tenant of the token endpoint (default LOGSHIP_TENANT_ID or AZURE_TENANT_ID, else a new one)"),
            OptionSpec(
                name: "--client-id", value: "ID",
                help: "Application (client) id (default LOGSHIP_CLIENT_ID or AZURE_CLIENT_ID, else a new one)"),
            OptionSpec(
                name: "--client-secret", value: "S",
                help: "Client secret (default LOGSHIP_CLIENT_SECRET or AZURE_CLIENT_SECRET, else a throw-away one)"),
            OptionSpec(
                name: "--federated-token-file", value: "FILE",
                help: "Accept as client assertion only this file's contents (default: any JWT-shaped assertion)"),
            OptionSpec(
                name: "--user-assigned-identity", value: "IDS",
                help: "Client ids of user-assigned managed identities the host has (comma-separated)"),
            OptionSpec(
                name: "--no-system-identity", value: nil, help: "The host has no system-assigned managed identity"),
            OptionSpec(
                name: "--arc-key-dir", value: "DIR",
                help: "Answer the metadata path as an Azure Arc agent: challenge keys are written in DIR"),
            OptionSpec(
                name: "--identity-header", value: "S",
                help:
                    "IDENTITY_HEADER of the App Service identity endpoint (default IDENTITY_HEADER, else a throw-away one)"
            ),
            OptionSpec(
                name: "--token-lifetime", value: "S",
                help: "expires_in of issued tokens, in seconds (default 3600); expired tokens get 401"),
            OptionSpec(
                name: "--dcr", value: "FILE",
                help:
                    "The DCR's streams and columns (JSON); undeclared columns are reported. Default: any DCR and stream"
            ),
            OptionSpec(
                name: "--data-dir", value: "DIR",
                help:
                    "Where tables (<LogType>_CL.ndjson), streams (<stream>.ndjson) and stats.json go (default ./emulator-data)"
            ),
            OptionSpec(name: "--discard", value: nil, help: "Verify and count only; store nothing (benchmarks)"),
            OptionSpec(name: "--fail-rate", value: "P", help: "Answer this share of valid requests with a fault (0–1)"),
            OptionSpec(
                name: "--fail-codes", value: "LIST", help: "Status codes for injected faults (default 429,500,503)"),
            OptionSpec(name: "--retry-after", value: "S", help: "Retry-After seconds sent with injected 429/503"),
            OptionSpec(
                name: "--ack-loss-rate", value: "P", help: "Store, then drop the connection without answering (0–1)"),
            OptionSpec(name: "--latency-ms", value: "N", help: "Wait before every answer"),
            OptionSpec(
                name: "--gate-file", value: "FILE",
                help:
                    "For tests: once as many data requests passed as FILE's number says, hold the next (then 503, not stored) until it says more or is gone"
            ),
            OptionSpec(name: "--seed", value: "N", help: "Seed for fault injection (default 1)"),
            OptionSpec(
                name: "--refuse-records-matching", value: "TEXT",
                help: "Refuse (400 InvalidDataFormat) a request holding a record with a string value containing TEXT"),
            OptionSpec(
                name: "--inactive-workspace", value: nil, help: "Answer 400 InactiveCustomer to authorized requests"),
            OptionSpec(
                name: "--dcr-requests-per-minute", value: "N",
                help: "Requests per minute each DCR takes (default 12000, the service's); 429 with Retry-After above"),
            OptionSpec(
                name: "--dcr-bytes-per-minute", value: "N",
                help: "Bytes (as decoded) per minute each DCR takes (default 2000000000, the service's); 429 above"),
            OptionSpec(
                name: "--quota-window-ms", value: "N",
                help:
                    "For tests: the quota's fixed window in milliseconds instead of a minute (Retry-After then has decimals)"
            ),
            OptionSpec(
                name: "--max-body-bytes", value: "N",
                help: "Body size limit (default 30000000, 404 above; Logs Ingestion: at most 1000000, 413 above)"),
        ] + LogOptions.specs,
        details: """
            The first line on stdout is `listening on http://127.0.0.1:PORT`. GET /_emulator/stats returns the counters. Stop with Ctrl-C.
            Logs Ingestion: point target.endpoint and target.authorityHost (or AZURE_AUTHORITY_HOST) at the URL; tokens come from
            POST /<tenant>/oauth2/v2.0/token (client secret, or a client assertion), records go to POST
            /dataCollectionRules/<dcr>/streams/<stream>?api-version=2023-01-01 and are stored as sent.
            Managed identity: GET /metadata/identity/oauth2/token stands in for the instance metadata service (point
            AZURE_POD_IDENTITY_AUTHORITY_HOST at the URL), GET /msi/token for App Service's IDENTITY_ENDPOINT.
            """)

    static func main(_ args: [String]) async throws -> Int32 {
        let p = try ArgumentParser.parse(args, spec)
        if p.has("--help") {
            Console.out(spec.helpText)
            return 0
        }
        guard p.positionals.isEmpty else {
            throw UsageError(description: "logship emulate: unexpected argument \(p.positionals[0])")
        }
        let env = ProcessInfo.processInfo.environment
        let workspace = p.value("--workspace-id") ?? env["LOGSHIP_WORKSPACE_ID"] ?? UUID().uuidString.lowercased()
        var generatedKey = false
        let key: String
        if let k = p.value("--shared-key") ?? env["LOGSHIP_SHARED_KEY"] {
            key = k
        } else {
            var bytes = [UInt8](repeating: 0, count: 64)
            for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
            key = Data(bytes).base64EncodedString()
            generatedKey = true
        }
        var config = EmulatorConfig(workspaceId: workspace, sharedKey: Secret(key))
        config.timeGeneratedClockOffset = try ReferenceClock.offset()
        func fromEnv(_ names: [String]) -> String? { names.lazy.compactMap { env[$0] }.first { !$0.isEmpty } }
        if let t = p.value("--tenant-id") ?? fromEnv(["LOGSHIP_TENANT_ID", "AZURE_TENANT_ID"]) { config.tenantId = t }
        if let c = p.value("--client-id") ?? fromEnv(["LOGSHIP_CLIENT_ID", "AZURE_CLIENT_ID"]) { config.clientId = c }
        var generatedSecret = false
        if let cs = p.value("--client-secret") ?? fromEnv(["LOGSHIP_CLIENT_SECRET", "AZURE_CLIENT_SECRET"]) {
            config.clientSecret = Secret(cs)
        } else {
            generatedSecret = true
        }
        if let f = p.value("--federated-token-file") {
            do {
                let text = try String(contentsOfFile: f, encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines)
                guard !text.isEmpty else {
                    throw UsageError(description: "--federated-token-file \(f): the file is empty")
                }
                config.federatedToken = Secret(text)
            } catch let e as UsageError {
                throw e
            } catch {
                throw UsageError(
                    description: "--federated-token-file \(f): cannot read it (\(error.localizedDescription))")
            }
        }
        if let ids = p.value("--user-assigned-identity") {
            config.userAssignedIdentities = ids.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        config.systemAssignedIdentity = !p.has("--no-system-identity")
        if let d = p.value("--arc-key-dir") {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: d, isDirectory: &isDir), isDir.boolValue else {
                throw UsageError(description: "--arc-key-dir \(d): not a directory")
            }
            config.arcKeyDirectory = URL(fileURLWithPath: d).standardizedFileURL
        }
        var generatedIdentityHeader = false
        if let h = p.value("--identity-header") ?? fromEnv(["IDENTITY_HEADER"]) {
            config.identityHeader = Secret(h)
        } else {
            generatedIdentityHeader = true
        }
        config.tokenLifetimeSeconds = try ArgumentParser.int(p, "--token-lifetime", 1...86_400) ?? 3600
        if let d = p.value("--dcr") {
            do {
                config.dcr = try DCRDeclaration.load(URL(fileURLWithPath: d))
            } catch {
                throw UsageError(description: "logship emulate: --dcr: \(error.description)")
            }
        }
        config.log = { Console.error("logship emulate: \($0)") }
        config.port = UInt16(try ArgumentParser.int(p, "--port", 0...65535) ?? 0)
        config.discard = p.has("--discard")
        config.dataDir = URL(fileURLWithPath: p.value("--data-dir") ?? "emulator-data")
        config.failRate = try ArgumentParser.double(p, "--fail-rate", 0...1) ?? 0
        if let codes = p.value("--fail-codes") {
            var list: [Int] = []
            for c in codes.split(separator: ",") {
                guard let n = Int(c.trimmingCharacters(in: .whitespaces)), (400...599).contains(n) else {
                    throw UsageError(description: "--fail-codes: \"\(c)\" is not an HTTP status between 400 and 599")
                }
                list.append(n)
            }
            config.failCodes = list
        }
        config.retryAfter = try ArgumentParser.double(p, "--retry-after", 0...3600)
        config.ackLossRate = try ArgumentParser.double(p, "--ack-loss-rate", 0...1) ?? 0
        config.latencyMs = try ArgumentParser.int(p, "--latency-ms", 0...600_000) ?? 0
        config.gateFile = p.value("--gate-file").map { URL(fileURLWithPath: $0) }
        config.seed = UInt64(try ArgumentParser.int(p, "--seed", 0...Int.max) ?? 1)
        config.inactiveWorkspace = p.has("--inactive-workspace")
        config.refuseRecordsMatching = p.value("--refuse-records-matching").map { [$0] } ?? []
        config.maxBodyBytes = try ArgumentParser.int(p, "--max-body-bytes", 1...1_000_000_000) ?? config.maxBodyBytes
        var quota = DCRQuota()
        quota.requestsPerWindow =
            try ArgumentParser.int(p, "--dcr-requests-per-minute", 1...1_000_000_000) ?? quota.requestsPerWindow
        quota.bytesPerWindow =
            try ArgumentParser.int(p, "--dcr-bytes-per-minute", 1...1_000_000_000_000) ?? quota.bytesPerWindow
        if let ms = try ArgumentParser.int(p, "--quota-window-ms", 10...3_600_000) {
            quota.windowSeconds = Double(ms) / 1000
            quota.fractionalRetryAfter = true
        }
        config.quota = quota

        let emulator: Emulator
        let url: URL
        do {
            emulator = try Emulator(config: config)
            url = try emulator.start()
        } catch {
            Console.fail("logship emulate: \(error)")
            return ExitCode.usage
        }
        Console.out("listening on \(url.absoluteString)")
        Console.error(
            "logship emulate: workspace \(workspace); \(config.discard ? "discarding records" : "tables in \(config.dataDir!.path)")"
        )
        if generatedKey {
            // A key made up for this emulator only: the client needs it to sign.
            Console.error("logship emulate: no key given; throw-away key for this emulator: \(key)")
        }
        Console.error(
            "logship emulate: token endpoint \(url.absoluteString)/\(config.tenantId)/oauth2/v2.0/token (tenant \(config.tenantId), client \(config.clientId), tokens live \(config.tokenLifetimeSeconds) s)\(config.dcr.map { d in "; DCR \(d.dcrImmutableId ?? "(any id)") with streams \(d.streams.map(\.name).joined(separator: ", "))" } ?? "")"
        )
        let identities =
            (config.systemAssignedIdentity ? ["system-assigned"] : [])
            + config.userAssignedIdentities.map { "user-assigned \($0)" }
        Console.error(
            "logship emulate: managed identity endpoints \(url.absoluteString)/metadata/identity/oauth2/token and \(url.absoluteString)/msi/token (identities: \(identities.isEmpty ? "none" : identities.joined(separator: ", ")))"
        )
        if generatedIdentityHeader {
            Console.error(
                "logship emulate: no identity header given; throw-away IDENTITY_HEADER for this emulator: \(config.identityHeader.value)"
            )
        }
        if generatedSecret {
            // Like the shared key: invented for this emulator, so the client needs to be told it.
            Console.error(
                "logship emulate: no client secret given; throw-away client secret for this emulator: \(config.clientSecret.value)"
            )
        }
        await waitForSignal()
        emulator.stop()
        Console.error("logship emulate: stopped")
        return 0
    }
}

/// Suspends until SIGINT or SIGTERM.
func waitForSignal() async {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
        let once = OnceFlag()
        for sig in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                if once.claim() { c.resume() }
            }
            source.resume()
            SignalSources.keep(source)
        }
    }
}

/// Keeps signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    private static let lock = NSLock()
    static func keep(_ s: DispatchSourceSignal) { lock.withLock { sources.append(s) } }
}

final class OnceFlag: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var done = false
    func claim() -> Bool {
        lock.withLock {
            if done { return false }
            done = true
            return true
        }
    }
}
