import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

/// `ARMProvisioner`'s wait for a rule that reports its ids later, on a scripted ARM: bounded
/// in looks, saying so each time, with an injected sleep (no real waiting).
@Suite struct ARMProvisionerTests {
    /// Answers ARM calls in order and records them.
    final class ScriptedARM: ARMTransport, @unchecked Sendable {
        private let lock = NSLock()
        private var answers: [HTTPResponse]
        private var _calls: [String] = []
        init(_ answers: [(Int, String)]) {
            self.answers = answers.map { HTTPResponse(status: $0.0, headers: [:], body: Array($0.1.utf8)) }
        }
        var calls: [String] { lock.withLock { _calls } }
        private func next(_ method: String, _ url: URL) -> HTTPResponse {
            lock.withLock {
                _calls.append("\(method) \(url.path)")
                return answers.isEmpty ? HTTPResponse(status: 500, headers: [:], body: []) : answers.removeFirst()
            }
        }
        func post(url: URL, headers: [(String, String)], body: Data, timeout: Double) async throws(TransportError)
            -> HTTPResponse
        { next("POST", url) }
        func get(url: URL, headers: [(String, String)], timeout: Double) async throws(TransportError) -> HTTPResponse {
            next("GET", url)
        }
        func put(url: URL, headers: [(String, String)], body: Data, timeout: Double) async throws(TransportError)
            -> HTTPResponse
        { next("PUT", url) }
    }

    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ s: String) { lock.withLock { lines.append(s) } }
        var all: [String] { lock.withLock { lines } }
    }

    func plan() throws -> ProvisioningPlan {
        let dir = TempDir("arm")
        defer { dir.cleanup() }
        let url = dir.write(
            "p.json5",
            #"{ version: 1, name: "w", source: { files: ["*.ndjson"], format: "ndjson" }, fields: { map: { TimeGenerated: { from: "t", type: "datetime" } }, passthrough: false }, target: { api: "logs-ingestion", endpoint: "https://e.invalid", dcrImmutableId: "dcr-00000000000000000000000000000000", stream: "Custom-W" } }"#
        )
        let spec = try #require(PipelineLoader(environment: [:]).load(url).spec)
        return try ProvisioningPlan.make(spec, sampled: nil)
    }

    func provisioner(_ arm: ScriptedARM, _ log: Log, wait: Double, slept: Log) -> ARMProvisioner {
        let tokens = TokenProvider(
            authorityHost: URL(string: "https://login.invalid")!, tenantId: "t",
            clientId: "00000000-0000-0000-0000-000000000001",
            credential: .clientSecret(Secret("s")), scope: "https://management.azure.com/.default",
            transport: ScriptedTransport([], fallback: ScriptedTransport.token()))
        return ARMProvisioner(
            base: URL(string: "https://management.invalid")!, tokens: tokens, transport: arm, waitSeconds: wait,
            pollSeconds: 1,
            progress: { log.add($0) }, sleep: { s in slept.add("\(s)") })
    }

    static let creating = #"{"properties":{"provisioningState":"Creating"}}"#
    static let ready =
        #"{"properties":{"provisioningState":"Succeeded","immutableId":"dcr-0123456789abcdef0123456789abcdef","endpoints":{"logsIngestion":"https://w-abcd.westeurope-1.ingest.monitor.azure.com"}}}"#

    @Test func waitsForTheRuleToReportItsIds() async throws {
        let arm = ScriptedARM([(404, "{}"), (201, "{}"), (201, Self.creating), (200, Self.creating), (200, Self.ready)])
        let log = Log(), slept = Log()
        let scope = ProvisioningPlan.Scope(
            subscription: "s", resourceGroup: "g", workspace: "w", location: "westeurope")
        let out = try await provisioner(arm, log, wait: 10, slept: slept).apply(try plan(), scope)
        #expect(out.immutableId == "dcr-0123456789abcdef0123456789abcdef")
        #expect(out.logsIngestionEndpoint == "https://w-abcd.westeurope-1.ingest.monitor.azure.com")
        #expect(arm.calls.map { $0.split(separator: " ")[0] } == ["GET", "PUT", "PUT", "GET", "GET"])
        #expect(slept.all == ["1.0"], "one look found it still creating: \(slept.all)")
        #expect(
            log.all.contains { $0.hasPrefix("waiting for data collection rule logship-w to report its immutableId") },
            "\(log.all)")
    }

    @Test func givesUpAfterTheWaitWithoutChangingAnythingTwice() async throws {
        let arm = ScriptedARM(
            [(404, "{}"), (201, "{}"), (201, Self.creating)] + Array(repeating: (200, Self.creating), count: 10))
        let log = Log(), slept = Log()
        let scope = ProvisioningPlan.Scope(
            subscription: "s", resourceGroup: "g", workspace: "w", location: "westeurope")
        let p = try plan()
        do {
            _ = try await provisioner(arm, log, wait: 3, slept: slept).apply(p, scope)
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == .unanswered)
            #expect(
                error.description.contains("not there after 3 s; run the same command again later"),
                "\(error.description)")
        }
        #expect(arm.calls.filter { $0.hasPrefix("GET") }.count == 4, "one table GET and three looks: \(arm.calls)")
        #expect(slept.all.count == 3)
    }
}
