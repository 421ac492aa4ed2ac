import Foundation
import Testing

@testable import LogshipCore

/// The top-level members of a JSON object: names and values exactly as written.
func members(_ json: [UInt8]) -> [(name: String, raw: [UInt8])]? {
    let fields = SlotBuffer(capacity: 16)
    return json.withUnsafeBytes { raw -> [(name: String, raw: [UInt8])]? in
        var s = NDJSONScanner(raw)
        guard (try? s.object(into: fields)) != nil else { return nil }
        return fields.view.map {
            (
                String(decoding: raw[Int($0.nameStart)..<Int($0.nameStart + $0.nameCount)], as: UTF8.self),
                Array(raw[Int($0.valueStart)..<Int($0.valueStart + $0.valueCount)])
            )
        }
    }
}

/// `field_000` … with values of `width` bytes, distinct per field and record.
func wideRecord(_ n: Int, fields: Int = 599, width: Int = 60) -> (line: String, values: [String: String]) {
    var values: [String: String] = [:]
    var parts: [String] = []
    for k in 0..<fields {
        let stem = "r\(n)f\(k)-"
        let v = stem + String(repeating: "v", count: width - stem.count)
        let name = String(format: "field_%03d", k)
        values[name] = v
        parts.append("\"\(name)\":\"\(v)\"")
    }
    return ("{" + parts.joined(separator: ",") + "}", values)
}

@Suite struct PackTests {
    /// The issue's numbers: 599 fields of 60 bytes, maxFields 50. The packed text spills into
    /// further pack columns, each valid JSON within the value limit; every field arrives.
    @Test func packedFieldsSpillIntoFurtherColumnsAndAreNeverCut() throws {
        let (line, values) = wideRecord(0)
        let (r, stats) = try transformRaw(#"limits: { tooManyFields: "pack" }"#, input: line + "\n")
        let json = sent(r[0])
        let top = try #require(members(json))
        #expect(top.count <= 50, "a record never has more than maxFields columns")
        #expect(!hasDuplicates(top.map(\.name)))
        var got: [String: String] = [:]
        var packColumns: [String] = []
        for m in top {
            if m.name == "Extra" || (m.name.hasPrefix("Extra") && Int(m.name.dropFirst(5)) != nil) {
                packColumns.append(m.name)
                #expect(m.raw.count <= 32_766, "\(m.name) holds \(m.raw.count) bytes of JSON text")
                let packed = try #require(
                    try JSONSerialization.jsonObject(with: Data(m.raw)) as? [String: Any], "\(m.name) is a JSON object")
                for (k, v) in packed {
                    #expect(got[k] == nil, "\(k) twice")
                    got[k] = v as? String
                }
            } else {
                got[m.name] = object(json)[m.name] as? String
            }
        }
        #expect(packColumns == ["Extra", "Extra2"])
        #expect(got == values, "every field of the record, each value whole")
        #expect(stats[.truncatedValues] == 0)
        #expect(stats[.packedRecords] == 1)
    }

    /// A field whose member alone is longer than a pack column can hold cannot be packed
    /// whole: the record goes to rejects, saying why, instead of a cut JSON text.
    @Test func aFieldTooLongForAnyPackColumnRejectsTheRecord() throws {
        let small = (0..<60).map { "\"f\($0)\":\($0)" }.joined(separator: ",")
        let big = String(repeating: "x", count: 32_766)
        let (r, stats) = try transformRaw(
            #"limits: { tooManyFields: "pack" }"#, input: "{\(small),\"big\":\"\(big)\"}\n")
        let why = refusedRaw(r[0])
        #expect(why.contains("\"big\""), "\(why)")
        #expect(why.contains("limits.packField") || why.contains("pack"), "\(why)")
        #expect(stats[.truncatedValues] == 0)
    }

    /// Records under the limit are not touched by pack.
    @Test func recordsWithinMaxFieldsAreNotPacked() throws {
        let (line, _) = wideRecord(1, fields: 50)
        let (r, stats) = try transformRaw(#"limits: { tooManyFields: "pack" }"#, input: line + "\n")
        #expect(try #require(members(sent(r[0]))).count == 50)
        #expect(stats[.packedRecords] == 0)
    }

    /// A mapped column named like a pack column would put its key in the body twice.
    @Test func aMappedNameThatIsAPackColumnIsRefusedByValidate() throws {
        let dir = TempDir("pack-names")
        defer { dir.cleanup() }
        let p = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["in.ndjson"], format: "ndjson" }, fields: { map: { extra2: "x" } },
              limits: { tooManyFields: "pack" }, target: { logType: "T" } }
            """)
        let r = PipelineLoader(environment: [:]).load(p)
        #expect(r.spec == nil)
        #expect(
            r.problems.contains {
                $0.description.contains("fields.map.extra2") && $0.description.contains("pack column")
            }, "\(r.problems)")
    }

    /// More distinct names across records than a table holds: pack bounds each record, not the
    /// table, so when pack is already set the advice must not offer it.
    @Test func previewDoesNotAdvisePackWhenPackIsSetAndCannotHelp() throws {
        let records = (0..<600).map { PreviewRecord("{\"name_\($0)\":\($0)}", location: "in.ndjson:\($0 + 1)") }
        let dir = TempDir("pack-advice")
        defer { dir.cleanup() }
        for (policy, offersPack) in [("pack", false), ("fail", true)] {
            let p = dir.write(
                "p.json5",
                """
                { version: 1, source: { files: ["in.ndjson"], format: "ndjson" }, limits: { tooManyFields: "\(policy)" }, target: { logType: "T" } }
                """)
            let spec = try #require(PipelineLoader(environment: [:]).load(p).spec)
            let schema = SchemaInference.infer(records, options: SchemaInference.Options(spec: spec))
            let limit = try #require(schema.warnings.first { $0.kind == .columnLimit })
            #expect(limit.message.contains("tooManyFields: \"pack\"") == offersPack, "\(policy): \(limit.message)")
            let many = try #require(schema.warnings.first { $0.kind == .tooManyColumns })
            #expect(many.message.contains("tooManyFields: \"pack\"") == offersPack, "\(policy): \(many.message)")
            if !offersPack {
                #expect(limit.message.contains("passthrough"), "says what does help: \(limit.message)")
            }
        }
    }
}

func refusedRaw(_ r: Result<[UInt8], RecordError>) -> String {
    if case .failure(let e) = r { return e.reason }
    Issue.record("expected a refusal, got \(r.map { String(decoding: $0.prefix(200), as: UTF8.self) })")
    return ""
}
