import Foundation
import LogshipCore

enum ValidateCommand {
    static let spec = CommandSpec(
        name: "validate",
        summary:
            "Check a pipeline file without touching the network: every problem is listed with its file, line, key path and what is allowed.",
        usage: "logship validate PIPELINE [--json]",
        options: [
            OptionSpec(
                name: "--json", value: nil,
                help: "Print the result as JSON on stdout (ok, problems with file/line/column/path/message)")
        ] + LogOptions.specs,
        details: "Exit 0 with a summary when the file is usable; exit 2 listing every problem otherwise.")

    static func main(_ args: [String]) throws -> Int32 {
        let p = try ArgumentParser.parse(args, spec)
        if p.has("--help") {
            Console.out(spec.helpText)
            return 0
        }
        let path = try pipelineArgument(p, spec)
        if p.has("--json") { return json(path) }
        guard let (pipeline, _) = loadPipeline(path, command: "validate") else { return ExitCode.usage }
        let discovery = FileDiscovery.expand(
            pipeline.source.files, relativeTo: pipeline.baseDirectory, followSymlinks: pipeline.source.followSymlinks)
        for e in discovery.errors { Console.fail("\(pipeline.file.lastPathComponent): source.files: \(e)") }
        if !discovery.errors.isEmpty { return ExitCode.usage }
        for u in discovery.unmatched {
            Console.error("\(pipeline.file.lastPathComponent): warning: source.files: \"\(u)\" matches no file")
        }
        for w in discovery.warnings { Console.error("\(pipeline.file.lastPathComponent): warning: source.files: \(w)") }
        let credentials = TargetFactory.checkCredentials(pipeline, environment: ProcessInfo.processInfo.environment)
        for w in credentials.warnings { Console.error("\(pipeline.file.lastPathComponent): warning: \(w)") }
        let credentialNote = credentials.summary
        let bytes = discovery.files.reduce(Int64(0)) { $0 + $1.size }
        var s = "\(pipeline.file.lastPathComponent): ok\n"
        s += "  name:    \(pipeline.name)\n"
        s +=
            "  source:  \(discovery.files.count) file(s), \(formatBytes(bytes)), format \(pipeline.source.format.rawValue)"
        if pipeline.source.format == .lines, let l = pipeline.source.lines { s += " (\(l.pattern))" }
        s += "\n"
        s += "  fields:  \(pipeline.fields.map.count) mapped, passthrough \(pipeline.fields.passthrough ? "on" : "off")"
        if !pipeline.fields.drop.isEmpty { s += ", \(pipeline.fields.drop.count) dropped" }
        if let r = pipeline.fields.recordId { s += ", record id column \(r)" }
        s += "\n"
        switch pipeline.target.api {
        case .dataCollector:
            s += "  target:  Data Collector API, table \(pipeline.target.logType)_CL"
            if let t = pipeline.target.timeGeneratedField { s += ", TimeGenerated from \(t)" }
            s += "\n           \(credentialNote)\n"
        case .logsIngestion:
            s +=
                "  target:  Logs Ingestion API, stream \(pipeline.target.stream ?? "?") of \(pipeline.target.dcrImmutableId ?? "?")"
            s += pipeline.upload.compress ? ", gzip" : ", uncompressed"
            if let d = pipeline.target.dcr { s += ", columns declared in \(d)" }
            s += "\n           \(credentialNote)\n"
        }
        s +=
            "  limits:  bodies ≤ \(pipeline.limits.maxBodyBytes) bytes, values ≤ \(pipeline.limits.maxValueBytes) bytes (\(pipeline.limits.oversizedValue.rawValue)), ≤ \(pipeline.limits.maxFields) fields (\(pipeline.limits.tooManyFields.rawValue))"
        Console.out(s)
        return 0
    }

    /// `validate --json`: `{"file", "ok", "problems": [...], "name", "api", "files", "bytes"}` on
    /// stdout; exit 0 when usable, 2 otherwise (as without --json).
    struct JSONResult: Encodable {
        struct Problem: Encodable {
            var severity: String
            var file: String
            var line: Int?
            var column: Int?
            var path: String
            var message: String
        }
        var file: String
        var ok: Bool
        var problems: [Problem]
        var name: String?
        var api: String?
        var files: Int?
        var bytes: Int64?
    }

    static func json(_ path: String) -> Int32 {
        let result = PipelineLoader().load(URL(fileURLWithPath: path))
        var problems = result.problems.map {
            JSONResult.Problem(
                severity: $0.severity.rawValue, file: $0.file, line: $0.line, column: $0.column, path: $0.path,
                message: $0.message)
        }
        var out = JSONResult(file: path, ok: result.spec != nil, problems: problems)
        if let spec = result.spec {
            let discovery = FileDiscovery.expand(
                spec.source.files, relativeTo: spec.baseDirectory, followSymlinks: spec.source.followSymlinks)
            let name = spec.file.lastPathComponent
            for e in discovery.errors {
                problems.append(.init(severity: "error", file: name, path: "source.files", message: e.description))
            }
            for u in discovery.unmatched {
                problems.append(
                    .init(severity: "warning", file: name, path: "source.files", message: "\"\(u)\" matches no file"))
            }
            for w in discovery.warnings {
                problems.append(.init(severity: "warning", file: name, path: "source.files", message: w))
            }
            out.ok = discovery.errors.isEmpty
            out.problems = problems
            out.name = spec.name
            out.api = spec.target.api.rawValue
            out.files = discovery.files.count
            out.bytes = discovery.files.reduce(Int64(0)) { $0 + $1.size }
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        if let data = try? enc.encode(out) { Console.out(String(decoding: data, as: UTF8.self)) }
        return out.ok ? 0 : ExitCode.usage
    }
}

func formatBytes(_ n: Int64) -> String {
    let d = Double(n)
    if d >= 1e9 { return String(format: "%.2f GB", d / 1e9) }
    if d >= 1e6 { return String(format: "%.1f MB", d / 1e6) }
    if d >= 1e3 { return String(format: "%.1f kB", d / 1e3) }
    return "\(n) bytes"
}
