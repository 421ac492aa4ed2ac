import Foundation

/// What Azure needs before a logs-ingestion pipeline can send: a custom table and a data
/// collection rule (kind `Direct`) whose stream declares the columns the pipeline produces and
/// whose data flow writes them into that table. Built as the ARM PUT bodies (facts in
/// docs/service-facts.md, "Provisioning"), for `logship dcr`.
public struct ProvisioningPlan: Sendable {
    /// ARM api-versions the bodies are written for.
    public static let tableAPIVersion = "2022-10-01"
    public static let dcrAPIVersion = "2023-03-11"

    /// Where the resources go. A value not given stays a named placeholder, so the printed bodies
    /// and commands say plainly what to fill in.
    public struct Scope: Sendable, Equatable {
        public var subscription: String
        public var resourceGroup: String
        public var workspace: String
        public var location: String

        public static let placeholders = Scope(
            subscription: "<SUBSCRIPTION_ID>", resourceGroup: "<RESOURCE_GROUP>", workspace: "<WORKSPACE_NAME>",
            location: "<WORKSPACE_LOCATION>")

        public init(subscription: String, resourceGroup: String, workspace: String, location: String) {
            self.subscription = subscription
            self.resourceGroup = resourceGroup
            self.workspace = workspace
            self.location = location
        }

        public var workspaceResourceId: String {
            "/subscriptions/\(subscription)/resourceGroups/\(resourceGroup)/providers/Microsoft.OperationalInsights/workspaces/\(workspace)"
        }
    }

    /// One column: its name and its type in the DCR's stream and in the table. The two type sets
    /// differ: the stream says `datetime`, the table `dateTime`; the stream has no `guid`, so a
    /// guid travels as a string into a `guid` column.
    public struct Column: Sendable, Equatable {
        public var name: String
        public var dcrType: String
        public var tableType: String
        /// Where the column comes from, for the summary (`fields.map`, `fields.recordId`, `sampled`).
        public var origin: String
    }

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// `<Name>_CL`.
    public var table: String
    /// `Custom-…`, the pipeline's `target.stream`.
    public var stream: String
    /// The stream's columns, in the order the pipeline writes them.
    public var columns: [Column]
    /// True when the records carry `TimeGenerated`; otherwise the DCR's transformation stamps
    /// the ingestion time, because the table requires the column.
    public var timeGeneratedFromData: Bool
    /// What the reader should know (types guessed from a sample, a TimeGenerated that is not a datetime).
    public var notes: [String]
    /// The DCR's resource name.
    public var ruleName: String

    /// A column typed from sampled records: its property name and its types in the stream and
    /// the table.
    public struct SampledColumn: Sendable, Equatable {
        public var field: String
        public var dcrType: String
        public var tableType: String
        public init(field: String, dcrType: String, tableType: String) {
            self.field = field
            self.dcrType = dcrType
            self.tableType = tableType
        }
    }

    /// The table's columns: `TimeGenerated` (required, dateTime) first, then the stream's others.
    public var tableColumns: [Column] {
        [Column(name: "TimeGenerated", dcrType: "datetime", tableType: "dateTime", origin: "required")]
            + columns.filter { !FieldNames.isTimeGenerated($0.name) }
    }

    /// `source` when the records carry TimeGenerated; else the same with the ingestion time added.
    public var transformKql: String {
        timeGeneratedFromData ? "source" : "source | extend TimeGenerated = now()"
    }

    public var outputStream: String { "Custom-\(table)" }

    /// logship's field types in the DCR stream and in the table.
    public static func types(_ t: FieldType) -> (dcr: String, table: String) {
        switch t {
        case .string: return ("string", "string")
        case .int: return ("int", "int")
        case .long: return ("long", "long")
        case .double: return ("real", "real")
        case .bool: return ("boolean", "boolean")
        case .datetime: return ("datetime", "dateTime")
        // Stream declarations have no guid type: the value is sent as a string and lands in the
        // table's guid column (docs/service-facts.md).
        case .guid: return ("string", "guid")
        case .json: return ("dynamic", "dynamic")
        }
    }

    /// The stream and table types of a column the Data Collector API named: its suffix says
    /// (`_s` string, `_d` real, `_b` boolean, `_t` datetime, `_g` guid, sent as a string).
    public static func dataCollectorTypes(_ name: String) -> (dcr: String, table: String)? {
        guard name.count > 2, name.dropLast().hasSuffix("_") else { return nil }
        switch name.last {
        case "s": return ("string", "string")
        case "d": return ("real", "real")
        case "b": return ("boolean", "boolean")
        case "t": return ("datetime", "dateTime")
        case "g": return ("string", "guid")
        default: return nil
        }
    }

    /// The plan for a logs-ingestion pipeline. `sampled` is the DCR typing of the pipeline's
    /// records (`SchemaInference.dcrColumns`): it types the columns passthrough adds and untyped
    /// mappings; nil when no sample was read (then untyped mappings are strings and passthrough
    /// adds nothing). `fromDataCollector`: the table was made by the Data Collector API, and the
    /// pipeline must send its suffixed names (`target.columnSuffixes: "data-collector"`).
    public static func make(
        _ spec: PipelineSpec, sampled: [SampledColumn]?, fromDataCollector: Bool = false
    ) throws(Failure) -> ProvisioningPlan {
        if fromDataCollector && !spec.target.dataCollectorSuffixes {
            throw Failure(
                description: "--from-data-collector keeps the table's suffixed column names (level_s); set "
                    + "target.columnSuffixes to \"data-collector\" so the pipeline sends them, and map every field "
                    + "with a type (README, logship dcr)")
        }
        guard spec.target.api == .logsIngestion else {
            throw Failure(
                description:
                    "target.api is \"\(spec.target.api.rawValue)\"; a DCR and table are planned for a \"logs-ingestion\" pipeline"
            )
        }
        guard let stream = spec.target.stream, stream.hasPrefix("Custom-"), stream.count > "Custom-".count else {
            throw Failure(
                description: "target.stream must name a custom stream (\"Custom-<Name>\") to plan its DCR and table")
        }
        // Custom-AppLogs → AppLogs_CL; a stream already named after its table keeps one suffix.
        var base = String(stream.dropFirst("Custom-".count))
        if base.hasSuffix("_CL") { base = String(base.dropLast(3)) }
        let table = base + "_CL"
        let inferred = Dictionary((sampled ?? []).map { ($0.field, $0) }, uniquingKeysWith: { a, _ in a })

        var columns: [Column] = []
        var notes: [String] = []
        var seen = Set<String>()
        func add(_ c: Column) {
            // Column names are unique regardless of case in both the stream and the table.
            guard seen.insert(c.name.lowercased()).inserted else { return }
            columns.append(c)
        }
        for m in spec.fields.map {
            var t: (dcr: String, table: String)
            if let type = m.type {
                t = types(type)
            } else if case .constant(let node) = m.source {
                switch node.value {
                case .bool: t = ("boolean", "boolean")
                case .number: t = ("real", "real")
                case .array, .object: t = ("dynamic", "dynamic")
                case .null, .string: t = ("string", "string")
                }
            } else if case .derived(let d) = m.source {
                // A line number is a whole number; a path, host or name is text.
                t = d == .line ? ("long", "long") : ("string", "string")
            } else if let i = inferred[m.output] {
                t = (i.dcrType, i.tableType)
                if i.dcrType != "string" {
                    notes.append("\(m.output): no type in fields.map; \(t.dcr) from the sampled records")
                }
            } else {
                t = ("string", "string")
            }
            // Names the Data Collector API gave: the suffix decides, as it did in the old table.
            if spec.target.dataCollectorSuffixes, let dc = dataCollectorTypes(m.output) { t = dc }
            if FieldNames.isTimeGenerated(m.output) && t.dcr != "datetime" {
                notes.append(
                    "TimeGenerated is mapped as \(m.type?.rawValue ?? "untyped"); declared datetime, as the table requires (give it type: \"datetime\")"
                )
                t = ("datetime", "dateTime")
            }
            add(Column(name: m.output, dcrType: t.dcr, tableType: t.table, origin: "fields.map"))
        }
        if let id = spec.fields.recordId {
            let plain = ("string", "string")
            let t = spec.target.dataCollectorSuffixes ? (dataCollectorTypes(id) ?? plain) : plain
            add(Column(name: id, dcrType: t.0, tableType: t.1, origin: "fields.recordId"))
        }
        if spec.fields.passthrough {
            if sampled == nil {
                notes.append(
                    "fields.passthrough is on but no record could be sampled: only the mapped columns are declared")
            }
            let dropped = Set(spec.fields.drop)
            for c in sampled ?? []
            where !dropped.contains(c.field) && FieldNames.problem(c.field, allowTimeGenerated: true) == nil {
                var t = (dcr: c.dcrType, table: c.tableType)
                if FieldNames.isTimeGenerated(c.field) { t = ("datetime", "dateTime") }
                add(Column(name: c.field, dcrType: t.dcr, tableType: t.table, origin: "sampled"))
            }
        }
        guard !columns.isEmpty else {
            throw Failure(
                description: "the pipeline produces no column to declare (no fields.map, and no record sampled)")
        }
        let fromData = columns.contains { FieldNames.isTimeGenerated($0.name) }
        if !fromData {
            notes.append(
                "the records carry no TimeGenerated: the DCR's transformation sets it to the ingestion time (map one with type \"datetime\" to keep the event's time)"
            )
        }
        return ProvisioningPlan(
            table: table, stream: stream, columns: columns, timeGeneratedFromData: fromData, notes: notes,
            ruleName: ruleName(spec.name))
    }

    /// `logship-<pipeline name>`, in the characters a DCR name allows (letters, digits, `-`,
    /// `_`, `.`; at most 64).
    static func ruleName(_ pipeline: String) -> String {
        let cleaned = pipeline.unicodeScalars.map { s -> Character in
            s.isASCII && (CharacterSet.alphanumerics.contains(s) || s == "-" || s == "_" || s == ".")
                ? Character(s) : "-"
        }
        return String(("logship-" + String(cleaned)).prefix(64))
    }

    // MARK: ARM

    /// `…/workspaces/{w}/tables/{table}` (no host, no api-version).
    public func tablePath(_ scope: Scope) -> String { "\(scope.workspaceResourceId)/tables/\(table)" }

    /// `…/providers/Microsoft.Insights/dataCollectionRules/{name}`.
    public func rulePath(_ scope: Scope) -> String {
        "/subscriptions/\(scope.subscription)/resourceGroups/\(scope.resourceGroup)/providers/Microsoft.Insights/dataCollectionRules/\(ruleName)"
    }

    /// The table's PUT body.
    public func tableBody() -> [String: Any] {
        [
            "properties": [
                "schema": [
                    "name": table,
                    "columns": tableColumns.map { ["name": $0.name, "type": $0.tableType] },
                ] as [String: Any]
            ]
        ]
    }

    /// The DCR's PUT body: one stream, one Log Analytics destination, one data flow into the table.
    public func ruleBody(_ scope: Scope) -> [String: Any] {
        let destination = "logAnalyticsWorkspace"
        return [
            "location": scope.location,
            "kind": "Direct",
            "properties": [
                "description": "logship: \(stream) into \(table)",
                "streamDeclarations": [
                    stream: ["columns": columns.map { ["name": $0.name, "type": $0.dcrType] }]
                ],
                "destinations": [
                    "logAnalytics": [["workspaceResourceId": scope.workspaceResourceId, "name": destination]]
                ],
                "dataFlows": [
                    [
                        "streams": [stream], "destinations": [destination], "transformKql": transformKql,
                        "outputStream": outputStream,
                    ] as [String: Any]
                ],
            ] as [String: Any],
        ]
    }

    /// Sorted keys, slashes unescaped; pretty for people, compact for one-line commands.
    public static func json(_ object: Any, pretty: Bool = true) -> String {
        var options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
        if pretty { options.insert(.prettyPrinted) }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: options) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }
}
