import Foundation
import Testing

@testable import LogshipCore
@testable import LogshipEmulator
import LogshipSupport

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
        let r = try python("import gzip,sys,hashlib; print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())", [file.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == Crypto.sha256([UInt8](body)).hexString)
    }

    @Test func theEmulatorsDecoderAgrees() throws {
        for body in [Data(), Data("[]".utf8), Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) })] {
            let z = try Gzip.compress(body)
            #expect(EmulatorGzip.decode([UInt8](z), limit: 1_000_000) == .success([UInt8](body)))
        }
    }

    @Test func theEmulatorsDecoderRefusesWhatIsNotGzipAndCapsTheOutput() throws {
        let big = Data(repeating: UInt8(ascii: "a"), count: 2_000_000)
        let z = try Gzip.compress(big)
        #expect(z.count < 10_000, "a small body that inflates to 2 MB")
        #expect(EmulatorGzip.decode([UInt8](z), limit: 1_000_000) == .failure(.tooLarge))
        guard case .failure(.corrupt) = EmulatorGzip.decode(Array("[{\"a\":1}]".utf8) + Array(repeating: 0, count: 20), limit: 100) else {
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
