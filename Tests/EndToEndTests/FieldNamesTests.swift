import Foundation
import Testing

/// The record ordinal a `fields.recordId` GUID carries in its last 8 bytes (the first 8 are
/// the file's key): how a stored row is matched with the input record it came from.
func ordinal(ofRecordId id: String) -> Int? {
    let parts = id.split(separator: "-")
    guard parts.count == 5 else { return nil }
    return UInt64(parts[3] + parts[4], radix: 16).map { Int($0) }
}

/// Issue 12, items 5 and 6: `logship run` against `logship emulate`, two processes; every
/// value of every record is stored, under distinct names, and no body holds a duplicate key
/// or a packed column cut into invalid JSON.
@Suite(.serialized) struct FieldNamesTests {
    @Test func inputFieldsThatCollideAfterSanitisingAreStoredUnderDistinctNames() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let n = 300
        dir.write(
            "in.ndjson",
            (0..<n).map {
                #"{"seq":\#($0),"my field":\#($0),"my_field":\#($0 + 1000),"a.b":\#($0 + 2000),"a_b":\#($0 + 3000)}"#
            }.joined(separator: "\n") + "\n")
        let p = dir.write(
            "p.json5",
            """
            { version: 1, name: "names", source: { files: ["in.ndjson"], format: "ndjson" },
              fields: { passthrough: true, recordId: "LogshipId" },
              limits: { maxBodyBytes: 5000 },
              target: { logType: "Names", workspaceId: "${LOGSHIP_WORKSPACE_ID}", sharedKey: "${LOGSHIP_SHARED_KEY}" } }
            """)
        let state = dir.file("state")
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
            env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")

        let rows = emu.rows("Names_CL")
        #expect(rows.count == n)
        var seen = Set<Int>()
        for row in rows {
            guard let id = row["LogshipId_g"] as? String, let k = ordinal(ofRecordId: id) else {
                Issue.record("a row without a record id: \(row)")
                continue
            }
            seen.insert(k)
            #expect(row["seq_d"] as? Int == k)
            #expect(row["my_field_2_d"] as? Int == k, "\(row)")
            #expect(row["my_field_d"] as? Int == k + 1000, "\(row)")
            #expect(row["a_b_2_d"] as? Int == k + 2000, "\(row)")
            #expect(row["a_b_d"] as? Int == k + 3000, "\(row)")
        }
        #expect(seen == Set(0..<n), "every record once")
        #expect(emu.stats()["duplicateKeys"] as? Int == 0, "no body held a key twice")
        #expect(report(state)["collidingNames"] as? Int == 2 * n)
        #expect(r.stderr.contains("numbered name"), "the summary says so: \(r.stderr)")

        // preview shows the names that will be sent and says why.
        let pv = try run(["preview", p.path, "--records", "1"])
        #expect(pv.status == 0, "\(pv.stderr)")
        #expect(pv.stdout.contains("\"my_field_2\": 0"), "\(pv.stdout)")
        #expect(pv.stdout.contains("\"my field\" → my_field_2"), "\(pv.stdout)")
    }

    @Test func packedFieldsSpillIntoValidJSONColumnsAndNothingIsLost() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let n = 40
        var expected: [[String: String]] = []
        var lines: [String] = []
        for k in 0..<n {
            // 599 fields of 60 bytes each: the packed text of one record is about 42 KB.
            var values: [String: String] = [:]
            var parts: [String] = []
            for f in 0..<599 {
                let stem = "r\(k)f\(f)-"
                let v = stem + String(repeating: "v", count: 60 - stem.count)
                let name = String(format: "field_%03d", f)
                values[name] = v
                parts.append("\"\(name)\":\"\(v)\"")
            }
            expected.append(values)
            lines.append("{" + parts.joined(separator: ",") + "}")
        }
        dir.write("in.ndjson", lines.joined(separator: "\n") + "\n")
        let p = dir.write(
            "p.json5",
            """
            { version: 1, name: "pack", source: { files: ["in.ndjson"], format: "ndjson" },
              fields: { passthrough: true, recordId: "LogshipId" },
              limits: { maxFields: 50, tooManyFields: "pack", maxBodyBytes: 500000 },
              target: { logType: "Packed", workspaceId: "${LOGSHIP_WORKSPACE_ID}", sharedKey: "${LOGSHIP_SHARED_KEY}" } }
            """)
        let state = dir.file("state")
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
            env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")

        let rows = emu.rows("Packed_CL")
        #expect(rows.count == n)
        var seen = Set<Int>()
        for row in rows {
            guard let id = row["LogshipId_g"] as? String, let k = ordinal(ofRecordId: id), k < n else {
                Issue.record("a row without a record id")
                continue
            }
            seen.insert(k)
            var got: [String: String] = [:]
            for (column, value) in row {
                if column.hasPrefix("field_"), column.hasSuffix("_s") {
                    got[String(column.dropLast(2))] = value as? String
                } else if column.hasPrefix("Extra") {
                    let text = value as? String ?? ""
                    #expect(text.utf8.count <= 32_766)
                    guard let packed = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                        Issue.record("record \(k): \(column) is not a JSON object: …\(text.suffix(40))")
                        continue
                    }
                    for (name, v) in packed {
                        #expect(got[name] == nil, "\(name) twice")
                        got[name] = v as? String
                    }
                }
            }
            #expect(got == expected[k], "record \(k): every field, every value whole")
            #expect(row.keys.filter { $0.hasPrefix("Extra") }.sorted() == ["Extra2_s", "Extra_s"])
        }
        #expect(seen == Set(0..<n))
        #expect(emu.int("truncatedValues") == 0, "the service had nothing to cut")
        #expect(emu.stats()["duplicateKeys"] as? Int == 0)
        #expect(report(state)["truncatedValues"] as? Int == 0)
        #expect(report(state)["packedRecords"] as? Int == n)
    }
}
