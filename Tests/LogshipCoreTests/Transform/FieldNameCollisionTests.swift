import Foundation
import Testing

@testable import LogshipCore

/// Runs records through a pipeline's decoder and transformer and returns each output as the
/// exact bytes that would be sent (or the refusal), with the transformer for its stats.
func transformRaw(_ pipelineBody: String, format: String = "ndjson", input: String) throws -> (
    out: [Result<[UInt8], RecordError>], stats: Transformer.Stats
) {
    let h = try TransformHarness(pipelineBody, format: format, input: input)
    let (decoder, t) = (h.decoder, h.transformer)
    let out = ByteBuffer()
    var results: [Result<[UInt8], RecordError>] = []
    while let d = try decoder.next() {
        guard case .record(let v) = d else { continue }
        out.removeAll()
        if let e = t.transform(v, to: out) {
            results.append(.failure(e))
        } else {
            results.append(.success(out.toArray()))
        }
    }
    return (results, t.stats)
}

/// The top-level member names of a JSON object as written, in order (duplicates kept), read
/// with the scanner rather than Foundation, which would keep one of two equal keys.
func memberNames(_ json: [UInt8]) -> [String]? {
    let fields = SlotBuffer(capacity: 16)
    return json.withUnsafeBytes { raw -> [String]? in
        var s = NDJSONScanner(raw)
        guard (try? s.object(into: fields)) != nil else { return nil }
        return fields.view.map {
            String(decoding: raw[Int($0.nameStart)..<Int($0.nameStart + $0.nameCount)], as: UTF8.self)
        }
    }
}

/// Column names differing only in case are one column to Log Analytics.
func hasDuplicates(_ names: [String]) -> Bool { Set(names.map { $0.lowercased() }).count != names.count }

func object(_ json: [UInt8]) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any]) ?? [:]
}

func sent(_ r: Result<[UInt8], RecordError>) -> [UInt8] {
    if case .success(let o) = r { return o }
    Issue.record("expected a record, got \(r)")
    return []
}

@Suite struct FieldNameCollisionTests {
    /// The issue's record: every value arrives, under four distinct names; names valid as
    /// written keep them, sanitised ones take the next free `_N`.
    @Test func sanitisedNamesThatCollideGetNumberedNames() throws {
        let (r, _) = try transformRaw(
            "fields: { passthrough: true }", input: #"{"my field":1,"my_field":8,"a.b":2,"a_b":7}"# + "\n")
        let json = sent(r[0])
        let names = try #require(memberNames(json))
        #expect(!hasDuplicates(names), "\(String(decoding: json, as: UTF8.self))")
        #expect(names == ["my_field_2", "my_field", "a_b_2", "a_b"])
        let o = object(json)
        #expect(o["my_field_2"] as? Int == 1 && o["my_field"] as? Int == 8)
        #expect(o["a_b_2"] as? Int == 2 && o["a_b"] as? Int == 7)
    }

    @Test func theSameRecordAlwaysGetsTheSameNames() throws {
        let line = #"{"x-y":1,"x_y":2,"x y":3,"x_y_2":4}"#
        let (r, _) = try transformRaw("fields: { passthrough: true }", input: line + "\n" + line + "\n")
        #expect(sent(r[0]) == sent(r[1]))
        let names = try #require(memberNames(sent(r[0])))
        // x_y and x_y_2 are valid as written and keep their names; the others count on from there.
        #expect(names == ["x_y_3", "x_y", "x_y_4", "x_y_2"])
    }

    /// Names are decided per record: a field is numbered only in the records where another
    /// field has its column, whatever the records before it held.
    @Test func recordsOfChangingShapesEachGetTheirOwnNames() throws {
        let lines = [
            #"{"a b":1}"#, #"{"a_b":2,"a b":3}"#, #"{"a b":4,"c":null}"#, #"{"c":5,"a b":6,"a_b":7}"#, #"{"a_b":8}"#,
        ]
        let (r, stats) = try transformRaw("fields: { passthrough: true }", input: lines.joined(separator: "\n") + "\n")
        #expect(
            r.map { String(decoding: sent($0), as: UTF8.self) } == [
                #"{"a_b":1}"#, #"{"a_b":2,"a_b_2":3}"#, #"{"a_b":4}"#, #"{"c":5,"a_b_2":6,"a_b":7}"#, #"{"a_b":8}"#,
            ])
        #expect(stats[.collidingNames] == 2)
    }

    @Test func namesDifferingOnlyInCaseAndRepeatedKeysStayApart() throws {
        let (r, _) = try transformRaw(
            "fields: { passthrough: true }", input: #"{"Level":"a","level":"b","n":1,"n":2}"# + "\n")
        let json = sent(r[0])
        let names = try #require(memberNames(json))
        #expect(names == ["Level", "level_2", "n", "n_2"], "\(String(decoding: json, as: UTF8.self))")
        let o = object(json)
        #expect(o["Level"] as? String == "a" && o["level_2"] as? String == "b")
        #expect(o["n"] as? Int == 1 && o["n_2"] as? Int == 2)
    }

    /// A passed-through field named like a mapped column is kept, under a numbered name.
    @Test func passthroughNeverShadowsOrLosesAMappedName() throws {
        let (r, _) = try transformRaw(
            #"fields: { map: { Status: { from: "code", type: "int" } }, recordId: "Id", passthrough: true }"#,
            input: #"{"code":"200","status":"ok","id":7,"ID":8}"# + "\n")
        let json = sent(r[0])
        let names = try #require(memberNames(json))
        #expect(!hasDuplicates(names), "\(String(decoding: json, as: UTF8.self))")
        let o = object(json)
        #expect(o["Status"] as? Int == 200)
        #expect(o["status_2"] as? String == "ok")
        #expect(o["id_2"] as? Int == 7 && o["ID_3"] as? Int == 8)
        #expect(o.count == 5)
    }

    @Test func longNamesCutToTheSameColumnStayApart() throws {
        let stem = String(repeating: "n", count: 45)
        let (r, _) = try transformRaw("fields: { passthrough: true }", input: "{\"\(stem)a\":1,\"\(stem)b\":2}\n")
        let names = try #require(memberNames(sent(r[0])))
        #expect(names == [stem, String(repeating: "n", count: 43) + "_2"])
        #expect(names.allSatisfy { $0.utf8.count <= FieldNames.maxLength })
    }

    /// CSV: the header's names are resolved once per file, with the same rule.
    @Test func csvHeaderNamesThatCollideAfterSanitisingStayApart() throws {
        let (r, _) = try transformRaw(
            "fields: { passthrough: true }", format: "csv", input: "my field,my_field,type,Type_\n1,2,3,4\n5,6,7,8\n")
        for rec in r {
            let names = try #require(memberNames(sent(rec)))
            #expect(names == ["my_field_2", "my_field", "type__2", "Type_"], "\(names)")
        }
        #expect(object(sent(r[1]))["my_field_2"] as? String == "5")
    }

    /// Records over maxFields: the pack column's name is never also a passed-through name.
    @Test func aFieldNamedLikeThePackColumnKeepsItsValue() throws {
        let fields = (0..<6).map { "\"f\($0)\":\($0)" }.joined(separator: ",")
        let (r, _) = try transformRaw(
            #"limits: { maxFields: 4, tooManyFields: "pack" }"#, input: "{\"Extra\":\"mine\",\(fields)}\n")
        let json = sent(r[0])
        let names = try #require(memberNames(json))
        #expect(!hasDuplicates(names), "\(String(decoding: json, as: UTF8.self))")
        let o = object(json)
        #expect(o["Extra_2"] as? String == "mine")
    }
}
