import Foundation
import LogshipSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Settings of `logship emulate` (and of the in-process emulator behind `run --local`).
public struct EmulatorConfig: Sendable {
    public var port: UInt16 = 0
    public var workspaceId: String
    public var sharedKey: Secret
    /// Where tables and `stats.json` are written; nil keeps nothing on disk.
    public var dataDir: URL?
    /// Verify and count, store nothing (benchmarks).
    public var discard = false
    /// Probability of answering a valid request with one of `failCodes` instead of storing it.
    public var failRate = 0.0
    public var failCodes: [Int] = [429, 500, 503]
    /// Seconds sent as `Retry-After` with injected 429/503 answers.
    public var retryAfter: Double? = nil
    /// Probability of storing a request and then closing the connection without an answer.
    public var ackLossRate = 0.0
    public var latencyMs = 0
    /// A file holding a number K: once K data requests have passed it, the next ones wait while
    /// the file says so (a larger number, or no file, lets them go) and are then answered 503
    /// without being stored. Tests stop a run after exactly K acknowledgements this way, however
    /// slow the machine: the run cannot get further while the test kills it.
    public var gateFile: URL? = nil
    public var seed: UInt64 = 1
    /// Answer every authorized request with 400 InactiveCustomer (a closed workspace).
    public var inactiveWorkspace = false
    /// Bad data as the service sees it: a request holding a record with a string value that
    /// contains one of these texts is refused whole with 400 InvalidDataFormat (Logs Ingestion:
    /// InvalidPayload), naming the record, and nothing of it is stored.
    public var refuseRecordsMatching: [String] = []
    /// Largest accepted `x-ms-date` difference from the emulator's clock.
    public var clockSkewSeconds = 900.0
    /// Body size limit of the Data Collector API (404 above); the Logs Ingestion API takes
    /// the smaller of this and 1,000,000 (413 above).
    public var maxBodyBytes = 30_000_000
    /// Seconds added to the clock for ingestion time and the TimeGenerated window (`LOGSHIP_NOW`
    /// in the CLI), so a demo over old samples stores the same rows on any date. Signatures and
    /// tokens keep the real clock: they are checked against the client's.
    public var timeGeneratedClockOffset = 0.0

    // Logs Ingestion API and its token service.
    /// The Entra ID tenant the token endpoint answers for (`/{tenantId}/oauth2/v2.0/token`).
    public var tenantId: String
    public var clientId: String
    public var clientSecret: Secret
    /// When set, the only client assertion accepted (the contents of a federated token file);
    /// when nil, any non-empty JWT-shaped assertion (three base64url parts) is.
    public var federatedToken: Secret? = nil
    /// Managed identities of the host the emulator stands in for (its instance metadata
    /// service and App Service identity endpoint): the system-assigned one, and user-assigned
    /// ones by client id.
    public var systemAssignedIdentity = true
    public var userAssignedIdentities: [String] = []
    /// What App Service puts in IDENTITY_HEADER; requests to `/msi/token` must carry it.
    public var identityHeader = Secret(UUID().uuidString)
    /// When set, the metadata path behaves as an Azure Arc agent: challenge keys go here.
    public var arcKeyDirectory: URL? = nil
    /// `expires_in` of issued tokens; a token is refused (401) once it has run out.
    public var tokenLifetimeSeconds = 3600
    /// Scopes the token endpoint grants.
    public var acceptedScopes: Set<String> = [
        "https://monitor.azure.com//.default", "https://management.azure.com/.default",
    ]
    /// The DCR's streams and columns (`--dcr`); nil accepts any DCR id and stream.
    public var dcr: DCRDeclaration? = nil
    /// Per-DCR quota of the Logs Ingestion API (Emulator+Quota.swift); nil: none.
    public var quota: DCRQuota? = DCRQuota()
    /// Notes for the operator (undeclared columns), once per name; stderr in `logship emulate`.
    public var log: (@Sendable (String) -> Void)? = nil

    public init(workspaceId: String, sharedKey: Secret) {
        self.workspaceId = workspaceId
        self.sharedKey = sharedKey
        self.tenantId = UUID().uuidString.lowercased()
        self.clientId = UUID().uuidString.lowercased()
        var bytes = [UInt8](repeating: 0, count: 30)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        self.clientSecret = Secret(Data(bytes).base64EncodedString())
    }

    /// The Logs Ingestion API's body limit here: 1,000,000 bytes unless `maxBodyBytes` is lower.
    public var ingestionMaxBodyBytes: Int { min(maxBodyBytes, EmulatedAPI.logsIngestionMaxBodyBytes) }
}

/// The local stand-in for Log Analytics: verifies requests as the service does and stores
/// what it accepts. See docs/emulator.md and docs/service-facts.md.
public final class Emulator: @unchecked Sendable {
    // All mutable state (store, streams, stats, rng, tokens, request ids) is guarded by `lock`;
    // the server calls `handle` from one thread per connection.
    let lock = NSLock()
    public let config: EmulatorConfig
    private let key: [UInt8]
    private var store: EmulatorStore
    var streams: EmulatorStreams
    var stats = EmulatorStats()
    var rng: SplitMix64
    private var server: HTTPServer?
    let now: @Sendable () -> Date
    /// When the quota windows begin (Emulator+Quota.swift).
    let startedAt: Date
    /// Issued access tokens and when each expires.
    var tokens: [String: Date] = [:]
    /// The resource (audience) each issued token is for: ARM and the ingestion endpoint each
    /// take only their own, as Entra ID's audiences make the services do.
    var tokenAudiences: [String: String] = [:]
    /// Tables and data collection rules created through the ARM endpoints.
    var arm = ARMResources()
    /// Azure Arc challenge keys handed out and not used yet.
    var arcKeys: [String: URL] = [:]
    /// `x-ms-client-request-id` values seen (their count goes to the stats).
    var requestIds: Set<String> = []
    /// Undeclared column names already reported, per stream.
    var reportedUndeclared: Set<String> = []

    public struct ConfigError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(config: EmulatorConfig, now: @escaping @Sendable () -> Date = { Date() }) throws {
        guard let k = Data(base64Encoded: config.sharedKey.value), !k.isEmpty else {
            throw ConfigError(description: "the emulator's shared key must be base64 (e.g. `openssl rand -base64 64`)")
        }
        self.config = config
        self.key = [UInt8](k)
        self.store = try EmulatorStore(dataDir: config.discard ? nil : config.dataDir)
        self.streams = EmulatorStreams(dataDir: config.discard ? nil : config.dataDir)
        self.rng = SplitMix64(seed: config.seed)
        self.now = now
        self.startedAt = now()
        for (name, t) in store.tables { stats.tables[name] = t.rows }
        for (name, s) in streams.streams { stats.streams[name] = s.rows }
    }

    /// Starts serving on 127.0.0.1; returns the base URL (`http://127.0.0.1:PORT`).
    @discardableResult
    public func start() throws -> URL {
        let server = HTTPServer(maxBodyBytes: config.maxBodyBytes) { [self] req in handle(req) }
        let port = try server.start(port: config.port)
        self.server = server
        return URL(string: "http://127.0.0.1:\(port)")!
    }

    public var port: UInt16 { server?.port ?? 0 }

    /// Records in a body as the emulator's JSON check counts them; nil when it would refuse it.
    public static func countRecords(_ body: UnsafeRawBufferPointer) -> Int? { try? EmulatorJSON.countRecords(body) }

    public func stop() {
        server?.stop()
        lock.withLock {
            store.close()
            streams.close()
        }
    }

    public func currentStats() -> EmulatorStats { lock.withLock { stats } }

    /// The schema of a stored table (columns in creation order).
    public func columns(table: String) -> [EmulatorColumn] {
        lock.withLock { store.tables[table]?.columns ?? [] }
    }

    /// The property names records sent to a Logs Ingestion stream carried, in order of first appearance.
    public func keys(stream: String) -> [String] {
        lock.withLock { streams.streams[stream]?.keys ?? [] }
    }

    // MARK: Requests

    func handle(_ req: ServerRequest) -> ServerReply {
        if req.method == "GET", req.path == "/_emulator/stats" {
            let s = currentStats()
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            return .respond(
                status: 200, headers: [("Content-Type", "application/json")],
                body: [UInt8]((try? enc.encode(s)) ?? Data()))
        }
        let reply: ServerReply
        let parts = req.path.split(separator: "/", omittingEmptySubsequences: false).map {
            $0.removingPercentEncoding ?? String($0)
        }
        if req.path == "/api/logs" {
            reply = dataCollector(req)
        } else if req.path == "/metadata/identity/oauth2/token" {
            reply = imdsToken(req)
        } else if req.path == "/msi/token" {
            reply = appServiceToken(req)
        } else if parts.count == 5, parts[0].isEmpty, parts[2] == "oauth2", parts[3] == "v2.0", parts[4] == "token" {
            reply = tokenEndpoint(req, tenant: parts[1])
        } else if parts.count == 5, parts[0].isEmpty, parts[1] == "dataCollectionRules", parts[3] == "streams" {
            reply = ingestion(req, dcr: parts[2], stream: parts[4])
        } else if let armReply = arm(req, parts: parts) {
            reply = armReply
        } else {
            reply = error(404, "NotFound", "No such resource: \(req.path)")
        }
        if case .respond(let status, _, _) = reply {
            lock.withLock {
                stats[.requests] += 1
                stats.byStatus[String(status), default: 0] += 1
            }
            if config.latencyMs > 0 { usleep(UInt32(config.latencyMs) * 1000) }
        } else {
            lock.withLock { stats[.requests] += 1 }
        }
        writeStats()
        return reply
    }

    func error(_ status: Int, _ code: String, _ message: String, headers: [(String, String)] = [])
        -> ServerReply
    {
        if !code.isEmpty { lock.withLock { stats.byErrorCode[code, default: 0] += 1 } }
        var body: [UInt8] = Array("{\"Error\":\"".utf8)
        EmulatorStore.appendEscaped(code, to: &body)
        body += Array("\",\"Message\":\"".utf8)
        EmulatorStore.appendEscaped(message, to: &body)
        body += Array("\"}".utf8)
        return .respond(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    /// `POST /api/logs?api-version=2016-04-01`, checked in the order the service's front door would.
    private func dataCollector(_ req: ServerRequest) -> ServerReply {
        guard req.method == "POST" else { return error(405, "MethodNotAllowed", "Only POST is supported.") }
        if req.bodyTooLarge {
            return error(404, "", "The request is too large (\(req.declaredLength) bytes; the limit is 30,000,000).")
        }
        guard let version = req.query["api-version"] else {
            return error(400, "MissingApiVersion", "The api-version query parameter is required.")
        }
        guard version == EmulatedAPI.dataCollectorVersion else {
            return error(400, "InvalidApiVersion", "The api-version '\(version)' is not supported.")
        }
        guard let contentType = req.header("content-type") else {
            return error(400, "MissingContentType", "The Content-Type header is required.")
        }
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard mediaType.lowercased() == "application/json" else {
            return error(400, "UnsupportedContentType", "The Content-Type must be application/json.")
        }
        guard let logType = req.header("log-type"), !logType.isEmpty else {
            return error(400, "MissingLogType", "The Log-Type header is required.")
        }
        guard Self.isValidLogType(logType) else {
            return error(
                400, "InvalidLogType",
                "The Log-Type '\(logType)' is invalid: letters, digits and underscore, starting with a letter, at most 100 characters."
            )
        }
        guard let auth = req.header("authorization"), auth.hasPrefix("SharedKey "),
            let colon = auth.lastIndex(of: ":")
        else {
            return error(
                403, "InvalidAuthorization",
                "An Authorization header 'SharedKey <workspace id>:<signature>' is required.")
        }
        let customerId = String(auth[auth.index(auth.startIndex, offsetBy: 10)..<colon])
        let signature = String(auth[auth.index(after: colon)...])
        guard EmulatorInference.isGUID(customerId) else {
            return error(400, "InvalidCustomerId", "The workspace id '\(customerId)' is not valid.")
        }
        guard customerId.lowercased() == config.workspaceId.lowercased() else {
            return error(403, "InvalidAuthorization", "The workspace id does not match this workspace.")
        }
        guard let date = req.header("x-ms-date"), let sent = HTTPDate.parse(date) else {
            return error(403, "InvalidAuthorization", "The x-ms-date header is missing or not an RFC 1123 date.")
        }
        let skew = abs(now().timeIntervalSince1970 - Double(sent))
        guard skew <= config.clockSkewSeconds else {
            return error(
                403, "InvalidAuthorization", "The x-ms-date is \(Int(skew)) seconds away from the service's clock.")
        }
        // The service's own string to sign: the bare media type and the byte count it received.
        let toSign = "POST\n\(req.body.count)\napplication/json\nx-ms-date:\(date)\n/api/logs"
        let expected = Crypto.hmacSHA256(key: key, message: Array(toSign.utf8))
        guard let given = Data(base64Encoded: signature), Crypto.constantTimeEquals([UInt8](given), expected) else {
            return error(403, "InvalidAuthorization", "The signature does not match; check the workspace key.")
        }
        if config.inactiveWorkspace {
            return error(400, "InactiveCustomer", "The workspace has been closed.")
        }
        if let reply = gate() { return reply }
        if let reply = injectedFault(api: .dataCollector) { return reply }

        let receivedMillis = Int64((now().timeIntervalSince1970 + config.timeGeneratedClockOffset) * 1000)
        let table = logType + "_CL"
        do {
            if config.discard {
                let n = try req.body.withUnsafeBytes { try EmulatorJSON.countRecords($0) }
                lock.withLock {
                    stats[.records] += n
                    stats[.bytes] += req.body.count
                    stats.tables[table, default: 0] += n
                }
            } else {
                var records: [[(String, EmulatorJSON.Value)]] = []
                _ = try req.body.withUnsafeBytes { try EmulatorJSON.forEachRecord($0) { records.append($0) } }
                if let (k, field) = refusedRecord(records) {
                    return error(
                        400, "InvalidDataFormat",
                        "The record at index \(k) of the body is invalid: the value of '\(field)' cannot be ingested.")
                }
                let timeField = req.header("time-generated-field")
                let resourceId = req.header("x-ms-azureresourceid")
                let duplicates = records.reduce(0) { $0 + EmulatorJSON.duplicateKeys($1) }
                if duplicates > 0, let log = config.log {
                    log(
                        "table \(table): \(duplicates) propert(ies) repeat a name already in the same record; the service keeps one value and drops the rest without a word (counted in stats.json duplicateKeys)"
                    )
                }
                try lock.withLock {
                    let c = try store.store(
                        tableName: table, records: records, timeField: timeField, resourceId: resourceId,
                        receivedMillis: receivedMillis)
                    stats[.records] += records.count
                    stats[.bytes] += req.body.count
                    stats[.truncatedValues] += c.truncated
                    stats[.timeGeneratedReplaced] += c.timeReplaced
                    stats[.droppedColumns] += c.droppedColumns
                    stats[.reservedFieldsDropped] += c.reserved
                    stats[.duplicateKeys] += duplicates
                    stats.tables[table] = store.tables[table]?.rows ?? 0
                }
            }
        } catch let e as EmulatorJSON.SyntaxError {
            return error(400, "InvalidDataFormat", "The body is not valid JSON: \(e.description).")
        } catch {
            return self.error(500, "UnspecifiedError", "The emulator could not store the data: \(error)")
        }
        let lose = lock.withLock { () -> Bool in
            guard config.ackLossRate > 0, rng.nextDouble() < config.ackLossRate else { return false }
            stats[.ackLost] += 1
            return true
        }
        if lose { return .dropConnection }
        return .respond(status: 200, headers: [], body: [])
    }

    /// The first record (index, field name) that `refuseRecordsMatching` refuses, judged on the
    /// values the emulator parsed itself.
    func refusedRecord(_ records: [[(String, EmulatorJSON.Value)]]) -> (Int, String)? {
        guard !config.refuseRecordsMatching.isEmpty else { return nil }
        for (k, members) in records.enumerated() {
            for (name, value) in members {
                guard case .string(let s) = value else { continue }
                if config.refuseRecordsMatching.contains(where: { s.contains($0) }) {
                    lock.withLock { stats[.refusedRecords] += 1 }
                    return (k, name)
                }
            }
        }
        return nil
    }

    /// The gate of `gateFile`: nil to go on, or the 503 a held request gets when it is let go
    /// (its client has usually been killed meanwhile; storing it then would be a duplicate the
    /// test did not ask for). Held at most 120 s.
    func gate() -> ServerReply? {
        guard let file = config.gateFile else { return nil }
        func allowed() -> Int? {
            guard let d = try? Data(contentsOf: file) else { return nil }
            return Int(String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        var held = false
        for _ in 0..<6000 {
            let limit = allowed()
            let pass = lock.withLock { () -> Bool in
                guard let limit, stats[.gatePassed] >= limit else {
                    if !held { stats[.gatePassed] += 1 }
                    return true
                }
                return false
            }
            if pass { break }
            held = true
            usleep(20_000)
        }
        guard held else { return nil }
        lock.withLock { stats[.gateHeld] += 1 }
        return .respond(
            status: 503, headers: [("Retry-After", "1")],
            body: Array(#"{"Error":"Held","Message":"held at the emulator's gate"}"#.utf8))
    }

    /// A fault chosen by `--fail-rate`, with the error body of the API asked.
    func injectedFault(api: EmulatedAPI) -> ServerReply? {
        let code: Int? = lock.withLock {
            guard config.failRate > 0, !config.failCodes.isEmpty, rng.nextDouble() < config.failRate else { return nil }
            stats[.injectedFaults] += 1
            return config.failCodes[Int(rng.next() % UInt64(config.failCodes.count))]
        }
        guard let code else { return nil }
        var headers: [(String, String)] = []
        if let ra = config.retryAfter, code == 429 || code == 503 {
            headers.append(("Retry-After", ra == ra.rounded() ? String(Int(ra)) : String(ra)))
        }
        if api == .logsIngestion { return injectedIngestionFault(code, headers: headers) }
        switch code {
        case 429: return error(429, "", "The service is receiving too much data; retry later.", headers: headers)
        case 500: return error(500, "UnspecifiedError", "The service encountered an internal error.", headers: headers)
        case 503: return error(503, "ServiceUnavailable", "The service is unavailable; retry later.", headers: headers)
        case 400:
            return error(400, "InvalidDataFormat", "Injected fault: the data was refused as invalid.", headers: headers)
        case 403: return error(403, "InvalidAuthorization", "Injected fault: authorization failed.", headers: headers)
        default: return error(code, "Injected", "Injected fault \(code).", headers: headers)
        }
    }

    /// Serialises snapshot and write: with one thread per connection, a thread holding an older
    /// snapshot must not write it after a newer one (the file would go back in time).
    private let statsFileLock = NSLock()

    func writeStats() {
        guard let dir = config.dataDir else { return }
        statsFileLock.withLock {
            let s = currentStats()
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try? PrivateFiles.write(enc.encode(s), to: dir.appendingPathComponent("stats.json"))
        }
    }

    /// Letters, digits and underscore, starting with a letter, at most 100 characters.
    static func isValidLogType(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (1...100).contains(u.count), let first = u.first, isLetter(first) else { return false }
        return u.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    private static func isLetter(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
}

/// A small seeded generator so fault injection repeats for a given `--seed`.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextDouble() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
