import Foundation
import Testing

@testable import LogshipCore

/// A pipeline file that must not load, and every line `PipelineLoader` must print for it,
/// exactly: `broken.json5:LINE:COL: key.path: message`.
struct BrokenPipeline: Sendable, CustomTestStringConvertible {
    var name: String
    var text: String
    var expected: [String]

    init(_ name: String, _ text: String, _ expected: [String]) {
        self.name = name
        self.text = text
        self.expected = expected
    }

    var testDescription: String { name }
}

/// Loads `text` as `broken.json5` from a fresh folder, with an environment that holds no
/// LOGSHIP_* variables (so `${VAR}` cases do not depend on the machine).
func loadBroken(_ text: String) -> PipelineLoader.Result {
    let dir = TempDir("broken-pipeline")
    defer { dir.cleanup() }
    let url = dir.write("broken.json5", text)
    return PipelineLoader(environment: ["HOME": "/nonexistent"]).load(url)
}

@Suite struct BrokenPipelineTests {
    @Test(arguments: brokenPipelines)
    func everyProblemIsReportedWithItsPlace(_ c: BrokenPipeline) {
        let result = loadBroken(c.text)
        #expect(result.spec == nil)
        #expect(result.problems.map(\.description) == c.expected)
        #expect(result.warnings.isEmpty)
    }

    @Test func theTableIsLargeEnough() throws {
        #expect(brokenPipelines.count >= 30)
        #expect(Set(brokenPipelines.map(\.name)).count == brokenPipelines.count)
        // Every fixture has its expected lines, and no expectation lacks its pipeline.
        #expect(brokenPipelines.allSatisfy { !$0.expected.isEmpty && !$0.name.hasSuffix(".json5") })
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(files.filter { $0.hasSuffix(".expect") }.count == brokenPipelines.count)
        #expect(files.count == 2 * brokenPipelines.count)
    }

    @Test func manyProblemsAreAllReportedAtOnce() throws {
        let c = try #require(brokenPipelines.first { $0.name == "many problems at once" })
        let result = loadBroken(c.text)
        #expect(result.errors.count == 6)
        // In file order, each with its own line and key path.
        #expect(
            result.errors.map(\.path) == [
                "version", "source.format", "fields.map.Type", "fields.map.Status.type", "target.logType",
                "upload.concurrency",
            ])
        #expect(result.errors.compactMap(\.line) == [2, 3, 4, 4, 5, 6])
    }

    @Test func aTypoIsReportedOnceNotAlsoAsAMissingKey() {
        let result = loadBroken(#"{ version: 1, sorce: { files: ["a"], format: "ndjson" }, target: { logType: "A" } }"#)
        #expect(result.errors.map(\.path) == ["sorce"])
        // Without a near match, the missing key is reported on its own.
        let other = loadBroken(#"{ version: 1, input: { files: ["a"], format: "ndjson" }, target: { logType: "A" } }"#)
        #expect(other.errors.map(\.path) == ["input", "source"])
    }

    @Test func anUnsetVariableIsReportedOnceInALongerList() {
        let result = loadBroken(
            #"{ version: 1, source: { files: ["a/*.ndjson", "${NOPE}/b"], format: "ndjson" }, target: { logType: "A" } }"#
        )
        #expect(result.errors.map(\.path) == ["source.files[1]"])
    }

    @Test func credentialVariablesMayBeUnsetInTheFile() {
        // Flags or LOGSHIP_* variables can supply them at run time.
        let result = loadBroken(
            #"{ version: 1, source: { files: ["a"], format: "ndjson" }, target: { logType: "A", workspaceId: "${WS}", sharedKey: "${KEY}" } }"#
        )
        #expect(result.problems.isEmpty)
        #expect(result.spec?.target.sharedKey == .unsetVariable("KEY"))
    }

    @Test func aLiteralKeyIsAWarningThatNeverShowsTheKey() {
        let key = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="
        let result = loadBroken(
            #"{ version: 1, source: { files: ["a"], format: "ndjson" }, target: { logType: "A", sharedKey: "\#(key)" } }"#
        )
        #expect(result.spec != nil)
        #expect(
            result.problems.map(\.description) == [
                #"broken.json5:1:94: warning: target.sharedKey: a literal key is written in the pipeline file; prefer "${LOGSHIP_SHARED_KEY}" and keep the key out of files"#
            ])
        #expect(!result.problems.map(\.description).joined().contains(key))
    }

    @Test func valuesTheDataCollectorCutsAreAWarning() {
        let result = loadBroken(
            #"{ version: 1, source: { files: ["a"], format: "ndjson" }, target: { logType: "A" }, limits: { maxValueBytes: 40000 } }"#
        )
        #expect(result.spec != nil)
        #expect(result.warnings.map(\.path) == ["limits.maxValueBytes"])
        #expect(result.warnings.first?.message.contains("32,766") == true)
    }

    @Test(arguments: [
        ("integer", "int"), ("Integer", "int"), ("INT", "int"), ("boolean", "bool"), ("float", "double"),
        ("number", "double"),
        ("timestamp", "datetime"), ("date", "datetime"), ("uuid", "guid"), ("str", "string"), ("text", "string"),
        ("object", "json"),
        ("strnig", "string"), ("dobule", "double"),
    ])
    func typeNameHints(_ written: String, _ meant: String) {
        #expect(Context.nearest(written, FieldType.allCases.map(\.rawValue)) == meant)
    }

    @Test func keyHints() {
        let mappingKeys = ["from", "type", "format", "default", "onError", "value"]
        #expect(Context.nearest("form", mappingKeys) == "from")
        #expect(Context.nearest("tpye", mappingKeys) == "type")
        #expect(Context.nearest("fmt", mappingKeys) == nil)
        #expect(Context.nearest("onerror", mappingKeys) == "onError")
        #expect(Context.nearest("defaults", mappingKeys) == "default")
        #expect(Context.nearest("file", ["files", "format", "compression", "lines", "csv", "invalidUTF8"]) == "files")
    }

    @Test func noHintWhenNothingIsClose() {
        #expect(Context.nearest("xml", InputFormat.allCases.map(\.rawValue)) == nil)
        #expect(
            Context.nearest("output", ["version", "name", "source", "fields", "target", "limits", "upload", "errors"])
                == nil)
    }
}

/// The cases, one pair of files each in `Fixtures/` next to this file (read from the source
/// tree, so a fresh clone's `swift test` finds them): `NAME.json5` is the pipeline, loaded as
/// `broken.json5`; `NAME.expect` starts with `# ` and the case's name, and every further line
/// is one line `PipelineLoader` must print, in order.
let brokenPipelines: [BrokenPipeline] = {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    return names.filter { $0.hasSuffix(".json5") }.sorted().map { file in
        let base = folder.appendingPathComponent(String(file.dropLast(".json5".count)))
        let text = (try? String(contentsOf: base.appendingPathExtension("json5"), encoding: .utf8)) ?? ""
        let expect = (try? String(contentsOf: base.appendingPathExtension("expect"), encoding: .utf8)) ?? ""
        var lines = expect.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var name = file
        if let first = lines.first, first.hasPrefix("# ") {
            name = String(first.dropFirst(2))
            lines.removeFirst()
        }
        return BrokenPipeline(name, text, lines)
    }
}()
