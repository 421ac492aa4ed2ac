import Foundation
import Testing

@testable import LogshipCore

/// `from: "$file"`, `"$line"`, `"$host"`, `"$pipeline"` and `extract`, through the decoders and
/// the transformer as `run` drives them (the harness's file is `in.<ext>` beside `p.json5`).
@Suite struct DerivedFieldsTests {
    static let host = String(decoding: Transformer.hostName, as: UTF8.self)

    /// Every record of `input`, with the compiled program on and off: both must write the same.
    func records(
        _ body: String, format: String, input: String, extraSource: String = "", program expected: Bool = false
    ) throws -> [[String: Any]] {
        var both: [[[String: Any]]] = []
        var texts: [[String]] = []
        for program in [true, false] {
            let h = try TransformHarness(body, format: format, input: input, extraSource: extraSource)
            h.transformer.programAllowed = program
            if !program { h.transformer.programReady = false }
            let out = ByteBuffer()
            var rows: [[String: Any]] = []
            var raw: [String] = []
            while let d = try h.decoder.next() {
                guard case .record(let v) = d else { continue }
                out.removeAll()
                if let e = h.transformer.transform(v, to: out) { Issue.record("refused: \(e.reason)") }
                raw.append(String(decoding: out.bytes, as: UTF8.self))
                rows.append(try #require(try JSONSerialization.jsonObject(with: Data(out.bytes)) as? [String: Any]))
            }
            if program {
                #expect(
                    (h.transformer.programTries > 0) == expected,
                    "the compiled program ran: \(h.transformer.programTries)")
            }
            both.append(rows)
            texts.append(raw)
        }
        #expect(texts[0] == texts[1], "the program and the general path write the same bytes")
        return both[0]
    }

    @Test func fileLineHostAndPipelineInCSV() throws {
        let rows = try records(
            #"name: "web-logs", fields: { map: { F: "$file", L: "$line", H: "$host", P: "$pipeline", LS: { from: "$line", type: "string" }, D: { from: "$file", extract: "^(?<stem>[a-z]+)\\." } } }"#,
            format: "csv", input: "a,b\n1,2\n\"x\ny\",3\n4,5\n", program: true)
        #expect(rows.map { $0["F"] as? String } == ["in.csv", "in.csv", "in.csv"])
        // The quoted line break makes the third record start on line 4.
        #expect(rows.map { $0["L"] as? Int } == [2, 3, 5])
        #expect(rows.map { $0["LS"] as? String } == ["2", "3", "5"])
        #expect(rows.map { $0["D"] as? String } == ["in", "in", "in"])
        #expect(rows.allSatisfy { $0["H"] as? String == Self.host && $0["P"] as? String == "web-logs" })
        #expect(!Self.host.isEmpty)
        // Passthrough keeps the input's columns.
        #expect(rows[0]["a"] as? String == "1")
    }

    @Test func pipelineNameIsTheFileNameWithoutAName() throws {
        let rows = try records(
            #"fields: { map: { P: "$pipeline", L: "$line" } }"#, format: "ndjson", input: "{\"a\":1}\n\n{\"a\":2}\n")
        #expect(rows.map { $0["P"] as? String } == ["p", "p"])
        #expect(rows.map { $0["L"] as? Int } == [1, 3])
    }

    @Test func extractFromTheFilePathOncePerFile() throws {
        let rows = try records(
            #"fields: { map: { Ext: { from: "$file", extract: "\\.(?<ext>[a-z]+)$" }, Miss: { from: "$file", extract: "^servers/([^/]+)/", default: "none" }, Gone: { from: "$file", extract: "^(zz)" } } }"#,
            format: "lines", input: "one\ntwo\n", extraSource: #", lines: { pattern: "(?<msg>.*)" }"#)
        // The default and the missing field are the general path's: no program for this file.
        #expect(rows.map { $0["Ext"] as? String } == ["log", "log"])
        #expect(rows.map { $0["Miss"] as? String } == ["none", "none"])
        #expect(rows.allSatisfy { $0["Gone"] == nil })
    }

    @Test func extractFromAFieldPerRecord() throws {
        let h = try TransformHarness(
            #"fields: { map: { User: { from: "path", extract: "^/users/(?<id>[0-9]+)", type: "int" }, Q: { from: "q", extract: "k=([^&]*)" } } }"#,
            format: "ndjson",
            input: #"{"path":"/users/42/x","q":"a=1&k=v\u00e9\"w"}"# + "\n" + #"{"path":"/other","q":"k="}"# + "\n")
        let out = ByteBuffer()
        var rows: [[String: Any]] = []
        while let d = try h.decoder.next() {
            guard case .record(let v) = d else { continue }
            out.removeAll()
            #expect(h.transformer.transform(v, to: out) == nil)
            rows.append(try #require(try JSONSerialization.jsonObject(with: Data(out.bytes)) as? [String: Any]))
        }
        #expect(rows[0]["User"] as? Int == 42)
        // An escaped string is matched unescaped and written escaped again.
        #expect(rows[0]["Q"] as? String == "vé\"w")
        #expect(rows[1]["User"] == nil)
        #expect(rows[1]["Q"] as? String == "")
        #expect(h.transformer.stats[.extractMisses] == 1)
    }

    @Test func extractInCSVTakesTheGeneralPathAndMatchesNonASCII() throws {
        let rows = try records(
            #"fields: { map: { City: { from: "where", extract: "^(?<city>[^,/]+)/" } } }"#,
            format: "csv", input: "where\nZürich/CH\nnowhere\n")
        #expect(rows.map { $0["City"] as? String } == ["Zürich", nil])
    }

    @Test func theSpecHashSeesDerivedFields() throws {
        let a = try TransformHarness(#"fields: { map: { F: "$file" } }"#, format: "ndjson", input: "{}\n").spec.specHash
        let b = try TransformHarness(#"fields: { map: { F: "file" } }"#, format: "ndjson", input: "{}\n").spec.specHash
        let c = try TransformHarness(
            #"fields: { map: { F: { from: "$file", extract: "(x)" } } }"#, format: "ndjson", input: "{}\n"
        ).spec.specHash
        #expect(Set([a, b, c]).count == 3)
    }

    @Test func problemsNameTheKey() {
        func errors(_ map: String) -> [String] {
            loadBroken(
                #"{ version: 1, source: { files: ["a"], format: "ndjson" }, fields: { map: { "# + map
                    + #" } }, target: { logType: "A" } }"#
            )
            .errors.map { "\($0.path): \($0.message)" }
        }
        #expect(
            errors(#"X: "$hostname""#) == [
                #"fields.map.X: "$hostname" is not a value logship derives; known: $file, $line, $host, $pipeline (an input field whose name begins with $ is written $$hostname)"#
            ])
        #expect(
            errors(#"X: { from: "$fil" }"#).first?.hasPrefix(
                "fields.map.X.from: \"$fil\" is not a value logship derives") == true)
        #expect(
            errors(#"X: { from: "$file", extract: "[a-z]+" }"#) == [
                #"fields.map.X.extract: "[a-z]+" has no group; put the part to keep in (?<name>…) or (…)"#
            ])
        #expect(
            errors(#"X: { from: "a", extract: "(unclosed" }"#) == [
                #"fields.map.X.extract: "(unclosed" is not a valid regular expression (ICU syntax)"#
            ])
        #expect(
            errors(#"X: { value: "v", extract: "(v)" }"#) == [
                "fields.map.X.extract: applies to a field (from), not to a constant (value)"
            ])
        #expect(
            errors(#"X: { from: "$line", extract: "(1)" }"#) == [
                "fields.map.X.extract: applies to an input field, $file, $host or $pipeline, not to $line"
            ])
        #expect(
            errors(#"X: { from: "$line", type: "datetime" }"#) == [
                #"fields.map.X.type: $line is a line number: type "int", "long", "double" or "string", not "datetime""#
            ])
        // `$$name` is the input field `$name`.
        #expect(errors(#"X: "$$oid""#).isEmpty)
        #expect(errors(#"X: { from: "$$file", extract: "(a)" }"#).isEmpty)
    }
}
