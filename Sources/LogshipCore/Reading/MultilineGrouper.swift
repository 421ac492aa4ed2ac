import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Groups a line reader's lines into multi-line records (`source.multiline`): a line that
/// begins a record closes the open one; every other line continues it.
///
/// Rules (docs/pipeline.md "Multi-line records"):
/// - An empty line never begins a record. Empty lines before the first record are skipped;
///   trailing empty lines of a record are not part of its text.
/// - Lines before the file's first start line (a file that begins inside a stack trace) form a
///   record of their own: nothing is dropped.
/// - The joined text keeps its line breaks as `\n` (a `\r` before a `\n` is dropped, as for
///   single lines).
/// - A record that would go past `maxLines` lines or `maxBytes` bytes is cut before the line
///   that would take it past (never inside a line); the lines after the cut begin a record of
///   their own. Cuts are counted (`cuts`) with the place of the first ones (`cutPlaces`).
/// - At the end of a file that is still being written, the open record is held back
///   (`heldBackAt` is its first byte): more of its lines may still come.
///
/// Deciding whether a line begins a record runs on bytes first: the presets never use a
/// regex, and a `start` regex is only asked about lines whose first byte it can match.
final class MultilineGrouper {
    /// A record: its joined text (valid until the next `next()`), its first line and offset.
    struct Record {
        var bytes: UnsafeRawBufferPointer
        var number: Int
        var offset: Int64
    }

    enum Unit {
        case record(Record)
        /// A line longer than the reader's limit, as the reader handed it out.
        case overlong(LineReader.Line)
    }

    /// Where a record was cut at a bound: 1-based line of the first line after the cut.
    struct CutPlace: Sendable, Equatable {
        var line: Int
        var offset: Int64
        var reason: String
    }

    let reader: LineReader
    let spec: MultilineSpec
    private var classifier: StartClassifier
    // Two buffers: the record handed out stays valid while the next one accumulates.
    private var buffers: [UnsafeMutableRawBufferPointer]
    private var current = 0
    private var open = false
    private var openLine = 0
    private var openOffset: Int64 = 0
    private var openLines = 0
    private var openCount = 0  // bytes in the buffer
    private var contentCount = 0  // up to the end of the last non-empty line
    private var deferred: LineReader.Line?
    private var deferredError: ReadError?
    private(set) var heldBackAt: Int64?
    private(set) var cuts = 0
    private(set) var cutPlaces: [CutPlace] = []

    init(reader: LineReader, spec: MultilineSpec) throws(ReadError) {
        self.reader = reader
        self.spec = spec
        self.classifier = try StartClassifier(spec.start)
        buffers = [.allocate(byteCount: 64 << 10, alignment: 16), .allocate(byteCount: 64 << 10, alignment: 16)]
    }

    deinit { for b in buffers { b.deallocate() } }

    func next() throws(ReadError) -> Unit? {
        if let d = deferred {
            deferred = nil
            return .overlong(d)
        }
        if let e = deferredError {
            deferredError = nil
            throw e
        }
        if heldBackAt != nil { return nil }
        while true {
            let got: LineReader.Line?
            do {
                got = try reader.next()
            } catch {
                // Everything read before the damage is handed out first, the open record too.
                if open {
                    deferredError = error
                    return .record(close())
                }
                throw error
            }
            guard let line = got else {
                guard open else { return nil }
                if reader.heldBack || reader.stillBeingWritten?() == true {
                    open = false
                    heldBackAt = openOffset
                    return nil
                }
                return .record(close())
            }
            var bytes = line.bytes
            var offset = line.offset
            // A BOM opening the file is an encoding mark, not part of the first record.
            if offset == 0, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF, !line.overlong {
                bytes = UnsafeRawBufferPointer(rebasing: bytes[3...])
                offset = 3
            }
            if line.overlong {
                if open {
                    deferred = line
                    return .record(close())
                }
                return .overlong(line)
            }
            let starts = !bytes.isEmpty && classifier.startsRecord(bytes)
            if !open {
                if bytes.isEmpty { continue }
                begin(bytes, line.number, offset)
                continue
            }
            if starts {
                let done = close()
                begin(bytes, line.number, offset)
                return .record(done)
            }
            if openLines + 1 > spec.maxLines || openCount + 1 + bytes.count > spec.maxBytes {
                // Empty lines past a bound are dropped rather than opening an empty record.
                if bytes.isEmpty { continue }
                cuts += 1
                if cutPlaces.count < 5 {
                    let why =
                        openLines + 1 > spec.maxLines
                        ? "source.multiline.maxLines (\(spec.maxLines))"
                        : "source.multiline.maxBytes (\(spec.maxBytes))"
                    cutPlaces.append(CutPlace(line: line.number, offset: offset, reason: why))
                }
                let done = close()
                begin(bytes, line.number, offset)
                return .record(done)
            }
            append(bytes)
        }
    }

    private func begin(_ bytes: UnsafeRawBufferPointer, _ number: Int, _ offset: Int64) {
        current ^= 1
        open = true
        openLine = number
        openOffset = offset
        openLines = 1
        openCount = 0
        reserve(bytes.count)
        if bytes.count > 0 {
            buffers[current].baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        openCount = bytes.count
        contentCount = openCount
    }

    @inline(__always)
    private func append(_ bytes: UnsafeRawBufferPointer) {
        reserve(openCount + 1 + bytes.count)
        let base = buffers[current].baseAddress!
        base.storeBytes(of: 0x0A, toByteOffset: openCount, as: UInt8.self)
        if bytes.count > 0 { (base + openCount + 1).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        openCount += 1 + bytes.count
        openLines += 1
        if bytes.count > 0 { contentCount = openCount }
    }

    private func reserve(_ n: Int) {
        let b = buffers[current]
        guard n > b.count else { return }
        var size = b.count
        while size < n { size *= 2 }
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        if openCount > 0 { bigger.baseAddress!.copyMemory(from: b.baseAddress!, byteCount: openCount) }
        b.deallocate()
        buffers[current] = bigger
    }

    private func close() -> Record {
        open = false
        return Record(
            bytes: UnsafeRawBufferPointer(rebasing: buffers[current][0..<contentCount]), number: openLine,
            offset: openOffset)
    }
}
