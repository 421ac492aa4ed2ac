import Foundation
import LogshipSupport

/// The type of a Log Analytics column, as the suffix of its name says.
public enum InferredColumnType: String, Sendable, CaseIterable, Codable {
    case string, real, bool, datetime, guid

    /// `_s`, `_d`, `_b`, `_t`, `_g`.
    public var suffix: String {
        switch self {
        case .string: return "_s"
        case .real: return "_d"
        case .bool: return "_b"
        case .datetime: return "_t"
        case .guid: return "_g"
        }
    }
}

/// One column of the table a sample of records would create.
public struct InferredColumn: Sendable, Equatable, Codable {
    /// As queried: `Status_d`, or `TimeGenerated`.
    public var name: String
    /// The property name in the records sent (`Status`).
    public var field: String
    public var type: InferredColumnType
    /// Sampled records that put a value into this column.
    public var records: Int
    /// The first value seen, as text (strings without quotes, nested values as JSON); empty
    /// for a TimeGenerated that is the ingestion time.
    public var example: String
    /// Where TimeGenerated comes from ("from EventTime", "ingestion time"); nil for other columns.
    public var note: String?
}

/// Something in the sample that will hit one of the service's limits or surprise a query.
public struct SchemaWarning: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// More columns than `limits.maxFields`.
        case tooManyColumns = "too-many-columns"
        /// More than the 500 custom columns a table can hold.
        case columnLimit = "column-limit"
        /// A field whose values would create two columns (`x_d` and `x_s`).
        case twoColumns = "two-columns"
        /// Values longer than `limits.maxValueBytes`.
        case oversizedValue = "oversized-value"
        /// TimeGenerated values more than two days old: the service uses the ingestion time.
        case oldTimeGenerated = "old-time-generated"
        /// TimeGenerated values in the future.
        case futureTimeGenerated = "future-time-generated"
        /// Time field values that are not ISO 8601 with at most millisecond precision.
        case invalidTimeGenerated = "invalid-time-generated"
        /// Records without a value in the time field.
        case missingTimeGenerated = "missing-time-generated"
        /// A property name the service reserves and drops.
        case reservedField = "reserved-field"
        /// Logs Ingestion API: a column the DCR's stream declares that no sampled record carries.
        case missingColumn = "missing-column"
        /// Logs Ingestion API: a property the stream does not declare (the service drops it silently).
        case undeclaredColumn = "undeclared-column"
        /// Logs Ingestion API: values whose JSON type does not fit the declared column type.
        case columnTypeMismatch = "column-type-mismatch"
        /// Logs Ingestion API: the DCR declaration (`target.dcr`) cannot be used.
        case dcrDeclaration = "dcr-declaration"
        /// A record that is not a JSON object (a transformer bug if it ever shows).
        case invalidRecord = "invalid-record"
        /// Something the reader noticed (truncated values, files that matched nothing, read errors).
        case reading = "reading"
    }

    public var kind: Kind
    /// The field concerned, when there is one.
    public var field: String?
    /// How many sampled records are concerned (0 when it is not about records).
    public var records: Int
    public var message: String

    public init(kind: Kind, field: String?, records: Int, message: String) {
        self.kind = kind
        self.field = field
        self.records = records
        self.message = message
    }
}

/// A transformed record (the JSON object that would be sent) and where its input came from.
public struct PreviewRecord: Sendable, Equatable {
    public var json: [UInt8]
    /// `file:line` of the input record.
    public var location: String
    /// Datetime fields read in a `timezone`: the raw value beside the UTC one it became
    /// (`Logged: "2026-03-29 02:30:00" in Europe/Amsterdam → 2026-03-29T01:30:00.000Z`).
    public var timezoneNotes: [String] = []

    public init(json: [UInt8], location: String) {
        self.json = json
        self.location = location
    }

    public init(_ json: String, location: String) {
        self.init(json: Array(json.utf8), location: location)
    }
}

/// The columns a sample would create, and the warnings about it.
public struct InferredSchema: Sendable, Equatable {
    /// `TimeGenerated` first, then in order of first appearance.
    public var columns: [InferredColumn]
    public var warnings: [SchemaWarning]
    public var sampledRecords: Int
}

/// The client's own reading of how Log Analytics types the columns of a new custom table
/// (reference: "Record type and properties"). Written apart from the emulator's inference on
/// purpose: when the two disagree, a test comparing preview with the emulator's table shows it.
public enum SchemaInference {
    /// The service cuts values at this many bytes of UTF-8 (docs/service-facts.md).
    public static let serviceMaxValueBytes = 32_766
    /// Custom columns per table; the service drops the rest.
    public static let maxColumns = 500
    /// TimeGenerated older than this is replaced by the ingestion time.
    public static let maxAgeMillis: Int64 = 2 * 86_400_000
    /// TimeGenerated this far ahead is almost certainly a clock or time-zone mistake.
    public static let futureToleranceMillis: Int64 = 5 * 60_000

    /// The pipeline settings inference depends on, and the clock.
    public struct Options: Sendable {
        /// `target.timeGeneratedField`.
        public var timeGeneratedField: String?
        /// `limits.maxFields`.
        public var maxFields: Int
        /// `limits.maxValueBytes`.
        public var maxValueBytes: Int
        /// The clock TimeGenerated ages are measured against.
        public var now: Date
        /// The Logs Ingestion API's records carry `TimeGenerated` themselves: not reserved there,
        /// and the time checks read it.
        public var api: TargetAPI = .dataCollector
        /// `limits.tooManyFields`: the advice offers `pack` only where it is not already set.
        public var tooManyFields: TooManyFieldsPolicy = .fail

        public init(
            timeGeneratedField: String? = nil, maxFields: Int = 50, maxValueBytes: Int = 32_766, now: Date = Date()
        ) {
            self.timeGeneratedField = timeGeneratedField
            self.maxFields = maxFields
            self.maxValueBytes = maxValueBytes
            self.now = now
        }

        public init(spec: PipelineSpec, now: Date = Date()) {
            let ingestion = spec.target.api == .logsIngestion
            self.init(
                timeGeneratedField: ingestion ? "TimeGenerated" : spec.target.timeGeneratedField,
                maxFields: spec.limits.maxFields,
                maxValueBytes: spec.limits.maxValueBytes, now: now)
            api = spec.target.api
            tooManyFields = spec.limits.tooManyFields
        }
    }

    /// A property value, as far as column typing cares.
    enum Value {
        case null
        case bool(Bool)
        /// The number as written.
        case number(String)
        case string(String)
        /// An object or array, as compact JSON text.
        case nested(String)

        var text: String {
            switch self {
            case .null: return "null"
            case .bool(let b): return b ? "true" : "false"
            case .number(let s), .string(let s), .nested(let s): return s
            }
        }
    }

    /// The type a brand-new column gets for `v`; nil for null, which creates nothing.
    static func newColumnType(_ v: Value) -> InferredColumnType? {
        switch v {
        case .null: return nil
        case .bool: return .bool
        case .number: return .real
        case .nested: return .string
        case .string(let s):
            if isGUID(s) { return .guid }
            if ISODateTime.parse(s) != nil { return .datetime }
            return .string
        }
    }

    /// Whether an existing column of type `t` takes `v` (the service converts it) rather than
    /// creating a second column for the field.
    static func columnAccepts(_ t: InferredColumnType, _ v: Value) -> Bool {
        switch (t, v) {
        case (_, .null): return true
        case (.string, _): return true
        case (.real, .number): return true
        case (.real, .string(let s)): return isDecimalNumber(s)
        case (.bool, .bool): return true
        case (.bool, .string(let s)): return s.lowercased() == "true" || s.lowercased() == "false"
        case (.datetime, .string(let s)): return ISODateTime.parse(s) != nil
        case (.guid, .string(let s)): return isGUID(s)
        default: return false
        }
    }

    static func isGUID(_ s: String) -> Bool { GUIDText.isValid(s) }

    /// A decimal number with nothing around it ("42", "-1.5e3"); not "0x10", "NaN" or "".
    static func isDecimalNumber(_ s: String) -> Bool {
        var bytes = Array(s.utf8)
        guard !bytes.isEmpty else { return false }
        return bytes.withUnsafeMutableBytes { ValueParsers.parseDouble(UnsafeRawBufferPointer($0)) } != nil
    }

    // MARK: - Inference

    /// One column being built, with the record that created it (for messages).
    private struct Building {
        var column: InferredColumn
        var firstLocation: String
    }

    public static func infer(_ records: [PreviewRecord], options: Options) -> InferredSchema {
        var columns: [Building] = []
        var byField: [String: [Int]] = [:]
        var warnings: [SchemaWarning] = []

        var reserved: [String: (count: Int, location: String)] = [:]
        var reservedOrder: [String] = []
        var oversized: [String: (count: Int, largest: Int, location: String)] = [:]
        var oversizedOrder: [String] = []
        var invalid: [(String, String)] = []

        let tf = options.timeGeneratedField
        var time = TimeCheck(options: options)

        for record in records {
            guard let members = parse(record.json) else {
                invalid.append((record.location, String(decoding: record.json.prefix(120), as: UTF8.self)))
                continue
            }
            if let tf { time.check(members.first { $0.name == tf }?.value, at: record.location) }
            var usedThisRecord = Set<Int>()
            for (name, value) in members {
                if case .null = value { continue }
                // The record's own TimeGenerated is the time column (checked above), not a custom one.
                if options.api == .logsIngestion && FieldNames.isTimeGenerated(name) { continue }
                if FieldNames.isReserved(name) {
                    if reserved[name] == nil { reservedOrder.append(name) }
                    reserved[name, default: (0, record.location)].count += 1
                    continue
                }
                switch value {
                case .string(let s), .nested(let s):
                    let n = s.utf8.count
                    if n > options.maxValueBytes {
                        if oversized[name] == nil { oversizedOrder.append(name) }
                        var o = oversized[name] ?? (0, 0, record.location)
                        o.count += 1
                        o.largest = max(o.largest, n)
                        oversized[name] = o
                    }
                default: break
                }
                // The first column of the field that takes the value wins; otherwise a new one.
                var index = (byField[name] ?? []).first { columnAccepts(columns[$0].column.type, value) }
                if index == nil, let type = newColumnType(value) {
                    columns.append(
                        Building(
                            column: InferredColumn(
                                name: name + type.suffix, field: name, type: type, records: 0, example: value.text),
                            firstLocation: record.location))
                    index = columns.count - 1
                    byField[name, default: []].append(columns.count - 1)
                }
                if let i = index, !usedThisRecord.contains(i) {
                    usedThisRecord.insert(i)
                    columns[i].column.records += 1
                }
            }
        }

        // Two columns for one field: the service keeps both, and queries see half the values in each.
        var fieldOrder: [String] = []
        for c in columns where !fieldOrder.contains(c.column.field) { fieldOrder.append(c.column.field) }
        for field in fieldOrder {
            guard let idx = byField[field], idx.count > 1 else { continue }
            let parts = idx.map { i -> String in
                let c = columns[i]
                return
                    "\(c.column.name) (\(c.column.records) record(s), first \(c.firstLocation): \(quoted(c.column.example, c.column.type)))"
            }
            warnings.append(
                SchemaWarning(
                    kind: .twoColumns, field: field,
                    records: idx.dropFirst().reduce(0) { $0 + columns[$1].column.records },
                    message: "\"\(field)\" would create \(idx.count) columns: \(parts.joined(separator: ", ")); "
                        + "give it one type in fields.map (type: \"string\" keeps every value) so all its values land in one column"
                ))
        }

        let custom = columns.count
        // `pack` bounds the fields of each record, not the distinct names across records: with
        // it already set, these columns come from many records, and only fewer names help.
        let packed = options.tooManyFields == .pack
        if custom > maxColumns {
            let dropped = columns[maxColumns...].map(\.column.name)
            let advice =
                packed
                ? "limits.tooManyFields is already \"pack\", which bounds the fields of each record, not the names across records: map only the fields you need (fields.passthrough: false) or drop fields (fields.drop)"
                : "drop fields or pack them (limits.tooManyFields: \"pack\")"
            warnings.append(
                SchemaWarning(
                    kind: .columnLimit, field: nil, records: 0,
                    message:
                        "the sample creates \(custom) columns; a table holds at most \(maxColumns) custom columns and the service drops the rest "
                        + "(\(dropped.prefix(5).joined(separator: ", "))\(dropped.count > 5 ? ", …" : "")); \(advice)"))
        }
        // With maxFields at the table's own limit, the 500-column warning already says it.
        if custom > options.maxFields && options.maxFields < maxColumns {
            let advice =
                packed
                ? "drop fields (fields.drop) or map only what you need (fields.passthrough: false); limits.tooManyFields is already \"pack\", which bounds each record, not the table"
                : "drop fields (fields.drop), map only what you need (fields.passthrough: false), or pack the rest (limits.tooManyFields: \"pack\")"
            warnings.append(
                SchemaWarning(
                    kind: .tooManyColumns, field: nil, records: 0,
                    message: "the sample creates \(custom) columns, more than limits.maxFields (\(options.maxFields)); "
                        + "Log Analytics recommends at most 50 per table: \(advice)"))
        }
        for name in oversizedOrder {
            guard let o = oversized[name] else { continue }
            warnings.append(
                SchemaWarning(
                    kind: .oversizedValue, field: name, records: o.count,
                    message:
                        "\"\(name)\": \(o.count) value(s) longer than limits.maxValueBytes (\(options.maxValueBytes) bytes; largest \(o.largest), first \(o.location)); "
                        + "the service cuts long values without a word (the Data Collector API at \(serviceMaxValueBytes) bytes)"
                ))
        }
        for name in reservedOrder {
            guard let r = reserved[name] else { continue }
            warnings.append(
                SchemaWarning(
                    kind: .reservedField, field: name, records: r.count,
                    message:
                        "\"\(name)\" is reserved by Log Analytics; the service drops or renames it (first \(r.location)); rename it in fields.map"
                ))
        }
        for (location, excerpt) in invalid.prefix(5) {
            warnings.append(
                SchemaWarning(
                    kind: .invalidRecord, field: nil, records: 1,
                    message: "\(location): the transformed record is not a JSON object Foundation can read: \(excerpt)")
            )
        }
        // Without TimeGenerated a Logs Ingestion record has no time at all; DCRComparison says so.
        warnings += time.warnings(columns: columns.map(\.column)).filter {
            options.api == .dataCollector || $0.kind != .missingTimeGenerated
        }

        var out = columns.map(\.column)
        out.insert(time.column(sampled: records.count - invalid.count), at: 0)
        return InferredSchema(columns: out, warnings: warnings, sampledRecords: records.count)
    }

    static func quoted(_ example: String, _ type: InferredColumnType) -> String {
        let cut = example.count > 40 ? String(example.prefix(40)) + "…" : example
        return type == .real || type == .bool ? cut : "\"\(cut)\""
    }

    // MARK: - Reading one record

    /// The record's members in the order written. Foundation reads the values (an independent
    /// check that the transformer wrote valid JSON); the order comes from a scan of the keys,
    /// because Foundation's dictionaries do not keep it.
    static func parse(_ json: [UInt8]) -> [(name: String, value: Value)]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else { return nil }
        // Names in order, with numbers and nested values as written: Foundation would round
        // 20-digit ids and reorder object keys, and the service stores the text it was sent.
        var names: [(String, String?)] = []
        let fields = SlotBuffer(capacity: 16)
        let ok = json.withUnsafeBytes { raw -> Bool in
            var scanner = NDJSONScanner(raw)
            guard (try? scanner.object(into: fields)) != nil else { return false }
            for f in fields.view {
                let n = UnsafeRawBufferPointer(rebasing: raw[Int(f.nameStart)..<Int(f.nameStart + f.nameCount)])
                var name = String(decoding: n, as: UTF8.self)
                if f.nameEscaped {
                    let b = ByteBuffer(capacity: n.count)
                    Transformer.unescape(n, to: b)
                    name = String(decoding: b.toArray(), as: UTF8.self)
                }
                let asWritten =
                    f.kind == .number || f.kind == .nested
                    ? String(decoding: raw[Int(f.valueStart)..<Int(f.valueStart + f.valueCount)], as: UTF8.self) : nil
                names.append((name, asWritten))
            }
            return true
        }
        guard ok else { return nil }
        var seen = Set<String>()
        var out: [(name: String, value: Value)] = []
        for (name, asWritten) in names where !seen.contains(name) {
            seen.insert(name)
            guard let v = object[name] else { continue }
            var parsed = value(v)
            switch parsed {
            case .number: parsed = .number(asWritten ?? parsed.text)
            case .nested: parsed = .nested(asWritten ?? parsed.text)
            default: break
            }
            out.append((name, parsed))
        }
        return out
    }

    /// Foundation's `true` is an NSNumber too; only its class tells it from the number 1.
    private static let booleanClass: AnyClass = type(of: NSNumber(value: true))

    static func value(_ v: Any) -> Value {
        if v is NSNull { return .null }
        if let s = v as? String { return .string(s) }
        if let n = v as? NSNumber {
            if type(of: n) == booleanClass { return .bool(n.boolValue) }
            let d = n.doubleValue
            return .number(d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d))
        }
        if let data = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .withoutEscapingSlashes]) {
            return .nested(String(decoding: data, as: UTF8.self))
        }
        return .nested("\(v)")
    }
}
