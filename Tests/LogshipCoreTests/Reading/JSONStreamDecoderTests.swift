import Foundation
import Testing

@testable import LogshipCore

/// A decode result copied out of the decoder's buffers.
private struct Item {
    var provenance: Provenance
    var text = ""
    var fields: [String: String] = [:]
    var reason: String?
}

private func decodeJSON(
    _ input: [UInt8], piece: Int = 7, bufferSize: Int = 64, maxRecordBytes: Int = 1 << 20,
    stillBeingWritten: Bool = false
) throws -> ([Item], JSONStreamDecoder) {
    let d = JSONStreamDecoder(
        source: PieceSource(input, piece: piece), fileIndex: 2, invalidUTF8: .replace, bufferSize: bufferSize,
        maxRecordBytes: maxRecordBytes)
    if stillBeingWritten { d.stillBeingWritten = { true } }
    var out: [Item] = []
    var guardCount = 0
    while let r = try d.next() {
        guardCount += 1
        if guardCount > 100_000 { Issue.record("the decoder does not end"); break }
        switch r {
        case .record(let v):
            var item = Item(provenance: v.provenance, text: String(decoding: v.base, as: UTF8.self))
            for f in v.fields {
                item.fields[String(decoding: v.nameBytes(f), as: UTF8.self)] = String(
                    decoding: v.value(f), as: UTF8.self)
            }
            out.append(item)
        case .rejected(let p, let e, _):
            out.append(Item(provenance: p, reason: e.reason))
        }
    }
    return (out, d)
}

private func decodeJSON(_ text: String, piece: Int = 7, bufferSize: Int = 64, stillBeingWritten: Bool = false) throws
    -> [Item]
{
    try decodeJSON(Array(text.utf8), piece: piece, bufferSize: bufferSize, stillBeingWritten: stillBeingWritten).0
}

@Suite struct JSONStreamDecoderTests {
    /// Each record's provenance is exact: its offset is where its `{` is in the input, its line
    /// that byte's line, its ordinal its place among the file's records.
    private func expectExactPositions(_ items: [Item], in text: String) {
        let bytes = Array(text.utf8)
        for (k, item) in items.enumerated() where item.reason == nil {
            let off = Int(item.provenance.offset)
            #expect(bytes[off] == UInt8(ascii: "{"), "record \(k) at \(off)")
            #expect(Array(bytes[off..<off + item.text.utf8.count]) == Array(item.text.utf8))
            #expect(item.provenance.line == bytes[0..<off].filter { $0 == 0x0A }.count + 1)
            #expect(item.provenance.ordinal == Int64(k))
            #expect(item.provenance.fileIndex == 2)
        }
    }

    @Test(arguments: [1, 3, 64, 4096]) func compactArray(piece: Int) throws {
        let text = #"[{"a":1,"b":"x"},{"a":2,"b":"y"},{"a":3,"b":"z"}]"#
        let items = try decodeJSON(text, piece: piece)
        #expect(items.map(\.fields) == [["a": "1", "b": "x"], ["a": "2", "b": "y"], ["a": "3", "b": "z"]])
        #expect(items.allSatisfy { $0.reason == nil })
        expectExactPositions(items, in: text)
    }

    @Test func prettyPrintedArrayWithNestedValuesAndAwkwardStrings() throws {
        let text = """
            [
              {
                "msg": "quote \\" and ] } [ { , brackets",
                "nested": { "list": [1, [2, {"deep": "]"}], {}], "o": {"k": null} },
                "n": -1.5e3
              },
              {"empty": {}, "arr": [], "t": true, "f": false, "z": null},
              {}
            ]

            """
        let items = try decodeJSON(text, piece: 5, bufferSize: 64)
        #expect(items.count == 3)
        #expect(items.allSatisfy { $0.reason == nil }, "\(items.compactMap(\.reason))")
        #expect(items[0].fields["msg"] == #"quote \" and ] } [ { , brackets"#)
        #expect(items[0].fields["nested"] == #"{ "list": [1, [2, {"deep": "]"}], {}], "o": {"k": null} }"#)
        #expect(items[0].fields["n"] == "-1.5e3")
        #expect(items[0].provenance.line == 2)
        #expect(items[1].provenance.line == 7)
        #expect(items[1].fields["arr"] == "[]")
        #expect(items[2].fields.isEmpty)
        expectExactPositions(items, in: text)
    }

    @Test func singleObjectAndSequencesOfObjectsAndArrays() throws {
        #expect(try decodeJSON(#"{"only":1}"#).map(\.fields) == [["only": "1"]])
        let text = "{\"a\":1}\n[{\"a\":2},{\"a\":3}]{\"a\":4}\n[]\n[{\"a\":5}]\n"
        let items = try decodeJSON(text)
        #expect(items.map { $0.fields["a"] } == ["1", "2", "3", "4", "5"])
        expectExactPositions(items, in: text)
    }

    @Test func byteOrderMarkEmptyArrayAndEmptyFile() throws {
        let bom = try decodeJSON("\u{FEFF}[{\"a\":1}]")
        #expect(bom.map(\.fields) == [["a": "1"]])
        #expect(bom[0].provenance.offset == 4, "offsets count the mark: they are positions in the file")
        #expect(try decodeJSON("[]").isEmpty)
        #expect(try decodeJSON("  [ \n ]\n").isEmpty)
        #expect(try decodeJSON("").isEmpty)
        #expect(try decodeJSON("\n\n").isEmpty)
    }

    /// Garbage between records is rejected with its line and column; reading goes on after it.
    @Test func garbageBetweenRecordsIsRejectedWithLineAndColumn() throws {
        let text = "[\n  {\"a\":1},\n  oops {\"a\":2},\n  {\"a\":3} {\"a\":4}\n]\nxyz\n{\"a\":5}\n"
        let items = try decodeJSON(text, piece: 3)
        let reasons = items.compactMap(\.reason)
        #expect(items.compactMap { $0.fields["a"] } == ["1", "2", "3", "4", "5"])
        #expect(reasons.count == 3, "\(reasons)")
        #expect(reasons[0].hasPrefix("line 3, column 3: "), "\(reasons)")
        #expect(reasons[0].contains("found 'o'"))
        #expect(reasons[1].hasPrefix("line 4, column 11: ',' or ']' expected"), "\(reasons)")
        #expect(reasons[2].hasPrefix("line 6, column 1: a JSON object or array expected"), "\(reasons)")
        // Rejects take ordinals too: a resumed run counts the same records.
        #expect(items.map(\.provenance.ordinal) == Array(0..<Int64(items.count)))
        expectExactPositions(
            items.filter { $0.reason == nil }.enumerated().map { k, i in
                var c = i; c.provenance.ordinal = Int64(k); return c
            }, in: text)
    }

    @Test func invalidRecordsAndElementsAreRejectedAndSkipped() throws {
        let text =
            "[{\"a\":1},\n {\"a\":tru, \"b\":[1,2]},\n 42, [1,{\"x\":1}], \"s\",\n {\"a\":\"\\x\"},\n {\"a\":2},]"
        let items = try decodeJSON(text)
        #expect(items.compactMap { $0.fields["a"] } == ["1", "2"])
        let reasons = items.compactMap(\.reason)
        #expect(reasons.count == 6, "\(reasons)")
        #expect(reasons[0].hasPrefix("line 2, column 7: invalid JSON"), "\(reasons)")
        #expect(reasons[1] == "line 3, column 2: an array element must be an object, found '4'")
        #expect(reasons[2].hasPrefix("line 3, column 6: an array element must be an object"))
        #expect(reasons[4].hasPrefix("line 4, column 8: invalid JSON: invalid escape"), "\(reasons)")
        #expect(reasons[5].contains("trailing comma"))
    }

    @Test func aFileCutMidRecordIsRejectedOrHeldBackWhileWritten() throws {
        let text = "[{\"a\":1},{\"a\":2},{\"a\":\"unfinis"
        let items = try decodeJSON(text)
        #expect(items.compactMap { $0.fields["a"] } == ["1", "2"])
        #expect(items.last?.reason == "line 1: the file ends inside this record (cut short?)")
        #expect(items.last?.provenance.offset == 17)

        let (held, d) = try decodeJSON(Array(text.utf8), stillBeingWritten: true)
        #expect(held.count == 2 && held.allSatisfy { $0.reason == nil })
        #expect(d.heldBackAt == 17)

        let open = try decodeJSON("[{\"a\":1},\n{\"a\":2}\n")
        #expect(open.last?.reason == "line 3, column 1: the file ends inside the top-level array (']' missing)")
    }

    @Test func aRecordOverTheLimitIsRejectedAndTheNextOneRead() throws {
        let big = String(repeating: "x", count: 500)
        let text = "[{\"a\":\"\(big)\"},{\"a\":1}]"
        let (items, _) = try decodeJSON(Array(text.utf8), piece: 50, bufferSize: 64, maxRecordBytes: 256)
        #expect(items.count == 2)
        #expect(items[0].reason?.contains("record longer than 256 bytes") == true)
        #expect(items[1].fields == ["a": "1"])
    }

    @Test func invalidUTF8IsReplaced() throws {
        var bytes = Array("[{\"a\":\"x".utf8)
        bytes.append(0xFF)
        bytes += Array("y\"},{\"a\":\"ok\"}]".utf8)
        let (items, d) = try decodeJSON(bytes)
        #expect(items.map(\.fields) == [["a": "x\u{FFFD}y"], ["a": "ok"]])
        #expect(d.replacedUTF8Records == 1)
    }

    /// The same records as NDJSON lines: each JSON record's bytes are the line's, whatever the
    /// piece size, and the NDJSON scanner's verdicts are the same.
    @Test(arguments: [1, 13, 4096]) func agreesWithTheNDJSONDecoderOnAwkwardRecords(piece: Int) throws {
        let lines = awkwardNDJSON(lines: 400, seed: 14).split(separator: "\n").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        .filter { $0.hasPrefix("{") && !$0.contains("unterminated") && !$0.hasSuffix(" x") }
        let text = "[\n" + lines.joined(separator: ",\n") + "\n]\n"
        let items = try decodeJSON(Array(text.utf8), piece: piece, bufferSize: 128).0
        #expect(items.count == lines.count)
        for (line, item) in zip(lines, items) {
            let valid = Array(line.utf8).withUnsafeBytes { b -> Bool in
                var s = NDJSONScanner(b)
                return (try? s.object(into: SlotBuffer())) != nil
            }
            if valid {
                #expect(item.reason == nil && item.text == line, "\(line)")
            } else {
                #expect(item.reason != nil, "\(line)")
            }
        }
    }
}
