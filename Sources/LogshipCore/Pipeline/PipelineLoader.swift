import Foundation
import LogshipSupport

/// Reads a pipeline file into a `PipelineSpec`, collecting every problem with its location
/// and key path instead of stopping at the first.
public struct PipelineLoader {
    public static let presets = ["nginx-combined", "apache-common", "apache-combined", "syslog-rfc3164", "syslog-rfc5424", "raw"]
    /// Keys whose `${VAR}` may be left unset in the file: flags or LOGSHIP_* variables can supply them.
    static let credentialKeys: Set<String> = [
        "target.workspaceId", "target.sharedKey", "target.endpoint", "target.tenantId", "target.clientId",
        "target.clientSecret", "target.federatedTokenFile",
    ]

    public let environment: [String: String]
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    public struct Result: Sendable {
        public var spec: PipelineSpec?
        /// Errors and warnings; `spec` is nil when any is an error.
        public var problems: [PipelineProblem]
        public var errors: [PipelineProblem] { problems.filter { $0.severity == .error } }
        public var warnings: [PipelineProblem] { problems.filter { $0.severity == .warning } }
    }

    /// Loads and checks `url`. Never throws: unreadable files become problems too.
    public func load(_ url: URL) -> Result {
        let display = url.lastPathComponent
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            return Result(
                spec: nil,
                problems: [
                    .init(.error, file: url.path, line: nil, column: nil, path: "", message: "cannot read the pipeline file: \(Self.reason(error))")
                ])
        }
        let root: JSONNode
        do {
            root = try JSON5Reader.parse(data)
        } catch {
            return Result(
                spec: nil,
                problems: [.init(.error, file: display, line: error.line, column: error.column, path: "", message: "syntax error: \(error.message)")])
        }
        var ctx = Context(file: display, environment: environment)
        let spec = ctx.pipeline(root, url: url.standardizedFileURL)
        let problems = ctx.problems
        return Result(spec: problems.contains { $0.severity == .error } ? nil : spec, problems: problems)
    }

    static func reason(_ error: Error) -> String {
        if let e = error as? CocoaError, let u = e.underlying as? POSIXError { return u.localizedDescription }
        if let e = error as NSError?, let u = e.userInfo[NSUnderlyingErrorKey] as? NSError {
            return u.localizedDescription
        }
        return error.localizedDescription
    }
}

// MARK: - Reading with key paths

struct Context {
    let file: String
    let environment: [String: String]
    var problems: [PipelineProblem] = []
    /// Key paths an unknown key was taken for a typo of: their "missing" error would only repeat it.
    var typoTargets: Set<String> = []
    /// `target.api` as written (peeked before `fields`, whose column rules depend on it).
    var api: TargetAPI = .dataCollector

    mutating func error(_ node: JSONNode?, _ path: String, _ message: String) {
        problems.append(.init(.error, file: file, line: node?.line, column: node?.column, path: path, message: message))
    }

    mutating func warning(_ node: JSONNode?, _ path: String, _ message: String) {
        problems.append(.init(.warning, file: file, line: node?.line, column: node?.column, path: path, message: message))
    }

    /// The members of an object node, after reporting keys that are not in `allowed`.
    mutating func members(_ node: JSONNode, _ path: String, allowed: [String]) -> [String: JSONNode]? {
        guard case .object(let m) = node.value else {
            error(node, path, "expected an object, found \(node.typeName)")
            return nil
        }
        var out: [String: JSONNode] = [:]
        for (k, v) in m {
            if allowed.contains(k) {
                out[k] = v
            } else {
                let where_ = Self.join(path, k)
                if let near = Self.nearest(k, allowed) { typoTargets.insert(Self.join(path, near)) }
                error(v, where_, "unknown key \"\(k)\"\(Self.hint(k, allowed)); allowed here: \(allowed.joined(separator: ", "))")
            }
        }
        return out
    }

    /// A required key is absent: reported unless an unknown key already looked like a typo of it.
    mutating func missing(_ node: JSONNode?, _ path: String, _ message: String) {
        if typoTargets.contains(path) { return }
        error(node, path, message)
    }

    /// Words people write for a value that has another name here (`"integer"` for `"int"`).
    static let aliases: [String: [String]] = [
        "integer": ["int"], "int32": ["int"], "int64": ["long"], "number": ["double"], "float": ["double"],
        "real": ["double"], "decimal": ["double"], "boolean": ["bool"], "date": ["datetime"], "time": ["datetime"],
        "timestamp": ["datetime"], "uuid": ["guid"], "text": ["string", "lines"], "str": ["string"],
        "object": ["json"], "dynamic": ["json"], "jsonl": ["ndjson"], "jsonlines": ["ndjson"],
        "log": ["lines"], "tsv": ["csv"], "gz": ["gzip"], "azure": ["public"], "azurecloud": ["public"],
    ]

    /// The candidate `word` most likely stands for: same letters in another case, a known alias, two
    /// letters swapped, one being a prefix of the other (`integer` / `int`), or a small edit distance.
    static func nearest(_ word: String, _ candidates: [String]) -> String? {
        let w = word.lowercased()
        if let same = candidates.first(where: { $0.lowercased() == w }) { return same }
        if let a = aliases[w]?.first(where: { candidates.contains($0) }) { return a }
        // Two neighbouring letters swapped (`tpye`, `form`) is one slip, though edit distance counts two.
        let swapped = candidates.filter { c in
            let a = Array(w), b = Array(c.lowercased())
            guard a.count == b.count else { return false }
            let diff = a.indices.filter { a[$0] != b[$0] }
            return diff.count == 2 && diff[1] == diff[0] + 1 && a[diff[0]] == b[diff[1]] && a[diff[1]] == b[diff[0]]
        }
        if swapped.count == 1 { return swapped[0] }
        let prefixed = candidates.filter { c in
            let l = c.lowercased()
            return min(l.count, w.count) >= 3 && (l.hasPrefix(w) || w.hasPrefix(l))
        }
        if prefixed.count == 1 { return prefixed[0] }
        return Suggest.nearest(word, in: candidates)
    }

    /// ` (did you mean "x"?)` or nothing.
    static func hint(_ word: String, _ candidates: [String]) -> String {
        nearest(word, candidates).map { " (did you mean \"\($0)\"?)" } ?? ""
    }

    /// The node of `key` inside an object node, for messages that should point at it.
    static func child(_ node: JSONNode?, _ key: String) -> JSONNode? {
        guard let node, case .object(let m) = node.value else { return nil }
        return m.first { $0.key == key }?.node
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// A string, with `${VAR}` replaced. Unset variables are errors (credential keys: see `configValue`).
    mutating func string(_ node: JSONNode?, _ path: String) -> String? {
        guard let node else { return nil }
        guard case .string(let s) = node.value else {
            error(node, path, "expected a string, found \(node.typeName)")
            return nil
        }
        switch interpolate(s) {
        case .success(let v): return v
        case .failure(let missing):
            error(node, path, "environment variable \(missing.name) is not set (referenced as ${\(missing.name)}); set it, or write the value itself (a literal $ is written $$)")
            return nil
        }
    }

    /// A credential-like string: an unset `${VAR}` is kept as a reference for later resolution.
    mutating func configValue(_ node: JSONNode?, _ path: String) -> ConfigValue? {
        guard let node else { return nil }
        guard case .string(let s) = node.value else {
            error(node, path, "expected a string, found \(node.typeName)")
            return nil
        }
        switch interpolate(s) {
        case .success(let v): return .value(v)
        case .failure(let missing): return .unsetVariable(missing.name)
        }
    }

    struct MissingVariable: Error { let name: String }

    /// `${NAME}` → the environment's value; `$$` → `$`.
    func interpolate(_ s: String) -> Swift.Result<String, MissingVariable> {
        guard s.contains("$") else { return .success(s) }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == "$" {
                let next = s.index(after: i)
                if next < s.endIndex, s[next] == "$" {
                    out.append("$")
                    i = s.index(after: next)
                    continue
                }
                if next < s.endIndex, s[next] == "{", let close = s[next...].firstIndex(of: "}") {
                    let name = String(s[s.index(after: next)..<close])
                    guard let v = environment[name] else { return .failure(MissingVariable(name: name)) }
                    out += v
                    i = s.index(after: close)
                    continue
                }
            }
            out.append(c)
            i = s.index(after: i)
        }
        return .success(out)
    }

    mutating func bool(_ node: JSONNode?, _ path: String) -> Bool? {
        guard let node else { return nil }
        guard case .bool(let b) = node.value else {
            error(node, path, "expected true or false, found \(node.typeName)")
            return nil
        }
        return b
    }

    mutating func integer(_ node: JSONNode?, _ path: String, _ range: ClosedRange<Int>) -> Int? {
        guard let node else { return nil }
        guard case .number(let d) = node.value, d.isFinite, d == d.rounded(), abs(d) < 1e15 else {
            error(node, path, "expected a whole number between \(range.lowerBound) and \(range.upperBound), found \(Self.found(node))")
            return nil
        }
        guard range.contains(Int(d)) else {
            error(node, path, "\(Int(d)) is out of range; allowed: \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return Int(d)
    }

    mutating func number(_ node: JSONNode?, _ path: String, _ range: ClosedRange<Double>) -> Double? {
        guard let node else { return nil }
        guard case .number(let d) = node.value, d.isFinite else {
            error(node, path, "expected a number between \(Self.show(range.lowerBound)) and \(Self.show(range.upperBound)), found \(Self.found(node))")
            return nil
        }
        guard range.contains(d) else {
            error(node, path, "\(Self.show(d)) is out of range; allowed: \(Self.show(range.lowerBound)) to \(Self.show(range.upperBound))")
            return nil
        }
        return d
    }

    /// `120`, not `120.0`.
    static func show(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }

    /// What a number-valued key found instead: a fraction is shown, a quoted number gets a hint.
    static func found(_ node: JSONNode) -> String {
        switch node.value {
        case .number(let d) where d.isFinite: return show(d)
        case .string(let s) where Double(s.trimmingCharacters(in: .whitespaces)) != nil && s.count <= 20:
            return "a string; write the number without quotes: \(s.trimmingCharacters(in: .whitespaces))"
        default: return node.typeName
        }
    }

    mutating func choice<E: RawRepresentable & CaseIterable>(_ node: JSONNode?, _ path: String, _ type: E.Type) -> E?
    where E.RawValue == String {
        guard let node, let s = string(node, path) else { return nil }
        if let v = E(rawValue: s) { return v }
        let allowed = E.allCases.map(\.rawValue)
        error(node, path, "\"\(s)\" is not allowed\(Self.hint(s, allowed)); allowed: \(allowed.joined(separator: ", "))")
        return nil
    }

    mutating func stringArray(_ node: JSONNode?, _ path: String, allowSingle: Bool = false) -> [String]? {
        guard let node else { return nil }
        if allowSingle, case .string = node.value { return string(node, path).map { [$0] } }
        guard case .array(let items) = node.value else {
            error(node, path, "expected an array of strings, found \(node.typeName)")
            return nil
        }
        var out: [String] = []
        for (k, item) in items.enumerated() {
            if let s = string(item, "\(path)[\(k)]") { out.append(s) }
        }
        return out
    }

    /// A single character (delimiter, quote) as one byte.
    mutating func character(_ node: JSONNode?, _ path: String) -> UInt8? {
        guard let node, let s = string(node, path) else { return nil }
        guard s.utf8.count == 1, let b = s.utf8.first, b != 0x0A, b != 0x0D else {
            error(node, path, "expected a single ASCII character other than a line break, found \"\(s)\"")
            return nil
        }
        return b
    }
}

// MARK: - The pipeline schema

extension Context {
    mutating func pipeline(_ root: JSONNode, url: URL) -> PipelineSpec? {
        let top = ["version", "name", "source", "fields", "target", "limits", "upload", "errors"]
        guard case .object = root.value else {
            error(root, "", "a pipeline file holds one object { version: 1, source: …, target: … }, found \(root.typeName)")
            return nil
        }
        guard let m = members(root, "", allowed: top) else { return nil }

        if let v = m["version"] {
            if case .number(let d) = v.value, d == d.rounded(), abs(d) < 1e15 {
                if d != 1 { error(v, "version", "version \(Self.show(d)) is not supported; this logship reads version 1") }
            } else {
                error(v, "version", "expected the number 1, found \(Self.found(v))")
            }
        } else {
            missing(root, "version", "missing; add `version: 1`")
        }
        var name = url.deletingPathExtension().lastPathComponent
        if name.hasSuffix(".json") { name = String(name.dropLast(5)) }
        if let n = m["name"], let s = string(n, "name") {
            if s.isEmpty || !s.utf8.allSatisfy({ FieldNames.isLetter($0) || FieldNames.isDigit($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E })
                || s.hasPrefix(".")
            {
                error(n, "name", "\"\(s)\" cannot name a state directory; use letters, digits, '-', '_' and '.'")
            } else {
                name = s
            }
        }
        let source = m["source"].flatMap { sourceSpec($0) }
        if m["source"] == nil { missing(root, "source", "missing; say which files to read (source.files) and their format") }
        if case .string(let a)? = Self.child(m["target"], "api")?.value, let api = TargetAPI(rawValue: a) { self.api = api }
        var fields = m["fields"].map { fieldsSpec($0) } ?? FieldsSpec()
        let target = m["target"].flatMap { targetSpec($0) }
        if m["target"] == nil { missing(root, "target", "missing; name the destination (target.logType, …)") }
        var limits = m["limits"].map { limitsSpec($0) } ?? LimitsSpec()
        var upload = m["upload"].map { uploadSpec($0) } ?? UploadSpec()
        var errs = ErrorsSpec()
        if let e = m["errors"], let em = members(e, "errors", allowed: ["maxRejectedRecords"]) {
            if let n = integer(em["maxRejectedRecords"], "errors.maxRejectedRecords", 0...Int(Int32.max)) {
                errs.maxRejectedRecords = n
            }
        }

        guard var source, let target else { return nil }
        if target.api == .logsIngestion {
            let hasBody = (m["limits"].flatMap { node -> JSONNode? in
                if case .object(let mm) = node.value { return mm.first { $0.key == "maxBodyBytes" }?.node }
                return nil
            })
            if hasBody == nil { limits.maxBodyBytes = 1_000_000 }
            if limits.maxBodyBytes > 1_000_000 {
                error(hasBody, "limits.maxBodyBytes", "\(limits.maxBodyBytes) is above the Logs Ingestion API's 1,000,000-byte limit per request; allowed: 1000 to 1000000")
            }
            if limits.maxValueBytes == 32_766 { limits.maxValueBytes = 65_535 }
            deriveTimeGenerated(&fields, target: target, m: m)
            checkDCR(target, m: m, base: url.deletingLastPathComponent())
        } else {
            upload.compress = false
            if limits.maxValueBytes > 32_766, let n = Self.child(m["limits"], "maxValueBytes") {
                warning(n, "limits.maxValueBytes", "the Data Collector API cuts values at 32,766 bytes on its side, silently; above that, logship cannot count or reject what is cut (allowed without this warning: 16 to 32766)")
            }
        }
        crossChecks(root: root, m: m, source: source, fields: fields, target: target, limits: limits)
        // A mapping's null tokens belong to its input column: the CSV decoder, which knows which
        // values were quoted, applies them (README "Null values").
        for f in fields.map {
            guard let tokens = f.nullValues, case .input(let from) = f.source else { continue }
            if source.format != .csv {
                let node = Self.child(Self.child(Self.child(m["fields"], "map"), f.output), "nullValues")
                error(node, "fields.map.\(f.output).nullValues", "only for format \"csv\" (the format is \"\(source.format.rawValue)\")")
            }
            source.csv.columnNullValues[from, default: []] += tokens
        }
        return PipelineSpec(
            file: url, version: 1, name: name, source: source, fields: fields, target: target, limits: limits,
            upload: upload, errors: errs)
    }

    mutating func sourceSpec(_ node: JSONNode) -> SourceSpec? {
        let p = "source"
        guard let m = members(node, p, allowed: ["files", "format", "compression", "lines", "csv", "invalidUTF8", "followSymlinks", "nullValues", "multiline", "timezone"]) else {
            return nil
        }
        let files = stringArray(m["files"], "source.files", allowSingle: true)
        if m["files"] == nil { missing(node, "source.files", "missing; list the input files or globs, e.g. [\"logs/*.log.gz\"]") }
        // An entry whose ${VAR} is unset was reported already; only a list written empty is empty.
        if case .array(let items)? = m["files"]?.value, items.isEmpty {
            error(m["files"], "source.files", "the list is empty; name at least one file or glob")
        }
        if let f = files {
            for (k, s) in f.enumerated() where s.isEmpty { error(m["files"], "source.files[\(k)]", "an empty path") }
        }
        let format = choice(m["format"], "source.format", InputFormat.self)
        if m["format"] == nil {
            missing(node, "source.format", "missing; allowed: \(InputFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var spec = SourceSpec(files: files ?? [], format: format ?? .ndjson)
        if let c = choice(m["compression"], "source.compression", Compression.self) { spec.compression = c }
        if let c = choice(m["invalidUTF8"], "source.invalidUTF8", InvalidUTF8Policy.self) { spec.invalidUTF8 = c }
        if let f = bool(m["followSymlinks"], "source.followSymlinks") { spec.followSymlinks = f }
        if let l = m["lines"], let lm = members(l, "source.lines", allowed: ["pattern"]) {
            if let pat = string(lm["pattern"], "source.lines.pattern") {
                if !PipelineLoader.presets.contains(pat) {
                    let presets = PipelineLoader.presets.joined(separator: ", ")
                    if let near = Self.nearest(pat, PipelineLoader.presets), LinePattern.regexProblem(pat) != nil {
                        // A near miss of a preset name is a typo, not a regular expression.
                        error(lm["pattern"], "source.lines.pattern", "\"\(pat)\" is not a preset (did you mean \"\(near)\"?); presets: \(presets); or a regular expression with named groups")
                    } else if let problem = LinePattern.regexProblem(pat) {
                        error(lm["pattern"], "source.lines.pattern", "\(problem); presets: \(presets)")
                    }
                }
                spec.lines = LinesSpec(pattern: pat)
            } else if lm["pattern"] == nil {
                missing(l, "source.lines.pattern", "missing; a preset (\(PipelineLoader.presets.joined(separator: ", "))) or a regex with named groups")
            }
        }
        if let n = m["nullValues"], let tokens = stringArray(n, "source.nullValues") {
            if format != .csv { error(n, "source.nullValues", "only for format \"csv\" (the format is \"\(format?.rawValue ?? "?")\")") }
            spec.csv.nullValues += tokens
        }
        if let c = m["csv"], let cm = members(c, "source.csv", allowed: ["delimiter", "quote", "header", "columns", "nullValues"]) {
            if let tokens = stringArray(cm["nullValues"], "source.csv.nullValues") { spec.csv.nullValues += tokens }
            if let d = character(cm["delimiter"], "source.csv.delimiter") { spec.csv.delimiter = d }
            if let q = character(cm["quote"], "source.csv.quote") { spec.csv.quote = q }
            if let h = bool(cm["header"], "source.csv.header") { spec.csv.header = h }
            if let cols = stringArray(cm["columns"], "source.csv.columns") {
                if cols.isEmpty { error(cm["columns"], "source.csv.columns", "the list is empty") }
                if Set(cols).count != cols.count { error(cm["columns"], "source.csv.columns", "a column name appears twice") }
                spec.csv.columns = cols
            }
            if spec.csv.delimiter == spec.csv.quote {
                error(c, "source.csv", "the delimiter and the quote are the same character")
            }
            if cm["header"] == nil, spec.csv.columns != nil { spec.csv.header = false }
        }
        if let ml = m["multiline"] {
            if format != .lines {
                error(ml, "source.multiline", "only for format \"lines\" (the format is \"\(format?.rawValue ?? "?")\")")
            } else {
                spec.multiline = multilineSpec(ml)
            }
        }
        if let tz = m["timezone"] { spec.timezone = timezone(tz, "source.timezone") }
        if format == .lines, spec.lines == nil, m["lines"] == nil {
            error(node, "source.lines", "missing; format \"lines\" needs lines.pattern (a preset such as \"nginx-combined\", or a regex)")
        }
        if format != .lines, m["lines"] != nil {
            error(m["lines"], "source.lines", "only for format \"lines\" (the format is \"\(format?.rawValue ?? "?")\")")
        }
        if format != .csv, m["csv"] != nil {
            error(m["csv"], "source.csv", "only for format \"csv\" (the format is \"\(format?.rawValue ?? "?")\")")
        }
        return spec
    }

    /// `source.multiline`: a preset name, or `{ start, maxLines, maxBytes }` where `start` is a
    /// preset name or a regular expression.
    mutating func multilineSpec(_ node: JSONNode) -> MultilineSpec? {
        let presets = MultilinePreset.allCases.map(\.rawValue)
        func start(_ n: JSONNode, _ path: String) -> MultilineSpec.Start? {
            guard let s = string(n, path) else { return nil }
            if let p = MultilinePreset(rawValue: s) { return .preset(p) }
            if s.isEmpty {
                error(n, path, "empty; a preset (\(presets.joined(separator: ", "))) or a regular expression a record's first line matches")
                return nil
            }
            do {
                _ = try NSRegularExpression(pattern: s)
            } catch {
                let near = Self.nearest(s, presets).map { " (did you mean the preset \"\($0)\"?)" } ?? ""
                self.error(n, path, "\"\(s)\" is neither a preset nor a valid regular expression\(near); presets: \(presets.joined(separator: ", "))")
                return nil
            }
            return .regex(s)
        }
        if case .string = node.value {
            return start(node, "source.multiline").map { MultilineSpec(start: $0) }
        }
        guard let m = members(node, "source.multiline", allowed: ["start", "maxLines", "maxBytes"]) else { return nil }
        guard let sn = m["start"] else {
            missing(node, "source.multiline.start", "missing; a preset (\(presets.joined(separator: ", "))) or a regular expression a record's first line matches")
            return nil
        }
        guard let st = start(sn, "source.multiline.start") else { return nil }
        var spec = MultilineSpec(start: st)
        if let n = integer(m["maxLines"], "source.multiline.maxLines", 1...1_000_000) { spec.maxLines = n }
        if let n = integer(m["maxBytes"], "source.multiline.maxBytes", 1024...(32 << 20)) { spec.maxBytes = n }
        return spec
    }

    /// An IANA time zone name the system's tz database knows (`Europe/Amsterdam`, `UTC`).
    mutating func timezone(_ node: JSONNode, _ path: String) -> String? {
        guard let s = string(node, path) else { return nil }
        guard !s.isEmpty, ZoneTable.knows(s) else {
            error(node, path, "\"\(s)\" is not a time zone this system's tz database knows; use an IANA name such as \"Europe/Amsterdam\", \"America/New_York\" or \"UTC\"")
            return nil
        }
        return s
    }

    mutating func fieldsSpec(_ node: JSONNode) -> FieldsSpec {
        var spec = FieldsSpec()
        guard let m = members(node, "fields", allowed: ["map", "passthrough", "drop", "recordId", "where"]) else { return spec }
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
                if let problem = FieldNames.problem(out, allowTimeGenerated: api == .logsIngestion) { error(v, path, problem) }
                if let f = mapping(out, v, path) { spec.map.append(f) }
            }
        }
        return spec
    }

    mutating func mapping(_ out: String, _ v: JSONNode, _ path: String) -> FieldMapping? {
        if case .string = v.value {
            guard let from = string(v, path) else { return nil }
            if from.isEmpty { error(v, path, "the input field name is empty") }
            return FieldMapping(output: out, source: .input(from))
        }
        let allowed = ["from", "type", "format", "timezone", "default", "onError", "value", "nullValues"]
        guard case .object = v.value else {
            error(v, path, "expected an input field name (a string) or an object { from, type, format, default, onError } or { value }, found \(v.typeName)")
            return nil
        }
        guard let m = members(v, path, allowed: allowed) else { return nil }
        var f: FieldMapping
        if let value = m["value"] {
            if m["from"] != nil { error(m["from"], "\(path).from", "use either \"from\" or \"value\", not both") }
            if case .string = value.value, let s = string(value, "\(path).value") {
                f = FieldMapping(output: out, source: .constant(JSONNode(value: .string(s), line: value.line, column: value.column)))
            } else {
                f = FieldMapping(output: out, source: .constant(value))
            }
        } else if let fromNode = m["from"], let from = string(fromNode, "\(path).from") {
            if from.isEmpty { error(fromNode, "\(path).from", "the input field name is empty") }
            f = FieldMapping(output: out, source: .input(from))
        } else {
            if m["from"] == nil { missing(v, "\(path).from", "missing; name the input field (from) or give a constant (value)") }
            return nil
        }
        if let t = choice(m["type"], "\(path).type", FieldType.self) { f.type = t }
        if let fmtNode = m["format"], let fmt = string(fmtNode, "\(path).format") {
            if let t = f.type, t != .datetime {
                error(fmtNode, "\(path).format", "\"format\" applies to type \"datetime\" only; this field's type is \"\(t.rawValue)\"")
            } else if f.type == nil {
                error(fmtNode, "\(path).format", "\"format\" applies to type \"datetime\" only; add type: \"datetime\"")
            } else if let problem = DateTimeFormat.problem(fmt) {
                error(fmtNode, "\(path).format", problem)
            }
            f.format = fmt
        }
        if let tzNode = m["timezone"], let tz = timezone(tzNode, "\(path).timezone") {
            if f.type != .datetime {
                error(tzNode, "\(path).timezone", "\"timezone\" applies to type \"datetime\" only\(f.type.map { "; this field's type is \"\($0.rawValue)\"" } ?? "; add type: \"datetime\"")")
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
            if case .constant = f.source { error(n, "\(path).nullValues", "applies to an input field (from), not to a constant (value)") }
            f.nullValues = tokens
        }
        return f
    }

    mutating func targetSpec(_ node: JSONNode) -> TargetSpec? {
        let common = ["api", "timeGeneratedField", "cloud", "endpoint"]
        let dc = ["logType", "workspaceId", "sharedKey", "resourceId"]
        let li = ["dcrImmutableId", "stream", "tenantId", "clientId", "clientSecret", "federatedTokenFile", "managedIdentity", "authorityHost", "dcr"]
        guard case .object(let raw) = node.value else {
            error(node, "target", "expected an object, found \(node.typeName)")
            return nil
        }
        var t = TargetSpec()
        if let apiNode = raw.first(where: { $0.key == "api" })?.node, let api = choice(apiNode, "target.api", TargetAPI.self) {
            t.api = api
        }
        let own = t.api == .dataCollector ? dc : li
        let other = t.api == .dataCollector ? li : dc
        // Keys of the other API get a message of their own rather than "unknown key".
        var filtered: [(key: String, node: JSONNode)] = []
        for (k, v) in raw {
            if other.contains(k) {
                error(v, "target.\(k)", "belongs to api \"\(t.api == .dataCollector ? "logs-ingestion" : "data-collector")\"; this target's api is \"\(t.api.rawValue)\"")
            } else {
                filtered.append((k, v))
            }
        }
        guard let m = members(JSONNode(value: .object(filtered), line: node.line, column: node.column), "target", allowed: common + own)
        else { return nil }
        if let c = m["cloud"], let s = string(c, "target.cloud") {
            let clouds = ["public", "usgov", "china"]
            if clouds.contains(s) { t.cloud = s } else {
                error(c, "target.cloud", "\"\(s)\" is not allowed\(Self.hint(s, clouds)); allowed: \(clouds.joined(separator: ", ")); or endpoint: \"https://…\"")
            }
        }
        if let e = m["endpoint"] {
            t.endpoint = configValue(e, "target.endpoint")
            if case .value(let s)? = t.endpoint, let problem = Self.endpointProblem(s) { error(e, "target.endpoint", problem) }
        }
        if let f = m["timeGeneratedField"], let s = string(f, "target.timeGeneratedField") { t.timeGeneratedField = s }
        switch t.api {
        case .dataCollector:
            if let lt = m["logType"], let s = string(lt, "target.logType") {
                if let problem = FieldNames.logTypeProblem(s) { error(lt, "target.logType", problem) }
                t.logType = s
            } else if m["logType"] == nil {
                missing(node, "target.logType", "missing; the custom log's name (the table is <logType>_CL)")
            }
            t.workspaceId = configValue(m["workspaceId"], "target.workspaceId")
            t.sharedKey = configValue(m["sharedKey"], "target.sharedKey")
            if case .value(let k)? = t.sharedKey, let node = m["sharedKey"], case .string(let raw) = node.value, !raw.contains("${") {
                _ = k
                warning(node, "target.sharedKey", "a literal key is written in the pipeline file; prefer \"${LOGSHIP_SHARED_KEY}\" and keep the key out of files")
            }
            if let r = m["resourceId"], let s = string(r, "target.resourceId") {
                if !s.hasPrefix("/subscriptions/") {
                    error(r, "target.resourceId", "an Azure resource ID starts with /subscriptions/")
                }
                t.resourceId = s
            }
        case .logsIngestion:
            t.dcrImmutableId = string(m["dcrImmutableId"], "target.dcrImmutableId")
            if let id = t.dcrImmutableId, id.isEmpty || !id.utf8.allSatisfy({ FieldNames.isLetter($0) || FieldNames.isDigit($0) || $0 == 0x2D || $0 == 0x5F }) {
                error(m["dcrImmutableId"], "target.dcrImmutableId", "\"\(id)\" is not an immutable id (dcr- and 32 hexadecimal digits, as the DCR's JSON view shows it)")
            }
            if m["dcrImmutableId"] == nil { missing(node, "target.dcrImmutableId", "missing; the data collection rule's immutable id (dcr-…)") }
            t.stream = string(m["stream"], "target.stream")
            if m["stream"] == nil { missing(node, "target.stream", "missing; the DCR stream name (Custom-…)") }
            if m["endpoint"] == nil { missing(node, "target.endpoint", "missing; the data collection endpoint or the DCR's ingestion endpoint URL") }
            t.tenantId = configValue(m["tenantId"], "target.tenantId")
            t.clientId = configValue(m["clientId"], "target.clientId")
            t.clientSecret = configValue(m["clientSecret"], "target.clientSecret")
            t.federatedTokenFile = configValue(m["federatedTokenFile"], "target.federatedTokenFile")
            if let node = m["managedIdentity"], let on = bool(node, "target.managedIdentity") {
                t.managedIdentity = on
                if on {
                    let others = ["clientSecret", "federatedTokenFile"].filter { m[$0] != nil }
                    if !others.isEmpty {
                        error(node, "target.managedIdentity", "true together with \(others.map { "target.\($0)" }.joined(separator: " and ")); choose one credential")
                    }
                    for k in ["tenantId", "authorityHost"] where m[k] != nil {
                        warning(m[k]!, "target.\(k)", "not used with a managed identity (its tokens come from the Azure host)")
                    }
                }
            }
            if let a = m["authorityHost"], let s = string(a, "target.authorityHost") {
                if let problem = Self.endpointProblem(s) { error(a, "target.authorityHost", problem) }
                t.authorityHost = s
            }
            t.dcr = string(m["dcr"], "target.dcr")
            if let name = t.stream, !name.hasPrefix("Custom-"), !name.hasPrefix("Microsoft-") {
                error(m["stream"], "target.stream", "\"\(name)\": stream names start with Custom- (or Microsoft- for built-in tables)")
            }
            if let name = t.stream { t.logType = name }
        }
        return t
    }

    /// `fields.where` (or an `any` inside it): a list of conditions, each checked with its key path.
    mutating func filterConditions(_ node: JSONNode, _ path: String) -> [FilterCondition] {
        guard case .array(let items) = node.value else {
            error(node, path, "expected a list of conditions [{ field, equals | in | matches | gt | gte | lt | lte | exists }, { any: [ … ] }], found \(node.typeName)")
            return []
        }
        if items.isEmpty, path.hasSuffix(".any") { error(node, path, "the list is empty; name at least one condition") }
        return items.enumerated().compactMap { k, item in filterCondition(item, "\(path)[\(k)]") }
    }

    static let filterKeys = ["field", "equals", "in", "matches", "gt", "gte", "lt", "lte", "exists", "any"]

    mutating func filterCondition(_ node: JSONNode, _ path: String) -> FilterCondition? {
        guard case .object = node.value else {
            error(node, path, "expected a condition { field, equals | in | matches | gt | gte | lt | lte | exists } or { any: [ … ] }, found \(node.typeName)")
            return nil
        }
        guard let m = members(node, path, allowed: Self.filterKeys) else { return nil }
        if let any = m["any"] {
            for k in Self.filterKeys where k != "any" && m[k] != nil {
                error(m[k], "\(path).\(k)", "a condition is either { any: [ … ] } or a test on a field, not both; move it into the any list")
            }
            return .any(filterConditions(any, "\(path).any"))
        }
        guard let fieldNode = m["field"] else {
            missing(node, "\(path).field", "missing; name the input field the condition tests (or write { any: [ … ] })")
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
                error(n, "\(path).\(c.rawValue)", "expected a number (compared numerically) or a string (compared byte for byte, e.g. ISO 8601 times), found \(Self.found(n))")
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
                warning(tfNode, "target.timeGeneratedField", "fields.map.TimeGenerated is mapped; \"\(tf)\" is not used for it (leave timeGeneratedField out)")
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
    mutating func checkDCR(_ t: TargetSpec, m: [String: JSONNode], base: URL) {
        guard let path = t.dcr, let node = Self.child(m["target"], "dcr") else { return }
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
        let decl: DCRDeclaration
        do {
            decl = try DCRDeclaration.load(url)
        } catch {
            self.error(node, "target.dcr", "\(error.path.isEmpty ? "" : "\(error.path): ")\(error.message) (\(path))")
            return
        }
        if let s = t.stream, decl.stream(s) == nil {
            self.error(
                Self.child(m["target"], "stream") ?? node, "target.stream",
                "\"\(s)\" is not declared in \(path); declared: \(decl.streams.map(\.name).joined(separator: ", "))")
        }
        if let want = t.dcrImmutableId, let have = decl.dcrImmutableId, want != have {
            warning(node, "target.dcr", "\(path) describes \(have), not target.dcrImmutableId \(want)")
        }
    }

    static func endpointProblem(_ s: String) -> String? {
        guard let u = URL(string: s), let scheme = u.scheme?.lowercased(), u.host != nil else {
            return "\"\(s)\" is not a URL (expected https://host or http://127.0.0.1:PORT)"
        }
        if scheme == "https" { return nil }
        if scheme == "http" {
            let h = u.host!.lowercased()
            if h == "127.0.0.1" || h == "localhost" || h == "::1" || h == "[::1]" { return nil }
            return "plain http is allowed only to a loopback address (an emulator); use https"
        }
        return "the scheme \"\(scheme)\" is not supported; use https (or http to loopback)"
    }

    mutating func limitsSpec(_ node: JSONNode) -> LimitsSpec {
        var l = LimitsSpec()
        guard let m = members(node, "limits", allowed: ["maxBodyBytes", "maxRecordsPerChunk", "oversizedValue", "maxValueBytes", "maxFields", "tooManyFields", "packField"]) else {
            return l
        }
        if let b = m["maxBodyBytes"] {
            if case .number(let d) = b.value, d > 30_000_000 {
                error(b, "limits.maxBodyBytes", "\(Self.show(d)) is above the service's limit of 30,000,000 bytes per request; allowed: 1000 to 30000000")
            } else if let n = integer(b, "limits.maxBodyBytes", 1000...30_000_000) {
                l.maxBodyBytes = n
            }
        }
        if let n = integer(m["maxRecordsPerChunk"], "limits.maxRecordsPerChunk", 1...10_000_000) { l.maxRecordsPerChunk = n }
        if let o = choice(m["oversizedValue"], "limits.oversizedValue", OversizedValuePolicy.self) { l.oversizedValue = o }
        if let n = integer(m["maxValueBytes"], "limits.maxValueBytes", 16...65_535) { l.maxValueBytes = n }
        if let n = integer(m["maxFields"], "limits.maxFields", 1...500) { l.maxFields = n }
        if let t = choice(m["tooManyFields"], "limits.tooManyFields", TooManyFieldsPolicy.self) { l.tooManyFields = t }
        if let p = m["packField"], let s = string(p, "limits.packField") {
            if let problem = FieldNames.problem(s) { error(p, "limits.packField", problem) } else { l.packField = s }
        }
        return l
    }

    mutating func uploadSpec(_ node: JSONNode) -> UploadSpec {
        var u = UploadSpec()
        guard let m = members(node, "upload", allowed: ["concurrency", "maxAttempts", "timeoutSeconds", "unreachableAfter", "compress"]) else { return u }
        if let n = integer(m["concurrency"], "upload.concurrency", 1...64) { u.concurrency = n }
        if let n = integer(m["maxAttempts"], "upload.maxAttempts", 1...100) { u.maxAttempts = n }
        if let d = number(m["timeoutSeconds"], "upload.timeoutSeconds", 1...3600) { u.timeoutSeconds = d }
        if let d = number(m["unreachableAfter"], "upload.unreachableAfter", 1...604_800) { u.unreachableAfter = d }
        if let b = bool(m["compress"], "upload.compress") { u.compress = b }
        return u
    }

    /// Checks that need more than one section.
    mutating func crossChecks(root: JSONNode, m: [String: JSONNode], source: SourceSpec, fields: FieldsSpec, target: TargetSpec, limits: LimitsSpec) {
        let mapNode = Self.child(m["fields"], "map")
        var outputs: [String: String] = [:]
        for f in fields.map {
            if let first = outputs[f.output.lowercased()] {
                error(Self.child(mapNode, f.output) ?? mapNode, "fields.map.\(f.output)", "\"\(f.output)\" and \"\(first)\" differ only in letter case; column names are case-insensitive, so rename one")
            } else {
                outputs[f.output.lowercased()] = f.output
            }
        }
        if let r = fields.recordId, outputs[r.lowercased()] != nil {
            error(Self.child(m["fields"], "recordId"), "fields.recordId", "\"\(r)\" is also a mapped field; choose another name for the id column")
        }
        if let tf = target.timeGeneratedField {
            let tfNode = Self.child(m["target"], "timeGeneratedField")
            if let f = fields.map.first(where: { $0.output == tf }) {
                if let t = f.type, t != .datetime {
                    error(tfNode, "target.timeGeneratedField", "\"\(tf)\" is mapped with type \"\(t.rawValue)\"; the time-generated field must be type \"datetime\"")
                } else if f.type == nil, case .input = f.source {
                    warning(tfNode, "target.timeGeneratedField", "\"\(tf)\" is passed through as it is; give it type \"datetime\" so values are normalised to ISO 8601 UTC")
                }
            } else if !fields.passthrough {
                error(tfNode, "target.timeGeneratedField", "\"\(tf)\" is not a mapped field and passthrough is off; map it with type \"datetime\"")
            }
        }
        if !fields.passthrough, fields.map.isEmpty {
            error(Self.child(m["fields"], "passthrough") ?? m["fields"], "fields.passthrough", "passthrough is off and nothing is mapped: every record would be empty; map fields (fields.map) or turn passthrough on")
        }
        if limits.tooManyFields == .pack {
            // The pack columns (packField, packField2, …) would hold the same key twice.
            let pack = limits.packField.lowercased()
            for name in fields.map.map(\.output) + (fields.recordId.map { [$0] } ?? []) {
                let l = name.lowercased()
                guard l.hasPrefix(pack), l == pack || Int(l.dropFirst(pack.count)).map({ $0 >= 2 && $0 <= limits.maxFields }) == true else { continue }
                error(Self.child(mapNode, name) ?? m["fields"], fields.map.contains { $0.output == name } ? "fields.map.\(name)" : "fields.recordId",
                      "\"\(name)\" is also a pack column (limits.packField is \"\(limits.packField)\"); choose another name or another limits.packField")
            }
        }
        let mapped = fields.map.count + (fields.recordId == nil ? 0 : 1)
        if mapped > limits.maxFields, limits.tooManyFields == .fail {
            error(mapNode ?? m["fields"], "fields.map", "\(mapped) columns are mapped; limits.maxFields is \(limits.maxFields) (raise it, or set limits.tooManyFields to \"warn\" or \"pack\")")
        }
        if source.format == .csv, !source.csv.header, source.csv.columns == nil {
            error(Self.child(m["source"], "csv") ?? m["source"], "source.csv.columns", "with header: false, name the columns (source.csv.columns)")
        }
    }
}
