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
    /// The time TimeGenerated ages are measured from (two days back, one ahead); the CLI takes
    /// it from `LOGSHIP_NOW` when set, so a run over old samples behaves the same on any date.
    public var now = Date()
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
    private let sleep: @Sendable (Double) async -> Void
    /// Status lines for the user (stderr in the CLI).
    public var log: @Sendable (String) -> Void = { _ in }
    /// A monotonic clock in seconds, for the outage rule (tests inject one).
    public var clock: @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }

    public init(
        spec: PipelineSpec, target: DeliveryTarget, options: RunOptions,
        sleep: @escaping @Sendable (Double) async -> Void = { s in try? await Task.sleep(nanoseconds: UInt64(max(0, s) * 1e9)) }
    ) {
        self.spec = spec
        self.target = target
        self.options = options
        self.sleep = sleep
    }

    /// Asks the run to stop: no more reading, no new requests, no retries; in-flight requests
    /// may finish within the grace period. The run then reports `interrupted`.
    public func requestStop() { stop.set("interrupted") }

    /// Stable shard of a file: FNV-1a of its path relative to the pipeline file, mod `count`.
    public static func shard(of relativePath: String, count: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in relativePath.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return Int(h % UInt64(count))
    }

    public func run() async -> RunReport {
        let started = Date()
        var report = RunReport()
        report.pipeline = spec.file.path
        report.target = target.displayName
        report.startedAt = HTTPDate.iso8601(started)
        report.dryRun = options.dryRun

        // Files.
        let discovery = FileDiscovery.expand(spec.source.files, relativeTo: spec.baseDirectory, followSymlinks: spec.source.followSymlinks)
        if !discovery.errors.isEmpty {
            report.aborted = discovery.errors.joined(separator: "\n")
            report.exitCode = ExitCode.usage
            return report
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
        let fingerprints = files.map { FileFingerprint.of($0) }

        // What earlier runs delivered.
        let manifestURL = stateDirectory.manifest
        let state: ManifestState
        do {
            state = try ManifestState.load(manifestURL)
        } catch {
            report.aborted = "\(error)"
            report.exitCode = ExitCode.usage
            return report
        }
        if let old = state.spec, old != spec.specHash {
            report.aborted = """
                the pipeline changed since the state in \(options.stateDirectory.path) was written (decoding, fields, limits or table): \
                resuming would cut different chunks. Run with --restart to send everything again, or give a new --state-dir.
                """
            report.exitCode = ExitCode.usage
            return report
        }
        if let old = state.destination, !options.destination.isEmpty, old != options.destination {
            report.aborted = """
                the state in \(options.stateDirectory.path) records deliveries to \(old), not to \(options.destination): \
                use another --state-dir for this destination, or --restart.
                """
            report.exitCode = ExitCode.usage
            return report
        }
        // What an earlier night could not deliver for no fault of its content goes first.
        if !options.dryRun, let stopped = await resendRetryableDeadLetters(&report) {
            report.durationSeconds = Date().timeIntervalSince(started)
            report.pendingDeadLetters = PendingDeadLetters.of(deadLetterStore)
            report.exitCode = stopped
            return report
        }
        let planned = ResumePlanner.plan(state, files: files, fingerprints: fingerprints, compression: spec.source.compression)
        let plan = planned.plan
        let movedDone = planned.movedDone
        report.warnings += planned.warnings

        let manifest: ManifestWriter?
        do {
            manifest = try ManifestWriter(url: manifestURL)
            var header = ManifestEntry(t: "run")
            header.spec = spec.specHash
            header.destination = options.destination
            header.at = report.startedAt
            try manifest?.append(header)
            // A moved file found whole is recorded under its new path: later runs skip it by
            // its fingerprint alone, even once the content has moved on again.
            if !options.dryRun { for e in movedDone { try manifest?.append(e) } }
        } catch {
            report.aborted = "cannot write the manifest: \(error)"
            report.exitCode = ExitCode.usage
            return report
        }

        // Rejects an earlier run wrote are not written again when their records are read again.
        let resumed = files.compactMap { f in
            fingerprints[f.index].flatMap { plan.doneFiles.contains(f.index) ? nil : RejectsWriter.ResumedFile(relativePath: f.relativePath, path: f.path, fingerprint: $0) }
        }
        let rejects = RejectsWriter(url: stateDirectory.rejects, resuming: resumed)
        // Decoding ahead on the other core pays when there is work on both sides of the
        // hand-off (a typed mapping, gzip); plain NDJSON passthrough is one scan and a copy.
        let gzipped = files.contains { $0.path.hasSuffix(".gz") } || spec.source.compression == .gzip
        let heavyTransform = !spec.fields.map.isEmpty || spec.source.format != .ndjson
        let producer = ChunkProducer(
            spec: spec, files: files, fingerprints: fingerprints, rejects: rejects, plan: plan,
            decodeAhead: options.decodeAhead ?? (gzipped || heavyTransform), now: options.now)
        producer.counters = counters
        counters.update {
            $0.totalBytes = report.inputBytes
            $0.filesTotal = files.count
        }
        let ledger = Ledger(
            report: report, manifest: manifest, files: files, fingerprints: fingerprints, counters: counters, log: log,
            deadLetters: deadLetterStore, spec: spec,
            keepBodies: options.keepBodies ? stateDirectory.bodies : nil)

        await ledger.setEarlierDeliveries(plan.acked)

        // The reading thread.
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

        // Uploads.
        let concurrency = max(1, spec.upload.concurrency)
        let policy = RetryPolicy(maxAttempts: spec.upload.maxAttempts)
        let outage = SharedOutageWatch(limit: spec.upload.unreachableAfter, clock: clock)
        await withTaskGroup(of: Bool.self) { group in
            var inFlight = 0
            while let event = await channel.receive() {
                if stop.isSet { break }
                switch event {
                case .chunk(let chunk):
                    guard let todo = await ledger.dispatch(chunk, handled: state.handledParts(chunk.id)) else { continue }
                    if options.dryRun {
                        await ledger.dryRun(chunk)
                        continue
                    }
                    while inFlight >= concurrency {
                        _ = await group.next()
                        inFlight -= 1
                    }
                    if stop.isSet { break }
                    inFlight += 1
                    group.addTask { [self] in
                        var refusals = 0
                        for (part, body, records) in todo {
                            let ok = await self.deliver(
                                chunk, body: body, records: records, part: part, policy: policy, ledger: ledger, outage: outage,
                                refusals: &refusals)
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
                    stop.set(why)
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
        producerDone.wait()
        // Lets a decoding thread that is still waiting for room see that the run is over.
        producer.cancel()
        rejects.close()

        var final = await ledger.finish()
        final.recordsRead = producer.recordsRead
        final.recordsAlreadyDelivered = producer.recordsSkipped
        final.recordsRejected = producer.rejectedCount
        let t = producer.transformer.stats
        final.truncatedValues = t.truncatedValues
        final.replacedInvalidUTF8 = t.replacedUTF8
        final.packedRecords = t.packedRecords
        final.renamedFields = t.renamedFields
        final.collidingNames = t.collidingNames
        final.timeGeneratedTooOld = t.timeGeneratedTooOld
        final.timeGeneratedInFuture = t.timeGeneratedInFuture
        final.recordsFiltered = t.filtered
        final.timezoneGapValues = t.timezoneGapValues
        final.timezoneRepeatedValues = t.timezoneRepeatedValues
        let cuts = producer.multilineCuts.summary
        final.multilineRecordsCut = cuts.count
        if cuts.count > 0, let ml = spec.source.multiline {
            let places = cuts.places.map { "\(files[$0.file].relativePath):\($0.line) (byte \($0.offset), \($0.reason))" }
            final.warnings.append(
                "\(cuts.count) multi-line record(s) reached source.multiline.maxLines (\(ml.maxLines)) or maxBytes (\(ml.maxBytes)) and were cut before a line; the lines from the cut on were sent as a record of their own. Cuts at: \(places.joined(separator: ", "))\(cuts.count > places.count ? ", …" : "")")
        }
        // The two-day rule is documented for the Data Collector API (docs/api-notes.md).
        if spec.target.api == .dataCollector, let tf = spec.target.timeGeneratedField, t.timeGeneratedTooOld + t.timeGeneratedInFuture > 0 {
            var what: [String] = []
            if t.timeGeneratedTooOld > 0 { what.append("\(t.timeGeneratedTooOld) more than two days old") }
            if t.timeGeneratedInFuture > 0 { what.append("\(t.timeGeneratedInFuture) more than a day in the future") }
            final.warnings.append(
                "target.timeGeneratedField \"\(tf)\": \(what.joined(separator: " and ")); the service replaces those with the ingestion time as TimeGenerated. The event time stays in its own column (\(tf)); query by it for backfills")
        }
        if stop.why == "interrupted" { final.interrupted = true }
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
        if r.aborted != nil || r.recordsRejected > 0 || r.chunksDeadLettered > 0 || r.filesWithReadErrors > 0 { return ExitCode.partial }
        // Exit 0 means nothing of the pipeline is undelivered: earlier runs' dead letters count too.
        if !r.pendingDeadLetters.isEmpty { return ExitCode.partial }
        return ExitCode.success
    }

    /// Sends one body until acknowledged, dead-lettered, split, or the run stops.
    /// Returns false when the run must stop.
    /// - Parameters:
    ///   - refusals: counts the bodies dead-lettered, so a halving knows whether its left half went through.
    ///   - knownRefused: the body is known to hold a record the service refuses (its parent was refused
    ///     for its data and the parent's left half was delivered): it is halved without being sent
    ///     whole, which keeps isolating one record within 2·log2(records) requests.
    fileprivate func deliver(
        _ chunk: Chunk, body: Data, records: Int, part: Range<Int>, policy: RetryPolicy, ledger: Ledger, outage: SharedOutageWatch,
        refusals: inout Int, knownRefused: String? = nil
    ) async -> Bool {
        var attempt = 0
        var unanswered = 0
        var lostAnswers = 0
        var retrying = false
        defer { if retrying { counters.update { $0.retrying -= 1 } } }
        if let known = knownRefused, records > 1 {
            return await halve(
                chunk, body: body, records: records, part: part, isolating: known, attempts: 0, policy: policy, ledger: ledger, outage: outage,
                refusals: &refusals)
        }
        while true {
            if stop.isSet { return false }
            counters.update { $0.inFlight += 1 }
            let outcome = await target.send(body: body)
            counters.update { $0.inFlight -= 1 }
            if case .unreachable(let reason, let mayHaveArrived) = outcome {
                // Not the chunk's fault: no attempt is counted and nothing is dead-lettered;
                // the outage rule decides when waiting is over.
                unanswered += 1
                if mayHaveArrived { lostAnswers += 1 }
                await ledger.retried(status: nil)
                if let silent = outage.noAnswer() {
                    await ledger.unreachable(
                        "no answer from \(target.endpoint) (\(target.displayName)) for \(Int(silent.rounded())) s (upload.unreachableAfter: "
                            + "\(Int(spec.upload.unreachableAfter))); last: \(reason). Nothing was dead-lettered: run the same "
                            + "command again when the service can be reached, and it resumes")
                    stop.set("unreachable")
                    return false
                }
                let decision = policy.decide(outcome, attempt: unanswered, records: records, random: Double.random(in: 0..<1))
                guard case .retry(let backoff) = decision else { return false }
                let delay = min(backoff, outage.remaining() + 0.05)
                if !retrying {
                    retrying = true
                    counters.update { $0.retrying += 1 }
                }
                log("\(target.endpoint): \(reason); next attempt in \(String(format: "%.1f", delay)) s (chunk \(chunk.id.prefix(16)))")
                // In slices, so an outage stop (or Ctrl-C) does not wait out a long backoff.
                var left = delay
                while left > 0 && !stop.isSet {
                    await sleep(min(left, 0.5))
                    left -= 0.5
                }
                if stop.isSet { return false }
                continue
            }
            if outcome.gotAnswer { outage.answered() }
            unanswered = 0
            attempt += 1
            switch policy.decide(outcome, attempt: attempt, records: records, random: Double.random(in: 0..<1)) {
            case .acknowledged:
                return await ledger.acked(chunk, part: part, records: records, bytes: body.count, lostAnswers: lostAnswers)
            case .retry(let delay):
                if case .transient(let status, _, _) = outcome {
                    await ledger.retried(status: status)
                    // A connection dropped before its answer may have been stored: its resend can duplicate.
                    if status == nil { lostAnswers += 1 }
                }
                if !retrying {
                    retrying = true
                    counters.update { $0.retrying += 1 }
                }
                if stop.isSet { return false }
                await sleep(delay)
            case .split:
                return await halve(
                    chunk, body: body, records: records, part: part, isolating: nil, attempts: attempt, policy: policy, ledger: ledger,
                    outage: outage, refusals: &refusals)
            case .isolate(let reason):
                return await halve(
                    chunk, body: body, records: records, part: part, isolating: reason, attempts: attempt, policy: policy, ledger: ledger,
                    outage: outage, refusals: &refusals)
            case .deadLetter(let reason):
                refusals += 1
                var retryable = false
                if case .transient = outcome { retryable = true }
                return await ledger.deadLetter(
                    chunk, body: body, records: records, part: part, attempts: attempt, reason: reason, retryable: retryable)
            case .stopRun(let reason):
                stop.set("fatal")
                await ledger.fatal("the service refused the request (\(target.displayName)): \(reason)")
                return false
            }
        }
    }
}

extension Engine {
    /// Sends the two halves of a body, left first: for one too large (`isolating` nil), or for
    /// one the service refused for its data (`isolating` its message), until the refused records
    /// stand alone. What is delivered, and the part ranges the manifest records (so a resumed run
    /// skips them), depend only on the answers.
    fileprivate func halve(
        _ chunk: Chunk, body: Data, records: Int, part: Range<Int>, isolating: String?, attempts: Int, policy: RetryPolicy, ledger: Ledger,
        outage: SharedOutageWatch, refusals: inout Int
    ) async -> Bool {
        if let reason = isolating, refusals >= RetryPolicy.maxIsolatedPerBody {
            // A service that refuses everything would take two requests per record; past this many
            // refused parts the rest stays whole in its letter (`logship replay` halves it further).
            refusals += 1
            return await ledger.deadLetter(
                chunk, body: body, records: records, part: part, attempts: attempts,
                reason: "\(reason) (not halved further: \(RetryPolicy.maxIsolatedPerBody) parts of this chunk were already refused)")
        }
        if isolating != nil { await ledger.isolating() } else { await ledger.split() }
        guard let elements = BodySplitter.elements(body), elements.count == records else {
            refusals += 1
            return await ledger.deadLetter(
                chunk, body: body, records: records, part: part, attempts: attempts, reason: isolating ?? "the body could not be split")
        }
        let half = records / 2
        let left = BodySplitter.body(body, elements: elements, range: 0..<half)
        let before = refusals
        guard
            await deliver(
                chunk, body: left, records: half, part: part.lowerBound..<part.lowerBound + half, policy: policy, ledger: ledger,
                outage: outage, refusals: &refusals)
        else { return false }
        let right = BodySplitter.body(body, elements: elements, range: half..<records)
        // A body refused for its data whose left half went through holds its refused records on
        // the right: sending the right half whole would only be refused again.
        return await deliver(
            chunk, body: right, records: records - half, part: part.lowerBound + half..<part.upperBound, policy: policy, ledger: ledger,
            outage: outage, refusals: &refusals, knownRefused: refusals == before ? isolating : nil)
    }
}

/// Owns a run's bookkeeping: the report, the manifest, which files are complete.
actor Ledger {
    private var report: RunReport
    private let manifest: ManifestWriter?
    private let files: [InputFile]
    private let fingerprints: [FileFingerprint?]
    private let counters: ProgressCounters
    private let log: @Sendable (String) -> Void
    private let deadLetters: DeadLetterStore
    private let spec: PipelineSpec
    private let keepBodies: URL?
    /// Chunks dispatched and not yet settled, per file.
    private var pending: [Int: Int] = [:]
    private var finished: [Int: (Int64, ReadError?, Int64?)] = [:]
    /// Records of each dispatched chunk still to be recorded (acknowledged or dead-lettered).
    private var outstanding: [String: Int] = [:]
    /// Records acknowledged per file in this run, for the damaged-file report.
    private var deliveredByFile: [Int: Int] = [:]
    /// Files whose reading stopped at an error: the error and the records read before it.
    private var damaged: [(file: Int, error: ReadError, ordinals: Int64)] = []
    /// Ordinals of each file earlier runs delivered (the resume plan).
    private var earlier: [Int: [Range<Int64>]] = [:]
    private var manifestFailed = false

    init(report: RunReport, manifest: ManifestWriter?, files: [InputFile], fingerprints: [FileFingerprint?], counters: ProgressCounters, log: @escaping @Sendable (String) -> Void, deadLetters: DeadLetterStore, spec: PipelineSpec, keepBodies: URL?) {
        self.report = report
        self.manifest = manifest
        self.files = files
        self.fingerprints = fingerprints
        self.counters = counters
        self.log = log
        self.deadLetters = deadLetters
        self.spec = spec
        self.keepBodies = keepBodies
    }

    /// The parts of `chunk` still to send (part range, body, records); nil when an earlier run
    /// handled all of it.
    func dispatch(_ chunk: Chunk, handled: [Range<Int>]?) -> [(Range<Int>, Data, Int)]? {
        var todo: [(Range<Int>, Data, Int)] = [(0..<chunk.records, chunk.body, chunk.records)]
        if let done = handled {
            if done.contains(where: { $0.lowerBound == 0 && $0.upperBound >= chunk.records }) {
                report.chunksAlreadyAcked += 1
                return nil
            }
            // A split chunk resumed: send only the parts not yet handled.
            guard let elements = BodySplitter.elements(chunk.body), elements.count == chunk.records else { return todo }
            var left: [Range<Int>] = []
            var k = 0
            for r in done.sorted(by: { $0.lowerBound < $1.lowerBound }) {
                if r.lowerBound > k { left.append(k..<r.lowerBound) }
                k = max(k, r.upperBound)
            }
            if k < chunk.records { left.append(k..<chunk.records) }
            todo = left.map { ($0, BodySplitter.body(chunk.body, elements: elements, range: $0), $0.count) }
        }
        for s in chunk.segments { pending[s.file, default: 0] += 1 }
        outstanding[chunk.id] = todo.reduce(0) { $0 + $1.2 }
        return todo
    }

    func dryRun(_ chunk: Chunk) {
        report.chunksAcked += 1
        report.recordsSent += chunk.records
        report.bytesSent += Int64(chunk.body.count)
        if let dir = keepBodies {
            try? PrivateFiles.write(chunk.body, to: dir.appendingPathComponent("\(String(format: "%06d", chunk.sequence))-\(chunk.id).json"))
        }
        counters.update {
            $0.chunksAcked += 1
            $0.recordsSent += chunk.records
        }
        // Nothing was delivered: dry runs never mark files done.
    }

    private func segments(_ chunk: Chunk) -> [ManifestSegment] {
        chunk.segments.map { s in
            ManifestSegment(
                path: files[s.file].relativePath, sample: fingerprints[s.file]?.sample ?? "stream", start: s.start, end: s.end,
                size: fingerprints[s.file]?.size)
        }
    }

    /// Records an acknowledgement (fsync'd) before it counts; false if the manifest cannot be written.
    func acked(_ chunk: Chunk, part: Range<Int>, records: Int, bytes: Int, lostAnswers: Int) -> Bool {
        var e = ManifestEntry(t: "ack")
        e.id = chunk.id
        e.seg = segments(chunk)
        e.records = records
        e.bytes = bytes
        if part != 0..<chunk.records {
            e.part = [part.lowerBound, part.upperBound]
            e.total = chunk.records
        }
        if lostAnswers > 0 { e.dup = true }
        do {
            try manifest?.append(e)
        } catch {
            if !manifestFailed { log("cannot record deliveries: \(error); stopping (the records of this chunk were delivered)") }
            manifestFailed = true
            report.aborted = "cannot write the manifest: \(error)"
            return false
        }
        report.chunksAcked += 1
        report.recordsSent += records
        report.bytesSent += Int64(bytes)
        outstanding[chunk.id, default: 0] -= records
        var k = 0
        for s in chunk.segments {
            // Positions in the chunk by its segments; exact unless records between them were rejected.
            let n = Int(s.end - s.start)
            let inPart = max(0, min(part.upperBound, k + n) - max(part.lowerBound, k))
            deliveredByFile[s.file, default: 0] += inPart
            k += n
        }
        if lostAnswers > 0 {
            // Each answer lost after the service stored the body is one possible extra copy.
            report.chunksPossiblyDuplicated += lostAnswers
            report.recordsPossiblyDuplicated += records * lostAnswers
        }
        counters.update {
            $0.chunksAcked += 1
            $0.recordsSent += records
            $0.bytesSent += Int64(bytes)
        }
        return true
    }

    /// - Parameter retryable: the failure was not the content's (attempts ran out on 429/5xx):
    ///   the next run sends it again by itself.
    func deadLetter(
        _ chunk: Chunk, body: Data, records: Int, part: Range<Int>, attempts: Int, reason: String, retryable: Bool = false
    ) -> Bool {
        let whole = part == 0..<chunk.records
        let name = whole ? chunk.id : "\(chunk.id)-\(part.lowerBound)-\(part.upperBound)"
        var meta = DeadLetterMeta(
            chunkId: chunk.id, api: spec.target.api.rawValue, logType: spec.target.logType, timeGeneratedField: spec.target.timeGeneratedField,
            records: records, bytes: body.count, attempts: attempts, lastError: reason,
            segments: segments(chunk).map { DeadLetterSegment(file: $0.path, start: $0.start, end: $0.end) }, time: HTTPDate.iso8601(Date()),
            part: whole ? nil : [part.lowerBound, part.upperBound], total: chunk.records, sample: segments(chunk).map(\.sample),
            retryable: retryable)
        let location = DeadLetterSegment.locate(part, records: chunk.records, in: meta.segments)
        meta.location = location
        do {
            try deadLetters.write(name: name, body: body, meta: meta)
        } catch {
            log("chunk \(name): could not be dead-lettered (\(error.localizedDescription)); its \(records) records are NOT saved and will be sent again next run")
            return true
        }
        var e = ManifestEntry(t: "dead")
        e.id = chunk.id
        e.seg = segments(chunk)
        e.records = records
        e.reason = reason
        if !whole {
            e.part = [part.lowerBound, part.upperBound]
            e.total = chunk.records
        }
        do { try manifest?.append(e) } catch {
            report.aborted = "cannot write the manifest: \(error)"
            return false
        }
        report.chunksDeadLettered += 1
        report.recordsDeadLettered += records
        outstanding[chunk.id, default: 0] -= records
        log("chunk \(name) (\(DeadLetterSegment.describe(location))): dead-lettered after \(attempts) attempt(s): \(reason) (deadletter/\(name).json; `logship replay` re-sends it)")
        return true
    }

    /// The chunk's delivery ended. Only when every record of it was recorded can its files
    /// become complete; a chunk cut short (a stop, a dead letter that could not be written)
    /// keeps them open, so the next run reads them again.
    func chunkSettled(_ chunk: Chunk) {
        guard outstanding.removeValue(forKey: chunk.id) == 0 else { return }
        for s in chunk.segments { pending[s.file, default: 1] -= 1 }
        for f in Set(chunk.segments.map(\.file)) { maybeDone(f) }
    }

    func retried(status: Int?) {
        report.retriesByStatus[status.map(String.init) ?? "network", default: 0] += 1
    }

    func split() { report.chunksSplit += 1 }

    /// A body of several records was refused for its data and is halved to find the records.
    func isolating() { report.isolationSplits += 1 }

    func fatal(_ message: String) {
        if report.fatalError == nil {
            report.fatalError = message
            log(message)
        }
    }

    func abort(_ why: String) { report.aborted = why }

    /// The first outage stop is the one reported (concurrent uploads reach the rule together).
    func unreachable(_ message: String) {
        guard !report.unreachable else { return }
        report.unreachable = true
        if report.aborted == nil { report.aborted = message }
    }

    func fileSkipped() {
        report.filesSkipped += 1
        counters.update { $0.filesDone += 1 }
    }

    func fileFinished(_ file: Int, ordinals: Int64, error: ReadError?, heldBackAt: Int64?) {
        finished[file] = (ordinals, error, heldBackAt)
        if let error {
            report.filesWithReadErrors += 1
            damaged.append((file, error, ordinals))
        }
        if let at = heldBackAt {
            report.warnings.append(
                spec.source.multiline == nil
                    ? "\(files[file].relativePath): its last line has no line end yet and the file is still being written, so that line was left for the next run; \(ordinals) records up to byte \(at) were read"
                    : "\(files[file].relativePath): the file is still being written, so its last multi-line record (from byte \(at)), which more lines may still continue, was left for the next run; \(ordinals) records before it were read")
        }
        maybeDone(file)
    }

    private func maybeDone(_ file: Int) {
        guard let (ordinals, error, heldBack) = finished[file], pending[file, default: 0] == 0, !report.dryRun, report.fatalError == nil,
            !manifestFailed, error == nil, let fp = fingerprints[file]
        else { return }
        finished[file] = nil
        var e = ManifestEntry(t: "done")
        e.path = files[file].relativePath
        e.sample = fp.sample
        e.head = fp.head
        e.size = fp.size
        if let at = heldBack, at < fp.size, let (sample, head) = FileFingerprint.sampleAndHead(path: files[file].path, size: at) {
            // Done up to the line left unread: recorded as the file that ends there, which the
            // next run finds grown.
            e.sample = sample
            e.head = head
            e.size = at
        }
        e.ordinals = ordinals
        do { try manifest?.append(e) } catch { return }
        report.filesDone += 1
        counters.update { $0.filesDone += 1 }
    }

    func setEarlierDeliveries(_ acked: [Int: [Range<Int64>]]) { earlier = acked }

    func finish() -> RunReport {
        // Counted now, once every chunk holding the file's records has its answer.
        report.damagedFiles = damaged.map { d in
            let before = (earlier[d.file] ?? []).reduce(Int64(0)) { $0 + max(0, min($1.upperBound, d.ordinals) - $1.lowerBound) }
            return DamagedFile(
                path: files[d.file].relativePath, offset: d.error.offset, size: files[d.file].size, reason: d.error.message,
                recordsRead: d.ordinals, recordsDelivered: (deliveredByFile[d.file] ?? 0) + Int(before))
        }
        return report
    }
}
