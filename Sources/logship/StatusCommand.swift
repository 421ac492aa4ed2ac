import Foundation
import LogshipCore

enum StatusCommand {
    static let spec = CommandSpec(
        name: "status",
        summary:
            "Summarise what a pipeline's state directory holds: files done, partial and pending; chunks acknowledged and dead-lettered; records and bytes.",
        usage: "logship status PIPELINE [--state-dir DIR] [--json]",
        options: [
            SharedOptions.stateDir,
            OptionSpec(name: "--json", value: nil, help: "Print the summary as JSON on stdout"),
        ] + LogOptions.specs,
        details: "Shard state (run --shard K/N) under the state directory is included.")

    static func main(_ args: [String]) throws -> Int32 {
        let p = try ArgumentParser.parse(args, spec)
        if p.has("--help") {
            Console.out(spec.helpText)
            return 0
        }
        let path = try pipelineArgument(p, spec)
        guard let (pipeline, _) = loadPipeline(path, command: "status") else { return ExitCode.usage }
        let dir = stateDirectory(p, pipeline)
        var dirs = [dir]
        if let subs = try? FileManager.default.contentsOfDirectory(atPath: dir.path) {
            dirs += subs.filter { $0.hasPrefix("shard-") }.sorted().map { dir.appendingPathComponent($0) }
        }
        let s: StatusSummary
        do {
            s = try StatusSummary.of(pipeline, stateDirectories: dirs)
        } catch {
            Console.fail("logship status: \(error)")
            return ExitCode.usage
        }
        if p.has("--json") {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            Console.out(String(decoding: try enc.encode(s), as: UTF8.self))
            return 0
        }
        var out =
            "\(pipeline.name): state in \(relativeToCWD(dir))\(dirs.count > 1 ? " (+\(dirs.count - 1) shard folder(s))" : "")\n"
        if s.runs == 0 {
            out += "  nothing delivered yet (\(s.filesMatched) file(s) match)\n"
            Console.out(out)
            return 0
        }
        out +=
            "  files:    \(s.filesDone) done, \(s.filesPartial) partial, \(s.filesPending) pending (\(s.filesMatched) match now)\n"
        out += "  chunks:   \(s.chunksAcked) acknowledged"
        if s.chunksDeadLettered > 0 {
            out += ", \(s.chunksDeadLettered) dead-lettered (\(s.recordsDeadLettered) records)"
        }
        out += "\n  records:  \(s.recordsDelivered) delivered\n"
        let letters = s.pendingDeadLetters
        if !letters.isEmpty {
            out += "  waiting:  \(letters.letters) dead letter(s), \(letters.records) records undelivered: "
            out +=
                "\(letters.letters - letters.refusedLetters) to be sent again by the next run, \(letters.refusedLetters) refused for their content"
            out += letters.refusedLetters > 0 ? " (fix, then `logship replay`)\n" : "\n"
            for r in letters.reasons { out += "            \(r.letters)× \(r.reason)\n" }
        }
        out += "  sent:     \(formatBytes(s.bytesSent))\n"
        if s.resendsAfterLostAnswers > 0 {
            out +=
                "  note:     \(s.resendsAfterLostAnswers) resend(s) after a lost answer: those records may be stored twice\n"
        }
        if s.specs.count > 1 || s.specChanged {
            for d in s.specs {
                let how = d.adoptedFrom.map { ", adopted from \($0.prefix(12))" } ?? ""
                out +=
                    "  spec:     \(d.spec.prefix(12)) since \(d.since)\(how): \(d.records) records from \(d.files) file(s)"
                out += d.current ? " (the pipeline file now)\n" : "\n"
            }
        }
        if s.specChanged {
            out += "  note:     the pipeline changed since this state was written; `run` refuses to resume: "
            out += "--adopt sends the rest with the new pipeline, --restart sends everything again\n"
        }
        if let r = s.lastRun {
            out +=
                "  last run: \(r.startedAt), \(String(format: "%.1f", r.durationSeconds)) s, exit \(r.exitCode)\(r.interrupted ? " (interrupted)" : "")\n"
            for d in r.damagedFiles { out += "  damaged:  \(d.message)\n" }
            if let n = r.recordsFiltered, n > 0 {
                out += "  filtered: \(n) record(s) left out by fields.where in the last run\n"
            }
        }
        if let r = s.lastReplay, s.lastRun.map({ r.finishedAt >= $0.startedAt }) ?? true {
            out +=
                "  replay:   \(r.finishedAt): \(r.replayed) of \(r.found) dead letter(s) delivered (\(r.records) records), "
            out += "\(r.stillFailing) still refused, exit \(r.exitCode)"
            out += letters.isEmpty && r.exitCode == 0 ? "; nothing of the last run is left undelivered\n" : "\n"
        }
        for f in s.partialFiles.prefix(10) { out += "  partial:  \(f)\n" }
        for f in s.pendingFiles.prefix(10) { out += "  pending:  \(f)\n" }
        if s.pendingFiles.count > 10 { out += "  … and \(s.pendingFiles.count - 10) more pending\n" }
        Console.out(out)
        return 0
    }
}
