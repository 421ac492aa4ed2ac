import Foundation
import LogshipSupport

/// Options of one `logship run` that are not in the pipeline file.
public struct RunOptions: Sendable {
    public var stateDirectory: URL
    public var dryRun = false
    /// With `dryRun`: keep every body under `<state>/bodies/`.
    public var keepBodies = false
    /// `--shard K/N`: only the files whose path hash mod N is K.
    public var shard: (index: Int, count: Int)? = nil
    /// Where records go, for the manifest: resuming towards another destination is refused.
    public var destination = ""
    /// Seconds in-flight requests get to finish after a stop request.
    public var gracePeriod = 30.0
    /// Decode on a thread of its own (nil: decide from the pipeline).
    public var decodeAhead: Bool? = nil
    /// Inflate gzip files on a thread of their own (nil: yes).
    public var inflateAhead: Bool? = nil
    /// The time TimeGenerated ages are measured from (two days back, one ahead); the CLI takes
    /// it from `LOGSHIP_NOW` when set, so a run over old samples behaves the same on any date.
    public var now = Date()
    /// `--adopt`: a changed pipeline applies to what is not delivered yet (README "logship run").
    public var adopt = false
    public init(stateDirectory: URL) { self.stateDirectory = stateDirectory }
}

/// Drives a run: the producer (read → decode → transform → chunk) on a thread of its own,
/// `upload.concurrency` deliveries in flight, and the ledger recording each outcome.
public final class Engine: @unchecked Sendable {
    // Set before run() and not changed after; the stop flag is thread-safe.
    public let spec: PipelineSpec
    public let target: DeliveryTarget
    public let options: RunOptions
    public let counters = ProgressCounters()
    public let stop = StopFlag()
    let sleep: @Sendable (Double) async -> Void
    /// Status lines for the user (stderr in the CLI).
    public var log: LogSink = .discard
    /// A monotonic clock in seconds, for the outage rule (tests inject one).
    public var clock: @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }
    /// The DCR lanes, their pacing and the concurrency controller of the current run.
    var lanes: UploadLanes? = nil

    public init(
        spec: PipelineSpec, target: DeliveryTarget, options: RunOptions,
        sleep: @escaping @Sendable (Double) async -> Void = { s in
            try? await Task.sleep(nanoseconds: UInt64(max(0, s) * 1e9))
        }
    ) {
        self.spec = spec
        self.target = target
        self.options = options
        self.sleep = sleep
    }

    /// Asks the run to stop: no more reading, no new requests, no retries; in-flight requests
    /// may finish within the grace period. The run then reports `interrupted`.
    public func requestStop() { stop.set(.interrupted) }

    /// Stable shard of a file: FNV-1a of its path relative to the pipeline file, mod `count`.
    public static func shard(of relativePath: String, count: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in relativePath.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return Int(h % UInt64(count))
    }

    /// A run, step by step; a step that ends the run early returns the report then.
    public func run() async -> RunReport {
        let started = Date()
        var report = startReport(at: started)
        guard let inputs = discoverFiles(&report) else { return report }
        guard let state = loadState(&report) else { return report }
        // What an earlier night could not deliver for no fault of its content goes first.
        if !options.dryRun, let stopped = await resendRetryableDeadLetters(&report) {
            report.durationSeconds = Date().timeIntervalSince(started)
            report.pendingDeadLetters = PendingDeadLetters.of(deadLetterStore)
            report.exitCode = stopped
            return report
        }
        let planned = ResumePlanner.plan(
            state, files: inputs.files, fingerprints: inputs.fingerprints, compression: spec.source.compression)
        report.warnings += planned.warnings
        guard let manifest = openManifest(&report, movedDone: planned.movedDone) else { return report }
        let rejects = openRejects(inputs, plan: planned.plan)
        let producer = makeProducer(inputs, rejects: rejects, plan: planned.plan, inputBytes: report.inputBytes)
        let ledger = Ledger(
            report: report, manifest: manifest, files: inputs.files, fingerprints: inputs.fingerprints,
            counters: counters,
            log: log, deadLetters: deadLetterStore, spec: spec,
            keepBodies: options.keepBodies ? stateDirectory.bodies : nil)
        await ledger.setEarlierDeliveries(planned.plan.acked)
        let reading = startReading(producer)
        await upload(from: reading.channel, state: state, producer: producer, ledger: ledger)
        reading.finished.wait()
        // Lets a decoding thread that is still waiting for room see that the run is over.
        producer.cancel()
        rejects.close()
        return await finalReport(ledger: ledger, producer: producer, files: inputs.files, started: started)
    }

    /// The run's files, after sharding, with their fingerprints (nil for stdin).
    struct Inputs {
        var files: [InputFile]
        var fingerprints: [FileFingerprint?]
    }

    /// The reading thread's side of the run: the events it sends, and a signal when it is done.
    struct ReadingThread {
        var channel: EventChannel
        var finished: DispatchSemaphore
    }

    private func startReport(at started: Date) -> RunReport {
        var report = RunReport()
        report.pipeline = spec.file.path
        report.target = target.displayName
        report.startedAt = HTTPDate.iso8601(started)
        report.dryRun = options.dryRun
        return report
    }

    /// The files `source.files` matches (this shard's); nil when the run cannot start.
    private func discoverFiles(_ report: inout RunReport) -> Inputs? {
        let discovery = FileDiscovery.expand(
            spec.source.files, relativeTo: spec.baseDirectory, followSymlinks: spec.source.followSymlinks)
        if !discovery.errors.isEmpty {
            report.aborted = discovery.errors.joined(separator: "\n")
            report.exitCode = ExitCode.usage
            return nil
        }
        for p in discovery.unmatched { report.warnings.append("source.files: \"\(p)\" matched no file") }
        for w in discovery.warnings { report.warnings.append("source.files: \(w)") }
        var files = discovery.files
        if let (k, n) = options.shard {
            files = files.filter { Engine.shard(of: $0.relativePath, count: n) == k }
            for i in files.indices { files[i].index = i }
        }
        report.filesMatched = files.count
        report.inputBytes = files.reduce(0) { $0 + $1.size }
        return Inputs(files: files, fingerprints: files.map { FileFingerprint.of($0) })
    }

    /// What earlier runs delivered; nil when the state belongs to another pipeline or destination.
    private func loadState(_ report: inout RunReport) -> ManifestState? {
        let state: ManifestState
        do {
            state = try ManifestState.load(stateDirectory.manifest)
        } catch {
            report.aborted = "\(error)"
            report.exitCode = ExitCode.usage
            return nil
        }
        if let old = state.spec, old != spec.specHash {
            if let refusal = Self.adoptRefusal(
                state, spec: spec, adopt: options.adopt, stateDirectory: options.stateDirectory)
            {
                report.aborted = refusal
                report.exitCode = ExitCode.usage
                return nil
            }
            report.adoptedSpec = old
            report.warnings.append(
                "--adopt: the pipeline changed since the state was written; what was delivered stays as it was sent (spec \(old.prefix(12))), "
                    + "the rest is sent with this pipeline (spec \(spec.specHash.prefix(12))), partly delivered files from their next record on"
            )
            if state.specTarget == nil {
                report.warnings.append(
                    "--adopt: the state was written by an older logship that did not record its table and record cutting; "
                        + "they are taken as unchanged (the destination is checked)")
            }
        }
        if let old = state.destination, !options.destination.isEmpty, old != options.destination {
            report.aborted = """
                the state in \(options.stateDirectory.path) records deliveries to \(old), not to \(options.destination): \
                use another --state-dir for this destination, or --restart.
                """
            report.exitCode = ExitCode.usage
            return nil
        }
        return state
    }

    /// Opens the manifest and writes this run's header; nil when it cannot be written.
    private func openManifest(_ report: inout RunReport, movedDone: [ManifestEntry]) -> ManifestWriter? {
        do {
            let manifest = try ManifestWriter(url: stateDirectory.manifest)
            var header = ManifestEntry(.run)
            header.v = ManifestEntry.formatVersion
            header.spec = spec.specHash
            header.specTarget = spec.specTargetHash
            header.specReading = spec.specReadingHash
            header.adopted = report.adoptedSpec
            header.destination = options.destination
            header.at = report.startedAt
            try manifest.append(header)
            // A moved file found whole is recorded under its new path: later runs skip it by
            // its fingerprint alone, even once the content has moved on again.
            if !options.dryRun { for e in movedDone { try manifest.append(e) } }
            return manifest
        } catch {
            report.aborted = "cannot write the manifest: \(error)"
            report.exitCode = ExitCode.usage
            return nil
        }
    }

    /// Rejects an earlier run wrote are not written again when their records are read again.
    private func openRejects(_ inputs: Inputs, plan: ChunkProducer.ResumePlan) -> RejectsWriter {
        let resumed = inputs.files.compactMap { f in
            inputs.fingerprints[f.index].flatMap {
                plan.doneFiles.contains(f.index)
                    ? nil : RejectsWriter.ResumedFile(relativePath: f.relativePath, path: f.path, fingerprint: $0)
            }
        }
        return RejectsWriter(url: stateDirectory.rejects, resuming: resumed)
    }

    private func makeProducer(
        _ inputs: Inputs, rejects: RejectsWriter, plan: ChunkProducer.ResumePlan, inputBytes: Int64
    ) -> ChunkProducer {
        // Decoding ahead on the other core pays when there is work on both sides of the
        // hand-off (a typed mapping); plain NDJSON passthrough is one scan and a copy. A gzip
        // file is inflated on a thread of its own instead (or as well): inflating is most of
        // its cost, and the decoder then shares the other core with the uploads.
        let heavyTransform = !spec.fields.map.isEmpty || spec.source.format != .ndjson
        let producer = ChunkProducer(
            spec: spec, files: inputs.files, fingerprints: inputs.fingerprints, rejects: rejects, plan: plan,
            decodeAhead: options.decodeAhead ?? heavyTransform, inflateAhead: options.inflateAhead ?? true,
            now: options.now)
        producer.counters = counters
        counters.update {
            $0.totalBytes = inputBytes
            $0.filesTotal = inputs.files.count
        }
        return producer
    }

    /// Starts the reading thread: read, decode, transform and chunk, one event at a time.
    private func startReading(_ producer: ChunkProducer) -> ReadingThread {
        // One chunk ready while the next is filled: memory stays near (concurrency + 2) bodies.
        let channel = EventChannel(capacity: 1)
        let stop = self.stop
        let producerDone = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { producerDone.signal() }
            while !stop.isSet {
                do {
                    guard let e = try producer.next() else { break }
                    if !channel.send(e) { return }
                } catch {
                    _ = channel.send(.abort("\(error)"))
                    break
                }
            }
            channel.close()
        }
        thread.name = "logship-reader"
        thread.stackSize = 1 << 22
        thread.start()
        return ReadingThread(channel: channel, finished: producerDone)
    }

    /// Uploads: `upload.concurrency` chunks in flight, each delivered by the uploader and
    /// recorded in the ledger, until the reading ends or the run stops.
    private func upload(
        from channel: EventChannel, state: ManifestState, producer: ChunkProducer, ledger: Ledger
    ) async {
        let lanes = UploadLanes(
            target: target, upload: spec.upload, maxBodyBytes: spec.limits.maxBodyBytes, clock: clock, sleep: sleep)
        self.lanes = lanes
        var uploader = Uploader(target: target, upload: spec.upload, stop: stop, clock: clock, sleep: sleep, log: log)
        uploader.counters = counters
        uploader.lanes = lanes
        let stop = self.stop
        await withTaskGroup(of: Bool.self) { group in
            var inFlight = 0
            while let event = await channel.receive() {
                if stop.isSet { break }
                switch event {
                case .chunk(let chunk):
                    guard let todo = await ledger.dispatch(chunk, handled: state.handledParts(chunk.id)) else {
                        continue
                    }
                    if options.dryRun {
                        await ledger.dryRun(chunk)
                        continue
                    }
                    while inFlight >= lanes.limit {
                        _ = await group.next()
                        inFlight -= 1
                    }
                    if stop.isSet { break }
                    inFlight += 1
                    group.addTask { [uploader] in
                        let recorder = ChunkRecorder(chunk: chunk, ledger: ledger)
                        var refusals = 0
                        for part in todo {
                            let ok = await uploader.deliver(
                                part.body, records: part.records, part: part.range, to: recorder, refusals: &refusals)
                            if !ok { break }
                        }
                        await ledger.chunkSettled(chunk)
                        return false
                    }
                case .fileFinished(let file, let ordinals, let error, let heldBack):
                    await ledger.fileFinished(file, ordinals: ordinals, error: error, heldBackAt: heldBack)
                case .fileSkipped:
                    await ledger.fileSkipped()
                case .abort(let why):
                    await ledger.abort(why)
                    stop.set(.aborted(why))
                }
                if stop.isSet { break }
            }
            channel.cancel()
            if stop.isSet { producer.cancel() }
            if stop.isSet && inFlight > 0 {
                // Requests in flight may finish (their answers are recorded) within the grace
                // period; then they are cancelled and their chunks are sent again next run.
                let grace = options.gracePeriod
                group.addTask {
                    try? await Task.sleep(nanoseconds: UInt64(grace * 1e9))
                    return true
                }
                while inFlight > 0, let isTimer = await group.next() {
                    if isTimer {
                        group.cancelAll()
                    } else {
                        inFlight -= 1
                    }
                }
                group.cancelAll()
            }
            await group.waitForAll()
        }
    }

    /// The ledger's report with what the reading side counted, the warnings about it, and the exit code.
    private func finalReport(
        ledger: Ledger, producer: ChunkProducer, files: [InputFile], started: Date
    ) async -> RunReport {
        var final = await ledger.finish()
        if let paced = lanes?.summary {
            final.concurrencyReached = paced.highestLimit
            final.quotaPauses = paced.throttled
            final.learnedRequestRates = paced.rates
        }
        final.recordsRead = producer.recordsRead
        final.recordsAlreadyDelivered = producer.recordsSkipped
        final.recordsRejected = producer.rejectedCount
        let t = producer.transformer.stats
        final.truncatedValues = t[.truncatedValues]
        final.replacedInvalidUTF8 = t[.replacedUTF8]
        final.packedRecords = t[.packedRecords]
        final.renamedFields = t[.renamedFields]
        final.collidingNames = t[.collidingNames]
        final.timeGeneratedTooOld = t[.timeGeneratedTooOld]
        final.timeGeneratedInFuture = t[.timeGeneratedInFuture]
        final.recordsFiltered = t[.filtered]
        final.timezoneGapValues = t[.timezoneGapValues]
        final.timezoneRepeatedValues = t[.timezoneRepeatedValues]
        final.extractMisses = t[.extractMisses]
        let cuts = producer.multilineCuts.summary
        final.multilineRecordsCut = cuts.count
        if cuts.count > 0, let ml = spec.source.multiline {
            let places = cuts.places.map {
                "\(files[$0.file].relativePath):\($0.line) (byte \($0.offset), \($0.reason))"
            }
            final.warnings.append(
                "\(cuts.count) multi-line record(s) reached source.multiline.maxLines (\(ml.maxLines)) or maxBytes (\(ml.maxBytes)) and were cut before a line; the lines from the cut on were sent as a record of their own. Cuts at: \(places.joined(separator: ", "))\(cuts.count > places.count ? ", …" : "")"
            )
        }
        // The two-day rule is documented for the Data Collector API (docs/service-facts.md).
        if spec.target.api == .dataCollector, let tf = spec.target.timeGeneratedField,
            t[.timeGeneratedTooOld] + t[.timeGeneratedInFuture] > 0
        {
            var what: [String] = []
            if t[.timeGeneratedTooOld] > 0 { what.append("\(t[.timeGeneratedTooOld]) more than two days old") }
            if t[.timeGeneratedInFuture] > 0 {
                what.append("\(t[.timeGeneratedInFuture]) more than a day in the future")
            }
            final.warnings.append(
                "target.timeGeneratedField \"\(tf)\": \(what.joined(separator: " and ")); the service replaces those with the ingestion time as TimeGenerated. The event time stays in its own column (\(tf)); query by it for backfills"
            )
        }
        if stop.reason == .interrupted { final.interrupted = true }
        if !options.dryRun { final.pendingDeadLetters = PendingDeadLetters.of(deadLetterStore) }
        final.durationSeconds = Date().timeIntervalSince(started)
        final.exitCode = Self.exitCode(final)
        return final
    }

    var stateDirectory: StateDirectory { StateDirectory(options.stateDirectory) }
    var deadLetterStore: DeadLetterStore { stateDirectory.deadLetters }

    /// Sends the dead letters whose failure was not their content's (attempts ran out on
    /// 429/5xx) before the run reads anything: a nightly job thus finishes what the last night
    /// could not. Returns the exit code when the run must stop here (the service refused the
    /// run, could not be reached, or an interrupt); nil to go on.
    private func resendRetryableDeadLetters(_ report: inout RunReport) async -> Int32? {
        var replayer = Replayer(spec: spec, target: target, stateDirectory: options.stateDirectory)
        replayer.only = { $0.isRetryable }
        replayer.log = log
        replayer.sleep = sleep
        replayer.clock = clock
        guard !replayer.pending().isEmpty else { return nil }
        let r = await replayer.run(stop: stop)
        log("re-sent \(r.replayed) of \(r.found) dead letter(s) of earlier runs (\(r.records) records) before new data")
        report.deadLettersResent = r.replayed
        report.recordsResentFromDeadLetters = r.records
        report.recordsSent += r.records
        report.chunksPossiblyDuplicated += r.chunksPossiblyDuplicated
        report.recordsPossiblyDuplicated += r.recordsPossiblyDuplicated
        if let f = r.fatalError {
            report.fatalError = f
            return r.exitCode
        }
        if let u = r.unreachable {
            report.unreachable = true
            report.aborted = u
            return ExitCode.partial
        }
        if stop.isSet {
            report.interrupted = true
            return ExitCode.interrupted
        }
        return nil
    }

    static func exitCode(_ r: RunReport) -> Int32 {
        if r.fatalError != nil { return ExitCode.refused }
        if r.interrupted { return ExitCode.interrupted }
        if r.aborted != nil || r.recordsRejected > 0 || r.chunksDeadLettered > 0 || r.filesWithReadErrors > 0 {
            return ExitCode.partial
        }
        // Exit 0 means nothing of the pipeline is undelivered: earlier runs' dead letters count too.
        if !r.pendingDeadLetters.isEmpty { return ExitCode.partial }
        return ExitCode.success
    }
}
