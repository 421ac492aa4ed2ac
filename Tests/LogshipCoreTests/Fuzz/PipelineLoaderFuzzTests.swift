import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

/// The pipeline loader takes any bytes: an error that names where, never a crash.
@Suite struct PipelineLoaderFuzzTests {
    static let keys = [
        "version", "name", "source", "files", "format", "compression", "lines", "pattern", "csv", "delimiter", "quote",
        "header", "columns", "fields", "map", "from", "type", "value", "passthrough", "drop", "recordId", "target",
        "api",
        "logType", "timeGeneratedField", "workspaceId", "sharedKey", "endpoint", "limits", "maxBodyBytes", "upload",
        "concurrency", "errors", "maxRejectedRecords", "datetime", "format", "%d/%b/%Y", "${LOGSHIP_SHARED_KEY}", "${",
        "/*", "*/", "//", "\\u", "\\x", "\\u{", "0x", "Infinity", "NaN", "-", "+", ".", "e", "1e309", "'", "\"", ":",
        "null",
        "true", "[", "]", "{", "}", ",", "\\\n", "\u{2028}", "\u{A0}", "é", "🚀",
    ]

    /// `printf '{\377 files:' > p.json5; logship validate p.json5` ended the process inside
    /// Foundation; now it is an error naming the file, line, column and byte.
    @Test func invalidUTF8IsAnErrorThatNamesTheByte() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let cases: [([UInt8], line: Int, column: Int, offset: Int, byte: String)] = [
            (Array("{".utf8) + [0xFF] + Array(" files:".utf8), 1, 2, 1, "0xFF"),
            (Array("{\n  name: \"é".utf8) + [0xC3, 0x28] + Array("\",\n}".utf8), 2, 11, 13, "0xC3"),
            (Array("// ok\n{ name: 'x' } // \u{1F680}".utf8) + [0xED, 0xA0, 0x80], 2, 19, 27, "0xED"),
            ([0xEF, 0xBB, 0xBF] + Array("{ a: 1 }".utf8) + [0xF0, 0x9F], 1, 9, 11, "0xF0"),
        ]
        for c in cases {
            let file = dir.file("p.json5")
            try Data(c.0).write(to: file)
            let r = PipelineLoader(environment: [:]).load(file)
            #expect(r.spec == nil)
            let e = try #require(r.errors.first)
            #expect(e.file == "p.json5")
            #expect(e.line == c.line && e.column == c.column, "\(e)")
            #expect(
                e.message.contains("UTF-8") && e.message.contains("offset \(c.offset)") && e.message.contains(c.byte),
                "\(e)")
        }
    }

    /// Found by the fuzzer: `maxBodyBytes: 1e20` (or Infinity) ended the process while the
    /// loader wrote the error message (a Double too large for an Int).
    @Test func hugeNumbersAreErrorsNotCrashes() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        for value in ["1e20", "Infinity", "-Infinity", "NaN", "1e400", "0x7FFFFFFFFFFFFFFFFF", "-1e20"] {
            for key in [
                "limits: { maxBodyBytes: \(value) }", "limits: { maxFields: \(value) }",
                "upload: { concurrency: \(value) }",
                "upload: { timeoutSeconds: \(value) }", "errors: { maxRejectedRecords: \(value) }", "version: \(value)",
            ] {
                let file = dir.write(
                    "p.json5",
                    "{ version: 1, source: { files: ['a'], format: 'ndjson' }, target: { logType: 'T' }, \(key) }")
                let r = PipelineLoader(environment: [:]).load(file)
                #expect(r.spec == nil, "\(key)")
                #expect(!r.errors.isEmpty, "\(key)")
            }
        }
    }

    @Test func validUTF8PassesTheCheck() {
        #expect(UTF8Validation.firstInvalidByte(Array("plain ASCII, Köln, 東京, 🚀".utf8)) == nil)
        #expect(UTF8Validation.firstInvalidByte([0xEF, 0xBF, 0xBF, 0xF4, 0x8F, 0xBF, 0xBF]) == nil)  // U+FFFF, U+10FFFF
        for bad: [UInt8] in [
            [0x80], [0xC1, 0xBF], [0xE0, 0x9F, 0x80], [0xED, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5],
            [0xE2, 0x82],
        ] {
            #expect(UTF8Validation.firstInvalidByte([0x41] + bad) == 1, "\(bad)")
        }
        // Against the standard library's decoder, over every 1- to 3-byte sequence of interesting bytes.
        let bytes: [UInt8] = [
            0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEE, 0xEF, 0xF0,
            0xF4, 0xF5, 0xFF,
        ]
        for a in bytes {
            for b in bytes {
                for c in bytes {
                    let s = [a, b, c]
                    var it = s.makeIterator()
                    var decoder = UTF8()
                    var expected = true
                    decoding: while true {
                        switch decoder.decode(&it) {
                        case .scalarValue: continue
                        case .emptyInput: break decoding
                        case .error:
                            expected = false
                            break decoding
                        }
                    }
                    #expect((UTF8Validation.firstInvalidByte(s) == nil) == expected, "\(s)")
                }
            }
        }
    }

    @Test(.timeLimit(.minutes(Fuzzer.minutes))) func fuzzThePipelineLoader() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var seeds = repositoryFiles("pipelines", suffix: ".json5")
        #expect(seeds.count >= 5)
        seeds.append(
            Array(
                "{ version: 1, source: { files: ['a'], format: 'csv', csv: { header: false, columns: ['a'] } }, target: { logType: 'T' } }"
                    .utf8))
        var fuzzer = Fuzzer(target: "pipeline-loader", seeds: seeds, dictionary: Self.keys)
        let file = dir.file("fuzz.json5")
        let loader = PipelineLoader(environment: ["LOGSHIP_WORKSPACE_ID": "w", "LOGSHIP_SHARED_KEY": "a2V5"])
        for _ in 0..<Fuzzer.iterations {
            let input = fuzzer.next()
            try Data(input).write(to: file)
            let r = loader.load(file)
            #expect(r.spec != nil || !r.errors.isEmpty)
            if UTF8Validation.firstInvalidByte(input) != nil { #expect(r.spec == nil) }
            for e in r.errors { #expect(!e.message.isEmpty) }
        }
    }
}
