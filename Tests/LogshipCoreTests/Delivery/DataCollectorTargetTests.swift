import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

/// Records requests and answers with a fixed response.
final class CapturingTransport: HTTPTransport, @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var _requests: [(URL, [(String, String)], [UInt8])] = []
    let answer: HTTPResponse
    init(answer: HTTPResponse = HTTPResponse(status: 200)) { self.answer = answer }
    var requests: [(URL, [(String, String)], [UInt8])] { lock.withLock { _requests } }
    func post(url: URL, headers: [(String, String)], body: Data, timeout: Double) async throws(TransportError)
        -> HTTPResponse
    {
        lock.withLock { _requests.append((url, headers, [UInt8](body))) }
        return answer
    }
    func get(url: URL, headers: [(String, String)], timeout: Double) async throws(TransportError) -> HTTPResponse {
        throw .other("the Data Collector target never sends a GET")
    }
}

@Suite struct DataCollectorTargetTests {
    @Test func buildsTheDocumentedRequest() async throws {
        let (w, k) = testCredentials()
        let t = CapturingTransport()
        let target = DataCollectorTarget(
            baseURL: DataCollectorTarget.baseURL(workspaceId: w, cloud: "public")!, logType: "MyLogs",
            timeGeneratedField: "EventTime",
            azureResourceId: "/subscriptions/x/resourceGroups/y",
            signer: try SharedKeySigner(workspaceId: w, sharedKey: k), transport: t,
            clock: { Date(timeIntervalSince1970: 1_459_756_800) })
        let body = Array("[{\"a\":\"ě\"}]".utf8)
        #expect(await target.send(body: Data(body)) == .acknowledged(status: 200))
        let (url, headers, sent) = t.requests[0]
        #expect(url.absoluteString == "https://\(w).ods.opinsights.azure.com/api/logs?api-version=2016-04-01")
        let h = Dictionary(uniqueKeysWithValues: headers)
        #expect(h["Content-Type"] == "application/json")
        #expect(h["Log-Type"] == "MyLogs")
        #expect(h["x-ms-date"] == "Mon, 04 Apr 2016 08:00:00 GMT")
        #expect(h["time-generated-field"] == "EventTime")
        #expect(h["x-ms-AzureResourceId"] == "/subscriptions/x/resourceGroups/y")
        #expect(sent == body)
        // Recompute the signature from the captured request rather than trusting the signer.
        let text = "POST\n\(sent.count)\napplication/json\nx-ms-date:\(h["x-ms-date"]!)\n/api/logs"
        let mac = Crypto.hmacSHA256(key: [UInt8](Data(base64Encoded: k.value)!), message: Array(text.utf8))
        #expect(h["Authorization"] == "SharedKey \(w):\(Data(mac).base64EncodedString())")
        #expect(!target.displayName.contains(k.value))
    }

    @Test func sovereignClouds() {
        #expect(
            DataCollectorTarget.baseURL(workspaceId: "w", cloud: "usgov")?.absoluteString
                == "https://w.ods.opinsights.azure.us")
        #expect(
            DataCollectorTarget.baseURL(workspaceId: "w", cloud: "china")?.absoluteString
                == "https://w.ods.opinsights.azure.cn")
        #expect(DataCollectorTarget.baseURL(workspaceId: "w", cloud: "mars") == nil)
    }

    @Test func neverAboveThirtyMillionBytes() throws {
        let (w, k) = testCredentials()
        let target = DataCollectorTarget(
            baseURL: URL(string: "http://127.0.0.1:1")!, logType: "L", timeGeneratedField: nil, azureResourceId: nil,
            signer: try SharedKeySigner(workspaceId: w, sharedKey: k), transport: CapturingTransport(),
            maxBodyBytes: 31_457_280)
        #expect(target.maxBodyBytes == 30_000_000)
    }

    /// The client and the emulator together, in one process: real HTTP on loopback.
    @Test func sendsToTheEmulator() async throws {
        let e = try LocalEmulator()
        defer { e.stop() }
        let target = DataCollectorTarget(
            baseURL: e.url, logType: "Together", timeGeneratedField: nil, azureResourceId: nil,
            signer: try SharedKeySigner(workspaceId: e.workspace, sharedKey: e.key),
            transport: URLSessionTransport(maxConnections: 2))
        #expect(
            await target.send(body: Data("[{\"msg\":\"Grüße 🚀\"},{\"msg\":\"b\"}]".utf8)) == .acknowledged(status: 200))
        let bad = DataCollectorTarget(
            baseURL: e.url, logType: "Bad-Type", timeGeneratedField: nil, azureResourceId: nil,
            signer: try SharedKeySigner(workspaceId: e.workspace, sharedKey: e.key),
            transport: URLSessionTransport(maxConnections: 2))
        guard case .fatal(400, "InvalidLogType", _) = await bad.send(body: Data("[]".utf8)) else {
            Issue.record("expected InvalidLogType")
            return
        }
        #expect(e.rows("Together_CL").map { $0["msg_s"] as? String } == ["Grüße 🚀", "b"])
    }
}
