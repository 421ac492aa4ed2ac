import Foundation
import Testing

@testable import LogshipCore

/// Runs records through a pipeline's decoder and transformer; returns each output object
/// (parsed) or the refusal.
func transform(_ pipelineBody: String, format: String = "ndjson", input: String, extraSource: String = "") throws
    -> [Result<[String: Any], RecordError>]
{
    let h = try TransformHarness(pipelineBody, format: format, input: input, extraSource: extraSource)
    let (decoder, t) = (h.decoder, h.transformer)
    let out = ByteBuffer()
    var results: [Result<[String: Any], RecordError>] = []
    while let d = try decoder.next() {
        guard case .record(let v) = d else { continue }
        out.removeAll()
        if let e = t.transform(v, to: out) {
            #expect(out.count == 0, "a refused record leaves nothing behind")
            results.append(.failure(e))
        } else {
            let obj = try JSONSerialization.jsonObject(with: Data(out.bytes)) as? [String: Any]
            results.append(.success(obj ?? [:]))
        }
    }
    return results
}

func ok(_ r: Result<[String: Any], RecordError>) -> [String: Any] {
    if case .success(let o) = r { return o }
    Issue.record("expected a record, got \(r)")
    return [:]
}

func refused(_ r: Result<[String: Any], RecordError>) -> String {
    if case .failure(let e) = r { return e.reason }
    Issue.record("expected a refusal, got \(r)")
    return ""
}

@Suite struct TransformerTests {
    @Test func typesFromCSVText() throws {
        let r = try transform(
            """
            fields: { map: {
              I: { from: "i", type: "int" }, L: { from: "l", type: "long" }, D: { from: "d", type: "double" },
              B: { from: "b", type: "bool" }, T: { from: "t", type: "datetime" }, G: { from: "g", type: "guid" },
              J: { from: "j", type: "json" }, S: { from: "s", type: "string" }, R: "s" }, passthrough: false }
            """, format: "csv",
            input: """
                i,l,d,b,t,g,j,s
                42,9000000000,1.5,yes,2024-03-05T10:20:30.1234+01:00,{9909ED01-A74C-4874-8ABF-D2678E3AE23D},"{""a"":[1,2]}",x "y"
                """)
        let o = ok(r[0])
        #expect(o["I"] as? Int == 42)
        #expect(o["L"] as? Int == 9_000_000_000)
        #expect(o["D"] as? Double == 1.5)
        #expect(o["B"] as? Bool == true)
        #expect(o["T"] as? String == "2024-03-05T09:20:30.123Z")
        #expect(o["G"] as? String == "9909ed01-a74c-4874-8abf-d2678e3ae23d")
        #expect((o["J"] as? [String: Any])?["a"] as? [Int] == [1, 2])
        #expect(o["S"] as? String == "x \"y\"")
        #expect(o["R"] as? String == "x \"y\"")
        #expect(o.count == 9)
    }

    @Test("integers and datetimes are written in canonical form whether copied or rewritten")
    func canonicalNumbersAndTimesOnTheWire() throws {
        let dir = TempDir("canonical")
        defer { dir.cleanup() }
        _ = dir.write(
            "in.csv",
            """
            n,t
            +5,2024-03-05T10:20:30.123Z
            007,2024-03-05T10:20:30.123+00:00
            -0,2024-03-05T10:20:60.000Z
            0,2024-03-05t10:20:30.123z
            -12,2024-03-05T10:20:30.12Z
            -007,2024-03-05 10:20:30.123Z
            1.0e3,2024-03-05T10:20:30.1239Z
            """)
        let p = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["in.csv"], format: "csv" },
              fields: { map: { N: { from: "n", type: "long" }, T: { from: "t", type: "datetime" } }, passthrough: false },
              target: { logType: "T" } }
            """)
        let r = PipelineLoader(environment: [:]).load(p)
        let spec = try #require(r.spec)
        let file = FileDiscovery.expand(spec.source.files, relativeTo: spec.baseDirectory).files[0]
        let (decoder, names) = try DecoderFactory.open(file, spec: spec.source)
        let t = Transformer(spec: spec)
        t.beginFile(fileKey: 1, names: names)
        let out = ByteBuffer()
        var lines: [String] = []
        while let d = try decoder.next() {
            guard case .record(let v) = d else { continue }
            out.removeAll()
            #expect(t.transform(v, to: out) == nil)
            lines.append(String(decoding: out.bytes, as: UTF8.self))
        }
        #expect(
            lines == [
                #"{"N":5,"T":"2024-03-05T10:20:30.123Z"}"#,
                #"{"N":7,"T":"2024-03-05T10:20:30.123Z"}"#,
                #"{"N":0,"T":"2024-03-05T10:20:59.999Z"}"#,
                #"{"N":0,"T":"2024-03-05T10:20:30.123Z"}"#,
                #"{"N":-12,"T":"2024-03-05T10:20:30.120Z"}"#,
                #"{"N":-7,"T":"2024-03-05T10:20:30.123Z"}"#,
                #"{"N":1000,"T":"2024-03-05T10:20:30.123Z"}"#,
            ])
    }

    @Test func conversionFailureRejectsOrNullsOrDefaults() throws {
        let r = try transform(
            """
            fields: { map: {
              A: { from: "a", type: "int" },
              B: { from: "b", type: "int", onError: "null" },
              C: { from: "c", type: "int", onError: "null", default: -1 },
              M: { from: "missing", type: "int", default: 7 } }, passthrough: false }
            """,
            input: """
                {"a":"x","b":"1","c":"1"}
                {"a":"1","b":"x","c":"x"}
                {"a":2147483648}
                """)
        #expect(refused(r[0]) == "fields.map.A: cannot convert \"x\" to int")
        let second = ok(r[1])
        #expect(second["A"] as? Int == 1)
        #expect(second["B"] == nil)
        #expect(second["C"] as? Int == -1)
        #expect(second["M"] as? Int == 7)
        #expect(refused(r[2]).contains("to int"), "int is 32-bit")
    }

    @Test func passthroughRenamesDropsAndKeepsMappedNames() throws {
        let r = try transform(
            """
            fields: { map: { Level: "lvl" }, drop: ["secret"], passthrough: true }
            """,
            input:
                #"{"lvl":"info","secret":"x","bad name":1,"Type":"t","9lives":true,"ok_name":null,"level":"dup","n\u00e4me":2}"#
        )
        let o = ok(r[0])
        #expect(o["Level"] as? String == "info")
        #expect(o["lvl"] == nil && o["secret"] == nil)
        #expect(o["bad_name"] as? Int == 1)
        #expect(o["Type_"] as? String == "t")
        #expect(o["f9lives"] as? Bool == true)
        #expect(o["level"] == nil, "a passthrough field does not shadow a mapped column of the same name")
        #expect(o["n__me"] as? Int == 2)
        #expect(!o.keys.contains("ok_name"), "nulls are left out: the service drops them anyway")
    }

    @Test func unchangedRecordsAreCopiedAsTheyAre() throws {
        let line = #"{"a": 1, "b":"x",  "c":{"d":[1,2]}}"#
        let dir = TempDir("identity")
        defer { dir.cleanup() }
        _ = dir.write("in.ndjson", line + "\n")
        let p = dir.write(
            "p.json5", #"{ version: 1, source: { files: ["in.ndjson"], format: "ndjson" }, target: { logType: "T" } }"#)
        let spec = PipelineLoader(environment: [:]).load(p).spec!
        let (d, _) = try DecoderFactory.open(
            FileDiscovery.expand(spec.source.files, relativeTo: spec.baseDirectory).files[0], spec: spec.source)
        guard case .record(let v)? = try d.next() else {
            Issue.record("no record")
            return
        }
        let t = Transformer(spec: spec)
        t.beginFile(fileKey: 1, names: nil)
        let out = ByteBuffer()
        #expect(t.transform(v, to: out) == nil)
        #expect(String(decoding: out.bytes, as: UTF8.self) == line)
    }

    @Test func recordIdIsDeterministicAndUnique() throws {
        let r = try transform(#"fields: { recordId: "Id" }"#, input: "{\"a\":1}\n{\"a\":2}\n")
        let a = ok(r[0])["Id"] as? String, b = ok(r[1])["Id"] as? String
        #expect(a == "01020304-0506-0708-0000-000000000000")
        #expect(b == "01020304-0506-0708-0000-000000000001")
    }

    @Test func valuesOverTheLimitAreTruncatedOrRejected() throws {
        let big = String(repeating: "é", count: 20_000)
        let t = try transform("fields: { passthrough: true }", input: "{\"v\":\"\(big)\",\"w\":\"ok\"}\n")
        let v = ok(t[0])["v"] as? String ?? ""
        #expect(v.utf8.count <= 32_766 && v.utf8.count >= 32_765)
        #expect(v.unicodeScalars.allSatisfy { $0 == "é" }, "cut at a character boundary")
        let r = try transform(
            "fields: { passthrough: true }, limits: { oversizedValue: \"reject\" }", input: "{\"v\":\"\(big)\"}\n")
        #expect(refused(r[0]).contains("longer than 32766 bytes"))
        let csv = try transform(
            "fields: { map: { V: \"v\" }, passthrough: false }, limits: { oversizedValue: \"reject\" }", format: "csv",
            input: "v\n\(big)\n")
        #expect(refused(csv[0]).contains("fields.map.V"))
    }

    @Test func invalidUTF8IsReplacedOrRejected() throws {
        let dir = TempDir("utf8")
        defer { dir.cleanup() }
        var bytes = Array("v\nab".utf8)
        bytes += [0xC3, 0x28]
        bytes += Array("cd\n".utf8)
        try Data(bytes).write(to: dir.file("in.csv"))
        for (policy, expectOK) in [("replace", true), ("reject", false)] {
            let p = dir.write(
                "p.json5",
                "{ version: 1, source: { files: [\"in.csv\"], format: \"csv\", invalidUTF8: \"\(policy)\" }, target: { logType: \"T\" } }"
            )
            let spec = PipelineLoader(environment: [:]).load(p).spec!
            let (d, names) = try DecoderFactory.open(
                FileDiscovery.expand(spec.source.files, relativeTo: spec.baseDirectory).files[0], spec: spec.source)
            let t = Transformer(spec: spec)
            t.beginFile(fileKey: 1, names: names)
            guard case .record(let v)? = try d.next() else {
                Issue.record("no record")
                continue
            }
            let out = ByteBuffer()
            let e = t.transform(v, to: out)
            #expect((e == nil) == expectOK, "\(policy): \(String(describing: e))")
            if expectOK {
                let o = try JSONSerialization.jsonObject(with: Data(out.bytes)) as? [String: Any]
                #expect(o?["v"] as? String == "ab\u{FFFD}(cd")
            }
        }
    }

    @Test func tooManyFieldsFailWarnOrPack() throws {
        let fields = (0..<6).map { "\"f\($0)\":\($0)" }.joined(separator: ",")
        let fail = try transform("limits: { maxFields: 4 }", input: "{\(fields)}\n")
        #expect(refused(fail[0]).contains("6 fields; limits.maxFields is 4"))
        let warn = try transform("limits: { maxFields: 4, tooManyFields: \"warn\" }", input: "{\(fields)}\n")
        #expect(ok(warn[0]).count == 6)
        let pack = try transform(
            "limits: { maxFields: 4, tooManyFields: \"pack\", packField: \"Rest\" }", input: "{\(fields)}\n")
        let o = ok(pack[0])
        #expect(o.count == 4)
        #expect(o["f0"] as? Int == 0 && o["f2"] as? Int == 2)
        let rest = o["Rest"] as? [String: Any]
        #expect(rest?.count == 3)
        #expect(rest?["f5"] as? Int == 5)
    }

    @Test func nestedPathsAndConstants() throws {
        let r = try transform(
            """
            fields: { map: { City: "client.city", Zip: { from: "client.geo.zip", type: "int" }, Env: { value: "prod" }, Ver: { value: 2 }, Dotted: "a.b" }, passthrough: false }
            """, input: #"{"client":{"city":"Köln","geo":{"zip":"50667"}},"a.b":"literal"}"#)
        let o = ok(r[0])
        #expect(o["City"] as? String == "Köln")
        #expect(o["Zip"] as? Int == 50667)
        #expect(o["Env"] as? String == "prod")
        #expect(o["Ver"] as? Int == 2)
        #expect(o["Dotted"] as? String == "literal")
    }

    @Test func datetimeFormats() throws {
        let r = try transform(
            """
            fields: { map: {
              N: { from: "n", type: "datetime", format: "%d/%b/%Y:%H:%M:%S %z" },
              E: { from: "e", type: "datetime", format: "epoch" },
              M: { from: "m", type: "datetime", format: "epoch-ms" } }, passthrough: false }
            """, input: #"{"n":"10/Oct/2026:13:55:36 -0700","e":1700000000,"m":"1700000000123"}"#)
        let o = ok(r[0])
        #expect(o["N"] as? String == "2026-10-10T20:55:36.000Z")
        #expect(o["E"] as? String == "2023-11-14T22:13:20.000Z")
        #expect(o["M"] as? String == "2023-11-14T22:13:20.123Z")
    }

    @Test func linesPresetWithTypedMapping() throws {
        let line = #"203.0.113.9 - - [10/Oct/2026:13:55:36 +0000] "GET /a?b=1 HTTP/1.1" 404 512 "-" "curl/8.0""#
        let r = try transform(
            """
            fields: { map: { Status: { from: "status", type: "int" }, Bytes: { from: "body_bytes_sent", type: "long" }, Path: "request_uri" }, passthrough: false }
            """, format: "lines", input: line + "\n", extraSource: #", lines: { pattern: "nginx-combined" }"#)
        let o = ok(r[0])
        #expect(o["Status"] as? Int == 404)
        #expect(o["Bytes"] as? Int == 512)
        #expect(o["Path"] as? String == "/a?b=1")
        #expect(o.count == 3)
    }
}
