import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

@Suite struct ManifestTests {
    /// `Fixtures/manifest-v1.jsonl`: written by `logship run` (twice) and `logship replay` before the
    /// format carried a version, over samples/app with chunks of 40 records, an emulator refusing
    /// the records holding "carte expirée" and losing some answers (see Fixtures/README.md).
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/manifest-v1.jsonl")

    func lines(_ url: URL) throws -> [String] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test func readsTheFormatWrittenBeforeVersions() throws {
        let text = try lines(Self.fixture)
        // Written before the format carried a version: no line says which.
        #expect(!text.contains { $0.contains(#""v":"#) })
        let s = try ManifestState.load(Self.fixture)
        #expect(!s.tornTail)
        #expect(s.runs == 2)
        #expect(s.spec == "e000e500654afdec52d53b546725d4ac29677d443c4c33057b883958995fdb9a")
        let workspace = "11111111-2222-3333-4444-555555555555"
        #expect(s.destination == "data-collector \(workspace) FixtureApp_CL at http://127.0.0.1:35725")
        // The first run sent 239 records (one record refused and isolated from its chunk, whose
        // other parts were delivered); the replay delivered that one: every record is delivered.
        #expect(s.ackedRecords == 240)
        #expect(s.deadChunks == 0 && s.deadRecords == 0 && s.deadKeys.isEmpty)
        #expect(s.possibleDuplicateChunks == 3)
        // Both files whole, by path and content sample, with their record counts.
        let a = "logs/app-2026-11-22.ndjson#64ba037fb8d7a156c7223edec42ef56ecb012be9a948d2cbb21977e5224b4421"
        let b = "logs/app-2026-11-23.ndjson#d627611811b30371e9b21cbaec4e6813c56fcd86212a964b06eca6edaaafac8a"
        #expect(s.doneFiles.keys.sorted() == [a, b])
        #expect(s.doneFiles[a]?.ordinals == 150 && s.doneFiles[b]?.ordinals == 90)
        #expect(s.doneFiles[a]?.kind == .done && s.doneFiles[a]?.size == 45666)
        #expect(s.ranges == [a: [0..<150], b: [0..<90]])
        #expect(s.sizes == [a: 45666, b: 27654])
        // Five chunks delivered whole; the split one by its parts, the refused record's part twice
        // (dead-lettered, then delivered by the replay).
        #expect(s.chunkParts.count == 6)
        let whole = [
            "ccfb5b7cc8c8e07080937", "cec27809bc62cf757836d", "c992723c8f0fbfba1df5f", "cdd42a4586630a205c738",
            "c05d1bdf268009b394817",
        ]
        for id in whole {
            #expect(s.handledParts(id) == [0..<Int.max])
        }
        let split = "cc8af599b99d3b4548c2c"
        #expect(s.chunkRecords[split] == 40)
        #expect(s.handledParts(split) == [0..<5, 5..<7, 7..<8, 8..<9, 9..<10, 10..<20, 20..<40, 9..<10])
        #expect(s.ackedParts[split] == [0..<5, 5..<7, 7..<8, 8..<9, 10..<20, 20..<40, 9..<10])
        let bytes = text.compactMap { line -> Int64? in
            guard line.contains(#""t":"ack""#), let r = line.range(of: #""bytes":"#) else { return nil }
            return Int64(line[r.upperBound...].prefix { $0.isNumber })
        }
        #expect(bytes.count == 12 && s.bytesSent == bytes.reduce(0, +))
    }

    @Test func aHeaderWithVersionOneReadsAsOneWithout() throws {
        let dir = TempDir("manifest")
        defer { dir.cleanup() }
        let versioned = try lines(Self.fixture).map { line in
            line.replacingOccurrences(of: #""t":"run""#, with: #""t":"run","v":1"#)
        }
        #expect(versioned.contains { $0.contains(#""v":1"#) })
        let url = dir.write("manifest.jsonl", versioned.joined(separator: "\n") + "\n")
        let a = try ManifestState.load(Self.fixture)
        let b = try ManifestState.load(url)
        #expect(a.runs == b.runs && a.ackedRecords == b.ackedRecords && a.deadKeys == b.deadKeys)
        #expect(a.chunkParts == b.chunkParts && a.ranges == b.ranges && a.doneFiles == b.doneFiles)
    }

    @Test func aNewerFormatVersionIsRefusedWithAClearMessage() throws {
        let dir = TempDir("manifest")
        defer { dir.cleanup() }
        var text = try lines(Self.fixture)
        let next = ManifestEntry.formatVersion + 1
        text.append(#"{"at":"2027-01-01T00:00:00Z","destination":"x","spec":"s","t":"run","v":\#(next)}"#)
        text.append(#"{"t":"adopted","what":"a kind this version does not know"}"#)
        let url = dir.write("manifest.jsonl", text.joined(separator: "\n") + "\n")
        do {
            _ = try ManifestState.load(url)
            Issue.record("a manifest in format version \(next) was read")
        } catch {
            let message = "\(error)"
            #expect(message.hasPrefix("\(url.path):\(text.count - 1): "))
            #expect(message.contains("manifest format version \(next) by a newer logship"))
            #expect(message.contains("reads version \(ManifestEntry.formatVersion)"))
        }
    }

    @Test func anUnknownEntryKindIsRefusedNamingIt() throws {
        let dir = TempDir("manifest")
        defer { dir.cleanup() }
        let url = dir.write("manifest.jsonl", #"{"t":"run","spec":"s"}"# + "\n" + #"{"t":"moved","id":"c1"}"# + "\n")
        do {
            _ = try ManifestState.load(url)
            Issue.record("an entry of an unknown kind was read")
        } catch {
            #expect("\(error)".contains(#"\#(url.path):2: unknown manifest entry "moved""#))
        }
    }

    @Test func entriesKeepTheirKindsThroughTheWriterAndATornLineIsCut() throws {
        let dir = TempDir("manifest")
        defer { dir.cleanup() }
        let url = dir.file("manifest.jsonl")
        var header = ManifestEntry(.run)
        header.v = ManifestEntry.formatVersion
        header.spec = "s1"
        var ack = ManifestEntry(.ack)
        ack.id = "c1"
        ack.records = 3
        ack.part = [0, 3]
        ack.total = 5
        var dead = ManifestEntry(.dead)
        dead.id = "c1"
        dead.records = 2
        dead.part = [3, 5]
        dead.total = 5
        dead.reason = "400 InvalidDataFormat: bad"
        try ManifestWriter(url: url).append([header, ack])
        // A write cut short: the next writer cuts it off before appending.
        let h = try FileHandle(forWritingTo: url)
        try h.seekToEnd()
        try h.write(contentsOf: Data(#"{"t":"ack","id":"c2","rec"#.utf8))
        try h.close()
        #expect(try ManifestState.load(url).tornTail)
        try ManifestWriter(url: url).append(dead)
        let written = try lines(url)
        #expect(written.count == 3)
        #expect(written[0] == #"{"spec":"s1","t":"run","v":1}"#)
        let back = try written.map { try JSONDecoder().decode(ManifestEntry.self, from: Data($0.utf8)) }
        #expect(back == [header, ack, dead])
        let s = try ManifestState.load(url)
        #expect(!s.tornTail && s.runs == 1 && s.spec == "s1")
        #expect(s.ackedRecords == 3 && s.deadRecords == 2 && s.deadChunks == 1)
        #expect(s.handledParts("c1") == [0..<3, 3..<5])
    }

    /// A chunk split while isolating a refused record, its refused part recorded last: the
    /// records of the other parts were delivered, so `status` counts the chunk as acknowledged
    /// (as well as its piece dead-lettered), and once only when a replay delivers that piece.
    @Test func aChunkDeliveredInPartsCountsAsAcknowledgedOnce() throws {
        let dir = TempDir("manifest")
        defer { dir.cleanup() }
        let url = dir.file("manifest.jsonl")
        var header = ManifestEntry(.run)
        header.spec = "s1"
        func entry(_ kind: ManifestEntry.Kind, _ part: Range<Int>) -> ManifestEntry {
            var e = ManifestEntry(kind)
            e.id = "c1"
            e.records = part.count
            e.part = [part.lowerBound, part.upperBound]
            e.total = 40
            return e
        }
        var whole = ManifestEntry(.ack)
        whole.id = "c0"
        whole.records = 40
        try ManifestWriter(url: url).append([
            header, whole, entry(.ack, 0..<20), entry(.ack, 20..<39), entry(.dead, 39..<40),
        ])
        let s = try ManifestState.load(url)
        #expect(s.ackedRecords == 79 && s.deadChunks == 1 && s.deadRecords == 1)
        #expect(s.ackedChunks == 2, "c0 whole, c1 in parts")
        // The replay delivers the refused piece: c1 is still one chunk.
        try ManifestWriter(url: url).append(entry(.ack, 39..<40))
        let replayed = try ManifestState.load(url)
        #expect(replayed.ackedRecords == 80 && replayed.deadChunks == 0)
        #expect(replayed.ackedChunks == 2)
    }

    /// The fixture's split chunk was delivered in parts, one of them by the replay: six chunks.
    @Test func theFixturesChunksAreEachCountedOnce() throws {
        #expect(try ManifestState.load(Self.fixture).ackedChunks == 6)
    }
}
