/// NDJSON: one JSON object per line. The whole line is validated (nested values included,
/// strings checked for escapes, control characters and UTF-8); the top-level members become
/// slots over the line's bytes, so a record that needs no change is copied as it is.
public final class NDJSONDecoder: RecordDecoder {
    private let reader: LineReader
    private let fileIndex: Int
    private let invalidUTF8: InvalidUTF8Policy
    private var ordinal: Int64 = 0
    private var view = RecordView()
    private let slots = SlotBuffer()
    private var repaired: UnsafeMutableRawBufferPointer
    /// Lines whose invalid UTF-8 was replaced with U+FFFD.
    public private(set) var replacedUTF8Lines = 0

    public init(reader: LineReader, fileIndex: Int, invalidUTF8: InvalidUTF8Policy) {
        self.reader = reader
        self.fileIndex = fileIndex
        self.invalidUTF8 = invalidUTF8
        self.repaired = .allocate(byteCount: 4096, alignment: 16)
    }

    deinit { repaired.deallocate() }

    public var decodedOffset: Int64 { reader.decodedOffset }
    public var heldBackAt: Int64? { reader.heldBack ? reader.decodedOffset : nil }

    public func next() throws(ReadError) -> DecodeResult? {
        while let line = try reader.next() {
            var bytes = line.bytes
            // Trim ASCII whitespace; skip blank lines.
            var s = 0
            var e = bytes.count
            while s < e, isSpace(bytes[s]) { s += 1 }
            while e > s, isSpace(bytes[e - 1]) { e -= 1 }
            if s == e && !line.overlong { continue }
            let prov = Provenance(fileIndex: fileIndex, line: line.number, offset: line.offset, ordinal: ordinal)
            ordinal += 1
            if line.overlong {
                return .rejected(
                    prov, RecordError("line longer than \(reader.maxLineBytes) bytes"),
                    excerpt: Array(bytes.prefix(4096)))
            }
            bytes = UnsafeRawBufferPointer(rebasing: bytes[s..<e])
            view.provenance = prov
            var scanner = NDJSONScanner(bytes)
            do {
                try scanner.object(into: slots)
                view.fields = slots.view
                view.base = bytes
                view.allNamesPlain = scanner.allNamesPlain
                view.longestValue = scanner.longestValue
                return .record(view)
            } catch let err {
                if err.invalidUTF8 && invalidUTF8 == .replace {
                    let fixed = repair(bytes)
                    var again = NDJSONScanner(fixed)
                    if (try? again.object(into: slots)) != nil {
                        view.fields = slots.view
                        replacedUTF8Lines += 1
                        view.base = fixed
                        view.allNamesPlain = again.allNamesPlain
                        view.longestValue = again.longestValue
                        return .record(view)
                    }
                }
                return .rejected(prov, RecordError(err.message, column: err.offset), excerpt: Array(bytes.prefix(4096)))
            }
        }
        return nil
    }

    @inline(__always) private func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0B || c == 0x0C
    }

    /// A copy of `bytes` with every invalid UTF-8 sequence replaced by U+FFFD.
    private func repair(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UTF8Repair.replacingInvalid(bytes, into: &repaired)
    }
}

/// A validating scanner for one JSON object over bytes.
struct NDJSONScanner {
    struct Failure: Error {
        var message: String
        var offset: Int
        var invalidUTF8 = false
    }

    let p: UnsafeRawPointer
    let n: Int
    var i = 0
    /// After `object`: every key is a valid, unreserved column name as written.
    var allNamesPlain = true
    /// After `object`: the longest string or nested value, in bytes as written.
    var longestValue = 0
    /// `object` stops after the closing brace (format "json": more follows), instead of
    /// requiring the object to end the bytes (a line of NDJSON).
    var stopAfterObject = false

    init(_ b: UnsafeRawBufferPointer) {
        p = b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        n = b.count
    }

    @inline(__always) func at(_ k: Int) -> UInt8 { p.load(fromByteOffset: k, as: UInt8.self) }

    func fail(_ m: String) -> Failure { Failure(message: "invalid JSON at column \(i + 1): \(m)", offset: i) }

    @inline(__always) mutating func ws() {
        while i < n {
            let c = at(i)
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i += 1 } else { return }
        }
    }

    /// Scans the line's object; its members become `fields`.
    mutating func object(into fields: SlotBuffer) throws(Failure) {
        fields.removeAll()
        if n >= 3, at(0) == 0xEF, at(1) == 0xBB, at(2) == 0xBF { i = 3 }
        ws()
        guard i < n, at(i) == UInt8(ascii: "{") else {
            throw fail(i < n ? "a record must be a JSON object ('{' expected)" : "empty")
        }
        i += 1
        ws()
        if i < n, at(i) == UInt8(ascii: "}") {
            i += 1
            if stopAfterObject { return }
            ws()
            guard i == n else { throw fail("unexpected data after the object") }
            return
        }
        allNamesPlain = true
        longestValue = 0
        while true {
            ws()
            guard i < n, at(i) == 0x22 else { throw fail("a property name in double quotes expected") }
            let keyStart = i + 1
            let keyEscaped = try key()
            let keyEnd = i - 1
            ws()
            guard i < n, at(i) == UInt8(ascii: ":") else { throw fail("':' expected") }
            i += 1
            ws()
            guard i < n else { throw fail("a value expected") }
            let c = at(i)
            var slot: FieldSlot
            switch c {
            case 0x22:
                let vs = i + 1
                let esc: Bool
                if let short = shortString() { esc = short } else { esc = try string() }
                if i - 1 - vs > longestValue { longestValue = i - 1 - vs }
                slot = FieldSlot(
                    nameStart: keyStart, nameCount: keyEnd - keyStart, nameEscaped: keyEscaped, valueStart: vs,
                    valueCount: i - 1 - vs, kind: .jsonString, valueEscaped: esc)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let vs = i
                try nested(depth: 1)
                if i - vs > longestValue { longestValue = i - vs }
                slot = FieldSlot(
                    nameStart: keyStart, nameCount: keyEnd - keyStart, nameEscaped: keyEscaped, valueStart: vs,
                    valueCount: i - vs, kind: .nested, valueEscaped: false)
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                let vs = i
                let kind = try literal()
                slot = FieldSlot(
                    nameStart: keyStart, nameCount: keyEnd - keyStart, nameEscaped: keyEscaped, valueStart: vs,
                    valueCount: i - vs, kind: kind, valueEscaped: false)
            default:
                let vs = i
                try number()
                slot = FieldSlot(
                    nameStart: keyStart, nameCount: keyEnd - keyStart, nameEscaped: keyEscaped, valueStart: vs,
                    valueCount: i - vs, kind: .number, valueEscaped: false)
            }
            fields.append(slot)
            ws()
            guard i < n else { throw fail("unterminated object ('}' expected)") }
            let d = at(i)
            i += 1
            if d == UInt8(ascii: ",") { continue }
            if d == UInt8(ascii: "}") { break }
            i -= 1
            throw fail("',' or '}' expected")
        }
        if stopAfterObject { return }
        ws()
        guard i == n else { throw fail("unexpected data after the object") }
    }

    @inline(__always) static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) &- 97 < 26 }
    @inline(__always) static func isNameByte(_ c: UInt8) -> Bool { isLetter(c) || c &- 48 < 10 || c == 0x5F }

    /// Scans a key starting at its quote, noting whether it is usable as a column name as
    /// written; returns whether it contains escapes.
    @inline(__always)
    mutating func key() throws(Failure) -> Bool {
        let start = i
        var k = i + 1
        var plain = k < n && Self.isLetter(at(k))
        // Most keys are short: sixteen bytes at once find the first byte that is not a letter,
        // digit or underscore; a plain key is one where that byte is its closing quote.
        if plain && k + 16 <= n {
            let w = p.loadUnaligned(fromByteOffset: k, as: SIMD16<UInt8>.self)
            let lower = w | SIMD16<UInt8>(repeating: 0x20)
            let a = SIMD16<UInt8>(repeating: 0x61), z = SIMD16<UInt8>(repeating: 0x7A)
            let zero = SIMD16<UInt8>(repeating: 0x30), nine = SIMD16<UInt8>(repeating: 0x39)
            let name =
                ((lower .>= a) .& (lower .<= z)) .| ((w .>= zero) .& (w .<= nine))
                .| (w .== SIMD16<UInt8>(repeating: 0x5F))
            // Mask lanes are 0x00 or 0xFF bytes: read as two words, inverted.
            let words = ~unsafeBitCast(name, to: SIMD2<UInt64>.self)
            let first =
                words[0] != 0
                ? words[0].trailingZeroBitCount >> 3 : words[1] != 0 ? 8 + words[1].trailingZeroBitCount >> 3 : 16
            // At 16 the key is longer: the byte loop goes on from there.
            k += first
            if first < 16 && at(k) != 0x22 { plain = false }
        }
        while k < n {
            let c = at(k)
            if c == 0x22 { break }
            if !Self.isNameByte(c) {
                plain = false
                break
            }
            k += 1
        }
        if plain, k < n, at(k) == 0x22 {
            let len = k - start - 1
            if len > FieldNames.maxLength
                || (len == 4 || len == 6 || len == 7 || len == 13) && isReservedName(start + 1, len)
            {
                allNamesPlain = false
            }
            i = k + 1
            return false
        }
        allNamesPlain = false
        return try quotedKey()
    }

    /// A key that is not a plain name, scanned as any string. Kept out of line, so that `key`
    /// stays small enough to be inlined into `object`.
    @inline(never)
    mutating func quotedKey() throws(Failure) -> Bool { try string() }

    /// TimeGenerated, tenant, RawData, Type, in any letter case.
    func isReservedName(_ s: Int, _ len: Int) -> Bool {
        // One name per length: no array of names built per key.
        let name: StaticString
        switch len {
        case 4: name = "type"
        case 6: name = "tenant"
        case 7: name = "rawdata"
        case 13: name = "timegenerated"
        default: return false
        }
        for k in 0..<len where at(s + k) | 0x20 != name.utf8Start[k] { return false }
        return true
    }

    /// A string value of fewer than sixteen plain bytes (most are: methods, codes, names),
    /// found with one look at sixteen bytes: `i` moves past it and the answer is false (no
    /// escapes). Nil, with `i` unmoved, for every other string (`string` scans those).
    @inline(__always)
    mutating func shortString() -> Bool? {
        guard i + 17 <= n else { return nil }
        let w = UTF8Bytes.specialBytes(p.loadUnaligned(fromByteOffset: i + 1, as: SIMD16<UInt8>.self))
        let k = w[0] != 0 ? w[0].trailingZeroBitCount >> 3 : w[1] != 0 ? 8 + w[1].trailingZeroBitCount >> 3 : 16
        guard k < 16, at(i + 1 + k) == 0x22 else { return nil }
        i += k + 2
        return false
    }

    /// Scans a string starting at its quote; returns whether it contains escapes.
    @inline(__always)
    mutating func string() throws(Failure) -> Bool {
        i += 1
        var escaped = false
        while true {
            // Plain ASCII run, 16 bytes at a time.
            i = NDJSONScanner.skipPlain(p, i, n)
            guard i < n else { throw fail("unterminated string") }
            let c = at(i)
            if c == 0x22 {
                i += 1
                return escaped
            }
            if c == 0x5C {
                escaped = true
                guard i + 1 < n else { throw fail("unterminated escape") }
                let e = at(i + 1)
                switch e {
                case 0x22, 0x5C, 0x2F, UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"),
                    UInt8(ascii: "t"):
                    i += 2
                case UInt8(ascii: "u"):
                    guard i + 5 < n, isHex(at(i + 2)), isHex(at(i + 3)), isHex(at(i + 4)), isHex(at(i + 5)) else {
                        throw fail("invalid \\u escape")
                    }
                    i += 6
                default:
                    throw fail("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
                }
                continue
            }
            if c < 0x20 { throw fail("control character in a string (must be escaped)") }
            let l = UTF8Bytes.sequenceLength(p, i, n)
            if l == 0 {
                var f = fail("invalid UTF-8")
                f.invalidUTF8 = true
                throw f
            }
            i += l
        }
    }

    @inline(__always) func isHex(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x66)
    }

    mutating func literal() throws(Failure) -> ValueKind {
        let c = at(i)
        if c == UInt8(ascii: "t"), i + 4 <= n, at(i + 1) == UInt8(ascii: "r"), at(i + 2) == UInt8(ascii: "u"),
            at(i + 3) == UInt8(ascii: "e")
        {
            i += 4
            return .bool
        }
        if c == UInt8(ascii: "f"), i + 5 <= n, at(i + 1) == UInt8(ascii: "a"), at(i + 2) == UInt8(ascii: "l"),
            at(i + 3) == UInt8(ascii: "s"), at(i + 4) == UInt8(ascii: "e")
        {
            i += 5
            return .bool
        }
        if c == UInt8(ascii: "n"), i + 4 <= n, at(i + 1) == UInt8(ascii: "u"), at(i + 2) == UInt8(ascii: "l"),
            at(i + 3) == UInt8(ascii: "l")
        {
            i += 4
            return .null
        }
        throw fail("invalid literal")
    }

    @inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

    mutating func number() throws(Failure) {
        if i < n, at(i) == UInt8(ascii: "-") { i += 1 }
        guard i < n, isDigit(at(i)) else { throw fail("a value expected") }
        if at(i) == UInt8(ascii: "0") { i += 1 } else { while i < n, isDigit(at(i)) { i += 1 } }
        if i < n, at(i) == UInt8(ascii: ".") {
            i += 1
            guard i < n, isDigit(at(i)) else { throw fail("a digit expected after '.'") }
            while i < n, isDigit(at(i)) { i += 1 }
        }
        if i < n, at(i) | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < n, at(i) == UInt8(ascii: "+") || at(i) == UInt8(ascii: "-") { i += 1 }
            guard i < n, isDigit(at(i)) else { throw fail("a digit expected in the exponent") }
            while i < n, isDigit(at(i)) { i += 1 }
        }
    }

    mutating func nested(depth: Int) throws(Failure) {
        guard depth <= 256 else { throw fail("nesting deeper than 256 levels") }
        let open = at(i)
        let close: UInt8 = open == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
        i += 1
        ws()
        if i < n, at(i) == close {
            i += 1
            return
        }
        while true {
            ws()
            if open == UInt8(ascii: "{") {
                guard i < n, at(i) == 0x22 else { throw fail("a property name in double quotes expected") }
                _ = try string()
                ws()
                guard i < n, at(i) == UInt8(ascii: ":") else { throw fail("':' expected") }
                i += 1
                ws()
            }
            guard i < n else { throw fail("a value expected") }
            switch at(i) {
            case 0x22: _ = try string()
            case UInt8(ascii: "{"), UInt8(ascii: "["): try nested(depth: depth + 1)
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"): _ = try literal()
            default: try number()
            }
            ws()
            guard i < n else { throw fail("unterminated \(open == UInt8(ascii: "{") ? "object" : "array")") }
            let d = at(i)
            i += 1
            if d == UInt8(ascii: ",") { continue }
            if d == close { return }
            i -= 1
            throw fail("',' or '\(Character(Unicode.Scalar(close)))' expected")
        }
    }

    /// The index of the first byte at or after `i` that ends a plain run inside a JSON string:
    /// a quote, a backslash, a control character or a non-ASCII byte.
    @inline(__always)
    static func skipPlain(_ p: UnsafeRawPointer, _ start: Int, _ n: Int) -> Int {
        var i = start
        while i + 16 <= n {
            let w = UTF8Bytes.specialBytes(p.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self))
            if w[0] != 0 { return i + w[0].trailingZeroBitCount / 8 }
            if w[1] != 0 { return i + 8 + w[1].trailingZeroBitCount / 8 }
            i += 16
        }
        while i < n {
            let c = p.load(fromByteOffset: i, as: UInt8.self)
            if c == 0x22 || c == 0x5C || c < 0x20 || c >= 0x80 { return i }
            i += 1
        }
        return i
    }
}
