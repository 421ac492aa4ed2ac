import Foundation

/// Decodes log lines into records with a preset's byte-level parser or a user regex.
public final class LineDecoder: RecordDecoder {
    public let names: NameTable

    private enum Matcher {
        case preset(LinePreset)
        case regex(RegexLineMatcher)
    }

    private let reader: LineReader
    /// `source.multiline`: records of several lines; nil reads one record per line.
    private let grouper: MultilineGrouper?
    private let fileIndex: Int
    private let matcher: Matcher
    private let fields = SlotBuffer()
    private var ordinal: Int64 = 0
    // The line plus the computed values (syslog facility, severity); reused line after line.
    // Allocated on first use: an init that throws never reaches deinit to free it.
    private var scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    /// `pattern` is a preset name or a regular expression with named groups (already validated).
    /// With `multiline`, the pattern applies to a record's whole joined text, and in a regex `.`
    /// matches line breaks too, so the last group takes the continuation lines (docs/pipeline.md
    /// "Multi-line records").
    public init(reader: LineReader, pattern: String, fileIndex: Int, multiline: MultilineSpec? = nil) throws(ReadError)
    {
        self.reader = reader
        self.fileIndex = fileIndex
        self.grouper = try multiline.map { spec throws(ReadError) in try MultilineGrouper(reader: reader, spec: spec) }
        if let preset = LinePreset(name: pattern) {
            matcher = .preset(preset)
            names = NameTable(preset.fieldNames)
        } else {
            let (icu, groups) = LinePattern.icuPattern(pattern)
            let regex: NSRegularExpression
            do {
                regex = try NSRegularExpression(
                    pattern: icu, options: multiline == nil ? [] : [.dotMatchesLineSeparators])
            } catch {
                throw ReadError(
                    message: "source.lines.pattern is not a valid regular expression (ICU syntax)", offset: 0)
            }
            // The compiled pattern names its groups g0, g1, …; the fields keep the users' names.
            matcher = .regex(RegexLineMatcher(regex: regex, groups: groups.indices.map { "g\($0)" }))
            names = NameTable(groups)
        }
    }

    deinit { scratch.deallocate() }

    public var decodedOffset: Int64 { reader.decodedOffset }
    public var heldBackAt: Int64? {
        if let g = grouper { return g.heldBackAt }
        return reader.heldBack ? reader.decodedOffset : nil
    }

    /// Multi-line records cut at `maxLines`/`maxBytes` so far, and where the first ones were.
    var multilineCuts: (count: Int, places: [MultilineGrouper.CutPlace]) {
        (grouper?.cuts ?? 0, grouper?.cutPlaces ?? [])
    }

    /// The next line, or with `multiline` the next record, as a line.
    private func nextUnit() throws(ReadError) -> LineReader.Line? {
        guard let g = grouper else { return try reader.next() }
        switch try g.next() {
        case nil: return nil
        case .overlong(let line): return line
        case .record(let r): return LineReader.Line(bytes: r.bytes, number: r.number, offset: r.offset, overlong: false)
        }
    }

    public func next() throws(ReadError) -> DecodeResult? {
        while let line = try nextUnit() {
            var bytes = line.bytes
            var offset = line.offset
            // A BOM opening the file is an encoding mark, not part of the first record (the
            // grouper has taken it off already).
            if grouper == nil, offset == 0, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF,
                !line.overlong
            {
                bytes = UnsafeRawBufferPointer(rebasing: bytes[3...])
                offset = 3
            }
            if bytes.isEmpty { continue }
            let provenance = Provenance(fileIndex: fileIndex, line: line.number, offset: offset, ordinal: ordinal)
            ordinal += 1
            if line.overlong {
                let limit = reader.maxLineBytes
                let size = limit % (1 << 20) == 0 ? "\(limit >> 20) MiB" : "\(limit) bytes"
                let error = RecordError("the line is longer than \(size); it was skipped (the excerpt is its start)")
                return .rejected(provenance, error, excerpt: excerpt(bytes))
            }
            fields.removeAll()
            var base = bytes
            switch matcher {
            case .preset(let preset):
                do {
                    let pri = try PresetParsers.parse(preset, bytes, into: fields)
                    if pri >= 0 { base = withComputed(bytes, pri: pri) }
                } catch {
                    return .rejected(provenance, error.reason(preset: preset, line: bytes), excerpt: excerpt(bytes))
                }
            case .regex(let regex):
                if !regex.match(bytes, into: fields) {
                    let error = RecordError("does not match the regular expression in source.lines.pattern")
                    return .rejected(provenance, error, excerpt: excerpt(bytes))
                }
            }
            return .record(RecordView(base: base, names: names, fields: fields.view, provenance: provenance))
        }
        return nil
    }

    private func excerpt(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Array(bytes.prefix(4096))
    }

    /// Copies the line into the scratch buffer and writes facility (PRI / 8) and severity
    /// (PRI % 8) as decimal text right after it, where the parser placed their slots.
    private func withComputed(_ line: UnsafeRawBufferPointer, pri: Int) -> UnsafeRawBufferPointer {
        let n = line.count
        if scratch.count < n + 3 {
            let size = max(n + 3, scratch.count * 2, 4096)
            scratch.deallocate()
            scratch = .allocate(byteCount: size, alignment: 16)
        }
        scratch.baseAddress!.copyMemory(from: line.baseAddress!, byteCount: n)
        var at = n
        let facility = pri >> 3
        if facility >= 10 {
            scratch[at] = UInt8(0x30 + facility / 10)
            at += 1
        }
        scratch[at] = UInt8(0x30 + facility % 10)
        scratch[at + 1] = UInt8(0x30 + (pri & 7))
        return UnsafeRawBufferPointer(rebasing: scratch[0..<at + 2])
    }
}

/// A user regex run over one line at a time. NSRegularExpression counts in UTF-16 units, so a
/// non-ASCII line gets a map from UTF-16 offsets back to byte offsets; group values then point
/// into the line's own bytes, invalid UTF-8 included (each bad byte reads as one U+FFFD).
final class RegexLineMatcher {
    private let regex: NSRegularExpression
    private let groups: [String]
    // Reused across lines; a line of n bytes has at most n UTF-16 units. `offsets[u]` is the
    // offset of the first byte of unit u, with one more entry for the end of the line.
    private var capacity = 0
    private var units = UnsafeMutablePointer<UInt16>.allocate(capacity: 1)
    private var offsets = UnsafeMutablePointer<Int32>.allocate(capacity: 1)

    init(regex: NSRegularExpression, groups: [String]) {
        self.regex = regex
        self.groups = groups
    }

    deinit {
        units.deallocate()
        offsets.deallocate()
    }

    func match(_ line: UnsafeRawBufferPointer, into fields: SlotBuffer) -> Bool {
        let (text, length, ascii) = utf16Text(line)
        guard let m = regex.firstMatch(in: text, range: NSRange(location: 0, length: length)) else { return false }
        for (index, name) in groups.enumerated() {
            let r = m.range(withName: name)
            if r.location == NSNotFound { continue }
            let start = ascii ? r.location : Int(offsets[r.location])
            let end = ascii ? r.location + r.length : Int(offsets[r.location + r.length])
            fields.append(FieldSlot(nameIndex: Int32(index), valueStart: start, valueCount: end - start, kind: .text))
        }
        return true
    }

    /// The bytes of one group of the first match: the named group `name`, or group 1 when nil
    /// (`fields.map.X.extract`). nil when nothing matches or the group took no part.
    func groupRange(_ line: UnsafeRawBufferPointer, name: String?) -> Range<Int>? {
        let (text, length, ascii) = utf16Text(line)
        guard let m = regex.firstMatch(in: text, range: NSRange(location: 0, length: length)) else { return nil }
        let r = name.map { m.range(withName: $0) } ?? m.range(at: 1)
        if r.location == NSNotFound { return nil }
        let start = ascii ? r.location : Int(offsets[r.location])
        let end = ascii ? r.location + r.length : Int(offsets[r.location + r.length])
        return start..<end
    }

    /// The line as a String for NSRegularExpression, its length in UTF-16 units, and whether
    /// UTF-16 offsets equal byte offsets (an ASCII line, the common case, needs no map).
    private func utf16Text(_ line: UnsafeRawBufferPointer) -> (String, Int, Bool) {
        let n = line.count
        var i = 0
        while i < n, line[i] < 0x80 { i += 1 }
        if i == n { return (String(decoding: line, as: UTF8.self), n, true) }
        if capacity < n + 1 {
            units.deallocate()
            offsets.deallocate()
            capacity = max(n + 1, capacity * 2)
            units = .allocate(capacity: capacity)
            offsets = .allocate(capacity: capacity)
        }
        let units = self.units
        let offsets = self.offsets
        for k in 0..<i {
            units[k] = UInt16(line[k])
            offsets[k] = Int32(k)
        }
        var u = i
        var valid = true
        while i < n {
            let (scalar, length) = Self.decodeScalar(line, at: i)
            if length == 1, line[i] >= 0x80 { valid = false }
            if scalar < 0x10000 {
                units[u] = UInt16(scalar)
                offsets[u] = Int32(i)
                u += 1
            } else {
                let v = scalar - 0x10000
                units[u] = UInt16(0xD800 + (v >> 10))
                units[u + 1] = UInt16(0xDC00 + (v & 0x3FF))
                offsets[u] = Int32(i)
                offsets[u + 1] = Int32(i)
                u += 2
            }
            i += length
        }
        offsets[u] = Int32(n)
        // Valid UTF-8 decodes to the same UTF-16 either way, and from UTF-8 is the fast path.
        let text =
            valid
            ? String(decoding: line, as: UTF8.self)
            : String(decoding: UnsafeBufferPointer(start: units, count: u), as: UTF16.self)
        return (text, u, false)
    }

    /// The scalar at `i` and its length in bytes; an ill-formed byte is U+FFFD of length 1.
    static func decodeScalar(_ b: UnsafeRawBufferPointer, at i: Int) -> (UInt32, Int) {
        let b0 = b[i]
        if b0 < 0x80 { return (UInt32(b0), 1) }
        let n = b.count
        @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> UInt32? {
            guard i + k < n, b[i + k] >= lo, b[i + k] <= hi else { return nil }
            return UInt32(b[i + k] & 0x3F)
        }
        let bad: (UInt32, Int) = (0xFFFD, 1)
        switch b0 {
        case 0xC2...0xDF:
            guard let c1 = cont(1) else { return bad }
            return (UInt32(b0 & 0x1F) << 6 | c1, 2)
        case 0xE0...0xEF:
            let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
            let hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
            guard let c1 = cont(1, lo, hi), let c2 = cont(2) else { return bad }
            return (UInt32(b0 & 0x0F) << 12 | c1 << 6 | c2, 3)
        case 0xF0...0xF4:
            let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
            let hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
            guard let c1 = cont(1, lo, hi), let c2 = cont(2), let c3 = cont(3) else { return bad }
            return (UInt32(b0 & 0x07) << 18 | c1 << 12 | c2 << 6 | c3, 4)
        default:
            return bad
        }
    }
}
