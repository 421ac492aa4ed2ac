import Foundation
import LogshipCore

enum PreviewCommand {
    static let spec = CommandSpec(
        name: "preview",
        summary:
            "Show the first records as they would be sent and the table Log Analytics would create from them (column names with their _s _d _b _t _g suffixes), with warnings about anything that would hit a limit. Nothing is sent.",
        usage: "logship preview PIPELINE [--records N] [--json]",
        options: [
            OptionSpec(
                name: "--records", value: "N",
                help: "Records to show (1–10000; default 10); the schema comes from max(N, 1000) records"),
            OptionSpec(
                name: "--json", value: nil, help: "One JSON document on stdout: {records, schema, warnings, rejected}"),
        ] + LogOptions.specs,
        details: """
            Records the decoder or the transformer refuses are listed with file:line and reason; the preview
            goes on. The schema is the one a new table would get: an existing table keeps its columns' types.
            Exit 0 when the pipeline loads; 2 on usage or pipeline errors.
            """)

    static let sampleRecords = 1000
    /// Rejects listed on a terminal; `--json` lists up to `PreviewReader.maxListedRejects`.
    static let humanRejects = 20

    static func main(_ args: [String]) throws -> Int32 {
        let p = try ArgumentParser.parse(args, spec)
        if p.has("--help") {
            Console.out(spec.helpText)
            return 0
        }
        let path = try pipelineArgument(p, spec)
        let count: Int
        do {
            count = try ArgumentParser.int(p, "--records", 1...10_000) ?? 10
        } catch {
            throw UsageError(description: "logship preview: \(error.description)")
        }
        guard let (pipeline, _) = loadPipeline(path, command: "preview") else { return ExitCode.usage }

        let now = try ReferenceClock.now()
        let read = PreviewReader.read(pipeline, records: count, sample: sampleRecords, now: now)
        if !read.errors.isEmpty {
            for e in read.errors { Console.error("\(pipeline.file.lastPathComponent): \(e)") }
            return ExitCode.usage
        }
        let schema = SchemaInference.infer(read.sample, options: SchemaInference.Options(spec: pipeline, now: now))
        let warnings =
            PreviewReader.warnings(read, spec: pipeline) + schema.warnings
            + DCRComparison.warnings(read.sample, spec: pipeline)
        if p.has("--json") {
            Console.out(json(read, schema, warnings, pipeline))
        } else {
            Console.out(human(read, schema, warnings, pipeline))
        }
        return 0
    }

    static func tableName(_ spec: PipelineSpec) -> String {
        spec.target.api == .dataCollector ? spec.target.logType + "_CL" : spec.target.stream ?? spec.target.logType
    }

    // MARK: JSON

    /// Records are spliced in as the exact bytes that would be sent, keys in their order.
    static func json(_ r: PreviewReader.Result, _ s: InferredSchema, _ w: [SchemaWarning], _ spec: PipelineSpec)
        -> String
    {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func encoded<T: Encodable>(_ v: T) -> String {
            (try? enc.encode(v)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        }
        var out = "{\"records\":["
        out += r.shown.map { String(decoding: $0.json, as: UTF8.self) }.joined(separator: ",\n")
        out += "],\n\"schema\":" + encoded(s.columns)
        out += ",\n\"warnings\":" + encoded(w)
        // The raw datetime values beside their UTC conversion, per shown record (`timezone`).
        if r.shown.contains(where: { !$0.timezoneNotes.isEmpty }) {
            out +=
                ",\n\"timezoneConversions\":"
                + encoded(r.shown.map { ["location": $0.location, "notes": $0.timezoneNotes.joined(separator: "\n")] })
        }
        out += ",\n\"rejected\":" + encoded(r.rejected)
        out +=
            ",\n\"rejectedCount\":\(r.rejectedCount),\"sampledRecords\":\(s.sampledRecords),\"table\":"
            + encoded(tableName(spec))
        if !spec.fields.filter.isEmpty {
            out += ",\"filteredOut\":\(r.stats[.filtered]),\"passedFilter\":\(r.sample.count + r.rejectedCount)"
        }
        out += ",\"filesMatched\":\(r.files.count),\"filesRead\":\(r.filesRead),\"complete\":\(r.exhausted)}"
        return out
    }

    // MARK: Human

    static func human(_ r: PreviewReader.Result, _ s: InferredSchema, _ w: [SchemaWarning], _ spec: PipelineSpec)
        -> String
    {
        var out = ""
        let name = spec.file.lastPathComponent
        if r.files.isEmpty {
            out += "\(name): source.files matches no file; nothing to preview\n"
        } else if r.shown.isEmpty {
            let why =
                r.rejectedCount > 0
                ? "; \(r.rejectedCount) rejected, see below" : w.isEmpty ? "" : "; see the warnings below"
            out += "\(name): no record could be read from \(r.filesRead) file(s)\(why)\n"
        } else {
            out += "Records (first \(r.shown.count), as they would be sent):\n"
            for rec in r.shown {
                out += "  \(rec.location)\n    \(spaced(rec.json))\n"
                for note in rec.timezoneNotes { out += "    time zone: \(note)\n" }
            }
        }

        if !spec.fields.filter.isEmpty {
            let passed = r.sample.count + r.rejectedCount
            out +=
                "\nfields.where: \(passed) of \(passed + r.stats[.filtered]) record(s) read pass; \(r.stats[.filtered]) left out\n"
        }
        // With no record read, the first line already says so; an empty table would add nothing.
        if s.sampledRecords > 0 { out += table(r, s, spec) }

        if w.isEmpty {
            out += "\nNo warnings.\n"
        } else {
            out += "\nWarnings:\n"
            for x in w { out += "  - \(x.message)\n" }
        }
        if r.rejectedCount > 0 {
            let listed = r.rejected.prefix(humanRejects)
            out +=
                "\nRejected (\(r.rejectedCount)\(r.rejectedCount > listed.count ? ", first \(listed.count) listed" : "")):\n"
            for x in listed { out += "  \(x.file):\(x.line): \(x.reason)\n" }
        }
        return String(out.dropLast())
    }

    /// The schema as a table: Column, Type, Records, Example.
    static func table(_ r: PreviewReader.Result, _ s: InferredSchema, _ spec: PipelineSpec) -> String {
        let scope =
            r.exhausted
            ? "all \(s.sampledRecords) record(s) of \(r.files.count) file(s)"
            : "the first \(s.sampledRecords) record(s), \(r.filesRead) of \(r.files.count) file(s) read"
        var out = "\nTable \(tableName(spec)) as a new table would get it, from \(scope):\n"
        if spec.target.api == .logsIngestion {
            out +=
                "  (the Logs Ingestion API takes the columns the DCR declares; the suffixes are the Data Collector API's)\n"
        }
        var rows: [[String]] = [["Column", "Type", "Records", "Example"]]
        for c in s.columns {
            var example = cut(c.example, 40)
            if let note = c.note { example = c.example.isEmpty ? note : "\(example) (\(note))" }
            rows.append([c.name, c.type.rawValue, String(c.records), example])
        }
        let widths = (0..<3).map { k in rows.map { $0[k].count }.max() ?? 0 }
        for row in rows {
            var line = "  " + row[0].padding(toLength: widths[0] + 2, withPad: " ", startingAt: 0)
            line += row[1].padding(toLength: widths[1] + 2, withPad: " ", startingAt: 0)
            line += String(repeating: " ", count: widths[2] - row[2].count) + row[2] + "  " + row[3]
            out += line + "\n"
        }
        return out
    }

    /// Example text on one line, cut to `n` characters.
    static func cut(_ s: String, _ n: Int) -> String {
        let flat = s.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
        return flat.count > n ? String(flat.prefix(n - 1)) + "…" : flat
    }

    /// Compact JSON with a space after each `:` and `,` outside strings, for reading.
    static func spaced(_ json: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(json.count + json.count / 8)
        var inString = false
        var escaped = false
        for (k, c) in json.enumerated() {
            out.append(c)
            if inString {
                if escaped {
                    escaped = false
                } else if c == 0x5C {
                    escaped = true
                } else if c == 0x22 {
                    inString = false
                }
            } else if c == 0x22 {
                inString = true
            } else if (c == 0x3A || c == 0x2C) && k + 1 < json.count && json[k + 1] != 0x20 {
                // Nested values passed through keep their own spacing.
                out.append(0x20)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
