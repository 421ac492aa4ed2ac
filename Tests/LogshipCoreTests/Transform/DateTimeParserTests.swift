import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

private func parse(_ s: String, _ format: DateTimeFormat) -> Int64? {
    var s = s
    return s.withUTF8 { DateTimeParser.parse(UnsafeRawBufferPointer($0), format: format) }
}

private func pattern(_ p: String) -> DateTimeFormat {
    guard let f = DateTimeFormat.parse(p), case .pattern = f else { fatalError("not a pattern: \(p)") }
    return f
}

private func iso(_ millis: Int64) -> String {
    var buffer = [UInt8](repeating: 0, count: 24)
    let n = buffer.withUnsafeMutableBytes { DateTimeParser.writeISO(millis, to: $0.baseAddress!) }
    #expect(n == 24)
    return String(decoding: buffer, as: UTF8.self)
}

/// Milliseconds for a UTC civil time.
private func utc(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0, _ s: Int = 0, _ ms: Int = 0) -> Int64 {
    CivilDate.toDays(year: y, month: mo, day: d) * 86_400_000 + Int64(h * 3_600_000 + mi * 60_000 + s * 1000 + ms)
}

private func pad(_ v: Int, _ width: Int = 2) -> String {
    let s = String(v)
    return String(repeating: "0", count: max(0, width - s.count)) + s
}

private let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
private let fullMonthNames = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
]
private let weekdayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
private let fullWeekdayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

private func python3Path() -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let p = "\(dir)/python3"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}

/// Runs `script` with `input` on stdin and returns stdout; killed after `timeout` seconds.
private func runPython(_ script: String, input: String, timeout: TimeInterval = 60) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("logship-dt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let inURL = dir.appendingPathComponent("in.txt")
    let outURL = dir.appendingPathComponent("out.txt")
    try Data(input.utf8).write(to: inURL)
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    let stdin = try FileHandle(forReadingFrom: inURL)
    let stdout = try FileHandle(forWritingTo: outURL)
    defer {
        try? stdin.close()
        try? stdout.close()
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python3Path() ?? "/usr/bin/python3")
    p.arguments = ["-c", script]
    p.standardInput = stdin
    p.standardOutput = stdout
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning {
        p.terminate()
        usleep(500_000)
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        Issue.record("python3 did not finish within \(timeout) s")
        return ""
    }
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    return String(decoding: try Data(contentsOf: outURL), as: UTF8.self)
}

/// Epoch milliseconds (floor) per input line `format<TAB>text`; `ERR` where Python rejects.
private let oracleScript = #"""
    import sys, datetime
    from decimal import Decimal, ROUND_FLOOR
    U = datetime.timezone.utc
    E = datetime.datetime(1970, 1, 1, tzinfo=U)
    MS = datetime.timedelta(milliseconds=1)
    out = []
    for line in sys.stdin.read().split('\n'):
        if not line:
            continue
        f, t = line.split('\t')
        try:
            if f == 'epoch':
                r = int((Decimal(t) * 1000).to_integral_value(rounding=ROUND_FLOOR))
            elif f == 'epoch-ms':
                r = int(Decimal(t).to_integral_value(rounding=ROUND_FLOOR))
            else:
                d = datetime.datetime.fromisoformat(t) if f == 'iso' else datetime.datetime.strptime(t, f)
                if d.tzinfo is None:
                    d = d.replace(tzinfo=U)
                r = (d - E) // MS
            out.append(str(r))
        except Exception:
            out.append('ERR')
    print('\n'.join(out))
    """#

private struct OracleCase {
    var ours: DateTimeFormat
    /// What Python gets: `iso`, `epoch`, `epoch-ms` or a strptime pattern.
    var python: String
    var text: String
}

@Suite("DateTimeParser")
struct DateTimeParserTests {
    // MARK: ISO 8601

    @Test func isoForms() {
        let base = utc(2024, 3, 5, 10, 20, 30)
        #expect(parse("2024-03-05", .iso8601) == utc(2024, 3, 5))
        #expect(parse("2024-03-05T10:20", .iso8601) == utc(2024, 3, 5, 10, 20))
        #expect(parse("2024-03-05T10:20:30", .iso8601) == base)
        #expect(parse("2024-03-05T10:20:30Z", .iso8601) == base)
        #expect(parse("2024-03-05t10:20:30z", .iso8601) == base)
        #expect(parse("2024-03-05 10:20:30Z", .iso8601) == base)
        #expect(parse("2024-03-05T10:20:30.1Z", .iso8601) == base + 100)
        #expect(parse("2024-03-05T10:20:30.12Z", .iso8601) == base + 120)
        #expect(parse("2024-03-05T10:20:30.123Z", .iso8601) == base + 123)
        #expect(parse("2024-03-05T10:20:30,5", .iso8601) == base + 500)
        #expect(parse("2024-03-05T10:20:30.123456789Z", .iso8601) == base + 123)
        #expect(parse("2024-03-05T10:20:30+01:00", .iso8601) == base - 3_600_000)
        #expect(parse("2024-03-05T10:20:30+0130", .iso8601) == base - 5_400_000)
        #expect(parse("2024-03-05T10:20:30-05", .iso8601) == base + 5 * 3_600_000)
        #expect(parse("2024-03-05T10:20:30-00:00", .iso8601) == base)
        #expect(parse("2024-03-05T10:20+02:00", .iso8601) == utc(2024, 3, 5, 8, 20))
        #expect(parse("1970-01-01T00:00:00Z", .iso8601) == 0)
        #expect(parse("2024-01-01T00:00:00Z", .iso8601) == 1_704_067_200_000)
    }

    @Test func isoBasicFormat() {
        #expect(parse("20240305T102030Z", .iso8601) == utc(2024, 3, 5, 10, 20, 30))
        #expect(parse("20240305T102030.250Z", .iso8601) == utc(2024, 3, 5, 10, 20, 30, 250))
        #expect(parse("20240305T102030+0100", .iso8601) == utc(2024, 3, 5, 9, 20, 30))
        #expect(parse("20240305T1020", .iso8601) == utc(2024, 3, 5, 10, 20))
        #expect(parse("20240305", .iso8601) == utc(2024, 3, 5))
        // Basic and extended are not mixed within a value.
        #expect(parse("2024-03-05T102030Z", .iso8601) == nil)
        #expect(parse("20240305T10:20:30Z", .iso8601) == nil)
    }

    @Test func leapYears() {
        #expect(parse("2024-02-29", .iso8601) == utc(2024, 2, 29))
        #expect(parse("2023-02-29", .iso8601) == nil)
        #expect(parse("2000-02-29T12:00:00Z", .iso8601) == utc(2000, 2, 29, 12))
        #expect(parse("1900-02-29T12:00:00Z", .iso8601) == nil)
        #expect(parse("2023-04-31", .iso8601) == nil)
        #expect(parse("2023-12-31", .iso8601) == utc(2023, 12, 31))
        #expect(parse("2024/02/29", pattern("%Y/%m/%d")) == utc(2024, 2, 29))
        #expect(parse("2023/02/29", pattern("%Y/%m/%d")) == nil)
        #expect(parse("2024 366", pattern("%Y %j")) == utc(2024, 12, 31))
        #expect(parse("2023 366", pattern("%Y %j")) == nil)
        #expect(parse("2023 060", pattern("%Y %j")) == utc(2023, 3, 1))
    }

    @Test func offsetsAcrossBoundaries() {
        #expect(parse("2024-01-01T00:30:00+01:00", .iso8601) == utc(2023, 12, 31, 23, 30))
        #expect(iso(parse("2024-01-01T00:30:00+01:00", .iso8601)!) == "2023-12-31T23:30:00.000Z")
        #expect(iso(parse("2023-12-31T23:30:00-01:00", .iso8601)!) == "2024-01-01T00:30:00.000Z")
        #expect(iso(parse("2024-03-01T00:00:00+00:01", .iso8601)!) == "2024-02-29T23:59:00.000Z")
        #expect(
            iso(parse("01/Jan/2024:00:30:00 +0100", pattern("%d/%b/%Y:%H:%M:%S %z"))!) == "2023-12-31T23:30:00.000Z")
        // Offsets that push the instant outside years 1–9999 are rejected, not wrapped.
        #expect(parse("0001-01-01T00:30:00+01:00", .iso8601) == nil)
        #expect(parse("0001-01-01T00:30:00-01:00", .iso8601) == utc(1, 1, 1, 1, 30))
        #expect(parse("9999-12-31T23:30:00-01:00", .iso8601) == nil)
        #expect(parse("9999-12-31T23:59:59.999Z", .iso8601) == DateTimeParser.maxMillis)
        #expect(parse("0001-01-01T00:00:00Z", .iso8601) == DateTimeParser.minMillis)
    }

    @Test func leapSecondClampsToLastMillisecond() {
        #expect(parse("2016-12-31T23:59:60Z", .iso8601) == utc(2016, 12, 31, 23, 59, 59, 999))
        #expect(parse("2016-12-31T23:59:60.5Z", .iso8601) == utc(2016, 12, 31, 23, 59, 59, 999))
        #expect(parse("2016-12-31 23:59:60", pattern("%Y-%m-%d %H:%M:%S")) == utc(2016, 12, 31, 23, 59, 59, 999))
        #expect(parse("2016-12-31T23:59:61Z", .iso8601) == nil)
    }

    @Test func fractionTruncatesNotRounds() {
        #expect(parse("2024-03-05T10:20:30.9999Z", .iso8601) == utc(2024, 3, 5, 10, 20, 30, 999))
        #expect(parse("2024-03-05T10:20:30.999999999Z", .iso8601) == utc(2024, 3, 5, 10, 20, 30, 999))
        #expect(parse("2024-03-05T10:20:30.0005Z", .iso8601) == utc(2024, 3, 5, 10, 20, 30))
        #expect(parse("10:20:30.9999", pattern("%H:%M:%S.%f")) == utc(1970, 1, 1, 10, 20, 30, 999))
        #expect(parse("1.9999", .epochSeconds) == 1999)
        #expect(parse("1700000000123.9", .epochMillis) == 1_700_000_000_123)
        // Before 1970 the millisecond containing the instant is the earlier one.
        #expect(parse("-1.0005", .epochSeconds) == -1001)
        #expect(parse("-1.5", .epochMillis) == -2)
        #expect(parse("1969-12-31T23:59:59.9995Z", .iso8601) == -1)
        #expect(iso(parse("-0.0005", .epochSeconds)!) == "1969-12-31T23:59:59.999Z")
    }

    @Test func isoRejects() {
        let bad = [
            "", "2024", "2024-03", "2024-3-05", "2024-03-5", "2024-13-01", "2024-00-01", "2024-01-00", "2024-01-32",
            "0000-01-01", "2024-03-05T", "2024-03-05T10", "2024-03-05T24:00", "2024-03-05T10:60", "2024-03-05T10:20:",
            "2024-03-05T10:20:3", "2024-03-05T10:20:30.", "2024-03-05T10:20:30.1234567890Z", "2024-03-05T10:20.5",
            "2024-03-05T10:20:30 Z", "2024-03-05T10:20:30+1", "2024-03-05T10:20:30+01:", "2024-03-05T10:20:30+01:0",
            "2024-03-05T10:20:30+24:00", "2024-03-05T10:20:30+01:60", "2024-03-05T10:20:30ZZ", "2024-03-05Z",
            " 2024-03-05", "2024-03-05 ", "2024-03-05X10:20", "2024-03-05T10:20:30+01:00 ", "２０２４-03-05",
            "abcd-ef-gh", "2024-03-05T1a:20", "2024_03_05",
        ]
        for s in bad { #expect(parse(s, .iso8601) == nil, "\(s)") }
    }

    // MARK: Epoch

    @Test func epochs() {
        #expect(parse("1700000000", .epochSeconds) == 1_700_000_000_000)
        #expect(parse("1700000000.123", .epochSeconds) == 1_700_000_000_123)
        #expect(parse("1700000000.1", .epochSeconds) == 1_700_000_000_100)
        #expect(parse("+1700000000", .epochSeconds) == 1_700_000_000_000)
        #expect(parse("-1", .epochSeconds) == -1000)
        #expect(parse("-86400.25", .epochSeconds) == -86_400_250)
        #expect(parse("0", .epochSeconds) == 0)
        #expect(parse("-0.5", .epochSeconds) == -500)
        #expect(parse("1700000000123", .epochMillis) == 1_700_000_000_123)
        #expect(parse("-1", .epochMillis) == -1)
        #expect(parse("-62135596800", .epochSeconds) == DateTimeParser.minMillis)
        #expect(parse("-62135596801", .epochSeconds) == nil)
        #expect(parse("253402300799.999", .epochSeconds) == DateTimeParser.maxMillis)
        #expect(parse("253402300800", .epochSeconds) == nil)
        #expect(parse("99999999999999999999999", .epochSeconds) == nil)
        #expect(parse("99999999999999999999999", .epochMillis) == nil)
        for s in ["", "-", "+", ".5", "1.", "1e9", "1,5", " 1", "1 ", "0x10", "1.2.3", "--1", "1_000"] {
            #expect(parse(s, .epochSeconds) == nil, "\(s)")
            #expect(parse(s, .epochMillis) == nil, "\(s)")
        }
    }

    // MARK: Patterns

    @Test func nginxAndSyslog() {
        let nginx = pattern("%d/%b/%Y:%H:%M:%S %z")
        #expect(parse("10/Oct/2000:13:55:36 -0700", nginx) == utc(2000, 10, 10, 20, 55, 36))
        #expect(parse("10/oct/2000:13:55:36 +07:00", nginx) == utc(2000, 10, 10, 6, 55, 36))
        #expect(parse("10/Oct/2000:13:55:36 Z", nginx) == utc(2000, 10, 10, 13, 55, 36))
        #expect(parse("10/Oct/2000:13:55:36", nginx) == nil)
        #expect(parse("10/Oct/2000:13:55:36 -0700 ", nginx) == nil)
        #expect(parse("10/Octo/2000:13:55:36 -0700", nginx) == nil)
        let syslog = pattern("%b %e %H:%M:%S")
        #expect(parse("Mar  5 10:20:30", syslog) == utc(1970, 3, 5, 10, 20, 30))
        #expect(parse("Mar 15 10:20:30", syslog) == utc(1970, 3, 15, 10, 20, 30))
        let syslogYear = pattern("%Y %b %e %H:%M:%S")
        #expect(parse("2024 Feb  9 01:02:03", syslogYear) == utc(2024, 2, 9, 1, 2, 3))
        // %e also takes its own leading space when the pattern has no whitespace before it.
        #expect(parse("[ 9]", pattern("[%e]")) == utc(1970, 1, 9))
    }

    @Test func patternDirectives() {
        #expect(
            parse("Tue, 05 Mar 2024 10:20:30 GMT", pattern("%a, %d %b %Y %H:%M:%S %Z")) == utc(2024, 3, 5, 10, 20, 30))
        #expect(parse("Tuesday 5 MARCH 2024 10:20", pattern("%A %d %B %Y %H:%M")) == utc(2024, 3, 5, 10, 20))
        #expect(parse("September 1, 2024", pattern("%B %d, %Y")) == utc(2024, 9, 1))
        #expect(parse("Sep 1, 2024", pattern("%B %d, %Y")) == utc(2024, 9, 1))
        #expect(parse("03/05/24 12:00:00 AM", pattern("%m/%d/%y %I:%M:%S %p")) == utc(2024, 3, 5, 0))
        #expect(parse("03/05/24 12:00:00 pm", pattern("%m/%d/%y %I:%M:%S %p")) == utc(2024, 3, 5, 12))
        #expect(parse("03/05/24 01:15:00 PM", pattern("%m/%d/%y %I:%M:%S %p")) == utc(2024, 3, 5, 13, 15))
        #expect(parse("03/05/69 01:15:00 PM", pattern("%m/%d/%y %I:%M:%S %p")) == utc(1969, 3, 5, 13, 15))
        #expect(parse("03/05/68 01:15:00 PM", pattern("%m/%d/%y %I:%M:%S %p")) == utc(2068, 3, 5, 13, 15))
        #expect(parse("12:30", pattern("%I:%M")) == utc(1970, 1, 1, 0, 30))
        #expect(parse("13:30 PM", pattern("%I:%M %p")) == nil)
        #expect(parse("2024-3-5 7:8:9", pattern("%Y-%m-%d %H:%M:%S")) == utc(2024, 3, 5, 7, 8, 9))
        #expect(parse("20240305102030", pattern("%Y%m%d%H%M%S")) == utc(2024, 3, 5, 10, 20, 30))
        #expect(
            parse("2024-03-05T10:20:30.123456+05:30", pattern("%Y-%m-%dT%H:%M:%S.%f%z"))
                == utc(2024, 3, 5, 4, 50, 30, 123))
        #expect(parse("2024-03-05 10:20:30 +05", pattern("%F %T %z")) == utc(2024, 3, 5, 5, 20, 30))
        #expect(parse("2024-03-05 10:20:30 utc", pattern("%F %T %Z")) == utc(2024, 3, 5, 10, 20, 30))
        #expect(parse("2024-03-05 10:20:30 CET", pattern("%F %T %Z")) == nil)
        #expect(parse("100%", pattern("%j%%")) == utc(1970, 4, 10))
        #expect(parse("1700000000", pattern("%s")) == 1_700_000_000_000)
        #expect(parse("1700000000.25", pattern("%s.%f")) == 1_700_000_000_250)
        #expect(parse("-1.25", pattern("%s.%f")) == -1250)
        #expect(parse("@1700000000 ignored-zone +0500", pattern("@%s ignored-zone %z")) == 1_700_000_000_000)
    }

    @Test func patternWhitespaceAndLiterals() {
        let f = pattern("%Y-%m-%d %H:%M")
        #expect(parse("2024-03-05 10:20", f) == utc(2024, 3, 5, 10, 20))
        #expect(parse("2024-03-05   \t10:20", f) == utc(2024, 3, 5, 10, 20))
        #expect(parse("2024-03-0510:20", f) == nil)
        // A run of whitespace in the pattern is one "one or more".
        #expect(parse("2024-03-05 10:20", pattern("%Y-%m-%d  %H:%M")) == utc(2024, 3, 5, 10, 20))
        #expect(parse("2024/03/05 10:20", f) == nil)
        #expect(parse("2024-03-05 10:20:00", f) == nil)
        #expect(parse("x2024-03-05 10:20", f) == nil)
        #expect(parse("2024-03-05T10:20", pattern("%Y-%m-%dT%H:%M")) == utc(2024, 3, 5, 10, 20))
        #expect(parse("2024-03-05t10:20", pattern("%Y-%m-%dT%H:%M")) == nil)
    }

    @Test func patternDefaultsAndRanges() {
        #expect(parse("10:20:30", pattern("%H:%M:%S")) == utc(1970, 1, 1, 10, 20, 30))
        #expect(parse("2024", pattern("%Y")) == utc(2024, 1, 1))
        #expect(parse("Feb 29", pattern("%b %d")) == nil)  // 1970 is not a leap year
        #expect(parse("0000", pattern("%Y")) == nil)
        #expect(parse("99", pattern("%Y")) == nil)
        #expect(parse("13", pattern("%m")) == nil)
        #expect(parse("0", pattern("%d")) == nil)
        #expect(parse("24", pattern("%H")) == nil)
        #expect(parse("60", pattern("%M")) == nil)
        #expect(parse("61", pattern("%S")) == nil)
        #expect(parse("367", pattern("%j")) == nil)
        #expect(parse("", pattern("%Y")) == nil)
        #expect(parse("2024 2", pattern("%Y %y")) == nil)
        #expect(parse("1234567890123", pattern("%s")) == nil)
    }

    // MARK: writeISO

    @Test func writeISOFixedPoints() {
        #expect(iso(0) == "1970-01-01T00:00:00.000Z")
        #expect(iso(-1) == "1969-12-31T23:59:59.999Z")
        #expect(iso(1_700_000_000_123) == "2023-11-14T22:13:20.123Z")
        #expect(iso(DateTimeParser.minMillis) == "0001-01-01T00:00:00.000Z")
        #expect(iso(DateTimeParser.maxMillis) == "9999-12-31T23:59:59.999Z")
        #expect(iso(.min) == "0001-01-01T00:00:00.000Z")
        #expect(iso(.max) == "9999-12-31T23:59:59.999Z")
        #expect(iso(utc(2024, 2, 29, 7, 5, 9, 7)) == "2024-02-29T07:05:09.007Z")
    }

    @Test func writeISORoundTrips() {
        var rng = SplitMix64(seed: 42)
        let span = UInt64(DateTimeParser.maxMillis - DateTimeParser.minMillis + 1)
        for _ in 0..<20_000 {
            let m = DateTimeParser.minMillis + Int64(rng.next() % span)
            let text = iso(m)
            #expect(parse(text, .iso8601) == m, "\(m) \(text)")
        }
    }

    @Test("a value isCanonicalISO accepts is exactly what writeISO writes for it, so copying it is safe")
    func canonicalISOIsCopyable() {
        var rng = SplitMix64(seed: 7)
        let span = UInt64(DateTimeParser.maxMillis - DateTimeParser.minMillis + 1)
        var canonical = 0
        for _ in 0..<5_000 {
            let text = iso(DateTimeParser.minMillis + Int64(rng.next() % span))
            // The written form and single-byte variants of it: other separators, case,
            // a leap second, fewer or more fraction digits, an offset.
            var variants = [text]
            var b = Array(text.utf8)
            for (at, c) in [(10, " "), (10, "t"), (23, "z"), (17, "6"), (19, ",")] {
                let saved = b[at]
                b[at] = UInt8(ascii: Unicode.Scalar(c)!)
                variants.append(String(decoding: b, as: UTF8.self))
                b[at] = saved
            }
            variants.append(String(text.dropLast(2)) + "Z")
            variants.append(String(text.dropLast()) + "4Z")
            variants.append(String(text.dropLast()) + "+00:00")
            for v in variants {
                var u = Array(v.utf8)
                let isCanonical = u.withUnsafeBytes { DateTimeParser.isCanonicalISO($0) }
                guard let ms = parse(v, .iso8601) else { continue }
                if isCanonical {
                    canonical += 1
                    #expect(iso(ms) == v, "\(v) is copied but writeISO gives \(iso(ms))")
                }
                u.removeAll()
            }
        }
        #expect(canonical >= 5_000)
    }

    // MARK: Python as the oracle

    @Test(.enabled(if: python3Path() != nil, "needs python3"))
    func agreesWithPython() throws {
        var rng = SplitMix64(seed: 0x10_65_41)
        var cases: [OracleCase] = []
        func rand(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let nginx = pattern("%d/%b/%Y:%H:%M:%S %z")
        let syslog = pattern("%Y %b %e %H:%M:%S")
        let rfc1123 = pattern("%a, %d %b %Y %H:%M:%S %Z")
        let us12 = pattern("%m/%d/%y %I:%M:%S %p")
        let fracZ = pattern("%Y-%m-%dT%H:%M:%S.%f%z")
        let ordinal = pattern("%Y-%j %H:%M:%S")
        let longNames = pattern("%A %d %B %Y %H:%M")

        for k in 0..<4000 {
            // Years 1601–2399 keep every variant inside Python's datetime range once offsets apply.
            let days = CivilDate.toDays(year: 1601, month: 1, day: 1) + Int64(rand(292_000))
            let (y, mo, d) = CivilDate.fromDays(days)
            let h = rand(24), mi = rand(60), s = rand(60)
            let offsetMinutes = (rand(48) - 24) * 30 + (rand(4) == 0 ? 15 : 0)
            let sign = offsetMinutes < 0 ? "-" : "+"
            let oh = pad(abs(offsetMinutes) / 60), om = pad(abs(offsetMinutes) % 60)
            let weekday = Int(((days % 7) + 11) % 7)
            let date = "\(pad(y, 4))-\(pad(mo))-\(pad(d))"
            switch k % 9 {
            case 0, 1:
                var t = "\(date)\(rand(2) == 0 ? "T" : " ")\(pad(h)):\(pad(mi))"
                if rand(5) != 0 { t += ":\(pad(s))" }
                if t.count == 19 && rand(2) == 0 {
                    t += rand(4) == 0 ? "," : "."
                    for _ in 0..<(1 + rand(9)) { t += String(rand(10)) }
                }
                switch rand(5) {
                case 0: t += "Z"
                case 1: t += "\(sign)\(oh):\(om)"
                case 2: t += "\(sign)\(oh)\(om)"
                case 3: t += om == "00" ? "\(sign)\(oh)" : ""
                default: break
                }
                cases.append(OracleCase(ours: .iso8601, python: "iso", text: t))
            case 2:
                let t =
                    "\(pad(y, 4))\(pad(mo))\(pad(d))T\(pad(h))\(pad(mi))\(pad(s))\(rand(2) == 0 ? "Z" : "\(sign)\(oh)\(om)")"
                cases.append(OracleCase(ours: .iso8601, python: "iso", text: t))
            case 3:
                let t = "\(pad(d))/\(monthNames[mo - 1])/\(y):\(pad(h)):\(pad(mi)):\(pad(s)) \(sign)\(oh)\(om)"
                cases.append(OracleCase(ours: nginx, python: "%d/%b/%Y:%H:%M:%S %z", text: t))
            case 4:
                let t = "\(y) \(monthNames[mo - 1]) \(d < 10 ? " " : "")\(d) \(pad(h)):\(pad(mi)):\(pad(s))"
                cases.append(OracleCase(ours: syslog, python: "%Y %b %d %H:%M:%S", text: t))
            case 5:
                let t =
                    "\(weekdayNames[weekday]), \(pad(d)) \(monthNames[mo - 1]) \(y) \(pad(h)):\(pad(mi)):\(pad(s)) \(rand(2) == 0 ? "GMT" : "UTC")"
                cases.append(OracleCase(ours: rfc1123, python: "%a, %d %b %Y %H:%M:%S %Z", text: t))
            case 6:
                let yy = 1969 + rand(100)
                let h12 = h % 12 == 0 ? 12 : h % 12
                let t = "\(pad(mo))/\(pad(d))/\(pad(yy % 100)) \(pad(h12)):\(pad(mi)):\(pad(s)) \(h < 12 ? "AM" : "PM")"
                cases.append(OracleCase(ours: us12, python: "%m/%d/%y %I:%M:%S %p", text: t))
            case 7:
                var frac = ""
                for _ in 0..<(1 + rand(6)) { frac += String(rand(10)) }
                switch rand(3) {
                case 0:
                    let t = "\(date)T\(pad(h)):\(pad(mi)):\(pad(s)).\(frac)\(sign)\(oh):\(om)"
                    cases.append(OracleCase(ours: fracZ, python: "%Y-%m-%dT%H:%M:%S.%f%z", text: t))
                case 1:
                    let yday = Int(days - CivilDate.toDays(year: y, month: 1, day: 1)) + 1
                    let t = "\(y)-\(pad(yday, 3)) \(pad(h)):\(pad(mi)):\(pad(s))"
                    cases.append(OracleCase(ours: ordinal, python: "%Y-%j %H:%M:%S", text: t))
                default:
                    let t = "\(fullWeekdayNames[weekday]) \(d) \(fullMonthNames[mo - 1]) \(y) \(pad(h)):\(pad(mi))"
                    cases.append(OracleCase(ours: longNames, python: "%A %d %B %Y %H:%M", text: t))
                }
            default:
                let whole = Int64(rng.next() % 20_000_000_000) - 10_000_000_000
                var t = String(whole)
                if rand(3) != 0 {
                    t += "."
                    for _ in 0..<(1 + rand(7)) { t += String(rand(10)) }
                }
                if rand(2) == 0 {
                    cases.append(OracleCase(ours: .epochSeconds, python: "epoch", text: t))
                } else {
                    cases.append(OracleCase(ours: .epochMillis, python: "epoch-ms", text: t))
                }
            }
        }
        // Impossible dates both sides must reject.
        for t in ["2023-02-29", "2023-02-29T10:00:00Z", "2100-02-29 00:00", "2024-04-31T00:00:00+01:00", "2024-13-01"] {
            cases.append(OracleCase(ours: .iso8601, python: "iso", text: t))
        }
        cases.append(OracleCase(ours: nginx, python: "%d/%b/%Y:%H:%M:%S %z", text: "29/Feb/2023:00:00:00 +0000"))
        cases.append(OracleCase(ours: nginx, python: "%d/%b/%Y:%H:%M:%S %z", text: "31/Jun/2023:00:00:00 +0000"))

        let input = cases.map { "\($0.python)\t\($0.text)" }.joined(separator: "\n") + "\n"
        let lines = try runPython(oracleScript, input: input).split(separator: "\n").map(String.init)
        #expect(lines.count == cases.count)
        var compared = 0, rejected = 0
        for (c, line) in zip(cases, lines) {
            let ours = parse(c.text, c.ours)
            if line == "ERR" {
                #expect(ours == nil, "\(c.text): python rejects, we got \(ours.map(String.init) ?? "nil")")
                rejected += 1
            } else {
                #expect(
                    ours == Int64(line),
                    "\(c.text) [\(c.python)]: python \(line), ours \(ours.map(String.init) ?? "nil")")
                compared += 1
            }
        }
        #expect(compared >= 3900)
        #expect(rejected >= 7)
    }
}
