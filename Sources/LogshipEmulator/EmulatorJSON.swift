/// The emulator's own JSON reader. It shares no code with the client's writer on purpose:
/// a bug in one must show up as a refusal by the other.
///
/// It reads what the service takes: one object or an array of objects. Scalars come back
/// typed; nested objects and arrays come back as their compact JSON text, which the service
/// stores in a string column.
enum EmulatorJSON {
    enum Value: Equatable {
        case null
        case bool(Bool)
        case number(Double, text: String)
        case string(String)
        case nested(String)
    }

    struct SyntaxError: Error, CustomStringConvertible {
        let offset: Int
        let message: String
        var description: String { "invalid JSON at byte \(offset): \(message)" }
    }

    /// Members of one record that repeat an earlier member's name exactly: the service keeps
    /// one value per name, so each of these is a value lost.
    static func duplicateKeys(_ members: [(String, Value)]) -> Int {
        guard members.count > 1 else { return 0 }
        var seen = Set<String>(minimumCapacity: members.count)
        var n = 0
        for (name, _) in members where !seen.insert(name).inserted { n += 1 }
        return n
    }

    /// Validates the body and counts its records without building anything (for `--discard`).
    static func countRecords(_ body: UnsafeRawBufferPointer) throws(SyntaxError) -> Int {
        var p = Parser(body)
        return try p.records(build: false) { _, _ in }
    }

    /// Parses every record, handing each one's members in order to `onRecord`.
    static func forEachRecord(
        _ body: UnsafeRawBufferPointer, _ onRecord: ([(String, Value)]) -> Void
    ) throws(SyntaxError) -> Int {
        var p = Parser(body)
        return try p.records(build: true) { members, _ in onRecord(members) }
    }

    /// Like `forEachRecord`, with the byte range of each record's object in `body`: the
    /// Logs Ingestion emulator stores records as they were sent.
    static func forEachRecordWithSpan(
        _ body: UnsafeRawBufferPointer, _ onRecord: ([(String, Value)], Range<Int>) -> Void
    ) throws(SyntaxError) -> Int {
        var p = Parser(body)
        return try p.records(build: true, onRecord)
    }

    struct Parser {
        let b: UnsafeRawBufferPointer
        var i = 0
        var depth = 0
        init(_ b: UnsafeRawBufferPointer) { self.b = b }

        func fail(_ m: String) -> SyntaxError { SyntaxError(offset: i, message: m) }

        @inline(__always) mutating func ws() {
            while i < b.count {
                let c = b[i]
                if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { break }
            }
        }

        mutating func records(build: Bool, _ onRecord: ([(String, Value)], Range<Int>) -> Void) throws(SyntaxError)
            -> Int
        {
            ws()
            if i < b.count, b[i] == 0xEF, i + 2 < b.count, b[i + 1] == 0xBB, b[i + 2] == 0xBF {
                throw fail("a byte order mark is not JSON")
            }
            guard i < b.count else { throw fail("empty body") }
            var count = 0
            if b[i] == UInt8(ascii: "{") {
                try record(build: build, onRecord)
                count = 1
            } else if b[i] == UInt8(ascii: "[") {
                i += 1
                ws()
                if i < b.count, b[i] == UInt8(ascii: "]") {
                    i += 1
                } else {
                    while true {
                        ws()
                        guard i < b.count, b[i] == UInt8(ascii: "{") else {
                            throw fail("expected a record (a JSON object)")
                        }
                        if build { try record(build: true, onRecord) } else { try skipRecord() }
                        count += 1
                        ws()
                        guard i < b.count else { throw fail("unterminated array") }
                        if b[i] == UInt8(ascii: ",") { i += 1; continue }
                        if b[i] == UInt8(ascii: "]") { i += 1; break }
                        throw fail("expected ',' or ']' after a record")
                    }
                }
            } else {
                throw fail("expected '[' or '{'")
            }
            ws()
            guard i == b.count else { throw fail("unexpected data after the JSON value") }
            return count
        }

        mutating func record(build: Bool, _ onRecord: ([(String, Value)], Range<Int>) -> Void) throws(SyntaxError) {
            let start = i
            i += 1  // {
            var members: [(String, Value)] = []
            ws()
            if i < b.count, b[i] == UInt8(ascii: "}") {
                i += 1
                if build { onRecord(members, start..<i) }
                return
            }
            while true {
                ws()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a property name") }
                let key = try string(build: build)
                ws()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                ws()
                guard i < b.count else { throw fail("unexpected end") }
                let c = b[i]
                var v: Value = .null
                if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                    let start = i
                    try skipValue()
                    if build {
                        v = .nested(String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self))
                    }
                } else {
                    v = try scalar(build: build)
                }
                if build { members.append((key, v)) }
                ws()
                guard i < b.count else { throw fail("unterminated object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; break }
                throw fail("expected ',' or '}'")
            }
            if build { onRecord(members, start..<i) }
        }

        /// `record(build: false)` without building anything: the same checks, the same errors.
        mutating func skipRecord() throws(SyntaxError) {
            i += 1  // {
            ws()
            if i < b.count, b[i] == UInt8(ascii: "}") {
                i += 1
                return
            }
            while true {
                ws()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a property name") }
                _ = try skipString()
                ws()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                ws()
                guard i < b.count else { throw fail("unexpected end") }
                switch b[i] {
                case UInt8(ascii: "{"), UInt8(ascii: "["): try skipValue()
                case UInt8(ascii: "\""): _ = try skipString()
                case UInt8(ascii: "t"): try literal("true")
                case UInt8(ascii: "f"): try literal("false")
                case UInt8(ascii: "n"): try literal("null")
                default: try number()
                }
                ws()
                guard i < b.count else { throw fail("unterminated object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; break }
                throw fail("expected ',' or '}'")
            }
        }

        mutating func scalar(build: Bool) throws(SyntaxError) -> Value {
            let c = b[i]
            switch c {
            case UInt8(ascii: "\""):
                let s = try string(build: build)
                return build ? .string(s) : .null
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            default:
                let start = i
                try number()
                if !build { return .null }
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
                return .number(Double(text) ?? .nan, text: text)
            }
        }

        mutating func literal(_ word: StaticString) throws(SyntaxError) {
            let n = word.utf8CodeUnitCount
            guard i + n <= b.count else { throw fail("unexpected end") }
            for k in 0..<n where b[i + k] != word.utf8Start[k] { throw fail("invalid literal") }
            i += n
        }

        mutating func number() throws(SyntaxError) {
            if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count, isDigit(b[i]) else { throw fail("invalid value") }
            if b[i] == UInt8(ascii: "0") {
                i += 1
            } else {
                while i < b.count, isDigit(b[i]) { i += 1 }
            }
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                guard i < b.count, isDigit(b[i]) else { throw fail("digit expected after '.'") }
                while i < b.count, isDigit(b[i]) { i += 1 }
            }
            if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                i += 1
                if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                guard i < b.count, isDigit(b[i]) else { throw fail("digit expected in exponent") }
                while i < b.count, isDigit(b[i]) { i += 1 }
            }
        }

        @inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

        /// Reads a string starting at the quote; validates escapes, control characters and UTF-8.
        mutating func string(build: Bool) throws(SyntaxError) -> String {
            let start = i + 1
            let hasEscape = try skipString()
            guard build else { return "" }
            let raw = UnsafeRawBufferPointer(rebasing: b[start..<i - 1])
            return hasEscape ? unescape(raw) : String(decoding: raw, as: UTF8.self)
        }

        /// Moves past the string starting at the quote, validating it; returns whether it
        /// holds escapes.
        @inline(__always)
        mutating func skipString() throws(SyntaxError) -> Bool {
            i += 1
            var hasEscape = false
            while true {
                // Fast scan over plain ASCII, sixteen bytes per step, landing on the first
                // byte that needs a look (most strings end inside their first sixteen bytes).
                var landed = false
                if let base = b.baseAddress {
                    let dq = SIMD16<UInt8>(repeating: 0x22), rs = SIMD16<UInt8>(repeating: 0x5C)
                    let lo = SIMD16<UInt8>(repeating: 0x20), hi = SIMD16<UInt8>(repeating: 0x7F)
                    while i + 16 <= b.count {
                        let w = base.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
                        let m = (w .== dq) .| (w .== rs) .| (w .< lo) .| (w .> hi)
                        // Mask lanes are 0x00 or 0xFF bytes; read them as two words rather than
                        // `any`, which reduces lane by lane on baseline x86-64.
                        let words = unsafeBitCast(m, to: SIMD2<UInt64>.self)
                        if words[0] != 0 { i += words[0].trailingZeroBitCount >> 3; landed = true; break }
                        if words[1] != 0 { i += 8 + words[1].trailingZeroBitCount >> 3; landed = true; break }
                        i += 16
                    }
                }
                if !landed {
                    while i < b.count {
                        let c = b[i]
                        if c == 0x22 || c == 0x5C || c < 0x20 || c >= 0x80 { break }
                        i += 1
                    }
                }
                guard i < b.count else { throw fail("unterminated string") }
                let c = b[i]
                if c == 0x22 { break }
                if c < 0x20 { throw fail("control character in string") }
                if c == 0x5C {
                    hasEscape = true
                    i += 1
                    guard i < b.count else { throw fail("unterminated escape") }
                    switch b[i] {
                    case 0x22, 0x5C, 0x2F, UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
                        UInt8(ascii: "r"), UInt8(ascii: "t"):
                        i += 1
                    case UInt8(ascii: "u"):
                        guard i + 4 < b.count else { throw fail("short \\u escape") }
                        for k in 1...4 where hexValue(b[i + k]) == nil { throw fail("bad \\u escape") }
                        i += 5
                    default: throw fail("invalid escape")
                    }
                    continue
                }
                // Multi-byte UTF-8 sequence.
                let n = try utf8Length(at: i)
                i += n
            }
            i += 1
            return hasEscape
        }

        func utf8Length(at j: Int) throws(SyntaxError) -> Int {
            let c = b[j]
            let n: Int
            var min: UInt32
            var cp: UInt32
            if c & 0xE0 == 0xC0 {
                n = 2; cp = UInt32(c & 0x1F); min = 0x80
            } else if c & 0xF0 == 0xE0 {
                n = 3; cp = UInt32(c & 0x0F); min = 0x800
            } else if c & 0xF8 == 0xF0 {
                n = 4; cp = UInt32(c & 0x07); min = 0x10000
            } else {
                throw SyntaxError(offset: j, message: "invalid UTF-8")
            }
            guard j + n <= b.count else { throw SyntaxError(offset: j, message: "truncated UTF-8") }
            for k in 1..<n {
                let cc = b[j + k]
                guard cc & 0xC0 == 0x80 else { throw SyntaxError(offset: j, message: "invalid UTF-8") }
                cp = (cp << 6) | UInt32(cc & 0x3F)
            }
            guard cp >= min, cp <= 0x10FFFF, !(0xD800...0xDFFF).contains(cp) else {
                throw SyntaxError(offset: j, message: "invalid UTF-8")
            }
            min = 0
            return n
        }

        func hexValue(_ c: UInt8) -> UInt32? {
            switch c {
            case 0x30...0x39: return UInt32(c - 0x30)
            case 0x41...0x46: return UInt32(c - 0x41 + 10)
            case 0x61...0x66: return UInt32(c - 0x61 + 10)
            default: return nil
            }
        }

        func unescape(_ raw: UnsafeRawBufferPointer) -> String {
            var out: [UInt8] = []
            out.reserveCapacity(raw.count)
            var j = 0
            func hex4(_ at: Int) -> UInt32 {
                var v: UInt32 = 0
                for k in 0..<4 { v = v << 4 | (hexValue(raw[at + k]) ?? 0) }
                return v
            }
            func appendScalar(_ v: UInt32) {
                let s = Unicode.Scalar(v) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(s)).utf8))
            }
            while j < raw.count {
                let c = raw[j]
                if c != 0x5C { out.append(c); j += 1; continue }
                let e = raw[j + 1]
                j += 2
                switch e {
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "u"):
                    var v = hex4(j)
                    j += 4
                    if (0xD800..<0xDC00).contains(v), j + 6 <= raw.count, raw[j] == 0x5C,
                        raw[j + 1] == UInt8(ascii: "u")
                    {
                        let lo = hex4(j + 2)
                        if (0xDC00..<0xE000).contains(lo) {
                            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                            j += 6
                        }
                    }
                    appendScalar(v)
                default: out.append(e)
                }
            }
            return String(decoding: out, as: UTF8.self)
        }

        mutating func skipValue() throws(SyntaxError) {
            ws()
            guard i < b.count else { throw fail("unexpected end") }
            let c = b[i]
            if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                depth += 1
                guard depth < 512 else { throw fail("nesting too deep") }
                defer { depth -= 1 }
                let close = c == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                i += 1
                ws()
                if i < b.count, b[i] == close { i += 1; return }
                while true {
                    ws()
                    if close == UInt8(ascii: "}") {
                        guard i < b.count, b[i] == 0x22 else { throw fail("expected a property name") }
                        _ = try string(build: false)
                        ws()
                        guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                        i += 1
                    }
                    try skipValue()
                    ws()
                    guard i < b.count else { throw fail("unterminated value") }
                    if b[i] == UInt8(ascii: ",") { i += 1; continue }
                    if b[i] == close { i += 1; return }
                    throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))'")
                }
            }
            _ = try scalar(build: false)
        }
    }
}
