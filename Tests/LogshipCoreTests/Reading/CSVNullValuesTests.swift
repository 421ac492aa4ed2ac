import Foundation
import Testing

@testable import LogshipCore

/// `nullValues`: unquoted tokens become absent fields; quoted values stay text (PostgreSQL).
@Suite struct CSVNullValuesTests {
    static let input = """
        id,name,amount,note
        1,NULL,12.5,\\N
        2,"NULL",,""
        3,ann,NULL,"\\N"
        4,,7,x

        """

    @Test func sourceTokensMakeUnquotedValuesAbsent() throws {
        let r = try transform(
            "fields: { passthrough: true }", format: "csv", input: Self.input,
            extraSource: #", nullValues: ["NULL", "\\N", ""]"#)
        let rows = r.map(ok)
        #expect(rows.count == 4)
        #expect(rows[0]["name"] == nil && rows[0]["note"] == nil && rows[0]["amount"] as? String == "12.5")
        // Quoted: text, as PostgreSQL reads `"NULL"` and `""`.
        #expect(rows[1]["name"] as? String == "NULL")
        #expect(rows[1]["note"] as? String == "")
        #expect(rows[1]["amount"] == nil)
        #expect(rows[2]["amount"] == nil && rows[2]["note"] as? String == "\\N")
        #expect(rows[3]["name"] == nil && rows[3]["note"] as? String == "x")
    }

    @Test func csvKeyWorksTooAndWithoutTokensNothingChanges() throws {
        let a = try transform(
            "fields: { passthrough: true }", format: "csv", input: Self.input,
            extraSource: #", csv: { nullValues: ["NULL"] }"#
        ).map(ok)
        #expect(a[0]["name"] == nil && a[0]["note"] as? String == "\\N" && a[1]["name"] as? String == "NULL")
        let b = try transform("fields: { passthrough: true }", format: "csv", input: Self.input).map(ok)
        #expect(b[0]["name"] as? String == "NULL" && b[3]["name"] as? String == "")
    }

    /// A field's own tokens apply to its input column; a typed field with a null token is left
    /// out (or takes its default) rather than being rejected as unconvertible.
    @Test func perFieldTokensWithTypesAndDefaults() throws {
        let r = try transform(
            #"fields: { passthrough: false, map: { Id: { from: "id", type: "int" }, Amount: { from: "amount", type: "double", nullValues: ["NULL"], default: -1 }, Name: { from: "name", nullValues: ["NULL", ""] }, Note: "note" } }"#,
            format: "csv", input: Self.input)
        let rows = r.map(ok)
        #expect(rows.count == 4)
        #expect(rows[0]["Name"] == nil && rows[0]["Note"] as? String == "\\N")
        #expect((rows[1]["Amount"] as? NSNumber)?.doubleValue == -1, "empty and typed: missing, so the default")
        #expect(rows[1]["Name"] as? String == "NULL")
        #expect((rows[2]["Amount"] as? NSNumber)?.doubleValue == -1)
        #expect(rows[3]["Name"] == nil)
    }

    @Test func nullValuesAreForCSVOnly() throws {
        let dir = TempDir("nulls")
        defer { dir.cleanup() }
        let p = dir.write(
            "p.json5",
            #"{ version: 1, source: { files: ["x"], format: "ndjson", nullValues: ["NULL"] }, fields: { map: { A: { from: "a", nullValues: [""] }, B: { value: 1, nullValues: ["x"] } } }, target: { logType: "T" } }"#
        )
        let errors = PipelineLoader(environment: [:]).load(p).errors.map { "\($0.path): \($0.message)" }
        #expect(errors.contains { $0.hasPrefix("source.nullValues: only for format \"csv\"") }, "\(errors)")
        #expect(errors.contains { $0.hasPrefix("fields.map.A.nullValues: only for format \"csv\"") }, "\(errors)")
        #expect(errors.contains { $0.hasPrefix("fields.map.B.nullValues: applies to an input field") }, "\(errors)")
    }
}
