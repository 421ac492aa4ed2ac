import Foundation
import LogshipCore
import LogshipEmulator
import LogshipSupport

#if canImport(Glibc)
    import Glibc
#endif

enum RunCommand {
    static let spec = CommandSpec(
        name: "run",
        summary:
            "Send the records of a pipeline's files to Log Analytics. Run it again to resume: acknowledged chunks are never sent twice.",
        usage:
            "logship run PIPELINE [--state-dir DIR] [--endpoint URL] [--concurrency N|auto] [--restart] [--adopt] [--local] [--dry-run] [--shard K/N] [--progress auto|bar|plain|none] [--report FILE|-] [-q|-v] [--log-format text|json]",
        options: [
            SharedOptions.stateDir,
            SharedOptions.endpoint,
            OptionSpec(
                name: "--concurrency", value: "N",
                help: "Requests in flight, 1-64 or auto (default upload.concurrency, auto)"),
            OptionSpec(name: "--restart", value: nil, help: "Forget what earlier runs delivered and start over"),
            OptionSpec(
                name: "--adopt", value: nil,
                help: "Accept a changed pipeline: delivered records stay as sent, the rest is sent with the new mapping"
            ),
            OptionSpec(
                name: "--local", value: nil,
                help: "Send to an emulator started in-process (no Azure account) and print the table"),
            OptionSpec(name: "--dry-run", value: nil, help: "Do everything but send"),
            OptionSpec(
                name: "--shard", value: "K/N", help: "Only the files whose path hash mod N is K (own state per shard)"),
            OptionSpec(
                name: "--progress", value: "MODE",
                help: "auto (bar on a terminal, plain lines otherwise), bar, plain, none",
                choices: ["auto", "bar", "plain", "none"]),
            OptionSpec(
                name: "--report", value: "FILE",
                help: "Write the run report (JSON) to FILE (- for stdout); checked before anything is sent"),
            OptionSpec(
                name: "--keep-bodies", value: nil,
                help: "With --dry-run: keep every request body under <state>/dry-run/bodies/"),
        ] + LogOptions.specs,
        details: """
            Credentials, in order: --endpoint; LOGSHIP_WORKSPACE_ID, LOGSHIP_SHARED_KEY, LOGSHIP_ENDPOINT;
            LOGSHIP_SHARED_KEY_FILE; the systemd credential logship-shared-key ($CREDENTIALS_DIRECTORY);
            the pipeline file (target.sharedKey or target.sharedKeyFile, ${VAR} references). Keys are never printed.
            Logs Ingestion API: LOGSHIP_TENANT_ID, LOGSHIP_CLIENT_ID, LOGSHIP_CLIENT_SECRET (or AZURE_TENANT_ID,
            AZURE_CLIENT_ID, AZURE_CLIENT_SECRET), LOGSHIP_CLIENT_SECRET_FILE, the systemd credential
            logship-client-secret, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST, or with
            target.managedIdentity the Azure host's identity (IDENTITY_ENDPOINT and IDENTITY_HEADER, or the
            Arc agent's IMDS_ENDPOINT, else the metadata service); --endpoint is the data collection endpoint.
            One run per state directory (a lock; a second one exits 2). Dead letters of earlier runs that
            failed for no fault of their content are sent again first.
            LOGSHIP_NOW (ISO 8601) moves the clock the TimeGenerated age checks use.
            Exit codes: 0 all delivered, nothing left in deadletter/; 1 records rejected, dead letters
            waiting, or the service unreachable for upload.unreachableAfter s; 2 usage or pipeline error,
            or the state directory in use; 3 the service refused the run; 130 interrupted.
            """)

    static func main(_ args: [String]) async throws -> Int32 {
        let p = try ArgumentParser.parse(args, spec)
        if p.has("--help") {
            Console.out(spec.helpText)
            return 0
        }
        let path = try pipelineArgument(p, spec)
        var shard: (Int, Int)? = nil
        if let sh = p.value("--shard") {
            let parts = sh.split(separator: "/")
            guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, n <= 10_000, k >= 0, k < n
            else {
                throw UsageError(description: "logship run: --shard \(sh): expected K/N with 0 ≤ K < N (e.g. 0/4)")
            }
            shard = (k, n)
        }
        let progressMode = p.value("--progress") ?? "auto"
        guard ["auto", "bar", "plain", "none"].contains(progressMode) else {
            throw UsageError(description: "logship run: --progress \(progressMode): allowed: auto, bar, plain, none")
        }
        if p.has("--adopt") && p.has("--restart") {
            throw UsageError(
                description: "logship run: --adopt keeps what was delivered, --restart forgets it; use one")
        }
        if p.has("--keep-bodies") && !p.has("--dry-run") {
            throw UsageError(description: "logship run: --keep-bodies goes with --dry-run")
        }
        let concurrency: Int?
        let autoConcurrency = p.value("--concurrency") == "auto"
        if autoConcurrency {
            concurrency = nil
        } else if let v = p.value("--concurrency"), Int(v) == nil {
            throw UsageError(
                description: "logship run: --concurrency: \"\(v)\" is neither auto nor a whole number from 1 to 64")
        } else {
            concurrency = try ArgumentParser.int(p, "--concurrency", 1...64)
        }
        if p.has("--local") && p.has("--endpoint") {
            throw UsageError(description: "logship run: --local starts its own emulator; leave out --endpoint")
        }
        if let f = p.value("--report") { try ReportFile.check(f, command: "run") }
        guard var (pipeline, _) = loadPipeline(path, command: "run") else { return ExitCode.usage }
        if let c = concurrency {
            pipeline.upload.concurrency = c
            pipeline.upload.adaptive = false
        }
        if autoConcurrency {
            pipeline.upload.concurrency = 64
            pipeline.upload.adaptive = true
        }
        var stateDir = stateDirectory(p, pipeline)
        if let (k, n) = shard { stateDir = stateDir.appendingPathComponent("shard-\(k)-of-\(n)") }
        // Local and dry runs keep state of their own: they must never mark real deliveries.
        if p.has("--local") { stateDir = stateDir.appendingPathComponent("local") }
        if p.has("--dry-run") { stateDir = stateDir.appendingPathComponent("dry-run") }
        // Before anything is read, reset or sent: a second run on this state would send it all again.
        let lock: StateLock
        do {
            lock = try StateDirectory(stateDir).lock(command: p.has("--restart") ? "run --restart" : "run")
        } catch {
            Console.fail("logship run: \(error)")
            return ExitCode.usage
        }
        defer { withExtendedLifetime(lock) {} }

        let localData = stateDir.appendingPathComponent("emulator")
        if p.has("--local") && p.has("--restart") { try? FileManager.default.removeItem(at: localData) }
        let setup: TargetSetup
        do {
            setup = try TargetSetup.make(
                pipeline, endpoint: p.value("--endpoint"), local: p.has("--local"), localDataDir: localData,
                placeholderCredentials: p.has("--dry-run"))
        } catch let e as UsageError {
            Console.fail("logship run: \(e.description)")
            return ExitCode.usage
        }
        let emulator = setup.emulator
        let target = setup.target
        let destination = setup.destination
        defer { emulator?.stop() }

        if p.has("--restart") {
            switch StateDirectory(stateDir).restart() {
            case .none: break
            case .moved(let count, let aside):
                Console.error(
                    "logship: --restart: moved \(count) dead letter(s) of earlier runs to \(aside.path): this run sends the input again, their records included where their files are still there, so `logship replay` leaves them alone (to replay them instead, move them back into deadletter/)"
                )
            case .failed(_, let reason):
                Console.error(
                    "logship: warning: --restart could not move the dead letters in \(StateDirectory(stateDir).deadLetterFolder.path) aside (\(reason)); replaying them after this run would send their records twice"
                )
            }
        }
        var options = RunOptions(stateDirectory: stateDir)
        options.dryRun = p.has("--dry-run")
        options.keepBodies = p.has("--keep-bodies")
        options.adopt = p.has("--adopt")
        options.shard = shard
        options.destination = destination
        options.now = try ReferenceClock.now()
        let engine = Engine(spec: pipeline, target: target, options: options)
        engine.log = .standard
        let terminal = ProgressDisplay.Terminal.current(fd: 2)
        var mode = ProgressDisplay.mode(
            progressMode, terminal: terminal, quiet: Logger.shared.configuration.verbosity == .quiet)
        // A JSON log is for a collector: its progress lines go through the logger like the rest.
        if Logger.shared.configuration.format == .json && mode == .bar { mode = .plain }
        // A log line first clears the bar's row; the next tick draws the bar again below it.
        if mode == .bar { Logger.shared.setPlainPrefix("\r\u{1B}[K") }
        let bar = mode == .bar
        let display = ProgressDisplay(mode: mode, counters: engine.counters, terminal: terminal) { s in
            if bar { StandardStreams.err(s) } else { Logger.shared.log(.info, s) }
        }
        display.start()
        let grace = Int(options.gracePeriod)
        let interrupts = InterruptWatcher {
            Console.error(
                "\nlogship: stopping: no new requests; waiting up to \(grace) s for those in flight (Ctrl-C again to quit now)"
            )
            engine.requestStop()
        }
        let report = await engine.run()
        interrupts.cancel()
        display.stop()
        Logger.shared.setPlainPrefix("")
        printSummary(report)
        writeReport(report, stateDir: stateDir, extra: p.value("--report"))
        // `--report -`: stdout holds the report alone.
        if let e = emulator, p.value("--report") != "-" {
            if pipeline.target.api == .logsIngestion, let stream = pipeline.target.stream {
                printStream(e, stream: stream, declaration: e.config.dcr, dataDir: localData)
            } else {
                printTable(e, logType: pipeline.target.logType, dataDir: localData)
            }
        }
        return report.exitCode
    }

    static func printSummary(_ r: RunReport) {
        for w in r.warnings { Console.summary("logship: warning: \(w)", level: .warn) }
        if r.interrupted { Console.summary("logship: interrupted; run the same command again to resume", level: .warn) }
        if let a = r.aborted { Console.fail("logship: run stopped: \(a)") }
        if let f = r.fatalError { Console.fail("logship: \(f)") }
        var line =
            "logship: \(r.dryRun ? "dry run: would send" : "sent") \(r.recordsSent) records in \(r.chunksAcked) chunk(s)"
        let read = r.inputBytes
        // Files delivered by earlier runs are skipped unread: no speed for bytes not read.
        if r.recordsSent == 0 && r.filesSkipped > 0 && r.filesSkipped == r.filesMatched {
            line += String(format: " (nothing new to read; %.1f s)", r.durationSeconds)
        } else {
            let rate = r.durationSeconds > 0 ? Double(read) / 1e6 / r.durationSeconds : 0
            line += String(format: " (%.1f MB read in %.1f s, %.1f MB/s)", Double(read) / 1e6, r.durationSeconds, rate)
        }
        Console.summary(line, ["records": .int(r.recordsSent), "chunks": .int(r.chunksAcked)])
        var notes: [String] = []
        var earlier: [String] = []
        if r.filesSkipped > 0 { earlier.append("\(r.filesSkipped) file(s)") }
        if r.recordsAlreadyDelivered > 0 { earlier.append("\(r.recordsAlreadyDelivered) record(s) of the files read") }
        if !earlier.isEmpty { notes.append(earlier.joined(separator: " and ") + " already delivered by earlier runs") }
        if r.recordsRejected > 0 { notes.append("\(r.recordsRejected) rejected (see rejects.ndjson)") }
        if let n = r.recordsFiltered, n > 0 { notes.append("\(n) left out by fields.where") }
        if r.deadLettersResent > 0 {
            notes.append(
                "\(r.deadLettersResent) dead letter(s) of earlier runs delivered (\(r.recordsResentFromDeadLetters) records)"
            )
        }
        if r.isolationSplits > 0 {
            notes.append(
                "\(r.isolationSplits) refused bod(ies) halved to isolate the records the service refused; only those were dead-lettered"
            )
        }
        if r.chunksDeadLettered > 0 {
            notes.append(
                "\(r.chunksDeadLettered) chunk(s) dead-lettered (\(r.recordsDeadLettered) records; `logship replay`)")
        }
        if r.truncatedValues > 0 { notes.append("\(r.truncatedValues) value(s) truncated to the size limit") }
        if r.multilineRecordsCut > 0 {
            notes.append(
                "\(r.multilineRecordsCut) multi-line record(s) cut at source.multiline.maxLines/maxBytes (the rest sent as records of their own; see the warnings)"
            )
        }
        if r.timezoneGapValues + r.timezoneRepeatedValues > 0 {
            notes.append(
                "time zones: \(r.timezoneGapValues) local time(s) in a DST gap (moved forward), \(r.timezoneRepeatedValues) in a repeated hour (earlier instant)"
            )
        }
        if r.extractMisses > 0 {
            notes.append(
                "\(r.extractMisses) value(s) did not match their fields.map extract (the field was left out, or got its default)"
            )
        }
        if r.collidingNames > 0 {
            notes.append(
                "\(r.collidingNames) field(s) sent under a numbered name (another field of the record had the column name; see `logship preview`)"
            )
        }
        if r.chunksPossiblyDuplicated > 0 {
            notes.append(
                "\(r.chunksPossiblyDuplicated) chunk(s) (\(r.recordsPossiblyDuplicated) records) re-sent after a lost answer: the service may hold them twice"
            )
        }
        if !r.retriesByStatus.isEmpty {
            notes.append(
                "retries: "
                    + r.retriesByStatus.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(
                        separator: ", "))
        }
        if !notes.isEmpty { Console.summary("logship: " + notes.joined(separator: "; ")) }
        for line in pendingDeadLetterLines(r.pendingDeadLetters) { Console.summary(line, level: .warn) }
        // Each on its own line: a damaged file is not one reject among many, it is lost input.
        for d in r.damagedFiles { Console.fail("logship: \(d.message)") }
    }

    /// What is still undelivered in deadletter/, and who acts on it: the next run (transient
    /// failures) or the user (content the service refused).
    static func pendingDeadLetterLines(_ p: PendingDeadLetters) -> [String] {
        guard !p.isEmpty else { return [] }
        var lines = [
            "logship: not complete: \(p.letters) dead letter(s) (\(p.records) records) in deadletter/ are undelivered"
        ]
        let retryable = p.letters - p.refusedLetters
        if retryable > 0 {
            lines.append(
                "logship:   \(retryable) failed for no fault of their content (\(p.records - p.refusedRecords) records); the next run sends them again first"
            )
        }
        if p.refusedLetters > 0 {
            lines.append(
                "logship:   \(p.refusedLetters) the service refused for their content (\(p.refusedRecords) records); they wait for you: "
                    + "correct the pipeline or the data and `logship replay` (or delete them from deadletter/ to give them up)"
            )
            for reason in p.reasons { lines.append("logship:     \(reason.letters)× \(reason.reason)") }
        }
        return lines
    }

    static func writeReport(_ r: RunReport, stateDir: URL, extra: String?) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? enc.encode(r) else { return }
        try? StateDirectory(stateDir).writeLastRun(data)
        if let f = extra { ReportFile.write(data, to: f) }
    }

    /// The table the local emulator built: columns with their suffixes, then the first rows.
    static func printTable(_ e: Emulator, logType: String, dataDir: URL) {
        let table = logType + "_CL"
        let columns = e.columns(table: table)
        let rows = e.currentStats().tables[table] ?? 0
        var out = "\nTable \(table): \(rows) row(s)\n"
        let width = max(13, columns.map(\.name.count).max() ?? 0) + 2
        out += "  " + "Column".padding(toLength: width, withPad: " ", startingAt: 0) + "Type\n"
        out += "  " + "TimeGenerated".padding(toLength: width, withPad: " ", startingAt: 0) + "datetime\n"
        for c in columns {
            out += "  " + c.name.padding(toLength: width, withPad: " ", startingAt: 0) + c.type.name + "\n"
        }
        let file = dataDir.appendingPathComponent("\(table).ndjson")
        if let data = try? Data(contentsOf: file) {
            let lines = data.split(separator: UInt8(ascii: "\n"), maxSplits: 4, omittingEmptySubsequences: true).prefix(
                3)
            if !lines.isEmpty { out += "\nFirst rows (\(relativeToCWD(file))):\n" }
            for l in lines {
                out += "  " + String(decoding: l.prefix(400), as: UTF8.self) + (l.count > 400 ? " …" : "") + "\n"
            }
        }
        Console.out(out)
    }
}

extension RunCommand {
    /// The stream the local emulator stored: the property names the records carried (with the
    /// declared type when the pipeline names a DCR declaration), then the first rows as sent.
    static func printStream(_ e: Emulator, stream: String, declaration: DCRDeclaration?, dataDir: URL) {
        let stats = e.currentStats()
        let keys = e.keys(stream: stream)
        let declared = declaration?.stream(stream)
        var out =
            "\nStream \(stream): \(stats.streams[stream] ?? 0) row(s), stored as sent (the DCR's transformation is not emulated)\n"
        let width = max(13, keys.map(\.count).max() ?? 0) + 2
        out +=
            "  " + "Column".padding(toLength: width, withPad: " ", startingAt: 0)
            + (declared == nil ? "\n" : "Declared type\n")
        for k in keys {
            var line = "  " + k.padding(toLength: width, withPad: " ", startingAt: 0)
            if let d = declared { line += d.column(named: k)?.type.rawValue ?? "not declared: the service drops it" }
            out += line.trimmingCharacters(in: .whitespaces).isEmpty ? "" : line + "\n"
        }
        if let d = declared {
            let missing = d.columns.map(\.name).filter { n in !keys.contains { $0.lowercased() == n.lowercased() } }
            if !missing.isEmpty { out += "  Declared but never sent: \(missing.joined(separator: ", "))\n" }
        }
        if stats[.missingTimeGenerated] > 0 {
            out +=
                "  \(stats[.missingTimeGenerated]) record(s) without TimeGenerated: the DCR's transformation must produce it\n"
        }
        let file = dataDir.appendingPathComponent("\(stream).ndjson")
        if let h = try? FileHandle(forReadingFrom: file), let data = try? h.read(upToCount: 64 * 1024) {
            try? h.close()
            let lines = data.split(separator: UInt8(ascii: "\n"), maxSplits: 4, omittingEmptySubsequences: true).prefix(
                3)
            if !lines.isEmpty { out += "\nFirst rows (\(relativeToCWD(file))):\n" }
            for l in lines {
                out += "  " + String(decoding: l.prefix(400), as: UTF8.self) + (l.count > 400 ? " …" : "") + "\n"
            }
        }
        Console.out(out)
    }
}

func relativeToCWD(_ url: URL) -> String {
    FileDiscovery.relative(url.path, to: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
}

/// Turns the first SIGINT/SIGTERM into a graceful stop and a second one into an exit (130).
final class InterruptWatcher: @unchecked Sendable {
    // `sources` is set in init and cancelled once; `count` is guarded by `lock`.
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var count = 0

    init(onFirst: @escaping @Sendable () -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { [self] in
                let n = lock.withLock { () -> Int in
                    count += 1
                    return count
                }
                if n == 1 { onFirst() } else { exit(ExitCode.interrupted) }
            }
            s.resume()
            sources.append(s)
        }
    }

    func cancel() {
        for s in sources { s.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
