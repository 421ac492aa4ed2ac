import Foundation
import LogshipSupport
import Testing

@testable import LogshipEmulator

/// The emulator's per-DCR quota (Emulator+Quota.swift): fixed windows, 429 with Retry-After
/// until the window ends, each DCR counted on its own. The clock is injected: no waiting.
@Suite struct QuotaEmulatorTests {
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var t = Date(timeIntervalSince1970: 1_800_000_000)
        var now: Date { lock.withLock { t } }
        func advance(_ s: Double) { lock.withLock { t = t.addingTimeInterval(s) } }
    }

    static func emulator(_ quota: DCRQuota, clock: Clock) throws -> (Emulator, String) {
        var config = EmulatorConfig(
            workspaceId: UUID().uuidString.lowercased(),
            sharedKey: Secret(Data(repeating: 7, count: 32).base64EncodedString()))
        config.quota = quota
        let e = try Emulator(config: config, now: { clock.now })
        let token = try ARMEmulatorTests.Fixture.token(e, scope: "https://monitor.azure.com//.default")
        return (e, token)
    }

    static func ingest(
        _ e: Emulator, token: String, dcr: String, body: String = #"[{"TimeGenerated":"2026-11-23T12:00:00Z","m":"x"}]"#
    )
        -> (Int, String?, String)
    {
        let req = ServerRequest(
            method: "POST", target: "/dataCollectionRules/\(dcr)/streams/Custom-Test?api-version=2023-01-01",
            headers: [("content-type", "application/json"), ("authorization", "Bearer \(token)")],
            body: Array(body.utf8))
        guard case .respond(let status, let headers, let b) = e.handle(req) else { return (0, nil, "") }
        return (status, headers.first { $0.0.lowercased() == "retry-after" }?.1, String(decoding: b, as: UTF8.self))
    }

    @Test func requestsOverTheQuotaGet429WithRetryAfterUntilTheWindowEnds() throws {
        let clock = Clock()
        let (e, token) = try Self.emulator(
            DCRQuota(requestsPerWindow: 3, bytesPerWindow: 1_000_000, windowSeconds: 60), clock: clock)
        for _ in 0..<3 { #expect(Self.ingest(e, token: token, dcr: "dcr-a").0 == 204) }
        clock.advance(20)
        let (status, retryAfter, body) = Self.ingest(e, token: token, dcr: "dcr-a")
        #expect(status == 429)
        #expect(retryAfter == "40")  // whole seconds to the window's end, as the service sends them
        #expect(body.contains("TooManyRequests"))
        // Another DCR has a quota of its own.
        #expect(Self.ingest(e, token: token, dcr: "dcr-b").0 == 204)
        clock.advance(40)
        #expect(Self.ingest(e, token: token, dcr: "dcr-a").0 == 204)
        let s = e.currentStats()
        #expect(s[.throttled] == 1)
        #expect(s.quota["dcr-a"]?.windows.map(\.requests) == [3, 1])
        #expect(s.quota["dcr-a"]?.windows.map(\.throttled) == [1, 0])
        #expect(s.quota["dcr-b"]?.accepted == 1)
    }

    @Test func theByteQuotaCountsTheDecodedBody() throws {
        let clock = Clock()
        let body = #"[{"m":"\#(String(repeating: "a", count: 100))"}]"#
        let (e, token) = try Self.emulator(
            DCRQuota(requestsPerWindow: 100, bytesPerWindow: 2 * body.utf8.count + 10, windowSeconds: 1), clock: clock)
        #expect(Self.ingest(e, token: token, dcr: "dcr-a", body: body).0 == 204)
        #expect(Self.ingest(e, token: token, dcr: "dcr-a", body: body).0 == 204)
        clock.advance(0.25)
        let (status, retryAfter, body429) = Self.ingest(e, token: token, dcr: "dcr-a", body: body)
        #expect(status == 429)
        #expect(retryAfter == "1")
        #expect(body429.contains("data rate limit"))
    }

    @Test func aTestWindowSendsRetryAfterWithMilliseconds() throws {
        let clock = Clock()
        var q = DCRQuota(requestsPerWindow: 1, bytesPerWindow: 1_000_000, windowSeconds: 0.5)
        q.fractionalRetryAfter = true
        let (e, token) = try Self.emulator(q, clock: clock)
        #expect(Self.ingest(e, token: token, dcr: "dcr-a").0 == 204)
        clock.advance(0.125)
        let (status, retryAfter, _) = Self.ingest(e, token: token, dcr: "dcr-a")
        #expect(status == 429)
        #expect(retryAfter == "0.375")
    }
}
