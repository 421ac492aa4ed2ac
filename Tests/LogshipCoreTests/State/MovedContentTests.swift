import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

@Suite struct MovedContentTests {
    /// The sample of a decoded stream's prefix is the fingerprint's sample of a file that ends
    /// there, at every size around the 64 KB windows, read plain or through gzip in pieces.
    @Test func prefixSampleOfAStreamIsTheFingerprintOfAFileEndingThere() throws {
        let dir = TempDir("moved")
        defer { dir.cleanup() }
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let plain = dir.file("a.log")
        try Data(bytes).write(to: plain)
        let gz = dir.file("a.log.gz")
        try Gzip.compress(Data(bytes)).write(to: gz)
        for size: Int64 in [1, 1000, 65_535, 65_536, 65_537, 131_071, 131_072, 131_073, 200_000, 299_999, 300_000] {
            let cut = dir.file("cut-\(size)")
            try Data(bytes[0..<Int(size)]).write(to: cut)
            let expected = try #require(
                FileFingerprint.of(InputFile(index: 0, path: cut.path, relativePath: "cut", size: size, modified: 0))
            ).sample
            #expect(FileFingerprint.sample(path: plain.path, size: size) == expected, "pread at \(size)")
            for path in [plain, gz] {
                let source = try ByteSources.open(path: path.path, compression: .auto)
                let got = try #require(
                    try MovedContent.prefixSample(source, size: size), "\(path.lastPathComponent) at \(size)")
                #expect(got.0 == expected, "\(path.lastPathComponent) at \(size)")
                #expect(got.1 == (size < 300_000), "\(path.lastPathComponent) at \(size): goes on")
            }
        }
        // Asked for more than there is: no sample.
        #expect(
            try MovedContent.prefixSample(ByteSources.open(path: gz.path, compression: .auto), size: 300_001) == nil)
        #expect(
            try MovedContent.readPrefix(ByteSources.open(path: gz.path, compression: .auto), 70_000)
                == Array(bytes[0..<70_000]))
    }
}
