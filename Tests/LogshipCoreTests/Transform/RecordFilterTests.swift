import Foundation
import Testing

@testable import LogshipCore

/// Runs a file through decoder, `fields.where` and transformer; returns the objects sent and
/// how many records the filter left out.
func filtered(_ fieldsBody: String, format: String = "ndjson", input: String, extraSource: String = "") throws -> (
    sent: [[String: Any]], filtered: Int
) {
    let h = try TransformHarness(
        "fields: { \(fieldsBody) }", format: format, input: input, extraSource: extraSource, fileKey: 1)
    let (decoder, t) = (h.decoder, h.transformer)
    let out = ByteBuffer()
    var sent: [[String: Any]] = []
    while let d = try decoder.next() {
        guard case .record(let v) = d else { continue }
        guard t.passes(v) else { continue }
        out.removeAll()
        #expect(t.transform(v, to: out) == nil)
        sent.append(try JSONSerialization.jsonObject(with: Data(out.bytes)) as? [String: Any] ?? [:])
    }
    return (sent, t.stats[.filtered])
}

/// The ids of the records a `where` list lets through.
private func ids(_ conditions: String, _ input: String = FilterFixtures.ndjson, format: String = "ndjson") throws
    -> [Int]
{
    let r = try filtered("where: \(conditions)", format: format, input: input)
    let ids = r.sent.compactMap { ($0["id"] as? NSNumber)?.intValue ?? ($0["id"] as? String).flatMap { Int($0) } }
    #expect(ids.count + r.filtered == (format == "csv" ? 6 : 6), "every record is either sent or counted as filtered")
    return ids
}

enum FilterFixtures {
    static let ndjson = #"""
        {"id":1,"status":200,"level":"info","msg":"ok","t":"2026-11-22T10:00:00Z","user":{"name":"ann","age":31}}
        {"id":2,"status":"404","level":"warn","msg":"not \"found\"","t":"2026-11-22T11:00:00Z","user":{"name":"bob"}}
        {"id":3,"status":500.0,"level":"error","msg":"boom","t":"2026-11-23T00:00:00Z","flag":true}
        {"id":4,"status":null,"level":"info","msg":"","t":"2026-11-21T23:59:59Z","flag":false}
        {"id":5,"level":"debug","msg":"caf\u00e9","t":"2026-11-22T12:00:00Z"}
        {"id":6,"status":"n/a","level":"INFO","msg":"x","t":"2026-11-22T13:00:00Z","user":{"name":"ann"}}

        """#
    static let csv = #"""
        id,status,level,msg
        1,200,info,ok
        2,404,warn,"not ""found"""
        3,500,error,boom
        4,NULL,info,""
        5,,debug,café
        6,n/a,INFO,x

        """#
}

@Suite struct RecordFilterTests {
    @Test func equalsComparesTextByteForByteAndNumbersNumerically() throws {
        #expect(try ids(#"[{ field: "level", equals: "info" }]"#) == [1, 4])
        #expect(try ids(#"[{ field: "status", equals: 404 }]"#) == [2])
        #expect(try ids(#"[{ field: "status", equals: 500 }]"#) == [3])
        #expect(try ids(#"[{ field: "status", equals: "404" }]"#) == [2])
        #expect(try ids(#"[{ field: "msg", equals: "not \"found\"" }]"#) == [2], "escapes are decoded before comparing")
        #expect(try ids(#"[{ field: "msg", equals: "café" }]"#) == [5])
        #expect(try ids(#"[{ field: "flag", equals: true }]"#) == [3])
        #expect(try ids(#"[{ field: "status", equals: null }]"#) == [4, 5], "null: absent or null")
        #expect(try ids(#"[{ field: "user.name", equals: "ann" }]"#) == [1, 6], "dotted paths reach into objects")
    }

    @Test func inIsAnyOfItsValues() throws {
        #expect(try ids(#"[{ field: "level", in: ["warn", "error"] }]"#) == [2, 3])
        #expect(try ids(#"[{ field: "status", in: [200, 404] }]"#) == [1, 2])
    }

    @Test func matchesSearchesARegularExpression() throws {
        #expect(try ids(#"[{ field: "level", matches: "^(?i)info$" }]"#) == [1, 4, 6])
        #expect(try ids(#"[{ field: "msg", matches: "o+" }]"#) == [1, 2, 3])
    }

    @Test func comparisonsAreNumericForNumbersAndBytewiseForStrings() throws {
        #expect(try ids(#"[{ field: "status", gt: 404 }]"#) == [3])
        #expect(try ids(#"[{ field: "status", gte: 404 }]"#) == [2, 3])
        #expect(try ids(#"[{ field: "status", lt: 404 }]"#) == [1])
        #expect(try ids(#"[{ field: "status", lte: 404 }]"#) == [1, 2])
        #expect(try ids(#"[{ field: "user.age", gt: 30 }]"#) == [1])
        #expect(try ids(#"[{ field: "t", gte: "2026-11-22T00:00:00Z", lt: "2026-11-23T00:00:00Z" }]"#) == [1, 2, 5, 6])
    }

    @Test func existsIsPresentAndNotNull() throws {
        #expect(try ids(#"[{ field: "status", exists: true }]"#) == [1, 2, 3, 6])
        #expect(try ids(#"[{ field: "status", exists: false }]"#) == [4, 5])
        #expect(try ids(#"[{ field: "user", exists: true }]"#) == [1, 2, 6])
    }

    @Test func allConditionsHoldAndAnyIsEitherOr() throws {
        #expect(try ids(#"[{ field: "level", equals: "info" }, { field: "status", exists: true }]"#) == [1])
        #expect(
            try ids(#"[{ any: [{ field: "level", equals: "error" }, { field: "status", equals: 404 }] }]"#) == [2, 3])
        #expect(
            try ids(
                #"[{ any: [{ field: "flag", exists: true }, { any: [{ field: "id", equals: 6 }] }] }, { field: "level", matches: "^[a-z]+$" }]"#
            ) == [3, 4])
    }

    /// CSV values are text; null tokens make fields absent for the filter too.
    @Test func csvColumnsAreBoundPerFile() throws {
        let r = try filtered(#"where: [{ field: "status", gte: 400 }]"#, format: "csv", input: FilterFixtures.csv)
        #expect(r.sent.map { $0["id"] as? String } == ["2", "3"])
        #expect(r.filtered == 4)
        let n = try filtered(
            #"where: [{ field: "status", exists: false }]"#, format: "csv", input: FilterFixtures.csv,
            extraSource: #", nullValues: ["NULL", ""]"#)
        #expect(n.sent.map { $0["id"] as? String } == ["4", "5"])
        let m = try filtered(
            #"where: [{ field: "msg", equals: "not \"found\"" }]"#, format: "csv", input: FilterFixtures.csv)
        #expect(m.sent.map { $0["id"] as? String } == ["2"])
    }

    @Test func formatJSONRecordsAreFilteredLikeNDJSON() throws {
        let json = "[\n" + FilterFixtures.ndjson.split(separator: "\n").joined(separator: ",\n") + "\n]"
        #expect(try ids(#"[{ field: "level", in: ["info", "debug"] }]"#, json, format: "json") == [1, 4, 5])
    }

    @Test func validationNamesTheKeyPath() throws {
        func problems(_ w: String) -> [String] {
            let dir = TempDir("filter-errors")
            defer { dir.cleanup() }
            let p = dir.write(
                "p.json5",
                #"{ version: 1, source: { files: ["x.ndjson"], format: "ndjson" }, fields: { where: \#(w) }, target: { logType: "T" } }"#
            )
            return PipelineLoader(environment: [:]).load(p).errors.map { "\($0.path): \($0.message)" }
        }
        #expect(
            problems(#"[{ field: "a", equals: 1 }, { field: "b", gt: true }]"#).first?.hasPrefix(
                "fields.where[1].gt: expected a number") == true)
        #expect(
            problems(#"[{ field: "a", matches: "(" }]"#).first?.hasPrefix(
                "fields.where[0].matches: \"(\" is not a valid regular expression") == true)
        #expect(problems(#"[{ equals: 1 }]"#).first?.hasPrefix("fields.where[0].field: missing") == true)
        #expect(problems(#"[{ field: "a" }]"#).first?.hasPrefix("fields.where[0]: no test") == true)
        #expect(
            problems(#"[{ field: "a", eq: 1 }]"#).first?.hasPrefix("fields.where[0].eq: unknown key \"eq\"") == true)
        #expect(
            problems(#"[{ any: [{ field: "a", in: [[1]] }] }]"#).first?.hasPrefix(
                "fields.where[0].any[0].in[0]: expected a string, number") == true)
        #expect(problems(#"[{ any: [] }]"#).first?.hasPrefix("fields.where[0].any: the list is empty") == true)
        #expect(problems(#"{ field: "a" }"#).first?.hasPrefix("fields.where: expected a list of conditions") == true)
        #expect(
            problems(#"[{ field: "a", exists: "yes" }]"#).first?.hasPrefix(
                "fields.where[0].exists: expected true or false") == true)
    }

    /// A changed filter sends other records: the spec hash (resume guard) changes with it; no
    /// filter leaves the hash as it was.
    @Test func theFilterIsPartOfTheSpecHash() throws {
        let dir = TempDir("filter-hash")
        defer { dir.cleanup() }
        func hash(_ fields: String) throws -> String {
            let p = dir.write(
                "p\(UUID().uuidString.prefix(6)).json5",
                #"{ version: 1, name: "h", source: { files: ["x.csv"], format: "csv" }, fields: { \#(fields) }, target: { logType: "T" } }"#
            )
            return try #require(PipelineLoader(environment: [:]).load(p).spec).specHash
        }
        let none = try hash("passthrough: true")
        let a = try hash(#"where: [{ field: "a", equals: 1 }]"#)
        let b = try hash(#"where: [{ field: "a", equals: 2 }]"#)
        let c = try hash(#"where: [{ field: "a", gt: 1 }]"#)
        #expect(Set([none, a, b, c]).count == 4)
        let n = try hash(#"map: { A: { from: "a", nullValues: ["NULL"] } }"#)
        let m = try hash(#"map: { A: { from: "a" } }"#)
        #expect(n != m)
    }

    /// Several numeric and text tests on one field, and one field named in several nodes: each
    /// test reads the same value (the number is parsed once per field and record).
    @Test func testsOnOneFieldShareTheValue() throws {
        #expect(try ids(#"[{ field: "status", gte: 200, lt: 500, in: [200, "404", 500] }]"#) == [1, 2])
        #expect(try ids(#"[{ field: "status", in: [null, 500] }]"#) == [3, 4, 5])
        #expect(try ids(#"[{ field: "status", in: ["n/a", 200], exists: true }]"#) == [1, 6])
    }

    /// Nested `any` lists followed by siblings, and fields repeated across conditions.
    @Test func nestedAnyListsAndRepeatedFields() throws {
        let w = #"""
            [{ any: [{ any: [{ field: "level", equals: "warn" }, { field: "user.name", equals: "ann" }] }, { field: "status", equals: 500 }] },
             { field: "level", in: ["info", "warn", "error"] },
             { any: [{ field: "status", exists: false }, { field: "status", lt: 1000 }] }]
            """#
        #expect(try ids(w) == [1, 2, 3])
    }

    /// A path of several components, an escaped string at its end, and paths that stop early.
    @Test func deepDottedPaths() throws {
        let input = #"""
            {"id":1,"a":{"b":{"c":"x\"y"}}}
            {"id":2,"a":{"b":{"c":"z","d":1}}}
            {"id":3,"a":{"b":1}}
            {"id":4,"a":"{\"b\":{\"c\":\"z\"}}"}

            """#
        func sent(_ w: String) throws -> [Int] {
            try filtered("where: \(w)", input: input).sent.compactMap { ($0["id"] as? NSNumber)?.intValue }
        }
        #expect(try sent(#"[{ field: "a.b.c", equals: "x\"y" }]"#) == [1])
        #expect(try sent(#"[{ field: "a.b.c", exists: true }, { field: "a.b.d", equals: 1 }]"#) == [2])
        #expect(try sent(#"[{ field: "a.b.c", exists: false }]"#) == [3, 4], "a string is not an object")
    }

    /// A CSV field missing from the header is absent in every record.
    @Test func csvFieldNotInTheHeaderIsAbsent() throws {
        let r = try filtered(
            #"where: [{ field: "nope", exists: false }, { field: "level", equals: "info" }]"#, format: "csv",
            input: FilterFixtures.csv)
        #expect(r.sent.map { $0["id"] as? String } == ["1", "4"])
        let e = try filtered(
            #"where: [{ field: "nope", equals: null }, { field: "nope", gte: 0 }]"#, format: "csv",
            input: FilterFixtures.csv)
        #expect(e.sent.isEmpty && e.filtered == 6)
    }
}
