import Foundation
import Testing

@testable import LogshipCore

/// Rejects already written for a file's content are not written again; a new file at the same
/// path gets its own.
struct RejectsWriterTests {
    func resumed(_ dir: TempDir, _ name: String) throws -> RejectsWriter.ResumedFile {
        let f = try #require(FileDiscovery.expand([name], relativeTo: dir.url).files.first)
        return RejectsWriter.ResumedFile(
            relativePath: f.relativePath, path: f.path, fingerprint: try #require(FileFingerprint.of(f)))
    }

    /// Writes the reject of line 2 (offset 10) of `in/a.ndjson` as read now; returns the lines in the file.
    func rejectLine2(_ dir: TempDir) throws -> Int {
        let r = try resumed(dir, "in/a.ndjson")
        let w = RejectsWriter(url: dir.file("rejects.ndjson"), resuming: [r])
        w.write(
            file: r.relativePath, line: 2, offset: 10, reason: "not JSON", excerpt: Array("{oops".utf8),
            content: (r.fingerprint.sample, r.fingerprint.size))
        w.close()
        #expect(w.count == 1)
        let text = try String(contentsOf: dir.file("rejects.ndjson"), encoding: .utf8)
        for line in text.split(separator: "\n") {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(line)")
        }
        return text.split(separator: "\n").count
    }

    @Test func aRejectIsWrittenOncePerContentAndLocation() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let f = dir.write("in/a.ndjson", "{\"a\":1}\n{oops\n{\"a\":3}\n")
        #expect(try rejectLine2(dir) == 1)
        // Read again (a resumed run): not written again.
        #expect(try rejectLine2(dir) == 1)
        // The file grew: its first records are the ones read before.
        let h = try FileHandle(forWritingTo: f)
        try h.seekToEnd()
        try h.write(contentsOf: Data("{\"a\":4}\n".utf8))
        try h.close()
        #expect(try rejectLine2(dir) == 1)
        // A new file at the path (other content): its reject at the same place is its own.
        _ = dir.write("in/a.ndjson", "{\"b\":1}\n{bad!\n{\"b\":3}\n")
        #expect(try rejectLine2(dir) == 2)
        #expect(try rejectLine2(dir) == 2)
    }

    /// A reject without content (stdin, an unreadable file) is written every time it happens.
    @Test func aRejectWithoutContentIsAlwaysWritten() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        for n in 1...2 {
            let w = RejectsWriter(url: dir.file("rejects.ndjson"), resuming: [])
            w.write(file: "-", line: 1, offset: 0, reason: "not JSON", excerpt: [])
            w.close()
            #expect(
                try String(contentsOf: dir.file("rejects.ndjson"), encoding: .utf8).split(separator: "\n").count == n)
        }
    }
}
