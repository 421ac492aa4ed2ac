import Foundation
import Testing

@testable import LogshipCore

@Suite struct PreviewReaderTests {
    /// A pipeline over `files` (name → content) in a fresh folder.
    func pipeline(_ files: [String: String], fields: String = "") throws -> (PipelineSpec, TempDir) {
        let dir = TempDir("preview-reader")
        for (name, text) in files { _ = dir.write(name, text) }
        let url = dir.write(
            "p.json5",
            #"{ version: 1, source: { files: ["*.ndjson"], format: "ndjson" }, \#(fields) target: { logType: "T" } }"#)
        let result = PipelineLoader(environment: [:]).load(url)
        return (try #require(result.spec, "\(result.problems)"), dir)
    }

    static func lines(_ range: Range<Int>) -> String { range.map { #"{"n": \#($0)}"# + "\n" }.joined() }

    @Test func showsTheFirstRecordsAndSamplesMore() throws {
        let (spec, dir) = try pipeline(["a.ndjson": Self.lines(0..<5), "b.ndjson": Self.lines(5..<20)])
        defer { dir.cleanup() }
        let r = PreviewReader.read(spec, records: 3, sample: 8)
        #expect(r.shown.map(\.location) == ["a.ndjson:1", "a.ndjson:2", "a.ndjson:3"])
        #expect(r.shown.map { String(decoding: $0.json, as: UTF8.self) } == [#"{"n": 0}"#, #"{"n": 1}"#, #"{"n": 2}"#])
        #expect(r.sample.count == 8)
        #expect(r.sample.last?.location == "b.ndjson:3")
        #expect(r.exhausted == false)
        #expect(r.filesRead == 2)
        #expect(r.files.count == 2)
    }

    @Test func readsEverythingWhenTheInputIsSmall() throws {
        let (spec, dir) = try pipeline(["a.ndjson": Self.lines(0..<4)])
        defer { dir.cleanup() }
        let r = PreviewReader.read(spec, records: 10)
        #expect(r.shown.count == 4)
        #expect(r.sample.count == 4)
        #expect(r.exhausted)
    }

    @Test func rejectedRecordsAreListedNotFatal() throws {
        let (spec, dir) = try pipeline(
            ["a.ndjson": "{\"n\": 1}\nnot json\n{\"n\": \"x\"}\n{\"n\": 2}\n"],
            fields: #"fields: { map: { N: { from: "n", type: "int" } } },"#)
        defer { dir.cleanup() }
        let r = PreviewReader.read(spec, records: 10)
        #expect(r.shown.map { String(decoding: $0.json, as: UTF8.self) } == [#"{"N":1}"#, #"{"N":2}"#])
        #expect(r.rejected.map(\.line) == [2, 3])
        #expect(r.rejected.map(\.file) == ["a.ndjson", "a.ndjson"])
        #expect(r.rejected[1].reason == #"fields.map.N: cannot convert "x" to int"#)
        #expect(r.rejectedCount == 2)
    }

    @Test func recordIdsAreTheOnesARunSends() throws {
        let (spec, dir) = try pipeline(["a.ndjson": Self.lines(0..<2)], fields: #"fields: { recordId: "Id" },"#)
        defer { dir.cleanup() }
        let r = PreviewReader.read(spec, records: 2)
        let file = try #require(FileDiscovery.expand(spec.source.files, relativeTo: spec.baseDirectory).files.first)
        let key = try #require(FileFingerprint.of(file)).key
        let hex = String(key, radix: 16)
        let prefix = String(repeating: "0", count: 16 - hex.count) + hex
        let first = String(decoding: r.shown[0].json, as: UTF8.self)
        #expect(
            first.contains(
                "\"Id\":\"\(prefix.prefix(8))-\(prefix.dropFirst(8).prefix(4))-\(prefix.dropFirst(12))-0000-000000000000\""
            ), "\(first)")
    }

    @Test func truncationsAreCountedForShownRecordsOnly() throws {
        let big = String(repeating: "x", count: 40_000)
        let (spec, dir) = try pipeline(
            ["a.ndjson": #"{"a": "\#(big)", "b": 1, "c": 2}"# + "\n" + #"{"a": "\#(big)"}"# + "\n"],
            fields: "")
        defer { dir.cleanup() }
        var limited = spec
        limited.limits.maxFields = 2
        let r = PreviewReader.read(limited, records: 10)
        // The first record has too many fields and is refused; only the second one's cut counts.
        #expect(r.rejected.map(\.line) == [1])
        #expect(r.stats[.truncatedValues] == 1)
        #expect(r.firstTruncated == "a.ndjson:2")
        let w = PreviewReader.warnings(r, spec: limited)
        #expect(w.map(\.kind) == [.oversizedValue])
        #expect(w[0].message.hasPrefix("1 value(s) were cut to 32766 bytes (first a.ndjson:2)"))
    }

    @Test func aFolderThatDoesNotExistIsAnError() throws {
        let dir = TempDir("preview-reader")
        defer { dir.cleanup() }
        let url = dir.write(
            "p.json5",
            #"{ version: 1, source: { files: ["nope/*.ndjson", "*.none"], format: "ndjson" }, target: { logType: "T" } }"#
        )
        let spec = try #require(PipelineLoader(environment: [:]).load(url).spec)
        let r = PreviewReader.read(spec)
        #expect(r.errors == ["source.files: nope/*.ndjson: the folder nope does not exist"])
    }
}
