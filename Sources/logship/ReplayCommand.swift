import Foundation
import LogshipCore
import LogshipSupport

enum ReplayCommand {
    static let spec = CommandSpec(
        name: "replay",
        summary:
            "Re-send dead-lettered chunks (deadletter/<chunk-id>.json) with fresh signatures; each one delivered is recorded in the manifest and removed. Resumable.",
        usage: "logship replay PIPELINE [--state-dir DIR] [--endpoint URL] [--report FILE|-]",
        options: [
            SharedOptions.stateDir,
            SharedOptions.endpoint,
            OptionSpec(
                name: "--report", value: "FILE",
                help: "Write the replay report (JSON) to FILE (- for stdout); checked before anything is sent"),
        ] + LogOptions.specs,
        details:
            "Exit 0 when every dead letter was delivered, 1 when some are still refused, 3 when the service refused the run."
    )

    static func main(_ args: [String]) async throws -> Int32 {
        let p = try ArgumentParser.parse(args, spec)
        if p.has("--help") {
            Console.out(spec.helpText)
            return 0
        }
        let path = try pipelineArgument(p, spec)
        if let f = p.value("--report") { try ReportFile.check(f, command: "replay") }
        guard let (pipeline, _) = loadPipeline(path, command: "replay") else { return ExitCode.usage }
        let dir = stateDirectory(p, pipeline)
        let lock: StateLock?
        do {
            // No state, nothing to replay: leave no empty folder behind.
            lock =
                FileManager.default.fileExists(atPath: dir.path) ? try StateDirectory(dir).lock(command: "replay") : nil
        } catch {
            Console.fail("logship replay: \(error)")
            return ExitCode.usage
        }
        defer { withExtendedLifetime(lock) {} }
        let setup: TargetSetup
        do {
            setup = try TargetSetup.make(
                pipeline, endpoint: p.value("--endpoint"), local: false, localDataDir: nil,
                placeholderCredentials: false)
        } catch let e as UsageError {
            Console.fail("logship replay: \(e.description)")
            return ExitCode.usage
        }
        var replayer = Replayer(spec: pipeline, target: setup.target, stateDirectory: dir)
        replayer.log = .standard
        let stop = StopFlag()
        let interrupts = InterruptWatcher { stop.set(.interrupted) }
        let r = await replayer.run(stop: stop)
        interrupts.cancel()
        if r.found == 0, let f = p.value("--report") { ReportFile.write(report(r), to: f) }
        if r.found == 0 {
            Console.summary("logship replay: no dead letters in \(relativeToCWD(StateDirectory(dir).deadLetterFolder))")
            return 0
        }
        if let f = r.fatalError { Console.fail("logship replay: \(f)") }
        if let u = r.unreachable { Console.fail("logship replay: stopped: \(u)") }
        var line =
            "logship replay: \(r.replayed) of \(r.found) dead-lettered chunk(s) delivered (\(r.records) records); \(r.stillFailing) still refused"
        if r.split > 0 {
            line +=
                " (\(r.split) letter(s) were halved until the refused records stood alone: the rest of their records are delivered and each refused part is a letter of its own)"
        }
        if r.chunksPossiblyDuplicated > 0 {
            line +=
                "; \(r.chunksPossiblyDuplicated) letter(s) or parts (\(r.recordsPossiblyDuplicated) records) were re-sent after a lost answer: the service may hold them twice"
        }
        Console.summary(line)
        if let f = p.value("--report") { ReportFile.write(report(r), to: f) }
        let last = StatusSummary.LastReplay(
            finishedAt: HTTPDate.iso8601(Date()), found: r.found, replayed: r.replayed, records: r.records,
            stillFailing: r.stillFailing,
            exitCode: r.exitCode)
        if let data = try? JSONEncoder().encode(last) {
            try? PrivateFiles.write(data, to: StateDirectory(dir).lastReplay)
        }
        return r.exitCode
    }

    /// The replay report (`--report`): `Replayer.Report` as JSON.
    static func report(_ r: Replayer.Report) -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? enc.encode(r)) ?? Data("{}".utf8)
    }
}
