// The record and field splitting behind `CSVDecoder`; the dialect is described at the top of
// CSVDecoder.swift.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

private let lf: UInt8 = 0x0A
private let cr: UInt8 = 0x0D
private let excerptLimit = 4096

/// Splits physical lines into records and fields. Owns its buffers; `deallocate()` frees them.
struct CSVScanner {
    /// What reading one record came to.
    enum Outcome { case complete, unterminated, tooLong, overlong }

    let reader: LineReader
    private let delimiter: UInt8
    let quote: UInt8
    // FieldSlot offsets are Int32.
    private let maxRecordBytes: Int

    // The raw bytes of the physical line(s) holding the current record, unescaped in place:
    // a value never grows when unescaped, so every field fits where its raw bytes were.
    private var scratch: UnsafeMutablePointer<UInt8>
    private var capacity = 64 * 1024
    private var fill = 0
    // Where the next record starts; below `fill` only after a record ended at a bare `\r`.
    private var cursor = 0
    private var line: LineReader.Line?
    // Scratch index of the current line's first byte (-3 when a byte order mark was dropped).
    private var lineBase = 0

    // Slots are written through a pointer in the hot loop. Past `slotCapacity`, fields are only
    // counted once the width is fixed: a ragged row is rejected anyway.
    private(set) var slots: UnsafeMutablePointer<FieldSlot>
    private var slotCapacity = 64
    private var widthFixed = false
    private var width = 0
    private(set) var fieldCount = 0

    private var recordStart = 0
    private var recordEnd = 0
    private(set) var recordLine = 0
    private(set) var recordOffset: Int64 = 0
    private var recordSpansLines = false
    private var quoteOpen = 0
    private var quoteOpenLine = 0
    // Raw bytes of a multi-line record's earlier lines (their buffers are gone), for excerpts.
    private var earlierLines: [UInt8] = []

    init(reader: LineReader, delimiter: UInt8, quote: UInt8) {
        self.reader = reader
        self.delimiter = delimiter
        self.quote = quote
        self.maxRecordBytes = min(reader.maxLineBytes, Int(Int32.max) - 16)
        self.scratch = .allocate(capacity: capacity)
        self.slots = .allocate(capacity: slotCapacity)
        earlierLines.reserveCapacity(excerptLimit)
    }

    func deallocate() {
        scratch.deallocate()
        slots.deallocate()
    }

    var recordBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: scratch, count: fill) }

    /// The header's fields as names, or nil for a file with no records at all.
    mutating func readHeader() throws(ReadError) -> [String]? {
        guard let outcome = try readRecord() else { return nil }
        guard outcome == .complete else {
            throw ReadError(
                message: "the CSV header on line \(recordLine) is unreadable: \(error(for: outcome).reason)",
                offset: recordOffset)
        }
        return (0..<fieldCount).map { i in
            let s = slots[i]
            return String(
                decoding: UnsafeBufferPointer(start: scratch + Int(s.valueStart), count: Int(s.valueCount)),
                as: UTF8.self)
        }
    }

    /// From here on rows have `width` fields; more are counted, not kept.
    mutating func fixWidth(_ width: Int) {
        widthFixed = true
        self.width = width
        if width > slotCapacity {
            slots.deallocate()
            slotCapacity = width
            slots = .allocate(capacity: slotCapacity)
        }
    }

    /// Finds the next non-blank record and parses it; nil at the end of the file.
    mutating func readRecord() throws(ReadError) -> Outcome? {
        while true {
            if cursor >= fill {
                guard let l = try reader.next() else { return nil }
                if !earlierLines.isEmpty { earlierLines.removeAll(keepingCapacity: true) }
                recordSpansLines = false
                if l.overlong || l.bytes.count > maxRecordBytes {
                    line = l
                    fill = 0
                    cursor = 0
                    lineBase = 0
                    recordStart = 0
                    recordLine = l.number
                    recordOffset = l.offset
                    return .overlong
                }
                load(l)
                continue
            }
            // A bare `\r` where a record would start is a blank line to Python.
            if scratch[cursor] == cr {
                cursor += 1
                continue
            }
            recordStart = cursor
            recordLine = line!.number
            recordOffset = line!.offset + Int64(cursor - lineBase)
            recordSpansLines = false
            if !earlierLines.isEmpty { earlierLines.removeAll(keepingCapacity: true) }
            let outcome = try parseRecord()
            if outcome != .complete { cursor = fill }
            return outcome
        }
    }

    private mutating func load(_ l: LineReader.Line) {
        var skip = 0
        if l.number == 1, l.offset == 0, l.bytes.count >= 3, l.bytes[0] == 0xEF, l.bytes[1] == 0xBB, l.bytes[2] == 0xBF
        {
            skip = 3
        }
        let count = l.bytes.count - skip
        fill = 0
        ensureCapacity(count)
        if count > 0 {
            UnsafeMutableRawPointer(scratch).copyMemory(from: l.bytes.baseAddress! + skip, byteCount: count)
        }
        fill = count
        cursor = 0
        lineBase = -skip
        line = l
    }

    /// Parses the record at `cursor`, unescaping quoted fields in place and writing slots.
    /// On `.complete`, `cursor` is where the next record on the same line starts (or `fill`).
    private mutating func parseRecord() throws(ReadError) -> Outcome {
        var b = scratch
        var n = fill
        var r = cursor
        let d = delimiter
        let q = quote
        var sl = slots
        var cap = slotCapacity
        var count = 0
        defer { fieldCount = count }
        // Without a `\r` ahead, an unquoted field ends only at a delimiter: memchr finds it.
        var crAhead = memchr(b + r, Int32(cr), n - r) != nil

        @inline(__always) func add(_ start: Int, _ end: Int) {
            if count < cap {
                sl[count] = FieldSlot(nameIndex: Int32(count), valueStart: start, valueCount: end - start, kind: .text)
            } else if !widthFixed {
                growSlotBuffer()
                sl = slots
                cap = slotCapacity
                sl[count] = FieldSlot(nameIndex: Int32(count), valueStart: start, valueCount: end - start, kind: .text)
            }
            count += 1
        }

        while true {
            // Where the field ends: a delimiter, a CR or the end of the line.
            let i: Int
            if r < n && b[r] == q {
                let open = r
                var continued = false
                r += 1
                let start = r
                var w = r
                while true {
                    guard let hit = memchr(b + r, Int32(q), n - r) else {
                        if w != r { memmove(b + w, b + r, n - r) }
                        w += n - r
                        if !continued {
                            continued = true
                            quoteOpen = open
                            quoteOpenLine = line!.number
                        }
                        let appended = try appendContinuation()
                        if appended != .complete { return appended }
                        r = n
                        b = scratch
                        n = fill
                        crAhead = memchr(b + r, Int32(cr), n - r) != nil
                        continue
                    }
                    let at = UnsafeMutableRawPointer(b).distance(to: hit)
                    if w != r { memmove(b + w, b + r, at - r) }
                    w += at - r
                    r = at + 1
                    guard r < n, b[r] == q else { break }
                    b[w] = q
                    w += 1
                    r += 1
                }
                // Bytes after the closing quote (none when a delimiter, CR or the end follows): kept,
                // as Python does without strict mode.
                var e = r
                while e < n, b[e] != d, b[e] != cr { e += 1 }
                if e > r {
                    memmove(b + w, b + r, e - r)
                    w += e - r
                }
                add(start, w)
                i = e
            } else {
                // Fields are short: sixteen bytes at a time beats a memchr call per field.
                i = crAhead ? CSVScanner.find(b, r, n, d, cr) : CSVScanner.find(b, r, n, d, d)
                add(r, i)
            }
            if i < n, b[i] == d {
                r = i + 1
                continue
            }
            recordEnd = i
            cursor = i < n ? i + 1 : n
            return .complete
        }
    }

    /// Appends the line end and the next physical line to a record whose quoted field is open.
    /// Returns `.complete` when a line was appended.
    private mutating func appendContinuation() throws(ReadError) -> Outcome {
        let prev = line!
        saveForExcerpt(prev.bytes, from: recordSpansLines ? 0 : recordStart - lineBase, to: prev.bytes.count)
        recordSpansLines = true
        guard let l = try reader.next() else { return .unterminated }
        line = l
        // The reader drops `\r\n` or `\n`; the offsets say which.
        let crlf = l.offset - prev.offset - Int64(prev.bytes.count) >= 2
        if crlf && earlierLines.count < excerptLimit { earlierLines.append(cr) }
        if earlierLines.count < excerptLimit { earlierLines.append(lf) }
        if l.overlong || l.bytes.count > maxRecordBytes {
            saveForExcerpt(l.bytes, from: 0, to: l.bytes.count)
            return .overlong
        }
        let needed = fill + (crlf ? 2 : 1) + l.bytes.count
        if needed - recordStart > maxRecordBytes {
            saveForExcerpt(l.bytes, from: 0, to: l.bytes.count)
            return .tooLong
        }
        ensureCapacity(needed)
        if crlf {
            scratch[fill] = cr
            fill += 1
        }
        scratch[fill] = lf
        fill += 1
        lineBase = fill
        if l.bytes.count > 0 {
            UnsafeMutableRawPointer(scratch + fill).copyMemory(from: l.bytes.baseAddress!, byteCount: l.bytes.count)
        }
        fill += l.bytes.count
        return .complete
    }

    // MARK: Rejects

    /// Why a record was rejected: a field count other than the width, or an incomplete record.
    func error(for outcome: Outcome) -> RecordError {
        switch outcome {
        case .complete:
            return RecordError("expected \(width) fields, found \(fieldCount)")
        case .unterminated:
            return RecordError(
                "unterminated quoted field: the quote opened on line \(quoteOpenLine) is not closed before the end "
                    + "of the file",
                column: quoteOpen - recordStart)
        case .tooLong:
            return RecordError(
                "record longer than \(maxRecordBytes) bytes (the quote opened on line \(quoteOpenLine) may be missing "
                    + "its closing quote)",
                column: quoteOpen - recordStart)
        case .overlong:
            return RecordError("line longer than \(maxRecordBytes) bytes")
        }
    }

    /// Up to 4 KB of the record as it was in the input.
    func excerpt(for outcome: Outcome) -> [UInt8] {
        switch outcome {
        case .unterminated, .tooLong:
            return earlierLines
        case .overlong:
            return recordSpansLines ? earlierLines : Array(line!.bytes.prefix(excerptLimit))
        case .complete:
            var out = earlierLines
            let bytes = line!.bytes
            let from = recordSpansLines ? 0 : recordStart - lineBase
            let to = min(recordEnd - lineBase, bytes.count, from + excerptLimit - out.count)
            if from < to { out.append(contentsOf: bytes[from..<to]) }
            return out
        }
    }

    private mutating func saveForExcerpt<C: Collection<UInt8>>(_ bytes: C, from: Int, to: Int) where C.Index == Int {
        let room = excerptLimit - earlierLines.count
        guard room > 0, from < to else { return }
        earlierLines.append(contentsOf: bytes[(bytes.startIndex + from)..<(bytes.startIndex + min(to, from + room))])
    }

    // MARK: Buffers

    private mutating func ensureCapacity(_ needed: Int) {
        guard needed > capacity else { return }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: max(needed, capacity * 2))
        if fill > 0 { bigger.initialize(from: scratch, count: fill) }
        scratch.deallocate()
        scratch = bigger
        capacity = max(needed, capacity * 2)
    }

    private mutating func growSlotBuffer() {
        let bigger = UnsafeMutablePointer<FieldSlot>.allocate(capacity: slotCapacity * 2)
        bigger.initialize(from: slots, count: slotCapacity)
        slots.deallocate()
        slots = bigger
        slotCapacity *= 2
    }
}

extension CSVScanner {
    /// The first index in `from..<n` holding `a` or `b`, or `n`.
    @inline(__always)
    static func find(_ p: UnsafeMutablePointer<UInt8>, _ from: Int, _ n: Int, _ a: UInt8, _ b: UInt8) -> Int {
        var i = from
        let raw = UnsafeRawPointer(p)
        let va = SIMD16<UInt8>(repeating: a), vb = SIMD16<UInt8>(repeating: b)
        while i + 16 <= n {
            let m = raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
            // Mask lanes are 0x00 or 0xFF bytes: read as two words (`any` reduces lane by lane).
            let lanes = unsafeBitCast((m .== va) .| (m .== vb), to: SIMD2<UInt64>.self)
            if lanes[0] != 0 { return i + lanes[0].trailingZeroBitCount / 8 }
            if lanes[1] != 0 { return i + 8 + lanes[1].trailingZeroBitCount / 8 }
            i += 16
        }
        while i < n {
            let c = p[i]
            if c == a || c == b { return i }
            i += 1
        }
        return n
    }
}
