import Foundation
import Testing

@testable import LogshipCore

/// 2026-11-23T12:00:00Z: the clock every TimeGenerated check here is measured against.
private let now = Date(timeIntervalSince1970: 1_795_435_200)

private func infer(_ lines: [String], _ options: SchemaInference.Options = .init(now: now)) -> InferredSchema {
    SchemaInference.infer(
        lines.enumerated().map { PreviewRecord($1, location: "in.ndjson:\($0 + 1)") }, options: options)
}

/// Column names after TimeGenerated.
private func names(_ s: InferredSchema) -> [String] { s.columns.dropFirst().map(\.name) }

private func column(_ s: InferredSchema, _ name: String) -> InferredColumn? { s.columns.first { $0.name == name } }

private func kinds(_ s: InferredSchema) -> [SchemaWarning.Kind] { s.warnings.map(\.kind) }

@Suite struct SchemaInferenceTests {
    @Test func theClockIsWhatTheTestsSayItIs() {
        #expect(ISODateTime.format(Int64(now.timeIntervalSince1970 * 1000)) == "2026-11-23T12:00:00.000Z")
    }

    // MARK: New columns, per the reference

    @Test(arguments: [
        (#"1"#, "x_d"), (#"-2.5"#, "x_d"), (#"1e3"#, "x_d"), (#"0"#, "x_d"), (#"12345678901234567890"#, "x_d"),
        (#"true"#, "x_b"), (#"false"#, "x_b"),
        (#""2026-11-22T10:00:00Z""#, "x_t"), (#""2026-11-22T10:00:00.123Z""#, "x_t"),
        (#""2026-11-22T10:00:00+02:00""#, "x_t"),
        (#""2026-11-22T10:00:00.1234567-0530""#, "x_t"), (#""2026-11-22T10:00Z""#, "x_t"),
        (#""2026-11-22T10:00:00""#, "x_t"),
        (#""627655da-ab13-49df-a094-a0c50ff9bb51""#, "x_g"), (#""627655DA-AB13-49DF-A094-A0C50FF9BB51""#, "x_g"),
        (#""hello""#, "x_s"), (#""""#, "x_s"), (#""42""#, "x_s"), (#""true""#, "x_s"),
        (#""2026-11-22""#, "x_s"), (#""2026-11-22 10:00:00""#, "x_s"), (#""20261122T100000Z""#, "x_s"),
        (#""2026-13-01T00:00:00Z""#, "x_s"),
        (#""2026-02-29T00:00:00Z""#, "x_s"), (#""2028-02-29T00:00:00Z""#, "x_t"),
        (#""627655daab1349dfa094a0c50ff9bb51""#, "x_s"), (#""{627655da-ab13-49df-a094-a0c50ff9bb51}""#, "x_s"),
        (#""627655da-ab13-49df-a094-a0c50ff9bb5g""#, "x_s"),
        (#"{"a": 1}"#, "x_s"), (#"[1, 2]"#, "x_s"), (#"[]"#, "x_s"),
    ])
    func newColumnSuffix(_ value: String, _ expected: String) {
        let s = infer([#"{"x": \#(value)}"#])
        #expect(names(s) == [expected], "value \(value)")
        #expect(column(s, expected)?.records == 1)
    }

    @Test func nullIsDroppedNotAColumn() {
        let s = infer([#"{"a": null, "b": 1}"#, #"{"a": null, "b": 2}"#])
        #expect(names(s) == ["b_d"])
        let t = infer([#"{"a": null}"#, #"{"a": "x"}"#, #"{"a": null}"#])
        #expect(names(t) == ["a_s"])
        #expect(column(t, "a_s")?.records == 1)
        #expect(t.warnings.isEmpty)
    }

    @Test func foundationsBooleansAreNotNumbersAndViceVersa() {
        // JSONSerialization hands out NSNumber for both; 1 and 0 must stay numbers.
        let s = infer([#"{"one": 1, "zero": 0, "yes": true, "no": false}"#])
        #expect(names(s) == ["one_d", "zero_d", "yes_b", "no_b"])
    }

    @Test func typesNamesAndSuffixes() {
        #expect(InferredColumnType.allCases.map(\.suffix) == ["_s", "_d", "_b", "_t", "_g"])
        let s = infer([
            #"{"s": "a", "d": 1.5, "b": true, "t": "2026-11-22T00:00:00Z", "g": "627655da-ab13-49df-a094-a0c50ff9bb51"}"#
        ])
        #expect(s.columns.map(\.type) == [.datetime, .string, .real, .bool, .datetime, .guid])
    }

    // MARK: Order, counts, examples

    @Test func timeGeneratedFirstThenFirstAppearance() {
        let s = infer([
            #"{"b": 1, "a": "x"}"#,
            #"{"c": true, "a": "y"}"#,
            #"{"a": "z", "d": [1], "b": 2}"#,
        ])
        #expect(s.columns.map(\.name) == ["TimeGenerated", "b_d", "a_s", "c_b", "d_s"])
        #expect(s.columns.map(\.records) == [3, 2, 3, 1, 1])
        #expect(s.columns.map(\.example) == ["", "1", "x", "true", "[1]"])
        #expect(s.columns[0].note == "ingestion time")
        #expect(s.sampledRecords == 3)
    }

    @Test func examplesKeepNumbersAndNestedValuesAsWritten() {
        let s = infer([#"{"id": 12345678901234567890, "f": 0.1, "o": {"z": 1, "a": "é"}, "e": "tab\there"}"#])
        #expect(column(s, "id_d")?.example == "12345678901234567890")
        #expect(column(s, "f_d")?.example == "0.1")
        #expect(column(s, "o_s")?.example == #"{"z": 1, "a": "é"}"#)
        #expect(column(s, "e_s")?.example == "tab\there")
    }

    @Test func escapedKeysAreReadAsTheirText() {
        let s = infer([#"{"a\u0062": 1, "caf\u00e9": "x"}"#])
        #expect(names(s) == ["ab_d", "café_s"])
    }

    // MARK: Two columns for one field

    @Test func aNumberThenTextCreatesTwoColumns() {
        let s = infer([#"{"code": 200}"#, #"{"code": "n/a"}"#, #"{"code": 404}"#, #"{"code": "none"}"#])
        #expect(names(s) == ["code_d", "code_s"])
        #expect(column(s, "code_d")?.records == 2)
        #expect(column(s, "code_s")?.records == 2)
        #expect(kinds(s) == [.twoColumns])
        let w = s.warnings[0]
        #expect(w.field == "code")
        #expect(w.records == 2)
        #expect(w.message.contains("code_d (2 record(s), first in.ndjson:1: 200)"))
        #expect(w.message.contains(#"code_s (2 record(s), first in.ndjson:2: "n/a")"#))
        #expect(w.message.contains("fields.map"))
    }

    @Test(arguments: [
        // The first record's type wins; later values the column can take are converted into it.
        ([#"200"#, #""42""#, #""-1.5e2""#], ["x_d"]),
        ([#"true"#, #""false""#, #""TRUE""#], ["x_b"]),
        ([#""2026-11-22T00:00:00Z""#, #""2026-11-23T00:00:00+01:00""#], ["x_t"]),
        ([#""627655da-ab13-49df-a094-a0c50ff9bb51""#, #""42f2dc05-f0bb-4b12-ab43-8477ce4cda11""#], ["x_g"]),
        ([#""abc""#, #"5"#, #"true"#, #"{"a":1}"#, #""2026-11-22T00:00:00Z""#], ["x_s"]),
        ([#"{"a":1}"#, #"5"#], ["x_s"]),
        // …and values it cannot take open a second column.
        ([#"200"#, #""abc""#], ["x_d", "x_s"]),
        ([#"200"#, #""""#], ["x_d", "x_s"]),
        ([#"200"#, #""0x10""#], ["x_d", "x_s"]),
        ([#"200"#, #""NaN""#], ["x_d", "x_s"]),
        ([#"200"#, #"true"#], ["x_d", "x_b"]),
        ([#"true"#, #"1"#], ["x_b", "x_d"]),
        ([#"true"#, #""yes""#], ["x_b", "x_s"]),
        ([#"1"#, #"[1]"#], ["x_d", "x_s"]),
        ([#""627655da-ab13-49df-a094-a0c50ff9bb51""#, #""none""#], ["x_g", "x_s"]),
        ([#""2026-11-22T00:00:00Z""#, #""yesterday""#], ["x_t", "x_s"]),
        ([#""2026-11-22T00:00:00Z""#, #"5"#, #""x""#], ["x_t", "x_d", "x_s"]),
    ])
    func existingColumnsTakeWhatTheyCanConvert(_ values: [String], _ expected: [String]) {
        let s = infer(values.map { #"{"x": \#($0)}"# })
        #expect(names(s) == expected, "values \(values)")
        #expect(kinds(s) == (expected.count > 1 ? [.twoColumns] : []))
    }

    @Test func aRecordPutsAFieldIntoOneColumnOnly() {
        // Duplicate keys (possible in passthrough NDJSON) are counted once.
        let s = infer([#"{"x": 1, "x": 2}"#])
        #expect(column(s, "x_d")?.records == 1)
    }

    // MARK: Oversized values

    @Test func valuesOverMaxValueBytesAreReported() {
        let big = String(repeating: "é", count: 20)  // 40 bytes of UTF-8, 20 characters
        let s = infer(
            [
                #"{"a": "short", "b": "\#(big)"}"#, #"{"a": "\#(String(repeating: "x", count: 33))"}"#,
                #"{"o": {"k": "\#(big)"}}"#,
            ],
            .init(maxValueBytes: 32, now: now))
        #expect(kinds(s) == [.oversizedValue, .oversizedValue, .oversizedValue])
        #expect(s.warnings.map(\.field) == ["b", "a", "o"])
        #expect(
            s.warnings[0].message
                == #""b": 1 value(s) longer than limits.maxValueBytes (32 bytes; largest 40, first in.ndjson:1); the service cuts long values without a word (the Data Collector API at 32766 bytes)"#
        )
        #expect(s.warnings[1].message.contains("largest 33, first in.ndjson:2"))
    }

    @Test func valuesAtTheLimitAreFine() {
        let s = infer(
            [#"{"a": "\#(String(repeating: "x", count: 32))"}"#, #"{"n": 123456789012345678901234567890123}"#],
            .init(maxValueBytes: 32, now: now))
        #expect(s.warnings.isEmpty)
    }

    // MARK: Column counts

    @Test func moreColumnsThanMaxFields() {
        let fields = (1...51).map { #""f\#($0)": \#($0)"# }.joined(separator: ", ")
        let s = infer(["{\(fields)}"])
        #expect(s.columns.count == 52)
        #expect(kinds(s) == [.tooManyColumns])
        #expect(s.warnings[0].message.hasPrefix("the sample creates 51 columns, more than limits.maxFields (50)"))
        #expect(infer(["{\(fields)}"], .init(maxFields: 60, now: now)).warnings.isEmpty)
    }

    @Test func columnsSpreadOverRecordsCountToo() {
        // No record has more than 3 fields, but the table gets 6 columns.
        let s = infer([#"{"a":1,"b":2,"c":3}"#, #"{"d":1,"e":2,"f":3}"#], .init(maxFields: 5, now: now))
        #expect(kinds(s) == [.tooManyColumns])
    }

    @Test func moreThan500Columns() {
        let records = (0..<6).map { r in "{" + (0..<100).map { #""c\#(r)_\#($0)": 1"# }.joined(separator: ",") + "}" }
        let s = infer(records, .init(maxFields: 500, now: now))
        #expect(s.columns.count == 601)
        #expect(kinds(s) == [.columnLimit])
        #expect(
            s.warnings[0].message.hasPrefix(
                "the sample creates 600 columns; a table holds at most 500 custom columns and the service drops the rest (c5_0_d, c5_1_d"
            ))
        #expect(kinds(infer(records, .init(maxFields: 50, now: now))) == [.columnLimit, .tooManyColumns])
    }

    // MARK: TimeGenerated

    private func timeOptions() -> SchemaInference.Options { .init(timeGeneratedField: "EventTime", now: now) }

    @Test func timeGeneratedFromTheTimeField() {
        let s = infer(
            [#"{"EventTime": "2026-11-23T11:00:00.000Z", "x": 1}"#, #"{"EventTime": "2026-11-21T12:00:01Z"}"#],
            timeOptions())
        #expect(s.warnings.isEmpty)
        #expect(
            s.columns[0]
                == InferredColumn(
                    name: "TimeGenerated", field: "TimeGenerated", type: .datetime, records: 2,
                    example: "2026-11-23T11:00:00.000Z", note: "from EventTime"))
        // The field also stays a column of its own.
        #expect(names(s) == ["EventTime_t", "x_d"])
    }

    @Test func oldValuesAreReplacedByIngestionTime() {
        let s = infer(
            [
                #"{"EventTime": "2026-11-20T00:00:00.000Z"}"#, #"{"EventTime": "2026-11-23T11:00:00.000Z"}"#,
                #"{"EventTime": "2019-05-01T08:30:00.000Z"}"#,
            ],
            timeOptions())
        #expect(kinds(s) == [.oldTimeGenerated])
        #expect(s.warnings[0].records == 2)
        #expect(
            s.warnings[0].message
                == "TimeGenerated: 2 record(s) have EventTime values more than two days old (oldest 2019-05-01T08:30:00.000Z, first in.ndjson:1); "
                + "the service replaces them with the ingestion time; the event time stays in EventTime_t: query that column for when events happened"
        )
        #expect(s.columns[0].note == "from EventTime in 1 of 3 records; ingestion time in the rest")
    }

    @Test func whenEveryValueIsOldTimeGeneratedIsTheIngestionTime() {
        let s = infer([#"{"EventTime": "2020-01-01T00:00:00Z"}"#], timeOptions())
        #expect(s.columns[0].example == "")
        #expect(s.columns[0].note == "ingestion time (no usable EventTime value)")
    }

    @Test func twoDaysIsTheEdge() {
        let edge = infer([#"{"EventTime": "2026-11-21T12:00:00.000Z"}"#], timeOptions())
        #expect(edge.warnings.isEmpty)
        let past = infer([#"{"EventTime": "2026-11-21T11:59:59.999Z"}"#], timeOptions())
        #expect(kinds(past) == [.oldTimeGenerated])
    }

    @Test func futureValues() {
        let soon = infer([#"{"EventTime": "2026-11-23T12:04:00Z"}"#], timeOptions())
        #expect(soon.warnings.isEmpty)
        let s = infer(
            [#"{"EventTime": "2026-11-23T13:00:00+00:00"}"#, #"{"EventTime": "2026-11-23T14:00:00+01:00"}"#],
            timeOptions())
        #expect(kinds(s) == [.futureTimeGenerated])
        #expect(s.warnings[0].records == 2)
        #expect(s.warnings[0].message.contains("in the future (latest 2026-11-23T13:00:00.000Z, first in.ndjson:1)"))
        #expect(s.warnings[0].message.contains("time zone"))
    }

    @Test func invalidAndMissingTimeValues() {
        let s = infer(
            [
                #"{"EventTime": "22/Nov/2026:10:00:00 +0000"}"#, #"{"EventTime": "2026-11-23T11:00:00.1234Z"}"#,
                #"{"EventTime": 1795435200}"#, #"{"other": 1}"#, #"{"EventTime": null}"#,
            ], timeOptions())
        #expect(kinds(s) == [.invalidTimeGenerated, .missingTimeGenerated])
        #expect(s.warnings[0].records == 3)
        #expect(s.warnings[0].message.contains("first in.ndjson:1: 22/Nov/2026:10:00:00 +0000"))
        #expect(s.warnings[0].message.contains(#"map EventTime with type "datetime""#))
        #expect(s.warnings[1].records == 2)
        #expect(
            s.warnings[1].message
                == "TimeGenerated: 2 record(s) have no EventTime value (first in.ndjson:4); the service uses the ingestion time for them"
        )
    }

    @Test func withoutATimeFieldNothingIsCheckedAboutTime() {
        let s = infer([#"{"EventTime": "2001-01-01T00:00:00Z"}"#])
        #expect(s.warnings.isEmpty)
        #expect(s.columns[0].note == "ingestion time")
    }

    // MARK: Other

    @Test func reservedNamesAreReported() {
        let s = infer([#"{"Type": "x", "tenant": 1, "ok": 2}"#])
        #expect(names(s) == ["ok_d"])
        #expect(kinds(s) == [.reservedField, .reservedField])
    }

    @Test func aRecordFoundationCannotReadIsReported() {
        let s = infer([#"{"a": 1}"#, #"{"a": 1e400}"#, #"not json"#])
        #expect(kinds(s) == [.invalidRecord, .invalidRecord])
        #expect(s.warnings[0].message.hasPrefix("in.ndjson:2: the transformed record is not a JSON object"))
        #expect(s.columns[0].records == 1)
    }

    @Test func isoDateTimeParser() {
        #expect(ISODateTime.parse("1970-01-01T00:00:00Z") == .init(millis: 0, fractionDigits: 0))
        #expect(ISODateTime.parse("1970-01-01T01:00:00.5+01:00") == .init(millis: 500, fractionDigits: 1))
        #expect(ISODateTime.parse("2026-11-23T12:00:00Z")?.millis == 1_795_435_200_000)
        #expect(ISODateTime.parse("1969-12-31T23:59:59.999Z")?.millis == -1)
        #expect(ISODateTime.parse("2026-11-23T24:00:00Z") == nil)
        #expect(ISODateTime.parse("2026-11-23T12:00:00Zx") == nil)
        #expect(ISODateTime.parse("2026-11-23T12:00:00.Z") == nil)
    }
}
