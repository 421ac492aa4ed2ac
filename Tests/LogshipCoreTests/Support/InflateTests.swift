import CZlib
import Foundation
import LogshipSupport
import Testing

@testable import LogshipEmulator

/// `Inflater` (the gzip reader's DEFLATE decoder) against zlib: for every stream, valid or
/// damaged, both must reach the same verdict and, when they accept it, the same bytes. The
/// streams come from zlib at several levels and strategies and from logship's own encoder, so
/// stored, fixed and dynamic blocks all occur; they are fed in pieces of many sizes, input and
/// output alike, so every place where a call can stop is crossed.
@Suite struct InflateTests {
    typealias Seeded = FastDeflateTests.Seeded

    /// A raw DEFLATE stream of `input` from zlib (`level`, `strategy`), or logship's encoder.
    static func deflate(_ input: [UInt8], level: Int32 = 6, strategy: Int32 = Z_DEFAULT_STRATEGY) -> [UInt8] {
        var s = z_stream()
        let rc = deflateInit2_(
            &s, level, Z_DEFLATED, -15, 8, strategy, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(rc == Z_OK)
        defer { deflateEnd(&s) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&s, UInt(input.count))) + 64)
        var input = input
        let produced = input.withUnsafeMutableBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o in
                s.next_in = i.baseAddress
                s.avail_in = UInt32(i.count)
                s.next_out = o.baseAddress
                s.avail_out = UInt32(o.count)
                precondition(CZlib.deflate(&s, Z_FINISH) == Z_STREAM_END)
                return o.count - Int(s.avail_out)
            }
        }
        return Array(out.prefix(produced))
    }

    /// logship's encoder writes gzip members: the raw stream is between the 10-byte header
    /// (no flags) and the 8-byte trailer.
    static func fastDeflate(_ input: [UInt8]) -> [UInt8] {
        let encoder = FastDeflate()
        // Its output lives as long as the encoder.
        let z = withExtendedLifetime(encoder) { input.withUnsafeBytes { [UInt8](encoder.gzip($0)) } }
        return Array(z[10..<(z.count - 8)])
    }

    /// zlib's verdict on a raw stream: its output if it reaches the stream's end, nil otherwise.
    static func zlibInflate(_ stream: [UInt8], limit: Int) -> [UInt8]? {
        var s = z_stream()
        guard inflateInit2_(&s, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&s) }
        var out = [UInt8](repeating: 0, count: limit + 1)
        var stream = stream
        return stream.withUnsafeMutableBufferPointer { i -> [UInt8]? in
            out.withUnsafeMutableBufferPointer { o -> [UInt8]? in
                s.next_in = i.baseAddress
                s.avail_in = UInt32(i.count)
                s.next_out = o.baseAddress
                s.avail_out = UInt32(o.count)
                let rc = CZlib.inflate(&s, Z_FINISH)
                return rc == Z_STREAM_END ? Array(o.prefix(o.count - Int(s.avail_out))) : nil
            }
        }
    }

    enum Verdict: Equatable {
        case decoded([UInt8], unused: Int)
        case failed(String)
    }

    /// Runs `Inflater` over `stream` fed `inPiece` bytes at a time (more when it asks for
    /// more) into output pieces of `outPiece` bytes. Bounded: every round either makes
    /// progress or adds input, and there are at most `stream.count + output / outPiece + 8` of them.
    static func inflate(_ stream: [UInt8], inPiece: Int, outPiece: Int, limit: Int) -> Verdict {
        let inflater = Inflater()
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: outPiece)
        var start = 0
        var end = min(stream.count, inPiece)
        var rounds = 0
        let maxRounds = stream.count + limit / max(outPiece, 1) + 64
        while rounds < maxRounds {
            rounds += 1
            let atEnd = end == stream.count
            let p: Inflater.Progress
            do {
                p = try stream.withUnsafeBytes { s in
                    try buffer.withUnsafeMutableBytes { o in
                        try inflater.inflate(UnsafeRawBufferPointer(rebasing: s[start..<end]), atEnd: atEnd, into: o)
                    }
                }
            } catch {
                return .failed((error as? Inflater.Failure)?.message ?? "\(error)")
            }
            output.append(contentsOf: buffer.prefix(p.produced))
            start += p.consumed
            if p.finished { return .decoded(output, unused: stream.count - start) }
            if output.count > limit { return .failed("more output than \(limit) bytes") }
            if p.produced == 0 {
                // It asked for more input.
                if atEnd { return .failed("no progress at the end of the input") }
                end = min(stream.count, end + max(inPiece, 700))
            } else if end - start < 1024 {
                end = min(stream.count, max(end, start + inPiece))
            }
        }
        return .failed("did not finish in \(maxRounds) rounds")
    }

    static let pieces: [(Int, Int)] = [
        (1 << 30, 1 << 30), (1, 1), (3, 300), (700, 257), (4096, 274), (65_536, 1 << 20),
    ]

    func check(_ input: [UInt8], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let streams: [(String, [UInt8])] = [
            ("zlib 1", Self.deflate(input, level: 1)), ("zlib 6", Self.deflate(input)),
            ("zlib 9", Self.deflate(input, level: 9)), ("stored", Self.deflate(input, level: 0)),
            ("fixed", Self.deflate(input, strategy: Z_FIXED)),
            ("huffman only", Self.deflate(input, strategy: Z_HUFFMAN_ONLY)),
            ("rle", Self.deflate(input, strategy: Z_RLE)), ("logship", Self.fastDeflate(input)),
        ]
        for (name, stream) in streams {
            for (i, o) in Self.pieces {
                let v = Self.inflate(
                    stream, inPiece: min(i, stream.count), outPiece: min(o, input.count + 1), limit: input.count)
                if v != .decoded(input, unused: 0) {
                    let got: String
                    switch v {
                    case .failed(let m): got = "failed: \(m)"
                    case .decoded(let b, let u):
                        let at =
                            zip(b, input).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                            ?? min(b.count, input.count)
                        got = "decoded \(b.count) bytes (input \(input.count)), first difference at \(at), \(u) unused"
                    }
                    Issue.record("\(what), \(name), pieces \(i)/\(o): \(got)", sourceLocation: sourceLocation)
                    return
                }
            }
        }
    }

    @Test func emptyAndTinyInputs() {
        check([], "empty")
        check([42], "one byte")
        check(Array("hello, hello, hello!".utf8), "a short repeat")
    }

    @Test func logRecords() {
        check(FastDeflateTests.logJSON(bytes: 300_000), "log JSON")
    }

    @Test func incompressibleDataMakesStoredBlocks() {
        check(FastDeflateTests.random(150_000, seed: 7), "random bytes")
    }

    @Test func shortDistancesAndLongRuns() {
        check([UInt8](repeating: 0x61, count: 100_000), "one byte repeated")
        for period in 2...9 {
            let pattern = FastDeflateTests.random(period, seed: UInt64(period))
            check((0..<20_000).map { pattern[$0 % period] }, "period \(period)")
        }
    }

    @Test func matchesAtTheWindowsEdge() {
        // A random block repeated exactly 32 KiB later, and one just past it (no match).
        let block = FastDeflateTests.random(32_768, seed: 11)
        check(block + block + block, "distance 32768")
        let wide = FastDeflateTests.random(32_769, seed: 12)
        check(wide + wide, "distance 32769")
    }

    /// The output's first 32 KiB reach into the last call's output: tiny output pieces make
    /// every match cross from the history into the new buffer.
    @Test func historyAcrossCalls() {
        let text = FastDeflateTests.logJSON(bytes: 120_000, seed: 3)
        let stream = Self.deflate(text, level: 9)
        for o in [1, 2, 7, 258, 259, 32_767, 32_768, 40_000] {
            #expect(
                Self.inflate(stream, inPiece: 5000, outPiece: o, limit: text.count) == .decoded(text, unused: 0),
                "out \(o)")
        }
    }

    @Test func bytesAfterTheStreamAreLeft() {
        let text = Array("after the stream: a gzip trailer".utf8)
        let stream = Self.deflate(FastDeflateTests.logJSON(bytes: 5000)) + text
        #expect(
            Self.inflate(stream, inPiece: 1 << 20, outPiece: 1 << 20, limit: 10_000)
                == .decoded(FastDeflateTests.logJSON(bytes: 5000), unused: text.count))
    }

    @Test func damagedStreamsAreRefused() {
        // A block type of 3; a stored block whose length check fails; a match before the start.
        #expect(Self.inflate([0x07], inPiece: 1, outPiece: 10, limit: 10) == .failed("invalid block type"))
        #expect(
            Self.inflate([0x01, 0x05, 0x00, 0xFA, 0xFE], inPiece: 5, outPiece: 10, limit: 10)
                == .failed("invalid stored block lengths"))
        let stream = Self.deflate(FastDeflateTests.logJSON(bytes: 50_000))
        for cut in [1, 2, 10, stream.count / 2, stream.count - 1] {
            let v = Self.inflate(Array(stream.prefix(cut)), inPiece: 4096, outPiece: 65_536, limit: 60_000)
            #expect(v == .failed("unexpected end of the compressed data"), "cut at \(cut): \(v)")
        }
    }

    /// Seeded damage to valid streams: zlib and `Inflater` must agree on every one.
    @Test func agreesWithZlibOnDamagedStreams() {
        var g = Seeded(seed: 2026)
        let inputs = [
            FastDeflateTests.logJSON(bytes: 20_000, seed: 5), FastDeflateTests.random(3000, seed: 6),
            [UInt8](repeating: 0x20, count: 5000),
        ]
        var disagreements: [String] = []
        var refused = 0
        var cases = 0
        for input in inputs {
            for stream in [
                Self.deflate(input, level: 1), Self.deflate(input, level: 9), Self.fastDeflate(input),
                Self.deflate(input, strategy: Z_FIXED),
            ] {
                for _ in 0..<150 {
                    var damaged = stream
                    let flips = 1 + Int(g.next() % 3)
                    for _ in 0..<flips {
                        // Mostly the start (the block headers, where the codes are), sometimes anywhere.
                        let range = g.next() % 2 == 0 ? min(damaged.count, 64) : damaged.count
                        damaged[Int(g.next() % UInt64(range))] ^= UInt8(1 << (g.next() % 8))
                    }
                    cases += 1
                    let expected = Self.zlibInflate(damaged, limit: 200_000)
                    let got = Self.inflate(
                        damaged, inPiece: Int(g.next() % 3000) + 1, outPiece: Int(g.next() % 70_000) + 1, limit: 200_000
                    )
                    switch (expected, got) {
                    case (nil, .failed): refused += 1
                    case (let e?, .decoded(let b, _)) where e == b: break
                    default:
                        let z = expected == nil ? "refused" : "\(expected!.count) bytes"
                        let l: String
                        switch got {
                        case .failed(let m): l = "refused (\(m))"
                        case .decoded(let b, _): l = "\(b.count) bytes" + (expected == b ? "" : ", different")
                        }
                        if disagreements.count < 5 { disagreements.append("zlib \(z), logship \(l)") }
                    }
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) of \(cases): \(disagreements)")
        // The damage must have hit something: most damaged streams are refused.
        #expect(refused > cases / 4, "\(refused) of \(cases) refused")
    }
}
