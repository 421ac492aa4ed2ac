import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

@Suite struct ChunkerTests {
    func chunker(maxBodyBytes: Int = 1000, maxRecords: Int? = nil, identity: String = "f") -> Chunker {
        Chunker(maxBodyBytes: maxBodyBytes, maxRecords: maxRecords, specHash: "spec", bodies: 64) { "\(identity)\($0)" }
    }

    /// Writes one record as the transformer does, and commits it.
    func add(_ c: Chunker, _ json: String, file: Int = 0, ordinal: Int64) -> Chunker.Commit {
        let mark = c.beginRecord()
        for b in json.utf8 { c.body.append(b) }
        return c.commitRecord(mark, Provenance(fileIndex: file, line: Int(ordinal) + 1, offset: 0, ordinal: ordinal))
    }

    /// Every chunk of `records` (one per ordinal of file 0), the last one flushed.
    func cut(_ c: Chunker, _ records: [String]) -> [Chunk] {
        var out: [Chunk] = []
        for (k, r) in records.enumerated() {
            if case .added(let closed?) = add(c, r, ordinal: Int64(k)) { out.append(closed) }
        }
        if let last = c.flush() { out.append(last) }
        return out
    }

    func text(_ c: Chunk) -> String { String(decoding: c.body, as: UTF8.self) }

    @Test func cutsAfterMaxRecordsIntoJSONArrays() {
        let chunks = cut(chunker(maxRecords: 2), (0..<5).map { "{\"n\":\($0)}" })
        #expect(chunks.map(\.records) == [2, 2, 1])
        #expect(chunks.map(text) == [#"[{"n":0},{"n":1}]"#, #"[{"n":2},{"n":3}]"#, #"[{"n":4}]"#])
        let tiles = [0..<2, 2..<4, 4..<5].map {
            [Segment(file: 0, start: Int64($0.lowerBound), end: Int64($0.upperBound))]
        }
        #expect(chunks.map(\.segments) == tiles)
        #expect(chunks.map(\.sequence) == [0, 1, 2])
        #expect(chunks.allSatisfy { BodySplitter.elements($0.body)?.count == $0.records })
    }

    @Test func noBodyExceedsMaxBodyBytes() {
        let records = (0..<40).map { "{\"n\":\($0),\"pad\":\"\(String(repeating: "x", count: $0 % 7 * 5))\"}" }
        let chunks = cut(chunker(maxBodyBytes: 120), records)
        #expect(chunks.count > 3)
        #expect(chunks.allSatisfy { $0.body.count <= 120 })
        #expect(chunks.reduce(0) { $0 + $1.records } == 40)
        // Every record once, in order.
        let all = chunks.flatMap { c in
            BodySplitter.elements(c.body)!.map { String(decoding: c.body[$0], as: UTF8.self) }
        }
        #expect(all == records)
    }

    @Test func aRecordLargerThanABodyIsTakenBackOut() {
        let c = chunker(maxBodyBytes: 50)
        #expect({ if case .added(nil) = add(c, #"{"a":1}"#, ordinal: 0) { return true } else { return false } }())
        guard case .tooLarge(let bytes) = add(c, "{\"a\":\"\(String(repeating: "y", count: 60))\"}", ordinal: 1) else {
            Issue.record("a record of 68 bytes fitted a body of 50")
            return
        }
        #expect(bytes == 68)
        #expect({ if case .added(nil) = add(c, #"{"a":3}"#, ordinal: 2) { return true } else { return false } }())
        let last = c.flush()
        #expect(last.map(text) == #"[{"a":1},{"a":3}]"#)
        // The refused record's ordinal stays inside the chunk's segment: it is not reported again on resume.
        #expect(last?.segments == [Segment(file: 0, start: 0, end: 3)])
    }

    @Test func chunkIdsDependOnlyOnContentIdentityAndPlace() {
        let records = (0..<6).map { "{\"n\":\($0)}" }
        let a = cut(chunker(maxRecords: 3), records).map(\.id)
        let b = cut(chunker(maxRecords: 3), records).map(\.id)
        let otherFile = cut(chunker(maxRecords: 3, identity: "g"), records).map(\.id)
        #expect(a == b)
        #expect(Set(a).count == 2)
        #expect(Set(a).isDisjoint(with: otherFile))
    }

    @Test func aResumedFileStartsItsSegmentAtTheCursor() {
        let c = chunker(maxRecords: 2)
        c.setCursor(file: 0, ordinal: 3)
        _ = add(c, "{}", ordinal: 5)
        _ = add(c, "{}", ordinal: 6)
        guard case .added(let closed?) = add(c, "{}", ordinal: 7) else {
            Issue.record("no chunk closed after maxRecords")
            return
        }
        // Ordinals 3 and 4 (rejected, or skipped) belong to the first chunk after the cursor.
        #expect(closed.segments == [Segment(file: 0, start: 3, end: 7)])
        #expect(c.flush()?.segments == [Segment(file: 0, start: 7, end: 8)])
    }
}
