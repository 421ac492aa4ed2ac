import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

@Suite(.serialized) struct LogsIngestionTargetTests {
    static let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    static let client = "0c6d5a4e-8b1f-4a73-9e2d-3f1b2c4d5e6f"
    /// Fifty records: large enough that gzip shrinks it.
    static let body = Data(
        ("["
            + (0..<50).map { "{\"TimeGenerated\":\"2026-11-23T10:00:00.000Z\",\"Message\":\"Grüße 東京\",\"n\":\($0)}" }
            .joined(separator: ",") + "]").utf8)

    /// One transport answers both the token service and the ingestion endpoint, by URL.
    final class Service: HTTPTransport, Sendable {
        let tokens: ScriptedTransport
        let ingestion: ScriptedTransport
        init(
            _ answers: [Result<HTTPResponse, TransportError>] = [],
            fallback: Result<HTTPResponse, TransportError> = .success(HTTPResponse(status: 204)),
            tokens: ScriptedTransport = ScriptedTransport([], fallback: ScriptedTransport.token("tok"))
        ) {
            ingestion = ScriptedTransport(answers, fallback: fallback)
            self.tokens = tokens
        }
        func post(url: URL, headers: [(String, String)], body: Data, timeout: Double) async throws(TransportError)
            -> HTTPResponse
        {
            url.path.hasSuffix("/token")
                ? try await tokens.post(url: url, headers: headers, body: body, timeout: timeout)
                : try await ingestion.post(url: url, headers: headers, body: body, timeout: timeout)
        }
        func get(url: URL, headers: [(String, String)], timeout: Double) async throws(TransportError) -> HTTPResponse {
            try await tokens.get(url: url, headers: headers, timeout: timeout)
        }
    }

    func target(_ s: Service, compress: Bool = true, maxBodyBytes: Int = 1_000_000) -> LogsIngestionTarget {
        let tokens = TokenProvider(
            authorityHost: URL(string: "https://login.microsoftonline.com")!, tenantId: Self.tenant,
            clientId: Self.client,
            credential: .clientSecret(Secret("the-secret")), scope: "https://monitor.azure.com//.default", transport: s)
        return LogsIngestionTarget(
            endpoint: URL(string: "https://app-dce.westeurope-1.ingest.monitor.azure.com/")!,
            dcrImmutableId: "dcr-0123456789abcdef0123456789abcdef",
            stream: "Custom-AppLogs", tokens: tokens, transport: s, compress: compress, maxBodyBytes: maxBodyBytes)
    }

    @Test func buildsTheDocumentedRequest() async throws {
        let s = Service()
        let t = target(s)
        #expect(await t.send(body: Self.body) == .acknowledged(status: 204))
        let r = try #require(s.ingestion.requests.first)
        #expect(
            r.url.absoluteString
                == "https://app-dce.westeurope-1.ingest.monitor.azure.com/dataCollectionRules/dcr-0123456789abcdef0123456789abcdef/streams/Custom-AppLogs?api-version=2023-01-01"
        )
        #expect(r.header("Authorization") == "Bearer tok")
        #expect(r.header("Content-Type") == "application/json")
        #expect(r.header("Content-Encoding") == "gzip")
        #expect(UUID(uuidString: r.header("x-ms-client-request-id") ?? "") != nil)
        // The body decodes to exactly what the engine handed over.
        #expect(EmulatorGzip.decode(r.body, limit: 1_000_000) == .success([UInt8](Self.body)))
        #expect(!t.displayName.contains("the-secret") && !t.displayName.contains("tok"))
        _ = await t.send(body: Self.body)
        #expect(s.ingestion.requests.count == 2)
        #expect(
            s.ingestion.requests[0].header("x-ms-client-request-id")
                != s.ingestion.requests[1].header("x-ms-client-request-id"), "a new id per request")
        #expect(s.tokens.requests.count == 1, "one token for both")
    }

    @Test func compressionOffSendsTheBodyAsItIs() async throws {
        let s = Service()
        #expect(await target(s, compress: false).send(body: Self.body) == .acknowledged(status: 204))
        #expect(s.ingestion.requests[0].header("Content-Encoding") == nil)
        #expect(s.ingestion.requests[0].body == [UInt8](Self.body))
    }

    /// gzip that does not shrink the body is not used: the limit counts the bytes sent.
    @Test func incompressibleBodiesGoUncompressed() async throws {
        var rng = SystemRandomNumberGenerator()
        let noise = (0..<3000).map { _ in String(UInt64.random(in: 0...UInt64.max, using: &rng), radix: 36) }.joined()
        let body = Data("[{\"x\":\"\(noise.prefix(40))\"}]".utf8)
        let s = Service()
        _ = await target(s).send(body: body)
        #expect(s.ingestion.requests[0].header("Content-Encoding") == nil)
        #expect(s.ingestion.requests[0].body == [UInt8](body))
    }

    @Test func neverAboveOneMillionBytes() {
        #expect(target(Service(), maxBodyBytes: 25_000_000).maxBodyBytes == 1_000_000)
        #expect(target(Service(), maxBodyBytes: 500_000).maxBodyBytes == 500_000)
    }

    @Test func answersAreClassified() {
        func c(_ status: Int, _ body: String = "", _ headers: [String: String] = [:]) -> DeliveryOutcome {
            LogsIngestionTarget.classify(HTTPResponse(status: status, headers: headers, body: Array(body.utf8)))
        }
        #expect(c(204) == .acknowledged(status: 204))
        #expect(
            c(429, #"{"error":{"code":"TooManyRequests","message":"slow down"}}"#, ["retry-after": "12"])
                == .transient(status: 429, retryAfter: 12, reason: "429 TooManyRequests"))
        #expect(c(503, "", ["retry-after": "3"]) == .transient(status: 503, retryAfter: 3, reason: "HTTP 503"))
        #expect(c(500) == .transient(status: 500, retryAfter: nil, reason: "HTTP 500"))
        guard
            case .tooLarge(413, let why) = c(
                413,
                #"{"error":{"code":"ContentLengthLimitExceeded","message":"Maximum allowed content length: 1048576 bytes (1 MB)."}}"#
            )
        else {
            Issue.record("413 is too large")
            return
        }
        #expect(why.contains("ContentLengthLimitExceeded"))
        #expect(
            c(400, #"{"error":{"code":"InvalidPayload","message":"bad"}}"#)
                == .permanent(status: 400, code: "InvalidPayload", reason: "bad"))
        guard
            case .fatal(400, "InvalidStream", _) = c(
                400, #"{"error":{"code":"InvalidStream","message":"no such stream"}}"#)
        else {
            Issue.record("a stream the DCR does not have stops the run")
            return
        }
        guard
            case .fatal(403, "OperationFailed", let r403) = c(
                403,
                #"{"error":{"code":"OperationFailed","message":"The authentication token provided does not have access"}}"#
            )
        else {
            Issue.record("403 stops the run")
            return
        }
        #expect(r403.contains("Monitoring Metrics Publisher"))
        guard case .fatal(401, _, _) = c(401), case .fatal(404, _, _) = c(404) else {
            Issue.record("401 (after the refresh) and 404 stop the run")
            return
        }
    }

    /// The acceptance: an expired token's 401 is followed by exactly one refresh and one retry.
    @Test func a401RefreshesTheTokenOnceAndRetries() async throws {
        let s = Service([ScriptedTransport.json(401, #"{"error":{"code":"InvalidToken","message":"expired"}}"#)])
        s.tokens.delayNanoseconds = 0
        let t = target(s)
        #expect(await t.send(body: Self.body) == .acknowledged(status: 204))
        #expect(s.tokens.requests.count == 2)
        #expect(s.ingestion.requests.count == 2)
    }

    @Test func aSecond401StopsTheRunWithTheRequestId() async throws {
        let refused = ScriptedTransport.json(
            401, #"{"error":{"code":"InvalidToken","message":"not for this audience"}}"#)
        let s = Service([refused, refused, refused])
        let outcome = await target(s).send(body: Self.body)
        guard case .fatal(401, "InvalidToken", let reason) = outcome else {
            Issue.record("got \(outcome)")
            return
        }
        #expect(s.tokens.requests.count == 2, "one refresh, not a storm")
        #expect(s.ingestion.requests.count == 2)
        let id = s.ingestion.requests[1].header("x-ms-client-request-id") ?? "?"
        #expect(reason.contains("x-ms-client-request-id \(id)"))
    }

    @Test func aRefusedTokenRequestIsFatalWithTheServiceText() async throws {
        let refusal =
            #"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#
        let s = Service(tokens: ScriptedTransport([ScriptedTransport.json(401, refusal)]))
        let outcome = await target(s).send(body: Self.body)
        guard case .fatal(401, "invalid_client", let reason) = outcome else {
            Issue.record("got \(outcome)")
            return
        }
        #expect(reason.contains("AADSTS7000215"))
        #expect(!reason.contains("the-secret"))
        #expect(s.ingestion.requests.isEmpty, "nothing is sent without a token")
        // Retried as a fatal outcome would be: not at all.
        #expect(
            RetryPolicy(maxAttempts: 10).decide(outcome, attempt: 1, records: 1, random: 0.5)
                == .stopRun(reason: "401 invalid_client: \(reason)"))
    }

    @Test func anUnreachableTokenServiceIsAnOutageAndNotALostAnswer() async throws {
        let s = Service(tokens: ScriptedTransport([.failure(.cannotConnect("connection refused"))]))
        guard case .unreachable(let reason, mayHaveArrived: false) = await target(s).send(body: Self.body) else {
            Issue.record("expected an unreachable outcome that cannot have arrived")
            return
        }
        #expect(reason.hasPrefix("cannot connect"))
        #expect(s.ingestion.requests.isEmpty)
    }

    // MARK: Against the in-process emulator

    struct Local {
        let emulator: Emulator
        let url: URL
        let dir: TempDir
        let config: EmulatorConfig
        init(clock: TestClock? = nil, _ configure: (inout EmulatorConfig) -> Void = { _ in }) throws {
            let (w, k) = testCredentials()
            dir = TempDir("ingestion")
            var c = EmulatorConfig(workspaceId: w, sharedKey: k)
            c.dataDir = dir.url
            configure(&c)
            config = c
            if let clock {
                emulator = try Emulator(config: c, now: { clock.now })
            } else {
                emulator = try Emulator(config: c)
            }
            url = try emulator.start()
        }
        func target(clock: (@Sendable () -> Date)? = nil, compress: Bool = true) -> (LogsIngestionTarget, TokenProvider)
        {
            let tokens = TokenProvider(
                authorityHost: url, tenantId: config.tenantId, clientId: config.clientId,
                credential: .clientSecret(config.clientSecret),
                scope: "https://monitor.azure.com//.default", transport: SocketHTTPTransport(),
                clock: clock ?? { Date() })
            return (
                LogsIngestionTarget(
                    endpoint: url, dcrImmutableId: "dcr-test", stream: "Custom-Test", tokens: tokens,
                    transport: SocketHTTPTransport(), compress: compress), tokens
            )
        }
        func lines(_ stream: String = "Custom-Test") -> [String] {
            ((try? String(contentsOf: dir.file("\(stream).ndjson"), encoding: .utf8)) ?? "").split(separator: "\n").map(
                String.init)
        }
        func stop() {
            emulator.stop()
            dir.cleanup()
        }
    }

    @Test func theEmulatorStoresTheRecordsAsSent() async throws {
        let e = try Local()
        defer { e.stop() }
        let (t, _) = e.target()
        let records = (0..<2000).map {
            "{\"TimeGenerated\":\"2026-11-23T10:00:00.\(String(format: "%03d", $0 % 1000))Z\",\"Message\":\"Grüße \($0)\",\"n\":\($0),\"o\":{\"a\":[1,2]}}"
        }
        let body = Data(("[" + records.joined(separator: ",") + "]").utf8)
        #expect(await t.send(body: body) == .acknowledged(status: 204))
        #expect(e.lines() == records, "byte for byte, in order")
        let s = e.emulator.currentStats()
        #expect(s[.gzipRequests] == 1 && s[.maxBodyBytes] == body.count && s[.maxWireBodyBytes] < body.count / 3)
        #expect(
            s.streams["Custom-Test"] == 2000 && s[.tokensIssued] == 1 && s[.requestIds] == 1
                && s[.missingTimeGenerated] == 0)
    }

    /// The token expires between two requests by the service's clock while the client still
    /// thinks it good: the first 401 makes exactly one refresh and one retry.
    @Test func aTokenExpiredBetweenRequestsIsRefreshedOnceAndTheRequestRetried() async throws {
        let serviceClock = TestClock(Date())
        let e = try Local(clock: serviceClock)
        defer { e.stop() }
        let (t, tokens) = e.target()
        #expect(await t.send(body: Self.body) == .acknowledged(status: 204))
        serviceClock.advance(3601)
        #expect(await t.send(body: Self.body) == .acknowledged(status: 204))
        let s = e.emulator.currentStats()
        #expect(s[.tokensIssued] == 2)
        #expect(s[.expiredTokens] == 1)
        #expect(s.byStatus["401"] == 1)
        #expect(s.byStatus["204"] == 2)
        #expect(await tokens.fetches == 2)
        #expect(e.lines().count == 100)
        // Four uploads at once after the next expiry: four 401s, still one refresh.
        serviceClock.advance(3601)
        let outcomes = await withTaskGroup(of: DeliveryOutcome.self) { group in
            for _ in 0..<4 { group.addTask { await t.send(body: Self.body) } }
            var out: [DeliveryOutcome] = []
            for await o in group { out.append(o) }
            return out
        }
        #expect(outcomes.allSatisfy { $0.isAcknowledged })
        #expect(e.emulator.currentStats()[.tokensIssued] == 3)
        #expect(await tokens.fetches == 3)
    }

    @Test func theEmulatorRefusesAWrongSecretLikeEntraID() async throws {
        let e = try Local()
        defer { e.stop() }
        let tokens = TokenProvider(
            authorityHost: e.url, tenantId: e.config.tenantId, clientId: e.config.clientId,
            credential: .clientSecret(Secret("wrong-secret")),
            scope: "https://monitor.azure.com//.default", transport: SocketHTTPTransport())
        let t = LogsIngestionTarget(
            endpoint: e.url, dcrImmutableId: "dcr-test", stream: "Custom-Test", tokens: tokens,
            transport: SocketHTTPTransport())
        guard case .fatal(401, "invalid_client", let reason) = await t.send(body: Self.body) else {
            Issue.record("expected invalid_client")
            return
        }
        #expect(reason.contains("AADSTS7000215"))
        #expect(!reason.contains("wrong-secret") && !reason.contains(e.config.clientSecret.value))
        #expect(e.emulator.currentStats()[.tokenRequestsRefused] == 1)
    }
}
