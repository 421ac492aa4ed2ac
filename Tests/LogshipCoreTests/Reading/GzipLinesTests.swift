import Foundation
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

/// Lends `bytes` in pseudo-random pieces, every piece from the same scratch buffer, which the
/// next `lend` overwrites: a line used after the reader borrowed again reads other bytes.
/// After the last byte it throws `error`, if given, once.
final class LendingPieceSource: LendingByteSource {
    private let bytes: [UInt8]
    private var position = 0
    private var rng: SplitMix64
    private let maxPiece: Int
    private var error: ReadError?
    private let scratch: UnsafeMutableRawBufferPointer
    var rawOffset: Int64 { Int64(position) }

    init(_ bytes: [UInt8], maxPiece: Int, seed: UInt64, error: ReadError? = nil) {
        self.bytes = bytes
        self.maxPiece = maxPiece
        self.error = error
        rng = SplitMix64(seed: seed)
        scratch = .allocate(byteCount: maxPiece, alignment: 1)
    }

    deinit { scratch.deallocate() }

    func lend() throws(ReadError) -> UnsafeRawBufferPointer {
        scratch.initializeMemory(as: UInt8.self, repeating: 0x0A)  // the old loan becomes line ends
        if position == bytes.count {
            if let e = error {
                error = nil
                throw e
            }
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        let n = min(1 + Int(rng.next() % UInt64(maxPiece)), bytes.count - position)
        bytes.withUnsafeBytes { scratch.baseAddress!.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
        position += n
        return UnsafeRawBufferPointer(rebasing: scratch[0..<n])
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ReadError) -> Int {
        let lent = try lend()
        precondition(lent.count <= buffer.count, "test source: pieces larger than the buffer")
        buffer.copyMemory(from: lent)
        return lent.count
    }
}

/// The lines of `bytes` as a reader must hand them out: split at `\n`, a `\r` before it
/// dropped, the last line without a line end kept; (bytes, number, offset).
func expectedLines(_ bytes: [UInt8]) -> [([UInt8], Int, Int64)] {
    var out: [([UInt8], Int, Int64)] = []
    var start = 0
    for (i, b) in bytes.enumerated() where b == 0x0A {
        var line = Array(bytes[start..<i])
        if line.last == 0x0D { line.removeLast() }
        out.append((line, out.count + 1, Int64(start)))
        start = i + 1
    }
    if start < bytes.count {
        var line = Array(bytes[start...])
        if line.last == 0x0D { line.removeLast() }
        out.append((line, out.count + 1, Int64(start)))
    }
    return out
}

/// Every line of a reader, copied, and the error that ended it.
func readLines(_ reader: LineReader) -> ([LineReader.Line], [[UInt8]], ReadError?) {
    var lines: [LineReader.Line] = []
    var bytes: [[UInt8]] = []
    do {
        while let l = try reader.next() {
            lines.append(l)
            bytes.append(Array(l.bytes))
        }
    } catch {
        return (lines, bytes, error)
    }
    return (lines, bytes, nil)
}

/// Text with CRLF and LF lines, empty lines, lines of every length from 0 to a few KB, a `\r`
/// alone inside a line, and (when `finalNewline` is false) a last line without a line end.
func mixedLines(count: Int, seed: UInt64, finalNewline: Bool) -> [UInt8] {
    var rng = SplitMix64(seed: seed)
    var out: [UInt8] = []
    for i in 0..<count {
        let length = Int(rng.next() % (rng.next() % 8 == 0 ? 5000 : 120))
        var line = Array("{\"seq\":\(i),\"p\":\"".utf8)
        for k in 0..<length { line.append(k % 97 == 50 ? 0x0D : UInt8(0x61 + (k + i) % 26)) }
        line += Array("\"}".utf8)
        if rng.next() % 11 == 0 { line = [] }
        out += line
        if i < count - 1 || finalNewline { out += rng.next() % 3 == 0 ? [0x0D, 0x0A] : [0x0A] }
    }
    return out
}

@Suite struct GzipLinesTests {
    /// Lines read out of lent buffers, pieces of any size: the same bytes, numbers and offsets
    /// as the text says, however lines straddle the pieces (a `\r` ending one piece and its
    /// `\n` starting the next included).
    @Test(arguments: [1, 2, 7, 64, 997, 20_000])
    func linesFromLentBuffersAreTheText(maxPiece: Int) throws {
        for (seed, finalNewline) in [(UInt64(1), true), (2, false), (3, false)] {
            let text = mixedLines(count: 1500, seed: seed, finalNewline: finalNewline)
            let reader = LineReader(source: LendingPieceSource(text, maxPiece: maxPiece, seed: seed), bufferSize: 4096)
            let (lines, bytes, err) = readLines(reader)
            let expected = expectedLines(text)
            #expect(err == nil)
            #expect(lines.count == expected.count, "piece \(maxPiece), seed \(seed)")
            for (k, (l, e)) in zip(lines, expected).enumerated() {
                #expect(bytes[k] == e.0 && l.number == e.1 && l.offset == e.2 && !l.overlong, "line \(k + 1)")
                if bytes[k] != e.0 || l.number != e.1 || l.offset != e.2 { break }
            }
            #expect(reader.decodedOffset == Int64(text.count))
        }
    }

    /// A line past `maxLineBytes` comes out cut short and marked, the lines around it whole.
    @Test func anOverlongLineInLentBuffersIsCutAndTheRestGoesOn() throws {
        let long = [UInt8](repeating: 0x7A, count: 30_000)
        let text = Array("first\n".utf8) + long + Array("\r\nafter\nlast".utf8)
        let reader = LineReader(
            source: LendingPieceSource(text, maxPiece: 500, seed: 4), bufferSize: 4096, maxLineBytes: 2048)
        let (lines, bytes, err) = readLines(reader)
        #expect(err == nil)
        #expect(bytes.count == 4)
        guard lines.count == 4 else { return }
        #expect(bytes[0] == Array("first".utf8) && !lines[0].overlong)
        #expect(lines[1].overlong && lines[1].number == 2 && lines[1].offset == 6)
        #expect(bytes[1].count >= 2048 && bytes[1].allSatisfy { $0 == 0x7A }, "the line's first bytes")
        #expect(bytes[2] == Array("after".utf8) && lines[2].offset == Int64(6 + 30_000 + 2) && lines[2].number == 3)
        #expect(bytes[3] == Array("last".utf8) && lines[3].number == 4)
    }

    /// A read error comes after every complete line before it; the unfinished line is not handed out.
    @Test func anErrorInLentBuffersComesAfterTheCompleteLines() throws {
        let complete = mixedLines(count: 300, seed: 5, finalNewline: true)
        let text = complete + Array("{\"unfinished\":".utf8)
        let failure = ReadError(message: "the gzip stream is truncated", offset: 77)
        let reader = LineReader(
            source: LendingPieceSource(text, maxPiece: 300, seed: 5, error: failure), bufferSize: 4096)
        let (_, bytes, err) = readLines(reader)
        let expected = expectedLines(complete)
        #expect(err?.message == failure.message && err?.offset == 77)
        #expect(bytes == expected.map(\.0))
    }

    /// gzip as files come: one member and several, member boundaries inside records, empty
    /// members, CRLF, a last line without a line end, inflated ahead into buffers far smaller
    /// than the records so that records straddle them. The lines are the plain file's.
    @Test func gzipMembersInflatedAheadGiveThePlainLines() throws {
        let dir = TempDir("gzip-lines")
        defer { dir.cleanup() }
        let text = mixedLines(count: 3000, seed: 6, finalNewline: false)
        let plain = dir.file("p.ndjson")
        try Data(text).write(to: plain)
        let r = try python(
            """
            import gzip, sys
            data = open(sys.argv[1], 'rb').read()
            open(sys.argv[1] + '.one.gz', 'wb').write(gzip.compress(data, 6))
            cuts = list(range(0, len(data), 7777)) + [len(data)]
            parts = [data[a:b] for a, b in zip(cuts, cuts[1:])]
            empty = gzip.compress(b'')
            members = [empty] + [x for p in parts for x in (gzip.compress(p), empty if len(p) % 2 else b'')]
            open(sys.argv[1] + '.many.gz', 'wb').write(b''.join(members))
            # A member boundary inside a record, every one of them.
            print(sum(1 for c in cuts[1:-1] if data[c - 1] != 0x0A))
            """, [plain.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect((Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 20)
        let expected = expectedLines(text)
        for name in ["p.ndjson.one.gz", "p.ndjson.many.gz"] {
            for bufferSize in [509, 4099, 65_537] {
                let opened = try ByteSources.open(path: dir.file(name).path, compression: .auto)
                #expect(opened is GzipByteSource)
                let reader = LineReader(source: ReadAheadByteSource(opened, bufferSize: bufferSize, buffers: 3))
                let (lines, bytes, err) = readLines(reader)
                #expect(err == nil, "\(name), \(bufferSize)")
                #expect(bytes == expected.map(\.0), "\(name), buffers of \(bufferSize): the plain lines")
                #expect(lines.map(\.offset) == expected.map(\.2))
                #expect(lines.map(\.number) == expected.map(\.1))
            }
        }
    }

    /// Each member's CRC-32 and length are checked: a wrong one in any member is an error
    /// naming it, after the bytes before it; the same when the file arrives a few bytes at a
    /// time (the trailer then straddles reads).
    @Test func aWrongMemberChecksumOrLengthIsCorrupt() throws {
        let dir = TempDir("gzip-trailer")
        defer { dir.cleanup() }
        let text = mixedLines(count: 2000, seed: 7, finalNewline: true)
        let plain = dir.file("p.ndjson")
        try Data(text).write(to: plain)
        let r = try python(
            """
            import gzip, sys
            data = open(sys.argv[1], 'rb').read()
            third = len(data) // 3
            parts = [data[:third], data[third:2 * third], data[2 * third:]]
            members = [bytearray(gzip.compress(p)) for p in parts]
            open(sys.argv[1] + '.good.gz', 'wb').write(b''.join(members))
            crc = [bytearray(m) for m in members]
            crc[1][-8] ^= 0x01          # the middle member's CRC-32
            open(sys.argv[1] + '.crc.gz', 'wb').write(b''.join(crc))
            size = [bytearray(m) for m in members]
            size[2][-1] ^= 0x40         # the last member's length
            open(sys.argv[1] + '.size.gz', 'wb').write(b''.join(size))
            print(third)
            """, [plain.path])
        #expect(r.status == 0, "\(r.stderr)")
        let third = Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        // 0: whole reads; 1, 2: a few hundred bytes at a time; 3, 4: 1 and 5 bytes at a time
        // (every trailer then straddles reads).
        for seed in [UInt64(0), 1, 2, 3, 4] {
            func readAll(_ name: String) throws -> ([UInt8], ReadError?) {
                let raw = [UInt8](try Data(contentsOf: dir.file(name)))
                let inner: ByteSource =
                    switch seed {
                    case 0: PieceSource(raw, piece: 1 << 20)
                    case 3: PieceSource(raw, piece: 1)
                    case 4: PieceSource(raw, piece: 5)
                    default: ChoppyByteSource(raw, seed: seed)
                    }
                let source = try GzipByteSource(inner, inputBufferSize: seed == 0 ? 256 * 1024 : 512)
                var out: [UInt8] = []
                let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 4093, alignment: 1)
                defer { buf.deallocate() }
                do {
                    while true {
                        let n = try source.read(into: buf)
                        if n == 0 { break }
                        out += buf[0..<n]
                    }
                } catch {
                    return (out, error)
                }
                return (out, nil)
            }
            let (good, goodErr) = try readAll("p.ndjson.good.gz")
            #expect(goodErr == nil && good == text, "seed \(seed): three good members")
            let (crc, crcErr) = try readAll("p.ndjson.crc.gz")
            #expect(crcErr?.message.contains("corrupt") == true && crcErr?.message.contains("data check") == true)
            #expect(crc.count >= third && crc == Array(text.prefix(crc.count)), "seed \(seed): the bytes before")
            #expect(crc.count <= 2 * third, "nothing after the bad member is read")
            let (size, sizeErr) = try readAll("p.ndjson.size.gz")
            #expect(sizeErr?.message.contains("length check") == true, "\(String(describing: sizeErr))")
            #expect(size.count >= 2 * third && size == Array(text.prefix(size.count)))
        }
    }
}
