import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

#if canImport(Glibc)
    import Glibc
#endif

/// One raw exchange with a server on 127.0.0.1: connect, send `request`, end the sending side,
/// read until the server closes. `timedOut` when it neither answered nor closed within
/// `seconds` (a hang; the bound is generous, not a speed check).
func rawExchange(port: UInt16, _ request: [UInt8], seconds: Int = 20, keepOpen: Bool = false) -> (
    response: [UInt8], timedOut: Bool
) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return ([], false) }
    defer { close(fd) }
    var t = timeval(tv_sec: seconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { return ([], false) }
    var off = 0
    while off < request.count {
        let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + off, request.count - off, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { break }  // the server may close early (431, 400): then read its answer
        off += n
    }
    if !keepOpen { shutdown(fd, Int32(SHUT_WR)) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        if n > 0 {
            out.append(contentsOf: buf[0..<n])
            continue
        }
        if n < 0 && errno == EINTR { continue }
        return (out, n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    }
}

/// The emulator's HTTP server takes any bytes: an answer or a closed connection, never a
/// crash, never a connection left hanging, and it goes on serving.
@Suite(.serialized) struct HTTPServerFuzzTests {
    static func status(_ response: [UInt8]) -> Int? {
        let text = String(decoding: response.prefix(12), as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 "), text.count >= 12 else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }

    static func dataCollectorRequest(_ e: LocalEmulator, body: String, chunked: Bool = false) throws -> [UInt8] {
        let date = HTTPDate.format(Date())
        let signer = try SharedKeySigner(workspaceId: e.workspace, sharedKey: e.key)
        var head =
            "POST /api/logs?api-version=2016-04-01 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        head +=
            "Log-Type: Fuzz\r\nx-ms-date: \(date)\r\nAuthorization: \(signer.authorization(contentLength: body.utf8.count, date: date))\r\n"
        if chunked {
            let half = body.utf8.count / 2
            let a = Array(body.utf8.prefix(half)), b = Array(body.utf8.dropFirst(half))
            head += "Transfer-Encoding: chunked\r\n\r\n"
            return Array(head.utf8) + Array(String(a.count, radix: 16).utf8) + [13, 10] + a + [13, 10]
                + Array(String(b.count, radix: 16).utf8) + [13, 10] + b + Array("\r\n0\r\n\r\n".utf8)
        }
        head += "Content-Length: \(body.utf8.count)\r\n\r\n"
        return Array((head + body).utf8)
    }

    static func stats(_ port: UInt16) -> Int? {
        status(
            rawExchange(port: port, Array("GET /_emulator/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
                .response)
    }

    /// The malformed requests the issue names, each answered or closed, and the server still serves.
    @Test(.timeLimit(.minutes(Fuzzer.minutes))) func malformedRequestsAreAnsweredOrClosed() throws {
        let e = try LocalEmulator()
        defer { e.emulator.stop(); e.dir.cleanup() }
        let port = UInt16(e.url.port!)
        let valid = try Self.dataCollectorRequest(e, body: "[{\"a\":1}]")
        let cases: [(String, [UInt8], Set<Int>?)] = [
            ("valid", valid, [200]),
            ("bad request line", Array("GARBAGE\r\n\r\n".utf8), [400]),
            ("no version", Array("GET /\r\n\r\n".utf8), [400]),
            ("binary", [0x00, 0xFF, 0xFE, 0x0D, 0x0A, 0x0D, 0x0A], [400]),
            (
                "huge request line",
                Array(("GET /" + String(repeating: "a", count: 300_000) + " HTTP/1.1\r\n\r\n").utf8), [431]
            ),
            (
                "huge header",
                Array(("GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 200_000) + "\r\n\r\n").utf8), [431]
            ),
            (
                "endless header line", Array(("GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 1_000_000)).utf8),
                [431]
            ),
            (
                "many headers",
                Array(("GET / HTTP/1.1\r\n" + String(repeating: "X-A: 1\r\n", count: 5000) + "\r\n").utf8), [431]
            ),
            (
                "headers over the total",
                Array(
                    ("GET / HTTP/1.1\r\n"
                        + String(repeating: "X-A: " + String(repeating: "c", count: 2000) + "\r\n", count: 150) + "\r\n")
                        .utf8), [431]
            ),
            ("negative length", Array("POST /api/logs HTTP/1.1\r\nContent-Length: -1\r\n\r\n".utf8), [400]),
            ("word length", Array("POST /api/logs HTTP/1.1\r\nContent-Length: abc\r\n\r\n".utf8), [400]),
            (
                "huge length", Array("POST /api/logs HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n".utf8),
                [400]
            ),
            (
                "length past the discard limit",
                Array("POST /api/logs HTTP/1.1\r\nContent-Length: 9000000000000\r\n\r\n{}".utf8), nil
            ),
            ("short body", Array("POST /api/logs HTTP/1.1\r\nContent-Length: 100\r\n\r\n[{}]".utf8), nil),
            (
                "chunked garbage size",
                Array("POST /api/logs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n".utf8), [400]
            ),
            (
                "chunked plus sign",
                Array("POST /api/logs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nabcde\r\n0\r\n\r\n".utf8),
                [400]
            ),
            (
                "chunked sizes that overflow",
                Array("POST /api/logs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\n".utf8), [400]
            ),
            (
                "chunked sizes adding up past Int",
                Array("POST /api/logs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n".utf8), nil
            ),
            (
                "chunked no terminator",
                Array("POST /api/logs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY\r\n0\r\n\r\n".utf8),
                [400]
            ),
            (
                "chunked endless size line",
                Array(
                    ("POST /api/logs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + String(repeating: "1", count: 100_000)).utf8), [400]
            ),
            ("empty query pieces", Array("POST /api/logs?=&&a=b&= HTTP/1.1\r\nContent-Length: 0\r\n\r\n".utf8), nil),
            (
                "empty query pieces, metadata",
                Array("GET /metadata/identity/oauth2/token?= HTTP/1.1\r\nMetadata: true\r\n\r\n".utf8), nil
            ),
            // Found by the fuzzer: a year this large overflowed the day count and ended the emulator
            // (and `Retry-After` goes through the same parser in `logship run`).
            (
                "x-ms-date far in the future",
                Array(
                    "POST /api/logs?api-version=2016-04-01 HTTP/1.1\r\nLog-Type: Fuzz\r\nContent-Type: application/json\r\nx-ms-date: Wed, 02 Dec 2999999999999999026 09:32:13 GMT\r\nAuthorization: SharedKey \(e.workspace):b\r\nContent-Length: 2\r\n\r\n[]"
                        .utf8), [403]
            ),
            ("percent garbage", Array("GET /api/logs?api-version=%zz%FF%%% HTTP/1.1\r\n\r\n".utf8), nil),
        ]
        for (name, request, expected) in cases {
            let r = rawExchange(port: port, request)
            #expect(!r.timedOut, "\(name): the server neither answered nor closed")
            let status = Self.status(r.response)
            if let expected {
                #expect(
                    status.map { expected.contains($0) } == true, "\(name): status \(status.map(String.init) ?? "none")"
                )
            }
            #expect(Self.stats(port) == 200, "\(name): the server stopped serving")
        }
    }

    @Test func httpDatesOutsideFourDigitYearsAreRefused() {
        #expect(HTTPDate.parse("Wed, 02 Dec 2999999999999999026 09:32:13 GMT") == nil)
        #expect(HTTPDate.parse("Wed, 02 Dec -9223372036854775808 09:32:13 GMT") == nil)
        #expect(HTTPDate.parse("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPDate.parse("Fri, 31 Dec 9999 23:59:59 GMT") != nil)
    }

    /// A client that stops mid-request holds only its own connection: others are served, and
    /// stopping the emulator closes it.
    @Test(.timeLimit(.minutes(Fuzzer.minutes))) func slowClientsDoNotStopTheServer() throws {
        let e = try LocalEmulator()
        defer { e.dir.cleanup() }
        let port = UInt16(e.url.port!)
        let group = DispatchGroup()
        let hung = HungCount()
        for k in 0..<8 {
            group.enter()
            DispatchQueue.global().async {
                // Half a request line, half the headers, half a body, half a chunk: then nothing.
                let partial = [
                    "POST /api/lo", "POST /api/logs HTTP/1.1\r\nHost: x\r\nLog-Ty",
                    "POST /api/logs HTTP/1.1\r\nContent-Length: 50\r\n\r\n[{\"a\":",
                    "POST /api/logs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",
                ][k % 4]
                let r = rawExchange(port: port, Array(partial.utf8), seconds: 60, keepOpen: true)
                if r.timedOut { hung.add() }
                group.leave()
            }
        }
        // The stalled clients are connected (or about to be); others are served meanwhile.
        for _ in 0..<20 { #expect(Self.stats(port) == 200) }
        let valid = try Self.dataCollectorRequest(e, body: "[{\"slow\":false}]")
        #expect(Self.status(rawExchange(port: port, valid).response) == 200)
        e.emulator.stop()
        #expect(group.wait(timeout: .now() + 30) == .success, "stopping the emulator must close stalled connections")
        #expect(hung.value == 0, "a stalled client was left hanging after stop")
    }

    /// The bodies behind the HTTP parser: the emulator's JSON reader and gzip decoder.
    @Test(.timeLimit(.minutes(Fuzzer.minutes))) func fuzzTheEmulatorsBodyParsers() throws {
        let body =
            "[{\"a\":1,\"b\":\"t\\u00e9\\ud83d\\ude80\",\"c\":[1,-2.5e3,{\"d\":null}],\"e\":true,\"f\":{}},{\"TimeGenerated\":\"2026-11-23T13:09:43Z\"}]"
        var seeds: [[UInt8]] = [Array(body.utf8), Array("[]".utf8), Array("{\"a\":1}".utf8)]
        seeds.append([UInt8](try Gzip.compress(Data(body.utf8))))
        var fuzzer = Fuzzer(
            target: "emulator-bodies", seeds: seeds, dictionary: ["\\u", "\\ud800", "1e999", "-", "[", "{", "\":", ","])
        for _ in 0..<Fuzzer.iterations {
            let input = fuzzer.next()
            let records = input.withUnsafeBytes { b -> Int? in
                try? EmulatorJSON.forEachRecordWithSpan(b) { _, span in
                    #expect(span.lowerBound >= 0 && span.upperBound <= b.count)
                }
            }
            let counted = input.withUnsafeBytes { try? EmulatorJSON.countRecords($0) }
            #expect(records == counted)
            if case .success(let plain) = EmulatorGzip.decode(input, limit: 1 << 20) { #expect(plain.count <= 1 << 20) }
        }
    }

    @Test(.timeLimit(.minutes(Fuzzer.minutes))) func fuzzTheHTTPServer() throws {
        let e = try LocalEmulator()
        defer { e.emulator.stop(); e.dir.cleanup() }
        let port = UInt16(e.url.port!)
        let body =
            "[{\"a\":1,\"b\":\"two\",\"c\":[1,{\"d\":null}],\"e\":true,\"TimeGenerated\":\"2026-11-23T13:09:43Z\"},{\"f\":1.5e3}]"
        let token =
            "client_id=x&client_secret=y&grant_type=client_credentials&scope=https%3A%2F%2Fmonitor.azure.com%2F%2F.default"
        let seeds: [[UInt8]] = [
            try Self.dataCollectorRequest(e, body: body),
            try Self.dataCollectorRequest(e, body: body, chunked: true),
            Array(
                "POST /x/oauth2/v2.0/token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(token.utf8.count)\r\n\r\n\(token)"
                    .utf8),
            Array(
                "POST /dataCollectionRules/dcr-1/streams/Custom-X?api-version=2023-01-01 HTTP/1.1\r\nAuthorization: Bearer abc\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                    .utf8),
            Array(
                "GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://monitor.azure.com HTTP/1.1\r\nMetadata: true\r\n\r\n"
                    .utf8),
            Array(
                "GET /_emulator/stats HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n\r\nGET /_emulator/stats HTTP/1.1\r\n\r\n"
                    .utf8),
        ]
        let words = [
            "\r\n", "\r\n\r\n", ": ", "Content-Length: ", "Transfer-Encoding: chunked\r\n", "Expect: 100-continue\r\n",
            "Connection: close\r\n", "Connection: keep-alive\r\n", "HTTP/1.0", "HTTP/1.1", "0\r\n\r\n", "ffffffff", "?",
            "&", "=", "%",
            "Authorization: SharedKey ", "Content-Encoding: gzip\r\n", "\u{1F}\u{8B}\u{08}", "{\"", "\":", "[", "]",
            "\\u0000", "1e400",
        ]
        var fuzzer = Fuzzer(target: "http", seeds: seeds, dictionary: words, maxLength: 1 << 17)
        for k in 0..<max(1, Fuzzer.iterations / 2) {
            let r = rawExchange(port: port, fuzzer.next())
            #expect(!r.timedOut, "input \(k): the server neither answered nor closed")
            if !r.response.isEmpty { #expect(Self.status(r.response) != nil, "input \(k): not an HTTP answer") }
        }
        #expect(Self.stats(port) == 200)
    }
}

/// Stalled clients that timed out instead of seeing the connection closed.
final class HungCount: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var n = 0
    func add() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}
