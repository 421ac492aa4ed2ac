import Foundation
import LogshipSupport

// The pipeline schema: `fields` (mappings, filters) and TimeGenerated.
extension Context {
    mutating func fieldsSpec(_ node: JSONNode) -> FieldsSpec {
        var spec = FieldsSpec()
        guard let m = members(node, "fields", allowed: ["map", "passthrough", "drop", "recordId", "where"]) else {
            return spec
        }
        if let w = m["where"] { spec.filter = filterConditions(w, "fields.where") }
        if let p = bool(m["passthrough"], "fields.passthrough") { spec.passthrough = p }
        if let d = stringArray(m["drop"], "fields.drop") { spec.drop = d }
        if let r = m["recordId"], let s = string(r, "fields.recordId") {
            if let problem = FieldNames.problem(s) { error(r, "fields.recordId", problem) } else { spec.recordId = s }
        }
        if let mapNode = m["map"] {
            guard case .object(let entries) = mapNode.value else {
                error(mapNode, "fields.map", "expected an object of output field → input, found \(mapNode.typeName)")
                return spec
            }
            for (out, v) in entries {
                let path = "fields.map.\(out)"
                if let problem = FieldNames.problem(out, allowTimeGenerated: api == .logsIngestion) {
                    error(v, path, problem)
                }
                if let f = mapping(out, v, path) { spec.map.append(f) }
            }
        }
        return spec
    }

    mutating func mapping(_ out: String, _ v: JSONNode, _ path: String) -> FieldMapping? {
        if case .string = v.value {
            guard let from = string(v, path) else { return nil }
            if from.isEmpty { error(v, path, "the input field name is empty") }
            return FieldMapping(output: out, source: inputSource(from, v, path))
        }
        let allowed = ["from", "type", "format", "timezone", "default", "onError", "value", "nullValues", "extract"]
        guard case .object = v.value else {
            error(
                v, path,
                "expected an input field name (a string) or an object { from, type, format, default, onError } or { value }, found \(v.typeName)"
            )
            return nil
        }
        guard let m = members(v, path, allowed: allowed) else { return nil }
        var f: FieldMapping
        if let value = m["value"] {
            if m["from"] != nil { error(m["from"], "\(path).from", "use either \"from\" or \"value\", not both") }
            if case .string = value.value, let s = string(value, "\(path).value") {
                f = FieldMapping(
                    output: out, source: .constant(JSONNode(value: .string(s), line: value.line, column: value.column)))
            } else {
                f = FieldMapping(output: out, source: .constant(value))
            }
        } else if let fromNode = m["from"], let from = string(fromNode, "\(path).from") {
            if from.isEmpty { error(fromNode, "\(path).from", "the input field name is empty") }
            f = FieldMapping(output: out, source: inputSource(from, fromNode, "\(path).from"))
        } else {
            if m["from"] == nil {
                missing(v, "\(path).from", "missing; name the input field (from) or give a constant (value)")
            }
            return nil
        }
        if let t = choice(m["type"], "\(path).type", FieldType.self) { f.type = t }
        if let fmtNode = m["format"], let fmt = string(fmtNode, "\(path).format") {
            if let t = f.type, t != .datetime {
                error(
                    fmtNode, "\(path).format",
                    "\"format\" applies to type \"datetime\" only; this field's type is \"\(t.rawValue)\"")
            } else if f.type == nil {
                error(fmtNode, "\(path).format", "\"format\" applies to type \"datetime\" only; add type: \"datetime\"")
            } else if let problem = DateTimeFormat.problem(fmt) {
                error(fmtNode, "\(path).format", problem)
            }
            f.format = fmt
        }
        if let tzNode = m["timezone"], let tz = timezone(tzNode, "\(path).timezone") {
            if f.type != .datetime {
                error(
                    tzNode, "\(path).timezone",
                    "\"timezone\" applies to type \"datetime\" only\(f.type.map { "; this field's type is \"\($0.rawValue)\"" } ?? "; add type: \"datetime\"")"
                )
            }
            f.timezone = tz
        }
        if let d = m["default"] {
            if case .string = d.value, let s = string(d, "\(path).default") {
                f.defaultValue = JSONNode(value: .string(s), line: d.line, column: d.column)
            } else {
                f.defaultValue = d
            }
        }
        if let e = choice(m["onError"], "\(path).onError", ConversionFailure.self) { f.onError = e }
        if let n = m["nullValues"], let tokens = stringArray(n, "\(path).nullValues") {
            if case .constant = f.source {
                error(n, "\(path).nullValues", "applies to an input field (from), not to a constant (value)")
            }
            if case .derived(let d) = f.source {
                error(n, "\(path).nullValues", "applies to an input field, not to \(d.rawValue)")
            }
            f.nullValues = tokens
        }
        if let n = m["extract"], let re = string(n, "\(path).extract") {
            switch f.source {
            case .constant: error(n, "\(path).extract", "applies to a field (from), not to a constant (value)")
            case .derived(.line):
                error(n, "\(path).extract", "applies to an input field, $file, $host or $pipeline, not to $line")
            default:
                if let problem = LinePattern.extractProblem(re) {
                    error(n, "\(path).extract", problem)
                } else {
                    f.extract = re
                }
            }
        }
        if case .derived(.line) = f.source, let t = f.type, ![.int, .long, .double, .string].contains(t) {
            error(
                Self.child(v, "type"), "\(path).type",
                "$line is a line number: type \"int\", \"long\", \"double\" or \"string\", not \"\(t.rawValue)\"")
        }
        return f
    }

    /// Where `from` points: an input field, or (`$file`, `$line`, `$host`, `$pipeline`) a value
    /// logship derives. `$$name` is the input field `$name`.
    mutating func inputSource(_ from: String, _ node: JSONNode, _ path: String) -> FieldMapping.Source {
        // `$$` was turned into `$` (and `${VAR}` into its value) already: the text as written tells.
        guard from.hasPrefix("$"), case .string(let written) = node.value, !written.hasPrefix("$$"),
            !written.hasPrefix("${")
        else {
            return .input(from)
        }
        if let d = DerivedValue(rawValue: from) { return .derived(d) }
        let known = DerivedValue.allCases.map(\.rawValue).joined(separator: ", ")
        error(
            node, path,
            "\"\(from)\" is not a value logship derives; known: \(known) (an input field whose name begins with $ is written $$\(from.dropFirst()))"
        )
        return .input(from)
    }

    mutating func filterConditions(_ node: JSONNode, _ path: String) -> [FilterCondition] {
        guard case .array(let items) = node.value else {
            error(
                node, path,
                "expected a list of conditions [{ field, equals | in | matches | gt | gte | lt | lte | exists }, { any: [ … ] }], found \(node.typeName)"
            )
            return []
        }
        if items.isEmpty, path.hasSuffix(".any") { error(node, path, "the list is empty; name at least one condition") }
        return items.enumerated().compactMap { k, item in filterCondition(item, "\(path)[\(k)]") }
    }

    static let filterKeys = ["field", "equals", "in", "matches", "gt", "gte", "lt", "lte", "exists", "any"]

    mutating func filterCondition(_ node: JSONNode, _ path: String) -> FilterCondition? {
        guard case .object = node.value else {
            error(
                node, path,
                "expected a condition { field, equals | in | matches | gt | gte | lt | lte | exists } or { any: [ … ] }, found \(node.typeName)"
            )
            return nil
        }
        guard let m = members(node, path, allowed: Self.filterKeys) else { return nil }
        if let any = m["any"] {
            for k in Self.filterKeys where k != "any" && m[k] != nil {
                error(
                    m[k], "\(path).\(k)",
                    "a condition is either { any: [ … ] } or a test on a field, not both; move it into the any list")
            }
            return .any(filterConditions(any, "\(path).any"))
        }
        guard let fieldNode = m["field"] else {
            missing(
                node, "\(path).field", "missing; name the input field the condition tests (or write { any: [ … ] })")
            return nil
        }
        guard let field = string(fieldNode, "\(path).field") else { return nil }
        if field.isEmpty { error(fieldNode, "\(path).field", "the input field name is empty") }
        var tests: [FilterTest] = []
        func scalar(_ n: JSONNode, _ p: String) -> FilterValue? {
            switch n.value {
            case .string(let s): return .string(s)
            case .number(let d) where d.isFinite: return .number(d)
            case .bool(let b): return .bool(b)
            case .null: return .null
            default:
                error(n, p, "expected a string, number, true, false or null, found \(n.typeName)")
                return nil
            }
        }
        if let n = m["equals"], let v = scalar(n, "\(path).equals") { tests.append(.equals(v)) }
        if let n = m["in"] {
            if case .array(let items) = n.value {
                if items.isEmpty { error(n, "\(path).in", "the list is empty; no record could pass") }
                let values = items.enumerated().compactMap { k, i in scalar(i, "\(path).in[\(k)]") }
                tests.append(.oneOf(values))
            } else {
                error(n, "\(path).in", "expected a list of values, found \(n.typeName)")
            }
        }
        if let n = m["matches"], let re = string(n, "\(path).matches") {
            do {
                _ = try NSRegularExpression(pattern: re)
                tests.append(.matches(re))
            } catch {
                self.error(n, "\(path).matches", "\"\(re)\" is not a valid regular expression (ICU syntax)")
            }
        }
        for c in FilterComparison.allCases {
            guard let n = m[c.rawValue] else { continue }
            switch n.value {
            case .number(let d) where d.isFinite: tests.append(.compare(c, .number(d)))
            case .string(let s): tests.append(.compare(c, .string(s)))
            default:
                error(
                    n, "\(path).\(c.rawValue)",
                    "expected a number (compared numerically) or a string (compared byte for byte, e.g. ISO 8601 times), found \(Self.found(n))"
                )
            }
        }
        if let n = m["exists"], let b = bool(n, "\(path).exists") { tests.append(.exists(b)) }
        let operators = Self.filterKeys.filter { $0 != "field" && $0 != "any" }
        if !operators.contains(where: { m[$0] != nil }) {
            error(node, path, "no test; add one of: \(operators.joined(separator: ", "))")
        }
        return .field(field, tests)
    }

    /// The Logs Ingestion API has no time-generated header: `TimeGenerated` must be in the data.
    /// A pipeline moved over from the Data Collector API keeps its `timeGeneratedField`, and
    /// gets a `TimeGenerated` column from the same input with type datetime.
    mutating func deriveTimeGenerated(_ fields: inout FieldsSpec, target: TargetSpec, m: [String: JSONNode]) {
        guard let tf = target.timeGeneratedField else { return }
        let tfNode = Self.child(m["target"], "timeGeneratedField")
        if fields.map.contains(where: { FieldNames.isTimeGenerated($0.output) }) {
            if tf != "TimeGenerated" {
                warning(
                    tfNode, "target.timeGeneratedField",
                    "fields.map.TimeGenerated is mapped; \"\(tf)\" is not used for it (leave timeGeneratedField out)")
            }
            return
        }
        if tf == "TimeGenerated" { return }
        if let f = fields.map.first(where: { $0.output == tf }) {
            var copy = f
            copy.output = "TimeGenerated"
            copy.type = .datetime
            fields.map.insert(copy, at: 0)
        } else if fields.passthrough {
            // Mapping the input consumes it; a rename to itself keeps its own column too.
            fields.map.insert(FieldMapping(output: tf, source: .input(tf)), at: 0)
            fields.map.insert(FieldMapping(output: "TimeGenerated", source: .input(tf), type: .datetime), at: 0)
        }
    }

    /// `target.dcr`: the declaration must be readable and declare the stream.

    /// `target.columnSuffixes: "data-collector"`: every column gets the suffix the Data Collector
    /// API gave it (`_s` string, `_d` number, `_b` bool, `_t` datetime, `_g` guid; README
    /// "Migrating"), so records land in a migrated table's old columns. The suffix comes from
    /// the mapping's type, so every mapping needs one and passthrough (whose types the data
    /// decides, record by record) is off.
    mutating func dataCollectorNames(_ fields: inout FieldsSpec, _ target: inout TargetSpec, m: [String: JSONNode]) {
        let node = Self.child(m["target"], "columnSuffixes")
        if fields.passthrough {
            error(
                node, "target.columnSuffixes",
                "\"data-collector\" needs fields.passthrough: false: a suffix comes from a mapping's type, so map "
                    + "every field you send with its type")
            return
        }
        let mapNode = Self.child(m["fields"], "map")
        var renamed: [String: String] = [:]
        for (k, f) in fields.map.enumerated() where !FieldNames.isTimeGenerated(f.output) {
            let suffix: String?
            switch f.type {
            case .string?: suffix = "_s"
            case .int?, .long?, .double?: suffix = "_d"
            case .bool?: suffix = "_b"
            case .datetime?: suffix = "_t"
            case .guid?: suffix = "_g"
            case .json?: suffix = nil
            case nil:
                if case .constant(let c) = f.source {
                    switch c.value {
                    case .string: suffix = "_s"
                    case .number: suffix = "_d"
                    case .bool: suffix = "_b"
                    default: suffix = nil
                    }
                } else {
                    suffix = nil
                }
            }
            guard let suffix else {
                error(
                    Self.child(mapNode, f.output) ?? mapNode, "fields.map.\(f.output)",
                    "with target.columnSuffixes \"data-collector\", give it a type (string, int, long, double, bool, "
                        + "datetime or guid): the type names its column (\(f.output)_s, \(f.output)_d, …)")
                continue
            }
            renamed[f.output] = f.output + suffix
            fields.map[k].output = f.output + suffix
        }
        if let id = fields.recordId { fields.recordId = id + "_g" }
        if let tf = target.timeGeneratedField, let r = renamed[tf] { target.timeGeneratedField = r }
    }
}
