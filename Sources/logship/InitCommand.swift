import Foundation
import LogshipCore

/// `logship init`: a commented starter pipeline that `logship validate` accepts as written.
enum InitCommand {
    /// The formats init writes; "nginx" and "syslog" are `lines` with a preset.
    static let formats = ["ndjson", "csv", "json", "nginx", "syslog", "lines"]
    static let targets = [TargetAPI.logsIngestion.rawValue, TargetAPI.dataCollector.rawValue]

    static let spec = CommandSpec(
        name: "init",
        summary:
            "Print a commented starter pipeline for a format and a target, ready for `logship validate`; with --from, its columns are inferred from a sample file the way `logship preview` reads it.",
        usage:
            "logship init [--format ndjson|csv|json|nginx|syslog|lines] [--target logs-ingestion|data-collector] [--from FILE] [-o FILE] [--force]",
        options: [
            OptionSpec(
                name: "--format", value: "F",
                help: "ndjson (default; from --from's extension when given), csv, json, nginx, syslog or lines",
                choices: formats),
            OptionSpec(
                name: "--target", value: "T",
                help: "logs-ingestion (default; the Data Collector API was retired on 2026-09-14) or data-collector",
                choices: targets),
            OptionSpec(
                name: "--from", value: "FILE",
                help:
                    "A sample of the logs: source.files points at it and fields.map lists its columns with inferred types"
            ),
            OptionSpec(
                name: "--output", value: "FILE", help: "Write the pipeline to FILE instead of stdout (also -o FILE)",
                short: "-o"),
            OptionSpec(name: "--force", value: nil, help: "With --output: replace FILE if it exists"),
        ] + LogOptions.specs,
        details: """
            The pipeline names its credentials as ${VARIABLES}, never their values. Next: `logship validate FILE`,
            `logship preview FILE`, and `logship run FILE --local` to try it without an Azure account.
            Exit 0 when written; 2 on usage errors, an unreadable sample, or an existing FILE without --force.
            """)

    static func main(_ args: [String]) throws -> Int32 {
        let p = try ArgumentParser.parse(args, spec)
        if p.has("--help") {
            Console.out(spec.helpText)
            return 0
        }
        if let extra = p.positionals.first {
            throw UsageError(description: "logship init: unexpected \(extra); usage: \(spec.usage)")
        }
        let sample = p.value("--from")
        let format = try p.value("--format") ?? sample.map(formatFromExtension) ?? "ndjson"
        guard formats.contains(format) else {
            throw UsageError(
                description: "logship init: --format \(format) is not one of \(formats.joined(separator: ", "))")
        }
        let targetName = p.value("--target") ?? TargetAPI.logsIngestion.rawValue
        guard let target = TargetAPI(rawValue: targetName) else {
            throw UsageError(
                description: "logship init: --target \(targetName) is not one of \(targets.joined(separator: ", "))")
        }
        let output = p.value("--output")
        if p.has("--force") && output == nil {
            throw UsageError(description: "logship init: --force only applies with -o FILE")
        }
        if let output, FileManager.default.fileExists(atPath: output), !p.has("--force") {
            Console.fail("logship init: \(output) exists; add --force to replace it")
            return ExitCode.usage
        }

        let name = output.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent } ?? "\(format)-logs"
        var starter = StarterPipeline(format: format, target: target, name: safeName(name))
        if let sample {
            let path = URL(fileURLWithPath: sample).standardizedFileURL.path
            guard FileManager.default.isReadableFile(atPath: path) else {
                Console.fail("logship init: cannot read the sample \(sample)")
                return ExitCode.usage
            }
            starter.sample = path
            switch starter.inferColumns() {
            case .success(let columns): starter.columns = columns
            case .failure(let problem):
                Console.fail("logship init: \(sample): \(problem.description)")
                return ExitCode.usage
            }
        }
        let text = starter.text(command: (["logship", "init"] + args).joined(separator: " "))
        guard let output else {
            Console.out(text)
            return 0
        }
        do {
            // Exclusive creation unless --force: a file created meanwhile is not overwritten either.
            let url = URL(fileURLWithPath: output)
            try Data((text + "\n").utf8).write(to: url, options: p.has("--force") ? [.atomic] : [.withoutOverwriting])
        } catch {
            Console.fail("logship init: cannot write \(output): \(error.localizedDescription)")
            return ExitCode.usage
        }
        Console.summary("logship init: wrote \(output); next: logship validate \(output)")
        return 0
    }

    static func formatFromExtension(_ path: String) throws(UsageError) -> String {
        var url = URL(fileURLWithPath: path)
        if url.pathExtension == "gz" { url.deletePathExtension() }
        switch url.pathExtension.lowercased() {
        case "ndjson", "jsonl": return "ndjson"
        case "json": return "json"
        case "csv", "tsv": return "csv"
        default:
            throw UsageError(
                description:
                    "logship init: cannot tell the format of \(path) from its name; add --format \(formats.joined(separator: "|"))"
            )
        }
    }

    /// A pipeline name from a file name: letters, digits, `-` and `_`.
    static func safeName(_ s: String) -> String {
        let kept = String(s.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
        return kept.isEmpty ? "logs" : kept
    }
}

/// The text `logship init` writes, for one format and target, optionally with sampled columns.
struct StarterPipeline {
    var format: String
    var target: TargetAPI
    var name: String
    /// Absolute path of the `--from` sample.
    var sample: String? = nil
    /// Columns inferred from the sample, in the order preview lists them.
    var columns: [InferredColumn]? = nil
    /// The pipeline inference reads the sample with: every field passed through as it is.
    var probe = false

    struct Problem: Error, CustomStringConvertible { var description: String }

    /// The `source` object's lines after `files`.
    var sourceLines: [String] {
        switch format {
        case "csv":
            return [
                "format: \"csv\",",
                "csv: { header: true },        // the first line names the columns (delimiter: \",\", quote: '\"')",
            ]
        case "json":
            return ["format: \"json\",                // a JSON array of objects (or objects one after another)"]
        case "nginx":
            return [
                "format: \"lines\",", "lines: { pattern: \"nginx-combined\" },   // nginx's default access log format",
            ]
        case "syslog":
            return [
                "format: \"lines\",",
                "lines: { pattern: \"syslog-rfc5424\" },   // or \"syslog-rfc3164\" for rsyslog's BSD format",
            ]
        case "lines":
            return [
                "format: \"lines\",",
                "// A regular expression with named groups, one group per field (or a preset: nginx-combined,",
                "// apache-common, apache-combined, syslog-rfc3164, syslog-rfc5424, raw).",
                "lines: { pattern: \"^(?<time>\\\\S+) (?<level>\\\\w+) (?<message>.*)$\" },",
            ]
        default:
            return ["format: \"ndjson\",              // one JSON object per line"]
        }
    }

    /// Where the records' time is, without a sample: the field and, for text times, its format.
    var timeField: (field: String, format: String?) {
        switch format {
        case "nginx": return ("time_local", "%d/%b/%Y:%H:%M:%S %z")
        case "syslog": return ("timestamp", nil)
        default: return ("time", nil)
        }
    }

    /// A glob in the pipeline's own folder, which exists wherever the file is written: a folder
    /// that does not exist is a validation error, a glob matching nothing only a warning.
    var defaultFiles: String {
        switch format {
        case "csv": return "*.csv"
        case "json": return "*.json"
        case "nginx": return "access.log*"
        case "syslog": return "syslog*"
        case "lines": return "*.log"
        default: return "*.ndjson"
        }
    }

    /// A table-friendly name: letters and digits, the first upper-cased.
    var tableName: String {
        let words = name.split { !$0.isLetter && !$0.isNumber }
        let joined = words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        return joined.first?.isLetter == true ? joined : "Logs" + joined
    }

    static func fieldType(_ c: InferredColumn) -> String? {
        if c.example.hasPrefix("{") || c.example.hasPrefix("[") { return "json" }
        switch c.type {
        case .string: return nil
        case .real: return "double"
        case .bool: return "bool"
        case .datetime: return "datetime"
        case .guid: return "guid"
        }
    }

    /// Runs the sample through the reader and the preview's inference: a pipeline of this
    /// format passing every field through, so the columns are the ones preview would show.
    func inferColumns() -> Result<[InferredColumn], Problem> {
        var probe = self
        probe.columns = nil
        probe.target = .dataCollector
        probe.probe = true
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "logship-init-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let url = dir.appendingPathComponent("probe.json5")
            try Data(probe.text(command: "probe").utf8).write(to: url)
            let loaded = PipelineLoader(environment: [:]).load(url)
            guard let spec = loaded.spec else {
                return .failure(Problem(description: loaded.errors.map(\.description).joined(separator: "; ")))
            }
            let read = PreviewReader.read(spec, records: 1, sample: PreviewCommand.sampleRecords)
            if !read.errors.isEmpty { return .failure(Problem(description: read.errors.joined(separator: "; "))) }
            if read.sample.isEmpty {
                let why = read.rejected.first.map { " (line \($0.line): \($0.reason))" } ?? ""
                return .failure(Problem(description: "no record could be read as \(format)\(why)"))
            }
            let schema = SchemaInference.infer(read.sample, options: SchemaInference.Options(spec: spec))
            // TimeGenerated is the service's column, not one of the sample's fields.
            return .success(schema.columns.filter { $0.field != "TimeGenerated" && $0.name != "TimeGenerated" })
        } catch {
            return .failure(Problem(description: "\(error.localizedDescription)"))
        }
    }

    /// `Key: "field",` or `Key: { from: "field", type: "T" },` lines for the sampled columns.
    func mapLines(_ columns: [InferredColumn]) -> [(key: String, line: String)] {
        var used = Set<String>()
        var out: [(key: String, line: String)] = []
        for c in columns {
            var key = InitCommand.safeName(c.field).replacingOccurrences(of: "-", with: "_")
            if key.first?.isNumber == true { key = "_" + key }
            while used.contains(key.lowercased()) { key += "_" }
            used.insert(key.lowercased())
            let from = jsonString(c.field)
            // JSON5 takes identifier keys bare, the way the example pipelines write them.
            let bare = key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            let shownKey = bare ? key : jsonString(key)
            let example = PreviewCommand.cut(c.example, 40).replacingOccurrences(of: "*/", with: "* /")
            let comment = example.isEmpty ? "" : "   /* e.g. \(example) */"
            if let t = Self.fieldType(c) {
                out.append((key, "\(shownKey): { from: \(from), type: \"\(t)\" },\(comment)"))
            } else {
                out.append((key, "\(shownKey): \(from),\(comment)"))
            }
        }
        return out
    }

    func jsonString(_ s: String) -> String {
        let d =
            (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes]))
            ?? Data("[\"\"]".utf8)
        return String(String(decoding: d, as: UTF8.self).dropFirst().dropLast())
    }

    func text(command: String) -> String {
        var l: [String] = []
        l.append("// A starter pipeline, written by `\(command)`.")
        l.append("// Next: `logship validate FILE` (no network), `logship preview FILE` (the records and the table),")
        l.append("// `logship run FILE --local` (an emulator in-process, no Azure account), then `logship run FILE`.")
        l.append("// Every key is in docs/pipeline.md, \"Pipeline reference\". Credentials stay in the environment.")
        l.append("{")
        l.append("  version: 1,")
        l.append("  name: \(jsonString(name)),   // the state directory is .logship/\(name)/ beside this file")
        l.append("  source: {")
        if let sample {
            l.append("    // The sample init read; point it at every file to send (globs; .gz is read as gzip).")
            l.append("    files: [\(jsonString(sample))],")
        } else {
            l.append(
                "    // Globs, relative to this file's folder or absolute (\"/var/log/app/*.log\"); .gz files are read as gzip."
            )
            l.append("    files: [\(jsonString(defaultFiles))],")
        }
        l += sourceLines.map { "    " + $0 }
        l.append("  },")
        l.append("  fields: {")
        let time = timeField
        var timeKey: String? = nil
        if probe {
            l.append("    passthrough: true,")
        } else if let columns {
            l.append(
                "    // The columns of \(URL(fileURLWithPath: sample ?? "").lastPathComponent) with the types logship inferred from up to \(PreviewCommand.sampleRecords) records."
            )
            if format == "csv" {
                l.append("    // CSV values are text, so they read as strings: give numbers and times their type here.")
            } else {
                l.append("    // Numbers are typed double, which holds any; int or long suit whole numbers.")
            }
            l.append("    map: {")
            let lines = mapLines(columns)
            l += lines.map { "      " + $0.line }
            if let k = columns.firstIndex(where: { $0.type == .datetime }) {
                let t = columns[k]
                timeKey = lines[k].key
                if target == .logsIngestion {
                    l.append("      // The Logs Ingestion API takes each record's time from a TimeGenerated column.")
                    l.append("      TimeGenerated: { from: \(jsonString(t.field)), type: \"datetime\" },")
                }
            } else if target == .logsIngestion {
                l.append("      // No column of the sample reads as a time: map one as TimeGenerated, which the")
                l.append(
                    "      // Logs Ingestion API requires, e.g. TimeGenerated: { from: \"time\", type: \"datetime\" }.")
            }
            l.append("    },")
            l.append("    passthrough: false,        // only the columns above")
        } else {
            l.append("    map: {")
            let fmt = time.format.map { ", format: \(jsonString($0))" } ?? ""
            if target == .logsIngestion {
                l.append("      // The Logs Ingestion API takes each record's time from a TimeGenerated column.")
                l.append("      TimeGenerated: { from: \(jsonString(time.field)), type: \"datetime\"\(fmt) },")
            } else {
                l.append("      // The event time, typed; target.timeGeneratedField makes it the row's TimeGenerated.")
                l.append("      EventTime: { from: \(jsonString(time.field)), type: \"datetime\"\(fmt) },")
                timeKey = "EventTime"
            }
            l.append(
                "      // More columns: Name: \"field\" or Name: { from: \"field\", type: \"int\" } (string, int, long,"
            )
            l.append(
                "      // double, bool, datetime, guid, json). `logship init --from SAMPLE` lists a sample's columns.")
            l.append("    },")
            if target == .logsIngestion {
                l.append(
                    "    // Every other field as a column of its own name. The Logs Ingestion API drops columns the")
                l.append("    // DCR's stream does not declare: list them in map and set this to false to be explicit.")
            } else {
                l.append(
                    "    // Every other field as a column of its own name (with the type suffixes _s _d _b _t _g).")
            }
            l.append("    passthrough: true,")
        }
        if !probe {
            l.append(
                "    recordId: \"LogshipId\",       // a stable id per record, to remove the rare duplicate in a query")
        }
        l.append("  },")
        l.append("  target: {")
        switch target {
        case .logsIngestion:
            l.append("    api: \"logs-ingestion\",")
            l.append(
                "    endpoint: \"${LOGSHIP_ENDPOINT}\",     // the data collection endpoint: https://<dce>.<region>.ingest.monitor.azure.com"
            )
            l.append(
                "    dcrImmutableId: \"dcr-00000000000000000000000000000000\",   // your DCR's immutableId (its JSON view)"
            )
            l.append("    stream: \"Custom-\(tableName)\",      // the DCR's stream, declaring the columns above")
            l.append("    tenantId: \"${LOGSHIP_TENANT_ID}\",")
            l.append("    clientId: \"${LOGSHIP_CLIENT_ID}\",")
            l.append(
                "    // Or AZURE_FEDERATED_TOKEN_FILE (workload identity), or managedIdentity: true on an Azure host.")
            l.append("    clientSecret: \"${LOGSHIP_CLIENT_SECRET}\",")
        case .dataCollector:
            l.append("    // The Data Collector API was retired on 2026-09-14: prefer --target logs-ingestion.")
            l.append("    api: \"data-collector\",")
            l.append("    logType: \"\(tableName)\",           // the table is \(tableName)_CL")
            if let timeKey {
                l.append(
                    "    timeGeneratedField: \(jsonString(timeKey)),   // TimeGenerated from this column (else the ingestion time)"
                )
            }
            l.append("    workspaceId: \"${LOGSHIP_WORKSPACE_ID}\",")
            l.append("    sharedKey: \"${LOGSHIP_SHARED_KEY}\",   // the workspace's primary or secondary key")
        }
        l.append("  },")
        l.append("}")
        return l.joined(separator: "\n")
    }
}
