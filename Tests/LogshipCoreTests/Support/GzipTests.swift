import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

@Suite struct GzipTests {
    /// Python's gzip module decodes what `Gzip.compress` writes: an independent reader.
    @Test func pythonDecodesWhatWeWrite() throws {
        let dir = TempDir("gzip")
        defer { dir.cleanup() }
        var text = "[" + (0..<5000).map { "{\"n\":\($0),\"s\":\"Grüße 東京 \($0 % 7)\"}" }.joined(separator: ",") + "]"
        text += String(repeating: " ", count: 3)
        let body = Data(text.utf8)
        let z = try Gzip.compress(body)
        #expect(z.count < body.count / 4)
        #expect(z.prefix(2) == Data([0x1F, 0x8B]))
        let file = dir.file("b.gz")
        try z.write(to: file)
        let r = try python(
            "import gzip,sys,hashlib; print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())", [file.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == Crypto.sha256([UInt8](body)).hexString)
    }

    @Test func theEmulatorsDecoderAgrees() throws {
        for body in [
            Data(), Data("[]".utf8), Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }),
        ] {
            let z = try Gzip.compress(body)
            #expect(EmulatorGzip.decode([UInt8](z), limit: 1_000_000) == .success([UInt8](body)))
        }
    }

    /// One deflate state reset body after body (and the pool shared by parallel uploads): each
    /// body is a gzip member of its own that decodes to exactly that body, whatever came before.
    @Test func aReusedDeflaterWritesEachBodyAlone() throws {
        let d = try Deflater()
        var previous: Data?
        for k in 0..<12 {
            // Growing, shrinking and empty bodies; some repeat the previous one's bytes, which a
            // state that kept its window could refer back to.
            let n = [0, 1, 300_000, 999_999, 17, 1_000_000, 0, 50_000][k % 8]
            var body = Data((0..<n).map { UInt8(truncatingIfNeeded: ($0 &* 31 &+ k) % 251) })
            if k % 3 == 2, let p = previous { body = p }
            let z = try d.compress(body)
            #expect(z.prefix(2) == Data([0x1F, 0x8B]))
            #expect(EmulatorGzip.decode([UInt8](z), limit: 1_000_000) == .success([UInt8](body)), "body \(k)")
            previous = body
        }
        // Many at once through the pool, as the upload tasks compress.
        let bodies = (0..<16).map { k in
            Data(("[" + (0..<(2000 + k * 500)).map { "{\"k\":\(k),\"n\":\($0)}" }.joined(separator: ",") + "]").utf8)
        }
        let results = Results(count: bodies.count)
        DispatchQueue.concurrentPerform(iterations: bodies.count) { i in
            results.set(i, try? Gzip.compress(bodies[i]))
        }
        for (i, b) in bodies.enumerated() {
            let z = try #require(results.get(i))
            #expect(EmulatorGzip.decode([UInt8](z), limit: 1_000_000) == .success([UInt8](b)), "parallel body \(i)")
        }
    }

    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [Data?]
        init(count: Int) { items = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ d: Data?) { lock.withLock { items[i] = d } }
        func get(_ i: Int) -> Data? { lock.withLock { items[i] } }
    }

    @Test func theEmulatorsDecoderRefusesWhatIsNotGzipAndCapsTheOutput() throws {
        let big = Data(repeating: UInt8(ascii: "a"), count: 2_000_000)
        let z = try Gzip.compress(big)
        #expect(z.count < 10_000, "a small body that inflates to 2 MB")
        #expect(EmulatorGzip.decode([UInt8](z), limit: 1_000_000) == .failure(.tooLarge))
        guard
            case .failure(.corrupt) = EmulatorGzip.decode(
                Array("[{\"a\":1}]".utf8) + Array(repeating: 0, count: 20), limit: 100)
        else {
            Issue.record("plain JSON is not gzip")
            return
        }
        var truncated = [UInt8](try Gzip.compress(Data(repeating: 7, count: 10_000)))
        truncated.removeLast(6)
        guard case .failure(.corrupt) = EmulatorGzip.decode(truncated, limit: 1_000_000) else {
            Issue.record("a truncated member must be refused")
            return
        }
        // Concatenated members are one gzip stream.
        let two = try Gzip.compress(Data("[{\"a\":".utf8)) + (try Gzip.compress(Data("1}]".utf8)))
        #expect(EmulatorGzip.decode([UInt8](two), limit: 100) == .success(Array("[{\"a\":1}]".utf8)))
    }
}
