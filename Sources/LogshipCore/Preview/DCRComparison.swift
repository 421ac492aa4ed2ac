import Foundation
import LogshipSupport

/// Logs Ingestion API: the sampled records against the columns the DCR's stream declares
/// (`target.dcr`). The service does not complain about any of this: undeclared properties are
/// dropped and mistyped values become empty, so the preview is where it gets said.
public enum DCRComparison {
    /// Warnings for `records` (transformed, as they would be sent) under `spec`'s target.
    /// Empty for the Data Collector API.
    public static func warnings(_ records: [PreviewRecord], spec: PipelineSpec) -> [SchemaWarning] {
        guard spec.target.api == .logsIngestion else { return [] }
        var out: [SchemaWarning] = []
        var parsed: [(location: String, members: [(name: String, value: SchemaInference.Value)])] = []
        for r in records {
            if let m = SchemaInference.parse(r.json) { parsed.append((r.location, m)) }
        }
        out += timeGenerated(parsed)
        guard let path = spec.target.dcr else { return out }
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : spec.baseDirectory.appendingPathComponent(path)
        let declaration: DCRDeclaration
        do {
            declaration = try DCRDeclaration.load(url)
        } catch {
            return out + [
                SchemaWarning(
                    kind: .dcrDeclaration, field: nil, records: 0, message: "target.dcr: \(error.description)")
            ]
        }
        let name = spec.target.stream ?? ""
        guard let stream = declaration.stream(name) else {
            return out + [
                SchemaWarning(
                    kind: .dcrDeclaration, field: nil, records: 0,
                    message:
                        "target.dcr: \(path) does not declare stream \(name) (it declares \(declaration.streams.map(\.name).joined(separator: ", ")))"
                )
            ]
        }
        return out + compare(parsed, stream: stream, path: path)
    }

    /// Records without `TimeGenerated`: the Logs Ingestion API has no header for it.
    static func timeGenerated(_ parsed: [(location: String, members: [(name: String, value: SchemaInference.Value)])])
        -> [SchemaWarning]
    {
        var count = 0
        var first: String?
        for (location, members) in parsed
        where !members.contains(where: { FieldNames.isTimeGenerated($0.name) && !isNull($0.value) }) {
            count += 1
            if first == nil { first = location }
        }
        guard count > 0, let first else { return [] }
        return [
            SchemaWarning(
                kind: .missingTimeGenerated, field: "TimeGenerated", records: count,
                message:
                    "TimeGenerated: \(count) record(s) carry none (first \(first)); the Logs Ingestion API takes the time from the data, "
                    + "so map the event time to it (fields.map.TimeGenerated: { from: …, type: \"datetime\" }) unless the DCR's transformation sets it"
            )
        ]
    }

    static func compare(
        _ parsed: [(location: String, members: [(name: String, value: SchemaInference.Value)])],
        stream: DCRDeclaration.Stream, path: String
    ) -> [SchemaWarning] {
        var present: [String: Int] = [:]  // declared name → records carrying it
        var extra: [String: (count: Int, location: String)] = [:]
        var extraOrder: [String] = []
        var mismatched: [String: (count: Int, location: String, example: String, kind: String)] = [:]
        for (location, members) in parsed {
            for (name, value) in members {
                guard let column = stream.column(named: name) else {
                    if extra[name] == nil { extraOrder.append(name) }
                    extra[name, default: (0, location)].count += 1
                    continue
                }
                if isNull(value) { continue }
                present[column.name, default: 0] += 1
                if !accepts(column.type, value) {
                    var m = mismatched[column.name] ?? (0, location, value.text, kindName(value))
                    m.count += 1
                    mismatched[column.name] = m
                }
            }
        }
        var out: [SchemaWarning] = []
        for name in extraOrder {
            guard let e = extra[name] else { continue }
            let fix =
                stream.column(ignoringCaseOf: name).map { "write it as declared, \"\($0.name)\" (fields.map)" }
                ?? "declare it in the DCR (and the table), or leave it out (fields.drop, or passthrough: false)"
            out.append(
                SchemaWarning(
                    kind: .undeclaredColumn, field: name, records: e.count,
                    message:
                        "\"\(name)\" is not a column of \(stream.name) in \(path) (\(e.count) record(s), first \(e.location)); "
                        + "the service drops it without a word: \(fix)"))
        }
        for c in stream.columns {
            if let m = mismatched[c.name] {
                out.append(
                    SchemaWarning(
                        kind: .columnTypeMismatch, field: c.name, records: m.count,
                        message:
                            "\"\(c.name)\" is declared \(c.type.rawValue) in \(path), but \(m.count) record(s) carry \(m.kind) (first \(m.location): \(SchemaInference.quoted(m.example, .string))); "
                            + "give it a matching type in fields.map (\(suggestion(c.type)))"))
            }
        }
        let missing = stream.columns.filter { present[$0.name] == nil && !FieldNames.isTimeGenerated($0.name) }
        if !missing.isEmpty, !parsed.isEmpty {
            out.append(
                SchemaWarning(
                    kind: .missingColumn, field: nil, records: 0,
                    message:
                        "\(missing.count) declared column(s) of \(stream.name) get no value from the \(parsed.count) sampled record(s): "
                        + "\(missing.map(\.name).joined(separator: ", ")); map them in fields.map, or they stay empty"))
        }
        return out
    }

    static func isNull(_ v: SchemaInference.Value) -> Bool { if case .null = v { return true } else { return false } }

    /// Whether a value of this JSON kind lands in a column of the declared type.
    static func accepts(_ type: DCRDeclaration.ColumnType, _ v: SchemaInference.Value) -> Bool {
        switch (type, v) {
        case (_, .null), (.dynamic, _), (.string, _): return true
        case (.int, .number(let t)):
            guard let n = Int64(t) else { return false }
            return n >= Int64(Int32.min) && n <= Int64(Int32.max)
        case (.long, .number(let t)): return Int64(t) != nil
        case (.real, .number): return true
        case (.boolean, .bool): return true
        case (.datetime, .string(let s)): return ISODateTime.parse(s) != nil
        default: return false
        }
    }

    static func kindName(_ v: SchemaInference.Value) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number(let t): return Int64(t) != nil ? "a whole number" : "a number"
        case .string: return "a string"
        case .nested(let t): return t.hasPrefix("[") ? "an array" : "an object"
        }
    }

    static func suggestion(_ t: DCRDeclaration.ColumnType) -> String {
        switch t {
        case .string: return "type: \"string\""
        case .int: return "type: \"int\""
        case .long: return "type: \"long\""
        case .real: return "type: \"double\""
        case .boolean: return "type: \"bool\""
        case .datetime: return "type: \"datetime\""
        case .dynamic: return "type: \"json\""
        }
    }
}
