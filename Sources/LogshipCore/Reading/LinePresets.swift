#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A built-in `lines.pattern` preset; its field names are a user-facing contract.
enum LinePreset: Sendable {
    case nginxCombined, apacheCommon, apacheCombined, syslogRFC3164, syslogRFC5424, raw

    init?(name: String) {
        switch name {
        case "nginx-combined": self = .nginxCombined
        case "apache-common": self = .apacheCommon
        case "apache-combined": self = .apacheCombined
        case "syslog-rfc3164": self = .syslogRFC3164
        case "syslog-rfc5424": self = .syslogRFC5424
        case "raw": self = .raw
        default: return nil
        }
    }

    var name: String {
        switch self {
        case .nginxCombined: "nginx-combined"
        case .apacheCommon: "apache-common"
        case .apacheCombined: "apache-combined"
        case .syslogRFC3164: "syslog-rfc3164"
        case .syslogRFC5424: "syslog-rfc5424"
        case .raw: "raw"
        }
    }

    /// In slot order; the parsers below address them by position.
    var fieldNames: [String] {
        switch self {
        case .nginxCombined:
            [
                "remote_addr", "remote_user", "time_local", "request", "request_method", "request_uri",
                "server_protocol", "status", "body_bytes_sent", "http_referer", "http_user_agent",
            ]
        case .apacheCommon:
            [
                "remote_host", "ident", "remote_user", "time", "request", "request_method", "request_uri", "protocol",
                "status", "bytes",
            ]
        case .apacheCombined:
            [
                "remote_host", "ident", "remote_user", "time", "request", "request_method", "request_uri", "protocol",
                "status", "bytes", "referer", "user_agent",
            ]
        case .syslogRFC3164:
            ["pri", "facility", "severity", "timestamp", "hostname", "app_name", "procid", "message"]
        case .syslogRFC5424:
            [
                "pri", "facility", "severity", "version", "timestamp", "hostname", "app_name", "procid", "msgid",
                "structured_data", "message",
            ]
        case .raw:
            ["message"]
        }
    }
}

/// What a preset parser expected, and where, when a line did not match.
struct PresetMismatch: Error {
    var expected: StaticString
    var at: Int

    func reason(preset: LinePreset, line: UnsafeRawBufferPointer) -> RecordError {
        let found: String
        if at >= line.count {
            found = "end of line"
        } else {
            let b = line[at]
            found =
                b >= 0x20 && b < 0x7F
                ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16, uppercase: true))"
        }
        return RecordError(
            "does not match \(preset.name): expected \(expected) at byte \(at), found \(found)", column: at)
    }
}

/// Byte-level parsers for the presets. They append slots pointing into the line and never
/// copy; the only computed values (syslog facility and severity) get slots placed just past
/// the line's end, and the decoder writes their digits there in its scratch copy.
enum PresetParsers {
    static let space = UInt8(ascii: " ")
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")

    /// Parses `line` (non-empty) and appends its slots. Returns the syslog PRI value when the
    /// decoder must materialise facility and severity, else -1.
    static func parse(_ preset: LinePreset, _ line: UnsafeRawBufferPointer, into f: SlotBuffer)
        throws(PresetMismatch) -> Int
    {
        let s = Bytes(line)
        switch preset {
        case .nginxCombined: try accessLog(s, nginx: true, combined: true, into: f)
        case .apacheCommon: try accessLog(s, nginx: false, combined: false, into: f)
        case .apacheCombined: try accessLog(s, nginx: false, combined: true, into: f)
        case .syslogRFC3164: return try syslog3164(s, into: f)
        case .syslogRFC5424: return try syslog5424(s, into: f)
        case .raw: f.append(slot(0, 0, s.n))
        }
        return -1
    }

    /// The line as a pointer and a length: no bounds checks on the hot path, so every read
    /// below is guarded by an explicit `< n`.
    struct Bytes {
        let p: UnsafePointer<UInt8>
        let n: Int

        init(_ line: UnsafeRawBufferPointer) {
            p = line.baseAddress!.assumingMemoryBound(to: UInt8.self)
            n = line.count
        }

        @inline(__always) subscript(i: Int) -> UInt8 { p[i] }

        @inline(__always) func at(_ i: Int, is b: UInt8) -> Bool { i < n && p[i] == b }

        /// First `b` in `from..<to`, or `to`.
        @inline(__always) func find(_ b: UInt8, from: Int, to: Int) -> Int {
            guard from < to, let hit = memchr(p + from, Int32(b), to - from) else { return to }
            return UnsafeRawPointer(p).distance(to: UnsafeRawPointer(hit))
        }

        @inline(__always) func find(_ b: UInt8, from: Int) -> Int { find(b, from: from, to: n) }

        /// End of a run of ASCII digits starting at `i`.
        @inline(__always) func digits(from i: Int) -> Int {
            var j = i
            while j < n, p[j] &- 0x30 < 10 { j += 1 }
            return j
        }

        /// The content of ` "…"` starting at `i` (the space), without the quotes.
        @inline(__always)
        func quoted(at i: Int, _ opening: StaticString, _ closing: StaticString) throws(PresetMismatch) -> Range<Int> {
            guard at(i, is: space), at(i + 1, is: quote) else { throw PresetMismatch(expected: opening, at: i) }
            let e = closingQuote(from: i + 2)
            if e == n { throw PresetMismatch(expected: closing, at: n) }
            return i + 2..<e
        }

        /// The closing `"` of a quoted field whose content starts at `i`: the first quote not
        /// escaped by a backslash (Apache writes `\"`, nginx `\x22`, so a backslash always
        /// starts an escape). Returns `n` when there is none.
        @inline(__always) func closingQuote(from i: Int) -> Int {
            var k = i
            while true {
                let q = find(quote, from: k)
                if q == n { return n }
                var b = q
                while b > i, p[b - 1] == backslash { b -= 1 }
                if (q - b) & 1 == 0 { return q }
                k = q + 1
            }
        }
    }

    @inline(__always) static func slot(_ name: Int32, _ start: Int, _ count: Int) -> FieldSlot {
        FieldSlot(nameIndex: name, valueStart: start, valueCount: count, kind: .text)
    }

    // MARK: nginx / Apache

    /// `%h %l %u %t "%r" %>s %b` (+ ` "%{Referer}i" "%{User-agent}i"`). nginx's combined format
    /// is the same line with a literal `-` for `%l`, and no field for it.
    static func accessLog(_ s: Bytes, nginx: Bool, combined: Bool, into f: SlotBuffer) throws(PresetMismatch) {
        // Name indexes after the client address are shifted by the ident field Apache has.
        let k: Int32 = nginx ? 0 : 1
        let n = s.n
        let a = s.find(space, from: 0)
        if a == 0 || a == n { throw PresetMismatch(expected: "the client address followed by ' '", at: a) }
        f.append(slot(0, 0, a))
        var i = a + 1
        if nginx {
            guard s.at(i, is: UInt8(ascii: "-")), s.at(i + 1, is: space) else {
                throw PresetMismatch(expected: "'- ' after the client address", at: i)
            }
            i += 2
        } else {
            let e = s.find(space, from: i)
            if e == i || e == n {
                throw PresetMismatch(expected: "the ident ('-' when unknown) followed by ' '", at: e)
            }
            f.append(slot(1, i, e - i))
            i = e + 1
        }
        // The user is whatever precedes the first ` [`, spaces included.
        var e = i
        while true {
            e = s.find(space, from: e)
            if e == n { throw PresetMismatch(expected: "the remote user followed by ' ['", at: i) }
            if s.at(e + 1, is: UInt8(ascii: "[")) { break }
            e += 1
        }
        f.append(slot(1 + k, i, e - i))
        i = e + 2
        e = s.find(UInt8(ascii: "]"), from: i)
        if e == n { throw PresetMismatch(expected: "']' closing the time", at: n) }
        f.append(slot(2 + k, i, e - i))
        i = e + 1
        let request = try s.quoted(at: i, "' \"' before the request", "'\"' closing the request")
        f.append(slot(3 + k, request.lowerBound, request.count))
        splitRequest(s, request.lowerBound, request.upperBound, nameBase: 4 + k, into: f)
        i = request.upperBound + 1
        guard s.at(i, is: space) else { throw PresetMismatch(expected: "' ' after the request", at: i) }
        i += 1
        e = s.digits(from: i)
        if e == i { throw PresetMismatch(expected: "the status code", at: i) }
        f.append(slot(7 + k, i, e - i))
        i = e
        guard s.at(i, is: space) else { throw PresetMismatch(expected: "' ' after the status code", at: i) }
        i += 1
        e = s.at(i, is: UInt8(ascii: "-")) ? i + 1 : s.digits(from: i)
        if e == i { throw PresetMismatch(expected: "the response size (digits or '-')", at: i) }
        f.append(slot(8 + k, i, e - i))
        i = e
        if !combined {
            if i != n { throw PresetMismatch(expected: "the end of the line after the response size", at: i) }
            return
        }
        let referer = try s.quoted(at: i, "' \"' before the referer", "'\"' closing the referer")
        f.append(slot(9 + k, referer.lowerBound, referer.count))
        let agent = try s.quoted(
            at: referer.upperBound + 1, "' \"' before the user agent", "'\"' closing the user agent")
        f.append(slot(10 + k, agent.lowerBound, agent.count))
        if agent.upperBound + 1 != n {
            throw PresetMismatch(expected: "the end of the line after the user agent", at: agent.upperBound + 1)
        }
    }

    /// `METHOD URI PROTOCOL` when the request has exactly three non-empty parts; anything
    /// else (`-`, a TLS handshake sent to a plain port, a URI with a raw space) adds nothing.
    @inline(__always)
    static func splitRequest(_ s: Bytes, _ start: Int, _ end: Int, nameBase: Int32, into f: SlotBuffer) {
        let a = s.find(space, from: start, to: end)
        guard a > start, a < end else { return }
        var b = end - 1
        while b > a, s[b] != space { b -= 1 }
        guard b > a + 1, b < end - 1, s.find(space, from: a + 1, to: b) == b else { return }
        f.append(slot(nameBase, start, a - start))
        f.append(slot(nameBase + 1, a + 1, b - a - 1))
        f.append(slot(nameBase + 2, b + 1, end - b - 1))
    }

    // MARK: syslog

    /// `<PRI>` opening the line: appends pri, facility and severity slots and returns the value
    /// and the index after `>`. Facility and severity are placed past the line's end.
    @inline(__always)
    static func pri(_ s: Bytes, into f: SlotBuffer) throws(PresetMismatch) -> (value: Int, end: Int) {
        let e = s.digits(from: 1)
        guard e > 1, e <= 4, s.at(e, is: UInt8(ascii: ">")) else {
            throw PresetMismatch(expected: "PRI: 1 to 3 digits and '>'", at: min(e, 4))
        }
        var v = 0
        for j in 1..<e { v = v * 10 + Int(s[j] &- 0x30) }
        if v > 191 { throw PresetMismatch(expected: "a PRI of at most 191", at: 1) }
        f.append(slot(0, 1, e - 1))
        let facilityDigits = v >= 80 ? 2 : 1
        f.append(slot(1, s.n, facilityDigits))
        f.append(slot(2, s.n + facilityDigits, 1))
        return (v, e + 1)
    }

    @inline(__always) static func isMonth(_ s: Bytes, _ i: Int) -> Bool {
        guard i + 3 <= s.n else { return false }
        let months: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"
        let m = months.utf8Start
        var k = 0
        while k < 36 {
            if m[k] == s[i], m[k + 1] == s[i + 1], m[k + 2] == s[i + 2] { return true }
            k += 3
        }
        return false
    }

    @inline(__always) static func isDigit(_ s: Bytes, _ i: Int) -> Bool { i < s.n && s[i] &- 0x30 < 10 }

    /// `[<PRI>]TIMESTAMP HOST [TAG[\[PID\]]: ]MSG`. The timestamp is `Mmm dd hh:mm:ss[.frac]` (day
    /// space-padded or not) or, as rsyslog's default file format writes it, RFC 3339. A line
    /// whose text after the host has no `TAG:` is kept whole as the message (rsyslog's "last
    /// message repeated" lines, programs logging without a tag).
    static func syslog3164(_ s: Bytes, into f: SlotBuffer) throws(PresetMismatch) -> Int {
        let n = s.n
        var i = 0
        var priValue = -1
        if s[0] == UInt8(ascii: "<") { (priValue, i) = try pri(s, into: f) }
        let ts = i
        if isMonth(s, i) {
            i += 3
            guard s.at(i, is: space) else { throw PresetMismatch(expected: "' ' after the month", at: i) }
            i += 1
            if s.at(i, is: space) { i += 1 }
            let d = s.digits(from: i)
            guard d > i, d <= i + 2 else { throw PresetMismatch(expected: "the day of the month", at: i) }
            i = d
            guard s.at(i, is: space) else { throw PresetMismatch(expected: "' ' after the day", at: i) }
            i += 1
            guard isDigit(s, i), isDigit(s, i + 1), s.at(i + 2, is: UInt8(ascii: ":")), isDigit(s, i + 3),
                isDigit(s, i + 4), s.at(i + 5, is: UInt8(ascii: ":")), isDigit(s, i + 6), isDigit(s, i + 7)
            else { throw PresetMismatch(expected: "the time as hh:mm:ss", at: i) }
            i += 8
            // Fractional seconds, as some daemons write them.
            if s.at(i, is: UInt8(ascii: ".")), isDigit(s, i + 1) { i = s.digits(from: i + 1) }
        } else if isDigit(s, i) {
            let e = s.find(space, from: i)
            guard e - i >= 19, s.digits(from: i) == i + 4, s[i + 4] == UInt8(ascii: "-"), s[i + 7] == UInt8(ascii: "-"),
                s[i + 10] == UInt8(ascii: "T")
            else { throw PresetMismatch(expected: "an RFC 3339 timestamp (YYYY-MM-DDThh:mm:ss…)", at: i) }
            i = e
        } else {
            throw PresetMismatch(expected: "a timestamp ('Mmm dd hh:mm:ss' or RFC 3339)", at: i)
        }
        f.append(slot(3, ts, i - ts))
        guard s.at(i, is: space) else { throw PresetMismatch(expected: "' ' after the timestamp", at: i) }
        i += 1
        let h = s.find(space, from: i)
        if h == i { throw PresetMismatch(expected: "the hostname", at: i) }
        f.append(slot(4, i, h - i))
        if h == n { return priValue }
        i = h + 1
        var message = i
        var t = i
        while t < n, s[t] != space, s[t] != UInt8(ascii: "["), s[t] != UInt8(ascii: ":") { t += 1 }
        if t > i, t < n {
            if s[t] == UInt8(ascii: ":") {
                if t + 1 == n || s[t + 1] == space {
                    f.append(slot(5, i, t - i))
                    message = min(t + 2, n)
                }
            } else if s[t] == UInt8(ascii: "[") {
                var c = t + 1
                while c < n, s[c] != UInt8(ascii: "]"), s[c] != space { c += 1 }
                if c > t + 1, s.at(c, is: UInt8(ascii: "]")), s.at(c + 1, is: UInt8(ascii: ":")),
                    c + 2 == n || s[c + 2] == space
                {
                    f.append(slot(5, i, t - i))
                    f.append(slot(6, t + 1, c - t - 1))
                    message = min(c + 3, n)
                }
            }
        }
        f.append(slot(7, message, n - message))
        return priValue
    }

    static func headerField(_ name: Int32) -> StaticString {
        switch name {
        case 4: "the timestamp or '-'"
        case 5: "the hostname or '-'"
        case 6: "the app name or '-'"
        case 7: "the process id or '-'"
        default: "the message id or '-'"
        }
    }

    /// `<PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]`; `-` fields are omitted,
    /// structured data is kept as written and a UTF-8 BOM opening MSG is dropped.
    static func syslog5424(_ s: Bytes, into f: SlotBuffer) throws(PresetMismatch) -> Int {
        let n = s.n
        guard s[0] == UInt8(ascii: "<") else { throw PresetMismatch(expected: "'<' opening PRI", at: 0) }
        let (priValue, start) = try pri(s, into: f)
        var i = start
        let v = s.digits(from: i)
        guard v > i, v <= i + 3, s[i] != UInt8(ascii: "0") else { throw PresetMismatch(expected: "the version", at: i) }
        f.append(slot(3, i, v - i))
        i = v
        guard s.at(i, is: space) else { throw PresetMismatch(expected: "' ' after the version", at: i) }
        i += 1
        for name: Int32 in 4...8 {
            let e = s.find(space, from: i)
            if e == i { throw PresetMismatch(expected: headerField(name), at: i) }
            if e == n { throw PresetMismatch(expected: "' ' and the rest of the header", at: n) }
            if !(e == i + 1 && s[i] == UInt8(ascii: "-")) { f.append(slot(name, i, e - i)) }
            i = e + 1
        }
        if s.at(i, is: UInt8(ascii: "-")) {
            i += 1
        } else if s.at(i, is: UInt8(ascii: "[")) {
            let sd = i
            while s.at(i, is: UInt8(ascii: "[")) {
                var j = i + 1
                if j >= n || s[j] == space || s[j] == UInt8(ascii: "]") || s[j] == quote {
                    throw PresetMismatch(expected: "an SD-ID after '['", at: j)
                }
                var inValue = false
                while j < n {
                    let c = s[j]
                    if inValue {
                        if c == backslash {
                            j += 2
                            continue
                        }
                        if c == quote { inValue = false }
                    } else if c == quote {
                        inValue = true
                    } else if c == UInt8(ascii: "]") {
                        break
                    }
                    j += 1
                }
                if j >= n { throw PresetMismatch(expected: "']' closing the structured data element", at: n) }
                i = j + 1
            }
            f.append(slot(9, sd, i - sd))
        } else {
            throw PresetMismatch(expected: "structured data ('-' or '[…]')", at: i)
        }
        if i == n { return priValue }
        guard s[i] == space else { throw PresetMismatch(expected: "' ' before the message", at: i) }
        i += 1
        if i + 3 <= n, s[i] == 0xEF, s[i + 1] == 0xBB, s[i + 2] == 0xBF { i += 3 }
        f.append(slot(10, i, n - i))
        return priValue
    }
}
