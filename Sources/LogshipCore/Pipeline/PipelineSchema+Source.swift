import Foundation
import LogshipSupport

// The pipeline schema: the top level and `source` (formats, multiline, time zones).
extension Context {
    mutating func pipeline(_ root: JSONNode, url: URL) -> PipelineSpec? {
        let top = ["version", "name", "source", "fields", "target", "limits", "upload", "errors"]
        guard case .object = root.value else {
            error(
                root, "",
                "a pipeline file holds one object { version: 1, source: …, target: … }, found \(root.typeName)")
            return nil
        }
        guard let m = members(root, "", allowed: top) else { return nil }

        if let v = m["version"] {
            if case .number(let d) = v.value, d == d.rounded(), abs(d) < 1e15 {
                if d != 1 {
                    error(v, "version", "version \(Self.show(d)) is not supported; this logship reads version 1")
                }
            } else {
                error(v, "version", "expected the number 1, found \(Self.found(v))")
            }
        } else {
            missing(root, "version", "missing; add `version: 1`")
        }
        var name = url.deletingPathExtension().lastPathComponent
        if name.hasSuffix(".json") { name = String(name.dropLast(5)) }
        if let n = m["name"], let s = string(n, "name") {
            if s.isEmpty
                || !s.utf8.allSatisfy({
                    FieldNames.isLetter($0) || FieldNames.isDigit($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E
                })
                || s.hasPrefix(".")
            {
                error(n, "name", "\"\(s)\" cannot name a state directory; use letters, digits, '-', '_' and '.'")
            } else {
                name = s
            }
        }
        let source = m["source"].flatMap { sourceSpec($0) }
        if m["source"] == nil {
            missing(root, "source", "missing; say which files to read (source.files) and their format")
        }
        if case .string(let a)? = Self.child(m["target"], "api")?.value, let api = TargetAPI(rawValue: a) {
            self.api = api
        }
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

        guard var source, var target else { return nil }
        if target.api == .logsIngestion {
            let hasBody =
                (m["limits"].flatMap { node -> JSONNode? in
                    if case .object(let mm) = node.value { return mm.first { $0.key == "maxBodyBytes" }?.node }
                    return nil
                })
            let maxBody = ServiceLimits.LogsIngestion.maxBodyBytes
            if hasBody == nil { limits.maxBodyBytes = maxBody }
            if limits.maxBodyBytes > maxBody {
                error(
                    hasBody, "limits.maxBodyBytes",
                    "\(limits.maxBodyBytes) is above the Logs Ingestion API's \(Self.grouped(maxBody))-byte limit "
                        + "per request; allowed: 1000 to \(maxBody)")
            }
            // The Logs Ingestion API's own value limit is the default; a value written in the
            // pipeline is kept, 32766 included (it was once taken for "not written").
            if Self.child(m["limits"], "maxValueBytes") == nil {
                limits.maxValueBytes = ServiceLimits.LogsIngestion.maxValueBytes
            }
            // A DCR-based table takes 500 columns; the Data Collector API's 50 does not apply.
            if limits.maxFieldsDefaulted { limits.maxFields = LimitsSpec.logsIngestionMaxFields }
            deriveTimeGenerated(&fields, target: target, m: m)
            checkDCR(target, m: m, base: url.deletingLastPathComponent())
        } else {
            upload.compress = false
            let cut = ServiceLimits.DataCollector.maxValueBytes
            if limits.maxValueBytes > cut, let n = Self.child(m["limits"], "maxValueBytes") {
                warning(
                    n, "limits.maxValueBytes",
                    "the Data Collector API cuts values at \(Self.grouped(cut)) bytes on its side, silently; above "
                        + "that, logship cannot count or reject what is cut "
                        + "(allowed without this warning: 16 to \(cut))")
            }
        }
        crossChecks(root: root, m: m, source: source, fields: fields, target: target, limits: limits)
        if target.dataCollectorSuffixes { dataCollectorNames(&fields, &target, m: m) }
        // A mapping's null tokens belong to its input column: the CSV decoder, which knows which
        // values were quoted, applies them (docs/pipeline.md "Null values").
        for f in fields.map {
            guard let tokens = f.nullValues, case .input(let from) = f.source else { continue }
            if source.format != .csv {
                let node = Self.child(Self.child(Self.child(m["fields"], "map"), f.output), "nullValues")
                error(
                    node, "fields.map.\(f.output).nullValues",
                    "only for format \"csv\" (the format is \"\(source.format.rawValue)\")")
            }
            source.csv.columnNullValues[from, default: []] += tokens
        }
        return PipelineSpec(
            file: url, version: 1, name: name, source: source, fields: fields, target: target, limits: limits,
            upload: upload, errors: errs)
    }

    mutating func sourceSpec(_ node: JSONNode) -> SourceSpec? {
        let p = "source"
        guard
            let m = members(
                node, p,
                allowed: [
                    "files", "format", "compression", "lines", "csv", "invalidUTF8", "followSymlinks", "nullValues",
                    "multiline", "timezone",
                ])
        else {
            return nil
        }
        let files = stringArray(m["files"], "source.files", allowSingle: true)
        if m["files"] == nil {
            missing(node, "source.files", "missing; list the input files or globs, e.g. [\"logs/*.log.gz\"]")
        }
        // An entry whose ${VAR} is unset was reported already; only a list written empty is empty.
        if case .array(let items)? = m["files"]?.value, items.isEmpty {
            error(m["files"], "source.files", "the list is empty; name at least one file or glob")
        }
        if let f = files {
            for (k, s) in f.enumerated() where s.isEmpty { error(m["files"], "source.files[\(k)]", "an empty path") }
        }
        let format = choice(m["format"], "source.format", InputFormat.self)
        if m["format"] == nil {
            missing(
                node, "source.format",
                "missing; allowed: \(InputFormat.allCases.map(\.rawValue).joined(separator: ", "))")
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
                        error(
                            lm["pattern"], "source.lines.pattern",
                            "\"\(pat)\" is not a preset (did you mean \"\(near)\"?); presets: \(presets); or a regular expression with named groups"
                        )
                    } else if let problem = LinePattern.regexProblem(pat) {
                        error(lm["pattern"], "source.lines.pattern", "\(problem); presets: \(presets)")
                    }
                }
                spec.lines = LinesSpec(pattern: pat)
            } else if lm["pattern"] == nil {
                missing(
                    l, "source.lines.pattern",
                    "missing; a preset (\(PipelineLoader.presets.joined(separator: ", "))) or a regex with named groups"
                )
            }
        }
        if let n = m["nullValues"], let tokens = stringArray(n, "source.nullValues") {
            if format != .csv {
                error(n, "source.nullValues", "only for format \"csv\" (the format is \"\(format?.rawValue ?? "?")\")")
            }
            spec.csv.nullValues += tokens
        }
        if let c = m["csv"],
            let cm = members(c, "source.csv", allowed: ["delimiter", "quote", "header", "columns", "nullValues"])
        {
            if let tokens = stringArray(cm["nullValues"], "source.csv.nullValues") { spec.csv.nullValues += tokens }
            if let d = character(cm["delimiter"], "source.csv.delimiter") { spec.csv.delimiter = d }
            if let q = character(cm["quote"], "source.csv.quote") { spec.csv.quote = q }
            if let h = bool(cm["header"], "source.csv.header") { spec.csv.header = h }
            if let cols = stringArray(cm["columns"], "source.csv.columns") {
                if cols.isEmpty { error(cm["columns"], "source.csv.columns", "the list is empty") }
                if Set(cols).count != cols.count {
                    error(cm["columns"], "source.csv.columns", "a column name appears twice")
                }
                spec.csv.columns = cols
            }
            if spec.csv.delimiter == spec.csv.quote {
                error(c, "source.csv", "the delimiter and the quote are the same character")
            }
            if cm["header"] == nil, spec.csv.columns != nil { spec.csv.header = false }
        }
        if let ml = m["multiline"] {
            if format != .lines {
                error(
                    ml, "source.multiline", "only for format \"lines\" (the format is \"\(format?.rawValue ?? "?")\")")
            } else {
                spec.multiline = multilineSpec(ml)
            }
        }
        if let tz = m["timezone"] { spec.timezone = timezone(tz, "source.timezone") }
        if format == .lines, spec.lines == nil, m["lines"] == nil {
            error(
                node, "source.lines",
                "missing; format \"lines\" needs lines.pattern (a preset such as \"nginx-combined\", or a regex)")
        }
        if format != .lines, m["lines"] != nil {
            error(
                m["lines"], "source.lines", "only for format \"lines\" (the format is \"\(format?.rawValue ?? "?")\")")
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
                error(
                    n, path,
                    "empty; a preset (\(presets.joined(separator: ", "))) or a regular expression a record's first line matches"
                )
                return nil
            }
            do {
                _ = try NSRegularExpression(pattern: s)
            } catch {
                let near = Self.nearest(s, presets).map { " (did you mean the preset \"\($0)\"?)" } ?? ""
                self.error(
                    n, path,
                    "\"\(s)\" is neither a preset nor a valid regular expression\(near); presets: \(presets.joined(separator: ", "))"
                )
                return nil
            }
            return .regex(s)
        }
        if case .string = node.value {
            return start(node, "source.multiline").map { MultilineSpec(start: $0) }
        }
        guard let m = members(node, "source.multiline", allowed: ["start", "maxLines", "maxBytes"]) else { return nil }
        guard let sn = m["start"] else {
            missing(
                node, "source.multiline.start",
                "missing; a preset (\(presets.joined(separator: ", "))) or a regular expression a record's first line matches"
            )
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
        guard !s.isEmpty, DateTimeFormat.knowsZone(s) else {
            error(
                node, path,
                "\"\(s)\" is not a time zone this system's tz database knows; use an IANA name such as \"Europe/Amsterdam\", \"America/New_York\" or \"UTC\""
            )
            return nil
        }
        return s
    }
}
