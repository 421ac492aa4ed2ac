import Foundation
import LogshipSupport

/// Records `range` of a chunk, to send (the whole chunk, or a part an earlier run left).
struct ChunkPart: Sendable {
    var range: Range<Int>
    var body: Data
    var records: Int { range.count }
}

/// A file the reading side finished: its records, the error reading stopped at, and where a
/// last line still being written was left for the next run.
struct FinishedFile: Sendable {
    var ordinals: Int64
    var error: ReadError?
    var heldBackAt: Int64?
}

/// Owns a run's bookkeeping: the report, the manifest, which files are complete.
actor Ledger {
    private var report: RunReport
    private let manifest: ManifestWriter?
    private let files: [InputFile]
    private let fingerprints: [FileFingerprint?]
    private let counters: ProgressCounters
    private let log: LogSink
    private let deadLetters: DeadLetterStore
    private let spec: PipelineSpec
    private let keepBodies: URL?
    /// Chunks dispatched and not yet settled, per file.
    private var pending: [Int: Int] = [:]
    private var finished: [Int: FinishedFile] = [:]
    /// Records of each dispatched chunk still to be recorded (acknowledged or dead-lettered).
    private var outstanding: [String: Int] = [:]
    /// Records acknowledged per file in this run, for the damaged-file report.
    private var deliveredByFile: [Int: Int] = [:]
    /// Files whose reading stopped at an error: the error and the records read before it.
    private var damaged: [(file: Int, error: ReadError, ordinals: Int64)] = []
    /// Ordinals of each file earlier runs delivered (the resume plan).
    private var earlier: [Int: [Range<Int64>]] = [:]
    private var manifestFailed = false

    init(
        report: RunReport, manifest: ManifestWriter?, files: [InputFile], fingerprints: [FileFingerprint?],
        counters: ProgressCounters, log: LogSink, deadLetters: DeadLetterStore, spec: PipelineSpec, keepBodies: URL?
    ) {
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

    /// The parts of `chunk` still to send; nil when an earlier run handled all of it.
    func dispatch(_ chunk: Chunk, handled: [Range<Int>]?) -> [ChunkPart]? {
        var todo = [ChunkPart(range: 0..<chunk.records, body: chunk.body)]
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
            todo = left.map { ChunkPart(range: $0, body: BodySplitter.body(chunk.body, elements: elements, range: $0)) }
        }
        for s in chunk.segments { pending[s.file, default: 0] += 1 }
        outstanding[chunk.id] = todo.reduce(0) { $0 + $1.records }
        return todo
    }

    func dryRun(_ chunk: Chunk) {
        report.chunksAcked += 1
        report.recordsSent += chunk.records
        report.bytesSent += Int64(chunk.body.count)
        if let dir = keepBodies {
            try? PrivateFiles.write(
                chunk.body, to: dir.appendingPathComponent("\(String(format: "%06d", chunk.sequence))-\(chunk.id).json")
            )
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
                path: files[s.file].relativePath, sample: fingerprints[s.file]?.sample ?? "stream", start: s.start,
                end: s.end,
                size: fingerprints[s.file]?.size)
        }
    }

    /// Records an acknowledgement (fsync'd) before it counts; false if the manifest cannot be written.
    func acked(
        _ chunk: Chunk, part: Range<Int>, records: Int, bytes: Int, lostAnswers: Int, dcr: String? = nil,
        requestId: String? = nil
    ) -> Bool {
        var e = ManifestEntry(.ack)
        e.dcr = dcr
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
            if !manifestFailed {
                log(.error, "cannot record deliveries: \(error); stopping (the records of this chunk were delivered)")
            }
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
        log(
            .debug, "chunk \(chunk.id.prefix(16)): acknowledged (\(records) records, \(bytes) bytes)",
            fields(chunk, ["records": .int(records)], requestId: requestId))
        return true
    }

    /// - Parameter retryable: the failure was not the content's (attempts ran out on 429/5xx):
    ///   the next run sends it again by itself.
    func deadLetter(
        _ chunk: Chunk, body: Data, records: Int, part: Range<Int>, attempts: Int, reason: String,
        retryable: Bool = false, requestId: String? = nil
    ) -> Bool {
        let whole = part == 0..<chunk.records
        let name = whole ? chunk.id : "\(chunk.id)-\(part.lowerBound)-\(part.upperBound)"
        var meta = DeadLetterMeta(
            chunkId: chunk.id, api: spec.target.api.rawValue, logType: spec.target.logType,
            timeGeneratedField: spec.target.timeGeneratedField,
            records: records, bytes: body.count, attempts: attempts, lastError: reason,
            segments: segments(chunk).map { DeadLetterSegment(file: $0.path, start: $0.start, end: $0.end) },
            time: HTTPDate.iso8601(Date()),
            part: whole ? nil : [part.lowerBound, part.upperBound], total: chunk.records,
            sample: segments(chunk).map(\.sample),
            retryable: retryable, sizes: segments(chunk).map(\.size))
        let location = DeadLetterSegment.locate(part, records: chunk.records, in: meta.segments)
        meta.location = location
        do {
            try deadLetters.write(name: name, body: body, meta: meta)
        } catch {
            log(
                .error,
                "chunk \(name): could not be dead-lettered (\(error.localizedDescription)); its \(records) records are NOT saved and will be sent again next run"
            )
            return true
        }
        var e = ManifestEntry(.dead)
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
        log(
            .warn,
            "chunk \(name) (\(DeadLetterSegment.describe(location))): dead-lettered after \(attempts) attempt(s): \(reason) (deadletter/\(name).json; `logship replay` re-sends it)",
            fields(chunk, ["attempt": .int(attempts)], requestId: requestId))
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

    /// Recorded once; the summary prints it (logging it here too printed it twice).
    func fatal(_ message: String) {
        if report.fatalError == nil { report.fatalError = message }
    }

    /// Structured fields of a log line about `chunk`: its id and its first file.
    nonisolated func fields(_ chunk: Chunk, _ extra: LogFields = [:], requestId: String? = nil) -> LogFields {
        var f = extra
        if let requestId { f["requestId"] = .string(requestId) }
        f["chunk"] = .string(String(chunk.id.prefix(16)))
        if let s = chunk.segments.first, s.file < files.count { f["file"] = .string(files[s.file].relativePath) }
        return f
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
        finished[file] = FinishedFile(ordinals: ordinals, error: error, heldBackAt: heldBackAt)
        if let error {
            report.filesWithReadErrors += 1
            damaged.append((file, error, ordinals))
        }
        if let at = heldBackAt {
            report.warnings.append(
                spec.source.multiline == nil
                    ? "\(files[file].relativePath): its last line has no line end yet and the file is still being written, so that line was left for the next run; \(ordinals) records up to byte \(at) were read"
                    : "\(files[file].relativePath): the file is still being written, so its last multi-line record (from byte \(at)), which more lines may still continue, was left for the next run; \(ordinals) records before it were read"
            )
        }
        maybeDone(file)
    }

    private func maybeDone(_ file: Int) {
        guard let f = finished[file], pending[file, default: 0] == 0, !report.dryRun, report.fatalError == nil,
            !manifestFailed, f.error == nil, let fp = fingerprints[file]
        else { return }
        let ordinals = f.ordinals
        finished[file] = nil
        var e = ManifestEntry(.done)
        e.path = files[file].relativePath
        e.sample = fp.sample
        e.head = fp.head
        e.size = fp.size
        if let at = f.heldBackAt, at < fp.size,
            let (sample, head) = FileFingerprint.sampleAndHead(path: files[file].path, size: at)
        {
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
            let before = (earlier[d.file] ?? []).reduce(Int64(0)) {
                $0 + max(0, min($1.upperBound, d.ordinals) - $1.lowerBound)
            }
            return DamagedFile(
                path: files[d.file].relativePath, offset: d.error.offset, size: files[d.file].size,
                reason: d.error.message,
                recordsRead: d.ordinals, recordsDelivered: (deliveredByFile[d.file] ?? 0) + Int(before))
        }
        return report
    }
}

/// Records what becomes of the bodies of one chunk in the run's ledger.
struct ChunkRecorder: DeliveryRecorder {
    let chunk: Chunk
    let ledger: Ledger

    func label(_ part: Range<Int>) -> String { "chunk \(chunk.id.prefix(16))" }

    func fields(_ part: Range<Int>) -> LogFields { ledger.fields(chunk) }

    func delivered(_ d: DeliveredBody) async -> Bool {
        await ledger.acked(
            chunk, part: d.part, records: d.records, bytes: d.bytes, lostAnswers: d.possibleDuplicates, dcr: d.dcr,
            requestId: d.requestId)
    }

    func refused(_ r: RefusedBody) async -> Bool {
        await ledger.deadLetter(
            chunk, body: r.body, records: r.records, part: r.part, attempts: r.attempts, reason: r.reason,
            retryable: r.retryable, requestId: r.requestId)
    }

    func retried(status: Int?) async { await ledger.retried(status: status) }

    func halving(isolating: Bool, attempts: Int) async {
        if isolating { await ledger.isolating() } else { await ledger.split() }
    }

    func stopped(_ reason: StopReason, _ message: String) async {
        if reason == .unreachable {
            await ledger.unreachable(
                message + ". Nothing was dead-lettered: run the same command again when the service can be reached, "
                    + "and it resumes")
        } else {
            await ledger.fatal(message)
        }
    }
}
