// Format "json": files that hold JSON documents rather than lines. Accepted shapes:
//
// - one array of objects (the bodies the Data Collector API takes, compact or pretty-printed),
// - a single object,
// - a sequence of top-level objects and arrays, one after another (whitespace between them, or
//   none): every object is a record, and so is every object inside a top-level array.
//
// The file streams through one buffer (grown only for a record bigger than it), so an array of
// any size is read in constant memory; one record at most `maxRecordBytes` (32 MB, the line
// limit of the other formats). Each record is validated by the NDJSON scanner (strings, escapes,
// UTF-8, nesting), and its provenance is its own: the line and decoded byte offset of its `{`,
// and its ordinal among the file's records, so a resumed run cuts the same chunks.
//
// Rejected, with "line L, column C" (1-based, columns in bytes) in the reason: an object that is
// not valid JSON (skipped up to its matching brace), an array element that is not an object,
// anything else between records (skipped up to the next `{`, or `]` inside an array; the skip
// does not understand strings, so it is best effort), a record longer than the limit, and a
// file that ends inside a record or inside the top-level array. A file still being written
// (it grew while it was read) that ends inside a record has that record held back instead.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Decodes format "json" (arrays of objects, objects, sequences of them) into record views.
public final class JSONStreamDecoder: RecordDecoder {
    private enum State { case top, arrayFirst, arrayValue, arrayNext, done }

    private let source: ByteSource
    private let fileIndex: Int
    private let invalidUTF8: InvalidUTF8Policy
    public let maxRecordBytes: Int
    /// Asked when the file ends inside a record: true when the file is still being written, and
    /// the record is then left for the next run (`heldBackAt`).
    public var stillBeingWritten: (() -> Bool)? = nil
    public private(set) var heldBackAt: Int64?
    /// Records whose invalid UTF-8 was replaced with U+FFFD.
    public private(set) var replacedUTF8Records = 0

    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var eof = false
    private var begun = false
    /// Decoded offset of `buffer[0]`.
    private var bufferOffset: Int64 = 0
    /// Line of `buffer[start]` (1-based) and the decoded offset its line begins at (for columns).
    private var line = 1
    private var lineBegin: Int64 = 0
    private var state = State.top
    private var ordinal: Int64 = 0
    private var view = RecordView()
    private let slots = SlotBuffer()
    private var repaired: UnsafeMutableRawBufferPointer

    public init(
        source: ByteSource, fileIndex: Int, invalidUTF8: InvalidUTF8Policy, bufferSize: Int = 1 << 20,
        maxRecordBytes: Int = 32 << 20
    ) {
        self.source = source
        self.fileIndex = fileIndex
        self.invalidUTF8 = invalidUTF8
        self.maxRecordBytes = min(maxRecordBytes, Int(Int32.max) - 16)
        buffer = .allocate(byteCount: max(bufferSize, 64), alignment: 64)
        repaired = .allocate(byteCount: 4096, alignment: 16)
    }

    deinit {
        buffer.deallocate()
        repaired.deallocate()
    }

    public var decodedOffset: Int64 { bufferOffset + Int64(start) }

    public func next() throws(ReadError) -> DecodeResult? {
        if !begun {
            begun = true
            // A UTF-8 byte order mark at the very start is not part of the data.
            while end < 3 && !eof { try refill() }
            if end >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF {
                start = 3
                lineBegin = 3
            }
        }
        while state != .done {
            guard try skipWhitespace() else {
                let inArray = state != .top
                state = .done
                guard inArray else { return nil }
                if stillBeingWritten?() == true {
                    heldBackAt = decodedOffset
                    return nil
                }
                return .rejected(
                    provenance(), RecordError("\(position(0)): the file ends inside the top-level array (']' missing)"),
                    excerpt: [])
            }
            let c = buffer[start]
            switch state {
            case .top:
                if c == UInt8(ascii: "{") { return try record() }
                if c == UInt8(ascii: "[") {
                    consume(to: start + 1)
                    state = .arrayFirst
                    continue
                }
                return try garbage("a JSON object or array expected")
            case .arrayFirst, .arrayValue:
                if c == UInt8(ascii: "{") {
                    state = .arrayNext
                    return try record()
                }
                if c == UInt8(ascii: "]") {
                    let trailingComma = state == .arrayValue
                    let p = trailingComma ? provenance() : nil
                    let at = position(0)
                    consume(to: start + 1)
                    state = .top
                    if let p {
                        return .rejected(
                            p, RecordError("\(at): ']' after a comma (a trailing comma is not JSON)"),
                            excerpt: [UInt8(ascii: "]")])
                    }
                    continue
                }
                // Not the start of any JSON value: skipped like anything else between records.
                if !Self.startsValue(c) { return try garbage("an object expected") }
                // A value but not an object: rejected whole, and reading goes on after it.
                let p = provenance()
                let at = position(0)
                let excerpt = take(4096)
                state = .arrayNext
                if try !skipValue() { state = .done }
                return .rejected(
                    p, RecordError("\(at): an array element must be an object, found \(Self.describe(c))"),
                    excerpt: excerpt)
            case .arrayNext:
                if c == UInt8(ascii: ",") {
                    consume(to: start + 1)
                    state = .arrayValue
                    continue
                }
                if c == UInt8(ascii: "]") {
                    consume(to: start + 1)
                    state = .top
                    continue
                }
                return try garbage("',' or ']' expected after an array element")
            case .done:
                return nil
            }
        }
        return nil
    }

    // MARK: Records

    /// The object at `start`: whole in the buffer (reading more as needed), validated, handed out.
    private func record() throws(ReadError) -> DecodeResult? {
        let prov = provenance()
        while true {
            var scanner = NDJSONScanner(UnsafeRawBufferPointer(rebasing: buffer[start..<end]))
            scanner.stopAfterObject = true
            do {
                try scanner.object(into: slots)
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[start..<start + scanner.i])
                let newlines = consume(to: start + scanner.i)
                view.provenance = prov
                view.base = bytes
                view.fields = slots.view
                // A pretty-printed record is not copied as it is: the body would carry its layout.
                view.allNamesPlain = scanner.allNamesPlain && newlines == 0
                view.longestValue = scanner.longestValue
                return .record(view)
            } catch let err {
                let available = end - start
                // Failing within a few bytes of what is buffered (a literal, an escape or a UTF-8
                // sequence cut by the buffer's end) only means more must be read; a real error
                // there comes back once more is read.
                if !eof && available - err.offset <= 8 {
                    if available >= maxRecordBytes { return try tooLong(prov) }
                    try refill()
                    continue
                }
                if err.invalidUTF8 && invalidUTF8 == .replace, let e = Self.structuralEnd(buffer, start, end) {
                    let fixed = repair(UnsafeRawBufferPointer(rebasing: buffer[start..<e]))
                    var again = NDJSONScanner(fixed)
                    if (try? again.object(into: slots)) != nil {
                        consume(to: e)
                        replacedUTF8Records += 1
                        view.provenance = prov
                        view.base = fixed
                        view.fields = slots.view
                        view.allNamesPlain = false
                        view.longestValue = again.longestValue
                        return .record(view)
                    }
                }
                if err.invalidUTF8 && invalidUTF8 == .replace && !eof && Self.structuralEnd(buffer, start, end) == nil {
                    if available >= maxRecordBytes { return try tooLong(prov) }
                    try refill()
                    continue
                }
                let at = position(err.offset)
                let excerpt = take(4096)
                // The message without the scanner's own "at column N" (the position says where).
                var message = err.message
                if let r = message.range(of: ": ", options: []), message.hasPrefix("invalid JSON at column") {
                    message = "invalid JSON: " + message[r.upperBound...]
                }
                if try !skipValue() {
                    state = .done
                    if stillBeingWritten?() == true {
                        heldBackAt = prov.offset
                        return nil
                    }
                    return .rejected(
                        prov,
                        RecordError(
                            "\(position(-1, line: prov.line, offset: prov.offset)): the file ends inside this record (cut short?)"
                        ), excerpt: excerpt)
                }
                return .rejected(prov, RecordError("\(at): \(message)", column: err.offset), excerpt: excerpt)
            }
        }
    }

    private func tooLong(_ prov: Provenance) throws(ReadError) -> DecodeResult {
        let excerpt = take(4096)
        if try !skipValue() { state = .done }
        return .rejected(
            prov,
            RecordError(
                "\(position(-1, line: prov.line, offset: prov.offset)): record longer than \(maxRecordBytes) bytes"),
            excerpt: excerpt)
    }

    /// Something other than a record where one was expected: rejected with its position, and
    /// skipped up to the next `{` (or `]` inside an array).
    private func garbage(_ expected: String) throws(ReadError) -> DecodeResult {
        let prov = provenance()
        let found = Self.describe(buffer[start])
        let at = position(0)
        let inArray = state != .top
        var excerpt: [UInt8] = []
        scan: while true {
            var k = start
            while k < end {
                let c = buffer[k]
                if c == UInt8(ascii: "{") || (inArray && c == UInt8(ascii: "]")) || (!inArray && c == UInt8(ascii: "["))
                {
                    if excerpt.count < 4096 {
                        excerpt += UnsafeRawBufferPointer(
                            rebasing: buffer[start..<min(k, start + 4096 - excerpt.count)])
                    }
                    consume(to: k)
                    if inArray { state = c == UInt8(ascii: "{") ? .arrayValue : .arrayNext }
                    break scan
                }
                k += 1
            }
            if excerpt.count < 4096 {
                excerpt += UnsafeRawBufferPointer(rebasing: buffer[start..<min(end, start + 4096 - excerpt.count)])
            }
            consume(to: end)
            if eof {
                // Nothing more to read; an open array is reported by the next call.
                if !inArray { state = .done }
                break
            }
            try refill()
        }
        // Trailing whitespace is no part of what was wrong.
        while let last = excerpt.last, last == 0x20 || last == 0x0A || last == 0x0D || last == 0x09 {
            excerpt.removeLast()
        }
        return .rejected(prov, RecordError("\(at): \(expected), found \(found)"), excerpt: excerpt)
    }

    private func provenance() -> Provenance {
        defer { ordinal += 1 }
        return Provenance(fileIndex: fileIndex, line: line, offset: decodedOffset, ordinal: ordinal)
    }

    /// "line L, column C" of `buffer[start + k]` (k >= 0), or of a record's start (k < 0).
    private func position(_ k: Int, line recordLine: Int = 0, offset: Int64 = 0) -> String {
        if k < 0 {
            // Only the start of a record that has been read past; its column is not kept.
            return "line \(recordLine)"
        }
        var l = line
        var begin = lineBegin
        var p = start
        let stop = min(start + k, end)
        while p < stop, let hit = memchr(buffer.baseAddress! + p, 0x0A, stop - p) {
            let at = buffer.baseAddress!.distance(to: hit)
            l += 1
            begin = bufferOffset + Int64(at + 1)
            p = at + 1
        }
        return "line \(l), column \(bufferOffset + Int64(start + k) - begin + 1)"
    }

    private func take(_ limit: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: buffer[start..<min(end, start + limit)]))
    }

    private static func startsValue(_ c: UInt8) -> Bool {
        c == 0x22 || c == UInt8(ascii: "[") || c == UInt8(ascii: "-") || c &- 0x30 < 10 || c == UInt8(ascii: "t")
            || c == UInt8(ascii: "f") || c == UInt8(ascii: "n")
    }

    private static func describe(_ c: UInt8) -> String {
        if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        return "byte 0x" + String(c, radix: 16, uppercase: true)
    }

    // MARK: Bytes

    /// Skips whitespace, reading more as needed; false at the end of the file.
    private func skipWhitespace() throws(ReadError) -> Bool {
        while true {
            while start < end {
                let c = buffer[start]
                if c == 0x0A {
                    line += 1
                    start += 1
                    lineBegin = bufferOffset + Int64(start)
                } else if c == 0x20 || c == 0x09 || c == 0x0D {
                    start += 1
                } else {
                    return true
                }
            }
            if eof { return false }
            try refill()
        }
    }

    /// Moves `start` to `k`, counting the line ends passed; returns how many.
    @discardableResult
    private func consume(to k: Int) -> Int {
        var n = 0
        var p = start
        while p < k, let hit = memchr(buffer.baseAddress! + p, 0x0A, k - p) {
            let at = buffer.baseAddress!.distance(to: hit)
            n += 1
            lineBegin = bufferOffset + Int64(at + 1)
            p = at + 1
        }
        line += n
        start = k
        return n
    }

    /// Moves the unread bytes to the front (growing the buffer when they fill it) and reads more.
    private func refill() throws(ReadError) {
        let (n, moved) = try source.refill(&buffer, start: &start, end: &end)
        bufferOffset += Int64(moved)
        if n == 0 { eof = true }
    }

    /// Consumes the value at `start` by its structure alone (strings, escapes, nesting), reading
    /// as needed without keeping what was passed; false when the file ends first.
    private func skipValue() throws(ReadError) -> Bool {
        var depth = 0
        var inString = false
        var escape = false
        var k = start
        while true {
            if k == end {
                consume(to: k)
                if eof { return false }
                try refill()
                k = start
                continue
            }
            let c = buffer[k]
            if inString {
                k += 1
                if escape {
                    escape = false
                } else if c == 0x5C {
                    escape = true
                } else if c == 0x22 {
                    inString = false
                    if depth == 0 {
                        consume(to: k)
                        return true
                    }
                }
                continue
            }
            switch c {
            case 0x22:
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 {
                    // A scalar ended by its container's close.
                    consume(to: k)
                    return true
                }
                depth -= 1
                if depth == 0 {
                    consume(to: k + 1)
                    return true
                }
            case UInt8(ascii: ","), 0x20, 0x0A, 0x0D, 0x09:
                if depth == 0 {
                    consume(to: k)
                    return true
                }
            default:
                break
            }
            k += 1
        }
    }

    /// The index just past the value starting at `from` if it ends before `to` (by structure).
    static func structuralEnd(_ b: UnsafeMutableRawBufferPointer, _ from: Int, _ to: Int) -> Int? {
        var depth = 0
        var inString = false
        var escape = false
        var k = from
        while k < to {
            let c = b[k]
            k += 1
            if inString {
                if escape { escape = false } else if c == 0x5C { escape = true } else if c == 0x22 { inString = false }
                continue
            }
            if c == 0x22 {
                inString = true
            } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                depth += 1
            } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                depth -= 1
                if depth == 0 { return k }
            }
        }
        return nil
    }

    /// A copy of `bytes` with every invalid UTF-8 sequence replaced by U+FFFD.
    private func repair(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UTF8Repair.replacingInvalid(bytes, into: &repaired)
    }
}
