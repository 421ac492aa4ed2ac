import Foundation

/// The reading side of a run, pulled one event at a time: files are opened in order,
/// decoded, transformed and cut into chunks. It never reaches forward into the upload.
public final class ChunkProducer: @unchecked Sendable {
    // Owned by the reading thread while a run lasts; the engine reads its counters only after
    // that thread has finished. `counters` is itself thread-safe.
    public enum Event: Sendable {
        case chunk(Chunk)
        /// Every record of the file is now in an emitted chunk (or was rejected); `ordinals`
        /// is the number of records the file holds. `error` when reading stopped early.
        /// `heldBackAt`: the file was read up to there (a last line without its line end is left
        /// for the next run).
        case fileFinished(file: Int, ordinals: Int64, error: ReadError?, heldBackAt: Int64?)
        /// The file was skipped without reading (already delivered).
        case fileSkipped(file: Int)
        /// Reading stopped the run (too many rejects).
        case abort(String)
    }

    /// Stops the run: too many rejects, or a problem that is not one record's.
    public struct Abort: Error, CustomStringConvertible {
        public var description: String
    }

    /// What a previous run already delivered, so it is not read or sent again.
    public struct ResumePlan: Sendable {
        /// Files whose every record is delivered.
        public var doneFiles: Set<Int> = []
        /// Acknowledged ordinal ranges per file (sorted, non-overlapping).
        public var acked: [Int: [Range<Int64>]] = [:]
        public init() {}
    }

    public private(set) var recordsRead = 0
    public private(set) var recordsSkipped = 0
    public let transformer: Transformer
    /// Multi-line records cut at a bound (read when the run has finished reading).
    public let multilineCuts = MultilineCutLog()
    public var rejectedCount: Int { rejects.count }

    private let spec: PipelineSpec
    private let files: [InputFile]
    private let fingerprints: [FileFingerprint?]
    private let rejects: RejectsWriter
    private let plan: ResumePlan
    private let chunker: Chunker
    /// Stands in for stdin's content, which has no fingerprint: new each run, so what is piped
    /// into a later run never passes for chunks (or record ids) of an earlier one.
    private let streamKey = UInt64.random(in: 1...UInt64.max)
    private var fileIndex = -1
    private let input: InputStage
    /// Updated once per batch of records when given.
    public var counters: ProgressCounters?
    private var reportedBytes: Int64 = 0
    private var reportedRecords = 0
    private var pending: [Event] = []
    /// Files fully read whose last records still sit in the open chunk.
    private var finishedAwaitingChunk: [Event] = []
    private var currentOrdinals: Int64 = 0
    private var ackedCursor = 0
    private var inAckedRange = false
    private var done = false

    /// - Parameters:
    ///   - decodeAhead: decode on a thread of its own, overlapping with transforming and
    ///     chunking (worth it when both sides have real work: typed mappings, other formats).
    ///   - inflateAhead: inflate gzip files on a thread of its own, into large buffers ahead of
    ///     the decoder (inflating is most of a gzip file's cost).
    public init(
        spec: PipelineSpec, files: [InputFile], fingerprints: [FileFingerprint?], rejects: RejectsWriter,
        plan: ResumePlan = ResumePlan(), decodeAhead: Bool = false,
        inflateAhead: Bool = false, now: Date = Date()
    ) {
        self.input =
            decodeAhead
            ? ThreadedInput(
                files: files, source: spec.source, skip: plan.doneFiles, cutLog: multilineCuts,
                inflateAhead: inflateAhead)
            : InlineInput(
                files: files, source: spec.source, skip: plan.doneFiles, cutLog: multilineCuts,
                inflateAhead: inflateAhead)
        self.spec = spec
        self.files = files
        self.fingerprints = fingerprints
        self.rejects = rejects
        self.plan = plan
        self.transformer = Transformer(spec: spec, now: now)
        let stream = String(streamKey, radix: 16)
        let identities = files.map { f in "\(f.relativePath)#\(fingerprints[f.index]?.sample ?? "stream-\(stream)")" }
        self.chunker = Chunker(
            maxBodyBytes: spec.limits.maxBodyBytes, maxRecords: spec.limits.maxRecordsPerChunk, specHash: spec.specHash,
            bodies: spec.upload.ceiling(maxBodyBytes: spec.limits.maxBodyBytes) + 1, fileIdentity: { identities[$0] })
    }

    /// Bytes of the input files consumed so far (compressed bytes for gzip), for progress.
    public var progressBytes: Int64 { input.progressBytes }

    /// The most request bodies that existed at once so far (at most concurrency + 1).
    public var bodiesHighWater: Int { chunker.pool.highWater }

    /// Stops reading ahead and waiting for bodies (the run is stopping).
    public func cancel() {
        input.cancel()
        chunker.pool.close()
    }

    private func publishProgress() {
        guard let c = counters else { return }
        let bytes = progressBytes
        let records = recordsRead
        let db = bytes - reportedBytes, dr = records - reportedRecords
        reportedBytes = bytes
        reportedRecords = records
        c.update {
            $0.bytesRead += db
            $0.recordsRead += dr
        }
    }

    public func next() throws(Abort) -> Event? {
        while true {
            if !pending.isEmpty {
                let e = pending.removeFirst()
                // The rejects found so far are on disk before what holds them can be recorded as done.
                switch e {
                case .chunk, .fileFinished: rejects.synchronize()
                default: break
                }
                return e
            }
            if done { return nil }
            try step()
        }
    }

    private func emit(_ c: Chunk) {
        pending.append(.chunk(c))
        releaseFinished(all: false)
    }

    /// Finished files whose records are no longer in the open chunk can be reported.
    private func releaseFinished(all: Bool) {
        guard !finishedAwaitingChunk.isEmpty else { return }
        if all || chunker.pendingBytes == 0 {
            pending += finishedAwaitingChunk
            finishedAwaitingChunk.removeAll()
        }
    }

    /// The current file's ranges delivered by earlier runs (looked up once per file, not per record).
    private var currentAcked: [Range<Int64>] = []

    /// Whether `ordinal` of the current file was delivered by an earlier run.
    @inline(__always)
    private func isAcked(_ ordinal: Int64) -> Bool {
        if currentAcked.isEmpty { return false }
        while ackedCursor < currentAcked.count, currentAcked[ackedCursor].upperBound <= ordinal { ackedCursor += 1 }
        return ackedCursor < currentAcked.count && currentAcked[ackedCursor].contains(ordinal)
    }

    /// Handles input events until a chunk is ready, a few thousand records have passed, or the input ends.
    private func step() throws(Abort) {
        defer { publishProgress() }
        var budget = 4096
        while budget > 0 && pending.isEmpty {
            budget -= 1
            guard let event = input.next() else {
                done = true
                if let c = chunker.flush() { emit(c) }
                releaseFinished(all: true)
                return
            }
            switch event {
            case .fileOpened(let file, let names):
                fileIndex = file
                currentOrdinals = 0
                ackedCursor = 0
                inAckedRange = false
                currentAcked = plan.acked[file] ?? []
                transformer.beginFile(
                    fileKey: fingerprints[file]?.key ?? streamKey, names: names, path: files[file].relativePath)
            case .fileSkipped(let file):
                pending.append(.fileSkipped(file: file))
            case .fileFailed(let file, let error):
                rejects.write(
                    file: files[file].relativePath, line: 0, offset: error.offset,
                    reason: "cannot read the file: \(error.message)", excerpt: [], content: content(file))
                pending.append(.fileFinished(file: file, ordinals: 0, error: error, heldBackAt: nil))
            case .fileEnded(let file, let error, let heldBack):
                if let error {
                    rejects.write(
                        file: files[file].relativePath, line: 0, offset: error.offset,
                        reason: "reading stopped: \(error.message); \(currentOrdinals) records before it were read",
                        excerpt: [], content: content(file))
                }
                finishFile(error: error, heldBackAt: heldBack)
            case .record(let view):
                let p = view.provenance
                currentOrdinals = p.ordinal + 1
                if isAcked(p.ordinal) {
                    recordsSkipped += 1
                    if !inAckedRange {
                        // The chunk being filled ended here in the earlier run too.
                        inAckedRange = true
                        if let c = chunker.flush() { emit(c) }
                    }
                    continue
                }
                if inAckedRange {
                    inAckedRange = false
                    chunker.setCursor(file: fileIndex, ordinal: p.ordinal)
                }
                recordsRead += 1
                // Left out by fields.where: like a reject, a gap in the ordinals the chunker sees.
                if !transformer.passes(view) { continue }
                let mark = chunker.beginRecord()
                if let err = transformer.transform(view, to: chunker.body) {
                    chunker.abandonRecord(mark)
                    try reject(p, err.reason, excerpt: view.base)
                    continue
                }
                switch chunker.commitRecord(mark, p) {
                case .added(let closed):
                    if let c = closed { emit(c) }
                case .tooLarge(let bytes):
                    try reject(
                        p,
                        "the record is \(bytes) bytes after transformation; limits.maxBodyBytes is \(chunker.maxBodyBytes)",
                        excerpt: view.base)
                }
            case .rejected(let p, let err, let excerpt):
                currentOrdinals = p.ordinal + 1
                if isAcked(p.ordinal) { continue }
                recordsRead += 1
                try reject(p, err.reason, excerpt: excerpt)
            }
        }
    }

    private func reject(_ p: Provenance, _ reason: String, excerpt: UnsafeRawBufferPointer) throws(Abort) {
        try reject(p, reason, excerpt: Array(excerpt.prefix(4096)))
    }

    private func reject(_ p: Provenance, _ reason: String, excerpt: [UInt8]) throws(Abort) {
        rejects.write(
            file: files[p.fileIndex].relativePath, line: p.line, offset: p.offset, reason: reason, excerpt: excerpt,
            content: content(p.fileIndex))
        if rejects.count > spec.errors.maxRejectedRecords {
            throw Abort(
                description:
                    "more than \(spec.errors.maxRejectedRecords) records were rejected (errors.maxRejectedRecords); the last: \(files[p.fileIndex].relativePath):\(p.line): \(reason)"
            )
        }
    }

    /// The content a reject is found in, so that it is written once however often it is read.
    private func content(_ file: Int) -> (sample: String, size: Int64)? {
        fingerprints[file].map { ($0.sample, $0.size) }
    }

    private func finishFile(error: ReadError?, heldBackAt: Int64?) {
        let finished = Event.fileFinished(
            file: fileIndex, ordinals: currentOrdinals, error: error, heldBackAt: heldBackAt)
        if chunker.pendingBytes == 0 {
            pending.append(finished)
        } else {
            finishedAwaitingChunk.append(finished)
        }
    }
}
