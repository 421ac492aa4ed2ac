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

    @Test func theTableIsLargeEnough() {
        #expect(brokenPipelines.count >= 30)
        #expect(Set(brokenPipelines.map(\.name)).count == brokenPipelines.count)
    }

    @Test func manyProblemsAreAllReportedAtOnce() throws {
        let c = try #require(brokenPipelines.first { $0.name == "many problems at once" })
        let result = loadBroken(c.text)
        #expect(result.errors.count == 6)
        // In file order, each with its own line and key path.
        #expect(result.errors.map(\.path) == ["version", "source.format", "fields.map.Type", "fields.map.Status.type", "target.logType", "upload.concurrency"])
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
        let result = loadBroken(#"{ version: 1, source: { files: ["a/*.ndjson", "${NOPE}/b"], format: "ndjson" }, target: { logType: "A" } }"#)
        #expect(result.errors.map(\.path) == ["source.files[1]"])
    }

    @Test func credentialVariablesMayBeUnsetInTheFile() {
        // Flags or LOGSHIP_* variables can supply them at run time.
        let result = loadBroken(#"{ version: 1, source: { files: ["a"], format: "ndjson" }, target: { logType: "A", workspaceId: "${WS}", sharedKey: "${KEY}" } }"#)
        #expect(result.problems.isEmpty)
        #expect(result.spec?.target.sharedKey == .unsetVariable("KEY"))
    }

    @Test func aLiteralKeyIsAWarningThatNeverShowsTheKey() {
        let key = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="
        let result = loadBroken(#"{ version: 1, source: { files: ["a"], format: "ndjson" }, target: { logType: "A", sharedKey: "\#(key)" } }"#)
        #expect(result.spec != nil)
        #expect(result.problems.map(\.description) == [
            #"broken.json5:1:94: warning: target.sharedKey: a literal key is written in the pipeline file; prefer "${LOGSHIP_SHARED_KEY}" and keep the key out of files"#
        ])
        #expect(!result.problems.map(\.description).joined().contains(key))
    }

    @Test func valuesTheDataCollectorCutsAreAWarning() {
        let result = loadBroken(#"{ version: 1, source: { files: ["a"], format: "ndjson" }, target: { logType: "A" }, limits: { maxValueBytes: 40000 } }"#)
        #expect(result.spec != nil)
        #expect(result.warnings.map(\.path) == ["limits.maxValueBytes"])
        #expect(result.warnings.first?.message.contains("32,766") == true)
    }

    @Test(arguments: [
        ("integer", "int"), ("Integer", "int"), ("INT", "int"), ("boolean", "bool"), ("float", "double"), ("number", "double"),
        ("timestamp", "datetime"), ("date", "datetime"), ("uuid", "guid"), ("str", "string"), ("text", "string"), ("object", "json"),
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
        #expect(Context.nearest("output", ["version", "name", "source", "fields", "target", "limits", "upload", "errors"]) == nil)
    }
}

let brokenPipelines: [BrokenPipeline] = [
    BrokenPipeline(
        "typo in a top-level key",
        #"""
            {
              version: 1,
              sorce: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:10: sorce: unknown key \"sorce\" (did you mean \"source\"?); allowed here: version, name, source, fields, target, limits, upload, errors",
        ]),
    BrokenPipeline(
        "typo in a nested key",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], fromat: "ndjson" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:47: source.fromat: unknown key \"fromat\" (did you mean \"format\"?); allowed here: files, format, compression, lines, csv, invalidUTF8, followSymlinks, nullValues, multiline, timezone",
        ]),
    BrokenPipeline(
        "typo in a target key",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logTyp: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:21: target.logTyp: unknown key \"logTyp\" (did you mean \"logType\"?); allowed here: api, timeGeneratedField, cloud, endpoint, logType, workspaceId, sharedKey, sharedKeyFile, resourceId",
        ]),
    BrokenPipeline(
        "typo in a mapping key",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { Status: { from: "status", tpye: "int" } } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:52: fields.map.Status.tpye: unknown key \"tpye\" (did you mean \"type\"?); allowed here: from, type, format, timezone, default, onError, value, nullValues, extract",
        ]),
    BrokenPipeline(
        "unknown key with no near match",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
              output: { pretty: true },
            }

            """#,
        [
            "broken.json5:5:11: output: unknown key \"output\"; allowed here: version, name, source, fields, target, limits, upload, errors",
        ]),
    BrokenPipeline(
        "wrong type name: integer",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: {
                map: {
                  Status: { from: "status", type: "integer" },
                },
              },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:6:39: fields.map.Status.type: \"integer\" is not allowed (did you mean \"int\"?); allowed: string, int, long, double, bool, datetime, guid, json",
        ]),
    BrokenPipeline(
        "wrong type name: date",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { When: { from: "t", type: "date" } } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:45: fields.map.When.type: \"date\" is not allowed (did you mean \"datetime\"?); allowed: string, int, long, double, bool, datetime, guid, json",
        ]),
    BrokenPipeline(
        "bad Log-Type: hyphen",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "My-Logs" },
            }

            """#,
        [
            "broken.json5:4:22: target.logType: \"My-Logs\" may contain only letters, digits and underscore (the service answers 400 InvalidLogType)",
        ]),
    BrokenPipeline(
        "bad Log-Type: _CL suffix",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "MyLogs_CL" },
            }

            """#,
        [
            "broken.json5:4:22: target.logType: \"MyLogs_CL\": leave out the _CL suffix; the service appends it",
        ]),
    BrokenPipeline(
        "bad Log-Type: too long",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL" },
            }

            """#,
        [
            "broken.json5:4:22: target.logType: \"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\" is 101 characters; a Log-Type is at most 100",
        ]),
    BrokenPipeline(
        "bad Log-Type: starts with a digit",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "2xxStatus" },
            }

            """#,
        [
            "broken.json5:4:22: target.logType: \"2xxStatus\" must start with a letter",
        ]),
    BrokenPipeline(
        "Log-Type missing",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { api: "data-collector" },
            }

            """#,
        [
            "broken.json5:4:11: target.logType: missing; the custom log's name (the table is <logType>_CL)",
        ]),
    BrokenPipeline(
        "reserved field name: Type",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { Type: "kind" } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:26: fields.map.Type: \"Type\" is reserved by Log Analytics (TimeGenerated, tenant, RawData, Type); choose another name",
        ]),
    BrokenPipeline(
        "reserved field name: TimeGenerated",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { TimeGenerated: { from: "ts", type: "datetime" } } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:35: fields.map.TimeGenerated: \"TimeGenerated\" is reserved by Log Analytics (TimeGenerated, tenant, RawData, Type); choose another name",
        ]),
    BrokenPipeline(
        "column name too long",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC: "c" } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:68: fields.map.CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC: \"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC\" is 46 characters; column names are limited to 45",
        ]),
    BrokenPipeline(
        "column name with invalid characters",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { "user-agent": "ua" } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:34: fields.map.user-agent: \"user-agent\" may contain only letters, digits and underscore; e.g. \"user_agent\"",
        ]),
    BrokenPipeline(
        "column name starting with a digit",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { "2xx": "ok" } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:27: fields.map.2xx: \"2xx\" must start with a letter; e.g. \"f2xx\"",
        ]),
    BrokenPipeline(
        "missing ${VAR} in source.files",
        #"""
            {
              version: 1,
              source: { files: ["${LOG_DIR}/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:21: source.files[0]: environment variable LOG_DIR is not set (referenced as ${LOG_DIR}); set it, or write the value itself (a literal $ is written $$)",
        ]),
    BrokenPipeline(
        "missing ${VAR} in target.logType",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "${TABLE}" },
            }

            """#,
        [
            "broken.json5:4:22: target.logType: environment variable TABLE is not set (referenced as ${TABLE}); set it, or write the value itself (a literal $ is written $$)",
        ]),
    BrokenPipeline(
        "syntax: unterminated string",
        #"""
            {
              version: 1,
              name: "app,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
            }

            """#,
        [
            "broken.json5:3:14: syntax error: line break inside a string (use \\n)",
        ]),
    BrokenPipeline(
        "syntax: unterminated string at the end of the file",
        #"""
            {
              version: 1,
              name: "app
            """#,
        [
            "broken.json5:3:9: syntax error: unterminated string",
        ]),
    BrokenPipeline(
        "syntax: missing comma",
        #"""
            {
              version: 1
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:3: syntax error: ',' or '}' expected",
        ]),
    BrokenPipeline(
        "syntax: unbalanced brace",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },

            """#,
        [
            "broken.json5:5:1: syntax error: unterminated object: '}' expected",
        ]),
    BrokenPipeline(
        "syntax: one brace too many",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" } },
            }

            """#,
        [
            "broken.json5:4:35: syntax error: unexpected text after the end of the top-level value",
        ]),
    BrokenPipeline(
        "syntax: unquoted string value",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: ndjson },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:47: syntax error: unexpected word 'ndjson'; strings need quotes",
        ]),
    BrokenPipeline(
        "syntax: unterminated comment",
        #"""
            {
              version: 1, /* the first
              pipeline

            """#,
        [
            "broken.json5:2:15: syntax error: unterminated /* comment",
        ]),
    BrokenPipeline(
        "syntax: empty file",
        "",
        [
            "broken.json5:1:1: syntax error: the file is empty",
        ]),
    BrokenPipeline(
        "duplicate key",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs", logType: "Other" },
            }

            """#,
        [
            "broken.json5:4:33: syntax error: the key 'logType' appears twice",
        ]),
    BrokenPipeline(
        "not an object",
        #"""
            ["logs/*.ndjson"]

            """#,
        [
            "broken.json5:1:1: a pipeline file holds one object { version: 1, source: …, target: … }, found an array",
        ]),
    BrokenPipeline(
        "version missing",
        #"""
            {
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:1:1: version: missing; add `version: 1`",
        ]),
    BrokenPipeline(
        "version 2",
        #"""
            {
              version: 2,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:2:12: version: version 2 is not supported; this logship reads version 1",
        ]),
    BrokenPipeline(
        "version as a string",
        #"""
            {
              version: "1",
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:2:12: version: expected the number 1, found a string; write the number without quotes: 1",
        ]),
    BrokenPipeline(
        "unknown format",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "jsonl" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:47: source.format: \"jsonl\" is not allowed (did you mean \"ndjson\"?); allowed: csv, ndjson, json, lines",
        ]),
    BrokenPipeline(
        "format missing",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"] },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:11: source.format: missing; allowed: csv, ndjson, json, lines",
        ]),
    BrokenPipeline(
        "source missing",
        #"""
            {
              version: 1,
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:1:1: source: missing; say which files to read (source.files) and their format",
        ]),
    BrokenPipeline(
        "files missing",
        #"""
            {
              version: 1,
              source: { format: "ndjson" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:11: source.files: missing; list the input files or globs, e.g. [\"logs/*.log.gz\"]",
        ]),
    BrokenPipeline(
        "files empty",
        #"""
            {
              version: 1,
              source: { files: [], format: "ndjson" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:20: source.files: the list is empty; name at least one file or glob",
        ]),
    BrokenPipeline(
        "unknown compression",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.gz"], format: "ndjson", compression: "gz" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:66: source.compression: \"gz\" is not allowed (did you mean \"gzip\"?); allowed: auto, gzip, none",
        ]),
    BrokenPipeline(
        "lines without a pattern",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.log"], format: "lines" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:11: source.lines: missing; format \"lines\" needs lines.pattern (a preset such as \"nginx-combined\", or a regex)",
        ]),
    BrokenPipeline(
        "lines with an empty lines object",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.log"], format: "lines", lines: {} },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:60: source.lines.pattern: missing; a preset (nginx-combined, apache-common, apache-combined, syslog-rfc3164, syslog-rfc5424, raw) or a regex with named groups",
        ]),
    BrokenPipeline(
        "bad regex",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.log"], format: "lines", lines: { pattern: "(?<status>[0-9+" } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:71: source.lines.pattern: \"(?<status>[0-9+\" is neither a preset nor a valid regular expression; presets: nginx-combined, apache-common, apache-combined, syslog-rfc3164, syslog-rfc5424, raw",
        ]),
    BrokenPipeline(
        "regex without named groups",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.log"], format: "lines", lines: { pattern: "^[0-9]+ .*$" } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:71: source.lines.pattern: the regular expression has no named groups (?<name>…); nothing would become a field; presets: nginx-combined, apache-common, apache-combined, syslog-rfc3164, syslog-rfc5424, raw",
        ]),
    BrokenPipeline(
        "misspelled preset",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.log"], format: "lines", lines: { pattern: "nginx-combine" } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:71: source.lines.pattern: \"nginx-combine\" is not a preset (did you mean \"nginx-combined\"?); presets: nginx-combined, apache-common, apache-combined, syslog-rfc3164, syslog-rfc5424, raw; or a regular expression with named groups",
        ]),
    BrokenPipeline(
        "csv options on ndjson",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson", csv: { delimiter: ";" } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:62: source.csv: only for format \"csv\" (the format is \"ndjson\")",
        ]),
    BrokenPipeline(
        "lines options on csv",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.csv"], format: "csv", lines: { pattern: "raw" } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:58: source.lines: only for format \"lines\" (the format is \"csv\")",
        ]),
    BrokenPipeline(
        "csv delimiter of two characters",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.csv"], format: "csv", csv: { delimiter: "::" } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:69: source.csv.delimiter: expected a single ASCII character other than a line break, found \"::\"",
        ]),
    BrokenPipeline(
        "csv without header or columns",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.csv"], format: "csv", csv: { header: false } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:56: source.csv.columns: with header: false, name the columns (source.csv.columns)",
        ]),
    BrokenPipeline(
        "maxBodyBytes above 30,000,000",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
              limits: { maxBodyBytes: 31457280 },
            }

            """#,
        [
            "broken.json5:5:27: limits.maxBodyBytes: 31457280 is above the service's limit of 30,000,000 bytes per request; allowed: 1000 to 30000000",
        ]),
    BrokenPipeline(
        "maxBodyBytes too small",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
              limits: { maxBodyBytes: 100 },
            }

            """#,
        [
            "broken.json5:5:27: limits.maxBodyBytes: 100 is out of range; allowed: 1000 to 30000000",
        ]),
    BrokenPipeline(
        "concurrency 0",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
              upload: { concurrency: 0 },
            }

            """#,
        [
            "broken.json5:5:26: upload.concurrency: 0 is out of range; allowed: 1 to 64",
        ]),
    BrokenPipeline(
        "concurrency 65",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
              upload: { concurrency: 65 },
            }

            """#,
        [
            "broken.json5:5:26: upload.concurrency: 65 is out of range; allowed: 1 to 64",
        ]),
    BrokenPipeline(
        "concurrency as a fraction",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
              upload: { concurrency: 2.5 },
            }

            """#,
        [
            "broken.json5:5:26: upload.concurrency: expected a whole number between 1 and 64, found 2.5",
        ]),
    BrokenPipeline(
        "string where a number is expected",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
              limits: { maxFields: "50" },
            }

            """#,
        [
            "broken.json5:5:24: limits.maxFields: expected a whole number between 1 and 500, found a string; write the number without quotes: 50",
        ]),
    BrokenPipeline(
        "word where a number is expected",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
              upload: { timeoutSeconds: "2m" },
            }

            """#,
        [
            "broken.json5:5:29: upload.timeoutSeconds: expected a number between 1 and 3600, found a string",
        ]),
    BrokenPipeline(
        "timeout out of range",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
              upload: { timeoutSeconds: 7200 },
            }

            """#,
        [
            "broken.json5:5:29: upload.timeoutSeconds: 7200 is out of range; allowed: 1 to 3600",
        ]),
    BrokenPipeline(
        "string where a boolean is expected",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { passthrough: "no" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:26: fields.passthrough: expected true or false, found a string",
        ]),
    BrokenPipeline(
        "string where an array is expected",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { drop: "password" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:19: fields.drop: expected an array of strings, found a string",
        ]),
    BrokenPipeline(
        "map as an array",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: ["a", "b"] },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:18: fields.map: expected an object of output field → input, found an array",
        ]),
    BrokenPipeline(
        "mapping as a number",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { A: 3 } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:23: fields.map.A: expected an input field name (a string) or an object { from, type, format, default, onError } or { value }, found a number",
        ]),
    BrokenPipeline(
        "mapping with from and value",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { Source: { from: "host", value: "edge-01" } } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:36: fields.map.Source.from: use either \"from\" or \"value\", not both",
        ]),
    BrokenPipeline(
        "mapping without from",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { Status: { type: "int" } } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:28: fields.map.Status.from: missing; name the input field (from) or give a constant (value)",
        ]),
    BrokenPipeline(
        "two mapped names differing in case",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { Status: "status", status: "code" } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:46: fields.map.status: \"status\" and \"Status\" differ only in letter case; column names are case-insensitive, so rename one",
        ]),
    BrokenPipeline(
        "record id named like a mapped field",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { Id: "id" }, recordId: "Id" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:42: fields.recordId: \"Id\" is also a mapped field; choose another name for the id column",
        ]),
    BrokenPipeline(
        "format on an int field",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { Status: { from: "status", type: "int", format: "%d" } } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:67: fields.map.Status.format: \"format\" applies to type \"datetime\" only; this field's type is \"int\"",
        ]),
    BrokenPipeline(
        "format without a type",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { When: { from: "time", format: "%d/%b/%Y" } } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:50: fields.map.When.format: \"format\" applies to type \"datetime\" only; add type: \"datetime\"",
        ]),
    BrokenPipeline(
        "bad datetime format directive",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { When: { from: "time", type: "datetime", format: "%Y-%m-%d %Q" } } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:68: fields.map.When.format: unknown directive %Q in \"%Y-%m-%d %Q\"; allowed: %Y %y %m %d %e %H %I %M %S %f %z %Z %b %B %a %A %p %j %s %T %F %%, or \"iso8601\", \"epoch\", \"epoch-ms\"",
        ]),
    BrokenPipeline(
        "unknown onError",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { Bytes: { from: "bytes", type: "long", onError: "skip" } } },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:67: fields.map.Bytes.onError: \"skip\" is not allowed; allowed: reject, null",
        ]),
    BrokenPipeline(
        "timeGeneratedField mapped as a string",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { EventTime: { from: "time", type: "string" } } },
              target: { logType: "AppLogs", timeGeneratedField: "EventTime" },
            }

            """#,
        [
            "broken.json5:5:53: target.timeGeneratedField: \"EventTime\" is mapped with type \"string\"; the time-generated field must be type \"datetime\"",
        ]),
    BrokenPipeline(
        "timeGeneratedField not mapped, passthrough off",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { passthrough: false, map: { Message: "msg" } },
              target: { logType: "AppLogs", timeGeneratedField: "EventTime" },
            }

            """#,
        [
            "broken.json5:5:53: target.timeGeneratedField: \"EventTime\" is not a mapped field and passthrough is off; map it with type \"datetime\"",
        ]),
    BrokenPipeline(
        "passthrough off, nothing mapped",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { passthrough: false },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:26: fields.passthrough: passthrough is off and nothing is mapped: every record would be empty; map fields (fields.map) or turn passthrough on",
        ]),
    BrokenPipeline(
        "more mapped columns than maxFields",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              fields: { map: { A: "a", B: "b", C: "c" } },
              target: { logType: "AppLogs" },
              limits: { maxFields: 2 },
            }

            """#,
        [
            "broken.json5:4:18: fields.map: 3 columns are mapped; limits.maxFields is 2 (raise it, or set limits.tooManyFields to \"warn\" or \"pack\")",
        ]),
    BrokenPipeline(
        "data-collector key on a logs-ingestion target",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: {
                api: "logs-ingestion",
                endpoint: "https://app-dce.westeurope-1.ingest.monitor.azure.com",
                dcrImmutableId: "dcr-00000000000000000000000000000000",
                stream: "Custom-AppLogs",
                sharedKey: "${LOGSHIP_SHARED_KEY}",
              },
            }

            """#,
        [
            "broken.json5:9:16: target.sharedKey: belongs to api \"data-collector\"; this target's api is \"logs-ingestion\"",
        ]),
    BrokenPipeline(
        "logs-ingestion key on a data-collector target",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs", stream: "Custom-AppLogs" },
            }

            """#,
        [
            "broken.json5:4:41: target.stream: belongs to api \"logs-ingestion\"; this target's api is \"data-collector\"",
        ]),
    BrokenPipeline(
        "logs-ingestion target without its keys",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { api: "logs-ingestion" },
            }

            """#,
        [
            "broken.json5:4:11: target.dcrImmutableId: missing; the data collection rule's immutable id (dcr-…)",
            "broken.json5:4:11: target.stream: missing; the DCR stream name (Custom-…)",
            "broken.json5:4:11: target.endpoint: missing; the data collection endpoint or the DCR's ingestion endpoint URL",
        ]),
    BrokenPipeline(
        "logs-ingestion body above 1 MB",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { api: "logs-ingestion", endpoint: "https://app-dce.westeurope-1.ingest.monitor.azure.com", dcrImmutableId: "dcr-1", stream: "Custom-AppLogs" },
              limits: { maxBodyBytes: 2000000 },
            }

            """#,
        [
            "broken.json5:5:27: limits.maxBodyBytes: 2000000 is above the Logs Ingestion API's 1,000,000-byte limit per request; allowed: 1000 to 1000000",
        ]),
    BrokenPipeline(
        "unknown api",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { api: "data-colector", logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:4:18: target.api: \"data-colector\" is not allowed (did you mean \"data-collector\"?); allowed: data-collector, logs-ingestion",
        ]),
    BrokenPipeline(
        "plain http to a remote host",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs", endpoint: "http://logs.example.com:8080" },
            }

            """#,
        [
            "broken.json5:4:43: target.endpoint: plain http is allowed only to a loopback address (an emulator); use https",
        ]),
    BrokenPipeline(
        "endpoint that is not a URL",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs", endpoint: "logs.example.com" },
            }

            """#,
        [
            "broken.json5:4:43: target.endpoint: \"logs.example.com\" is not a URL (expected https://host or http://127.0.0.1:PORT)",
        ]),
    BrokenPipeline(
        "unknown cloud",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs", cloud: "germany" },
            }

            """#,
        [
            "broken.json5:4:40: target.cloud: \"germany\" is not allowed; allowed: public, usgov, china; or endpoint: \"https://…\"",
        ]),
    BrokenPipeline(
        "resource id without /subscriptions/",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs", resourceId: "resourceGroups/rg/providers/x" },
            }

            """#,
        [
            "broken.json5:4:45: target.resourceId: an Azure resource ID starts with /subscriptions/",
        ]),
    BrokenPipeline(
        "name unusable as a folder",
        #"""
            {
              version: 1,
              name: "nightly/app",
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
            }

            """#,
        [
            "broken.json5:3:9: name: \"nightly/app\" cannot name a state directory; use letters, digits, '-', '_' and '.'",
        ]),
    BrokenPipeline(
        "unknown oversizedValue",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
              limits: { oversizedValue: "cut" },
            }

            """#,
        [
            "broken.json5:5:29: limits.oversizedValue: \"cut\" is not allowed; allowed: truncate, reject",
        ]),
    BrokenPipeline(
        "maxFields above 500",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
              limits: { maxFields: 501 },
            }

            """#,
        [
            "broken.json5:5:24: limits.maxFields: 501 is out of range; allowed: 1 to 500",
        ]),
    BrokenPipeline(
        "packField reserved",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: { logType: "AppLogs" },
              limits: { tooManyFields: "pack", packField: "RawData" },
            }

            """#,
        [
            "broken.json5:5:47: limits.packField: \"RawData\" is reserved by Log Analytics (TimeGenerated, tenant, RawData, Type); choose another name",
        ]),
    BrokenPipeline(
        "managed identity given as text",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: {
                api: "logs-ingestion",
                endpoint: "https://app-dce.westeurope-1.ingest.monitor.azure.com",
                dcrImmutableId: "dcr-00000000000000000000000000000000",
                stream: "Custom-AppLogs",
                managedIdentity: "yes",
              },
            }

            """#,
        [
            "broken.json5:9:22: target.managedIdentity: expected true or false, found a string",
        ]),
    BrokenPipeline(
        "managed identity and a client secret",
        #"""
            {
              version: 1,
              source: { files: ["logs/*.ndjson"], format: "ndjson" },
              target: {
                api: "logs-ingestion",
                endpoint: "https://app-dce.westeurope-1.ingest.monitor.azure.com",
                dcrImmutableId: "dcr-00000000000000000000000000000000",
                stream: "Custom-AppLogs",
                managedIdentity: true,
                clientSecret: "${LOGSHIP_CLIENT_SECRET}",
              },
            }

            """#,
        [
            "broken.json5:9:22: target.managedIdentity: true together with target.clientSecret; choose one credential",
        ]),
    BrokenPipeline(
        "many problems at once",
        #"""
            {
              version: 3,
              source: { files: ["logs/*.xml"], format: "xml" },
              fields: { map: { Type: "type", Status: { from: "status", type: "integer" } } },
              target: { logType: "My-Logs" },
              upload: { concurrency: 100 },
            }

            """#,
        [
            "broken.json5:2:12: version: version 3 is not supported; this logship reads version 1",
            "broken.json5:3:44: source.format: \"xml\" is not allowed; allowed: csv, ndjson, json, lines",
            "broken.json5:4:26: fields.map.Type: \"Type\" is reserved by Log Analytics (TimeGenerated, tenant, RawData, Type); choose another name",
            "broken.json5:4:66: fields.map.Status.type: \"integer\" is not allowed (did you mean \"int\"?); allowed: string, int, long, double, bool, datetime, guid, json",
            "broken.json5:5:22: target.logType: \"My-Logs\" may contain only letters, digits and underscore (the service answers 400 InvalidLogType)",
            "broken.json5:6:26: upload.concurrency: 100 is out of range; allowed: 1 to 64",
        ]),
]
