import Foundation
import LogshipSupport
import Testing

/// The one logger every stderr line goes through (issue 15 item 3).
@Suite struct LoggerTests {
    final class Lines: @unchecked Sendable {
        // Guarded by `lock`.
        private let lock = NSLock()
        private var text = ""
        func add(_ s: String) { lock.withLock { text += s } }
        var value: String { lock.withLock { text } }
    }

    static func logger(_ format: Logger.Format, _ verbosity: Logger.Verbosity) -> (Logger, Lines) {
        let lines = Lines()
        // 2026-12-02T13:30:00.250Z
        let l = Logger(.init(format: format, verbosity: verbosity), clock: { 1_796_218_200.25 }) { lines.add($0) }
        return (l, lines)
    }

    @Test func stampedLinesCarryAnRFC3339TimeAndALevel() {
        let (l, out) = Self.logger(.stamped, .normal)
        l.log(.warn, "logship: two\nlines")
        l.log(.info, "logship: sent")
        #expect(
            out.value == """
                2026-12-02T13:30:00.250Z WARN  logship: two
                2026-12-02T13:30:00.250Z WARN  lines
                2026-12-02T13:30:00.250Z INFO  logship: sent

                """)
    }

    @Test func plainLinesAreAsWritten() {
        let (l, out) = Self.logger(.plain, .normal)
        l.setPlainPrefix("\r\u{1B}[K")
        l.log(.info, "logship: x")
        #expect(out.value == "\r\u{1B}[Klogship: x\n")
    }

    @Test func jsonLinesHoldTimeLevelMessageAndFields() throws {
        let (l, out) = Self.logger(.json, .verbose)
        l.log(.debug, "logship: chunk \"a\"\tb: acknowledged", ["chunk": "ab12", "status": 200, "file": "in/a\\b.log"])
        let line = out.value
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(o["time"] as? String == "2026-12-02T13:30:00.250Z")
        #expect(o["level"] as? String == "DEBUG")
        #expect(o["msg"] as? String == "chunk \"a\"\tb: acknowledged")
        #expect(o["chunk"] as? String == "ab12")
        #expect(o["status"] as? Int == 200)
        #expect(o["file"] as? String == "in/a\\b.log")
    }

    @Test func quietKeepsErrorsAndTheSummaryVerboseAddsDebug() {
        let (q, qo) = Self.logger(.plain, .quiet)
        q.log(.info, "a")
        q.log(.warn, "b")
        q.log(.error, "c")
        q.log(.info, "d", summary: true)
        q.log(.debug, "e", summary: true)
        #expect(qo.value == "c\nd\n")
        let (n, no) = Self.logger(.plain, .normal)
        n.log(.debug, "a")
        n.log(.info, "b")
        #expect(no.value == "b\n")
        let (v, vo) = Self.logger(.plain, .verbose)
        v.log(.debug, "a")
        #expect(vo.value == "a\n")
    }

    @Test func rfc3339AcrossDates() {
        #expect(Logger.rfc3339(0) == "1970-01-01T00:00:00.000Z")
        #expect(Logger.rfc3339(951_782_400.999) == "2000-02-29T00:00:00.999Z")
        #expect(Logger.rfc3339(-0.5) == "1969-12-31T23:59:59.500Z")
    }
}
