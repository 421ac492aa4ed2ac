import Foundation
import LogshipSupport
import Testing

@testable import LogshipEmulator

/// `FastDeflate` (the Logs Ingestion bodies' gzip encoder): whatever it writes, zlib (the
/// emulator's decoder) must inflate to exactly the input. A wrong encoder loses data, so the
/// inputs aim at its edges: empty and tiny input, runs at the 258-byte match limit, distances
/// at the 32 KiB window, incompressible data (stored blocks), block boundaries, and a seeded
/// fuzz loop over mixed data.
@Suite struct FastDeflateTests {
    /// Compresses `input` with `encoder` (a fresh one unless given), checks the gzip frame and that
    /// zlib decodes it to `input`, and returns the compressed size.
    @discardableResult
    func roundTrip(
        _ input: [UInt8], _ what: String, with encoder: FastDeflate = FastDeflate(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Int {
        let z = input.withUnsafeBytes { [UInt8](encoder.gzip($0)) }
        #expect(
            z.count >= 18 && z[0] == 0x1F && z[1] == 0x8B && z[2] == 8, "\(what): gzip header",
            sourceLocation: sourceLocation)
        let decoded = EmulatorGzip.decode(z, limit: input.count + 1)
        guard case .success(let back) = decoded else {
            Issue.record("\(what): zlib refused the stream: \(decoded)", sourceLocation: sourceLocation)
            return z.count
        }
        if back != input {
            let common = min(back.count, input.count)
            let at = (0..<common).first { back[$0] != input[$0] } ?? common
            Issue.record(
                "\(what): decoded \(back.count) bytes, input \(input.count); first difference at \(at)",
                sourceLocation: sourceLocation)
        }
        return z.count
    }

    /// SplitMix64 (the emulator's): the same bytes on every machine and run.
    typealias Seeded = SplitMix64

    static func random(_ n: Int, seed: UInt64) -> [UInt8] {
        var g = Seeded(seed: seed)
        var out = [UInt8](repeating: 0, count: n)
        var i = 0
        while i < n {
            var v = g.next()
            for _ in 0..<8 where i < n {
                out[i] = UInt8(truncatingIfNeeded: v)
                v >>= 8
                i += 1
            }
        }
        return out
    }

    /// Web-log records as a JSON array, like the bodies logship sends (bench/gen.py's shape).
    static func logJSON(bytes: Int, seed: UInt64 = 1) -> [UInt8] {
        var g = Seeded(seed: seed)
        let methods = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
        let paths = [
            "/api/v1/products/", "/api/v1/orders/", "/robots.txt", "/static/app.js", "/login", "/api/v2/search?q=",
        ]
        let agents = ["curl/8.5.0", "axios/1.7.7", "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0", "Dalvik/2.1.0"]
        var out: [UInt8] = Array("[".utf8)
        var seq = 0
        while out.count < bytes {
            if seq > 0 { out.append(UInt8(ascii: ",")) }
            let r = g.next()
            let ip = "\(r & 255).\(r >> 8 & 255).\(r >> 16 & 255).\(r >> 24 & 255)"
            let path = paths[Int(r >> 32 % 6) % paths.count] + String(r >> 40 & 0xFFFF)
            let id = String(g.next(), radix: 16) + "-" + String(g.next() & 0xFFFF_FFFF, radix: 16)
            let record =
                #"{"seq":\#(seq),"timestamp":"2026-10-10T00:\#(10 + seq / 6000 % 50):\#(10 + seq / 100 % 50).\#(100 + seq % 900)Z","client_ip":"\#(ip)","method":"\#(methods[Int(r % 6)])","path":"\#(path)","status":\#([200, 200, 201, 304, 404, 500][Int(r >> 50 % 6) % 6]),"bytes":\#(r >> 20 & 0xFFFF),"duration_ms":\#(Double(r >> 44 & 0xFFFFF) / 1000),"user_agent":"\#(agents[Int(r >> 56) % agents.count])","request_id":"\#(id)","cache_hit":\#(r & 1 == 0)}"#
            out.append(contentsOf: Array(record.utf8))
            seq += 1
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    @Test func emptyAndTinyInputs() {
        roundTrip([], "empty")
        for n in 1...40 { roundTrip(Array(Self.random(n, seed: UInt64(n)).map { $0 % 3 }), "\(n) bytes of 3 values") }
        roundTrip([0x41], "one byte")
        roundTrip(Array("[]".utf8), "[]")
    }

    /// One byte repeated: matches of the longest length (258, a symbol of its own) back to back,
    /// and the lengths around it at the end of the input.
    @Test func runsOfOneByteAtTheMatchLengthLimits() {
        for n in [3, 4, 5, 16, 17, 18, 19, 20, 257, 258, 259, 260, 261, 262, 274, 275, 276, 516, 517, 518, 100_000] {
            roundTrip([UInt8](repeating: 0x61, count: n), "\(n) × a")
        }
        let size = roundTrip([UInt8](repeating: 0, count: 1_000_000), "1 MB of zeros")
        #expect(size < 10_000, "long runs compress (\(size) bytes)")
        // Every match length: a random prefix, then copies of it cut at each length.
        let prefix = Self.random(300, seed: 9)
        var all: [UInt8] = prefix
        for len in 3...258 { all += prefix[0..<len] + Self.random(3, seed: UInt64(len)) }
        roundTrip(all, "every match length")
    }

    /// A piece repeated at distances around the window's 32,768 bytes: the one at 32,768 may be
    /// used, one further away must not be (zlib refuses a distance too far back).
    @Test func distancesAtTheWindowEdge() {
        for gap in [32_700, 32_760, 32_763, 32_764, 32_765, 32_766, 32_767, 32_768, 32_769, 32_770, 40_000, 65_536] {
            let piece = Self.random(300, seed: UInt64(gap))
            let filler = Self.random(gap - piece.count > 0 ? gap - piece.count : 1, seed: UInt64(gap) + 1)
            let input = piece + filler + piece + filler.prefix(100) + piece
            roundTrip(input, "a piece again \(gap) bytes on")
        }
        // Data that matches only far back: 32 KiB of random bytes, twice, then again shifted.
        let block = Self.random(32_768, seed: 5)
        roundTrip(block + block + block.dropFirst(1) + block.dropFirst(7), "32 KiB repeated")
        // Positions are hashed modulo 65,536: inputs past that length, with data repeating at
        // exactly 65,536 (outside the window), must not take the stale slot for a match.
        let r = Self.random(65_536, seed: 6)
        roundTrip(r + r + r, "random data repeating every 65,536 bytes")
    }

    /// Random bytes do not compress: stored blocks, larger than the input by the gzip frame and
    /// at most 5 bytes per 65,535 and per block (a block ends after 4 × 65,535 bytes or a little more).
    @Test func incompressibleDataGoesStored() {
        for n in [100, 65_534, 65_535, 65_536, 65_537, 200_000, (1 << 18) - 1, 1 << 18, (1 << 18) + 1, 1_000_000] {
            let size = roundTrip(Self.random(n, seed: UInt64(n)), "\(n) random bytes")
            #expect(size <= n + 18 + 5 * (n / 65_535 + n / 262_140 + 2), "\(n) random bytes became \(size)")
        }
    }

    /// Log JSON bodies of the size logship sends: exact, and about as small as zlib's level 1.
    @Test func aMegabyteOfLogJSON() throws {
        let body = Self.logJSON(bytes: 999_000)
        let size = roundTrip(body, "1 MB of log JSON")
        let zlib = try Gzip.compress(Data(body), encoder: .zlib).count
        #expect(Double(size) < Double(body.count) * 0.30, "\(size) bytes of \(body.count)")
        #expect(Double(size) < Double(zlib) * 1.3, "\(size) bytes against zlib's \(zlib)")
        // Through the pool, as the upload tasks call it.
        let pooled = try Gzip.compress(Data(body), encoder: .fast)
        #expect(EmulatorGzip.decode([UInt8](pooled), limit: body.count) == .success(body))
    }

    /// Blocks end after a number of matches or of bytes; inputs that cross those boundaries
    /// (several blocks, a literal run across one, a body a block longer than the last) decode whole.
    @Test func inputsCrossingBlockBoundaries() {
        let json = Self.logJSON(bytes: 3_000_000, seed: 2)
        roundTrip(json, "3 MB of log JSON")
        let noise = Self.random(300_000, seed: 3)
        roundTrip(Array(json.prefix(700_000)) + noise + Array(json.prefix(400_000)), "log JSON, noise, log JSON")
        roundTrip(noise + [UInt8](repeating: 7, count: 300_000) + noise, "noise, a run, the same noise")
        var alternating: [UInt8] = []
        for k in 0..<2_000 { alternating += Array(json[(k * 37)..<(k * 37 + 20)]) + Self.random(20, seed: UInt64(k)) }
        roundTrip(alternating, "matches and literals alternating")
    }

    /// One encoder, body after body: nothing of one body leaks into the next.
    @Test func aReusedEncoderWritesEachBodyAlone() {
        let encoder = FastDeflate()
        let json = Self.logJSON(bytes: 600_000, seed: 4)
        let bodies: [[UInt8]] = [
            json, [], Array(json.prefix(1000)), Self.random(70_000, seed: 8), json, [1], Array(json.suffix(300_000)),
        ]
        for (k, b) in bodies.enumerated() { roundTrip(b, "body \(k)", with: encoder) }
    }

    /// Seeded mixed data (random bytes, small alphabets, runs, copies of earlier pieces from near
    /// and far), bounded in count and in time.
    @Test func seededFuzzOverMixedData() {
        var g = Seeded(seed: 20_261_202)
        let encoder = FastDeflate()
        let started = Date()
        var cases = 0
        while cases < 300 && Date().timeIntervalSince(started) < 20 {
            var input: [UInt8] = []
            let target = Int(g.next() % 3 == 0 ? g.next() % 300_000 : g.next() % 5_000)
            while input.count < target {
                let n = Int(1 + g.next() % 600)
                switch g.next() % 5 {
                case 0: input += Self.random(n, seed: g.next())
                case 1:
                    let alphabet = UInt8(1 + g.next() % 4)
                    input += Self.random(n, seed: g.next()).map { $0 % alphabet }
                case 2: input += [UInt8](repeating: UInt8(truncatingIfNeeded: g.next()), count: n)
                default:
                    guard !input.isEmpty else { continue }
                    let back = Int(1 + g.next() % UInt64(min(input.count, 40_000)))
                    let from = input.count - back
                    let len = min(n, back)
                    input += input[from..<(from + len)]
                }
            }
            roundTrip(input, "fuzz case \(cases) (\(input.count) bytes)", with: encoder)
            cases += 1
        }
        #expect(cases >= 20, "only \(cases) cases ran")
    }
}
