import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

/// Reading a file that may still be written to: no further than the size the run looked at,
/// and, when asked, without an unfinished last line.
@Suite struct LiveFileTests {
    @Test func aFileIsReadUpToItsLimitOnly() throws {
        let dir = TempDir("live")
        defer { dir.cleanup() }
        let f = dir.file("a.log")
        try Data((0..<100_000).map { UInt8($0 % 251) }).write(to: f)
        for limit: Int64 in [0, 1, 4095, 65_536, 99_999, 100_000, 200_000] {
            let source = try FileByteSource(path: f.path, limit: limit)
            let got = try MovedContent.readPrefix(source, 300_000)
            #expect(Int64(got.count) == min(limit, 100_000), "limit \(limit)")
            let more = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 1)
            defer { more.deallocate() }
            #expect(try source.read(into: more) == 0)
        }
    }

    @Test(arguments: [false, true]) func anUnfinishedLastLineIsHeldBackWhileTheFileIsWritten(hold: Bool) throws {
        let dir = TempDir("live-lines")
        defer { dir.cleanup() }
        let f = dir.file("a.log")
        try Data("one\ntwo\r\nthree".utf8).write(to: f)
        let reader = LineReader(source: try FileByteSource(path: f.path), bufferSize: 4096)
        reader.stillBeingWritten = { hold }
        var lines: [String] = []
        while let l = try reader.next() { lines.append(String(decoding: l.bytes, as: UTF8.self)) }
        #expect(lines == (hold ? ["one", "two"] : ["one", "two", "three"]))
        #expect(reader.heldBack == hold)
        #expect(reader.decodedOffset == (hold ? 9 : 14), "read up to the end of the last whole line")
    }

    @Test func aFinishedFileHoldsNothingBack() throws {
        let dir = TempDir("live-done")
        defer { dir.cleanup() }
        let f = dir.file("a.log")
        try Data("one\ntwo\n".utf8).write(to: f)
        let reader = LineReader(source: try FileByteSource(path: f.path))
        reader.stillBeingWritten = { true }
        var n = 0
        while try reader.next() != nil { n += 1 }
        #expect(n == 2 && !reader.heldBack)
    }

    /// The file grew after the run looked at it: read up to that size, and its last line there,
    /// without a line end, is left; a file that did not grow is read to its end.
    @Test(arguments: ["ndjson", "csv"]) func aFileThatGrewIsReadToItsSizeWithoutItsUnfinishedLine(format: String) throws
    {
        let dir = TempDir("live-grew")
        defer { dir.cleanup() }
        let f = dir.file("a.\(format)")
        let head = format == "csv" ? "id,note\n1,a\n2,\"b\nc\"\n3,\"d\n" : "{\"id\":1}\n{\"id\":2}\n{\"id\":3,"
        let looked = head + (format == "csv" ? "e" : "\"x\":")
        try Data((looked + "MORE").utf8).write(to: f)
        var spec = SourceSpec(files: [f.path], format: format == "csv" ? .csv : .ndjson)
        spec.compression = .auto
        for (size, grew) in [(Int64(looked.utf8.count), true), (Int64((looked + "MORE").utf8.count), false)] {
            let file = InputFile(index: 0, path: f.path, relativePath: "a", size: size, modified: 0)
            let (decoder, _, _) = try DecoderFactory.openWithReader(file, spec: spec)
            var records = 0, rejected = 0
            while let r = try decoder.next() {
                if case .record = r { records += 1 } else { rejected += 1 }
            }
            #expect(records == 2, "\(format), grew \(grew)")
            #expect(
                rejected == (grew ? 0 : 1),
                "\(format), grew \(grew): the unfinished record is rejected only in a file that is not written to")
            #expect(
                decoder.heldBackAt
                    == (grew
                        ? Int64(head.utf8.count - (format == "csv" ? "3,\"d\n".utf8.count : "{\"id\":3,".utf8.count))
                        : nil),
                "\(format)")
        }
    }

    /// A line that was unfinished where a delivered version ended: continued, or only ended.
    @Test func aLineGoesOnOrIsOnlyEnded() throws {
        let dir = TempDir("live-cont")
        defer { dir.cleanup() }
        let f = dir.file("a.log")
        try Data("ab\ncd".utf8).write(to: f)
        #expect(!FileFingerprint.lineContinues(path: f.path, at: 3), "ended with a line end")
        #expect(FileFingerprint.lineContinues(path: f.path, at: 4), "c, then d")
        #expect(!FileFingerprint.lineContinues(path: f.path, at: 5), "nothing after it yet")
        try Data("ab\ncd\nef".utf8).write(to: f)
        #expect(!FileFingerprint.lineContinues(path: f.path, at: 5), "only its line end came")
        try Data("ab\ncd\r\n".utf8).write(to: f)
        #expect(!FileFingerprint.lineContinues(path: f.path, at: 5))
        try Gzip.compress(Data("ab\ncd".utf8)).write(to: f)
        #expect(!FileFingerprint.lineContinues(path: f.path, at: 4), "compressed bytes say nothing about lines")
    }
}
