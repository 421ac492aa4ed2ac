import Foundation
import LogshipSupport

/// `logship replay`: re-sends dead-lettered chunks with fresh signatures. Each one that is
/// acknowledged is recorded in the manifest and removed from `deadletter/`, so a replay that
/// stops half-way resumes with what is left.
public struct Replayer: Sendable {
    public struct Report: Codable, Sendable {
        public var found = 0
        public var replayed = 0
        public var records = 0
        public var stillFailing = 0
        public var skippedOtherTable = 0
        public var fatalError: String?
        /// Set when the replay stopped under the outage rule (`upload.unreachableAfter`).
        public var unreachable: String?
        /// Letters whose refused records were isolated: each was replaced by its refused pieces
        /// (counted in `stillFailing`), the rest of its records delivered (counted in `records`).
        public var split = 0
        /// Letters (or parts) delivered after an answer was lost on the way (a timeout after sending,
        /// a dropped connection), and their records: each may be in the table twice.
        public var chunksPossiblyDuplicated = 0
        public var recordsPossiblyDuplicated = 0
        public var exitCode: Int32 = 0
    }

    public let spec: PipelineSpec
    public let target: DeliveryTarget
    public let stateDirectory: URL
    public var log: LogSink = .discard
    public var sleep: @Sendable (Double) async -> Void = { s in
        try? await Task.sleep(nanoseconds: UInt64(max(0, s) * 1e9))
    }
    /// Which letters to send (nil: all). `run` sends only those that failed for no fault of
    /// their content before its new data.
    public var only: (@Sendable (DeadLetterMeta) -> Bool)? = nil
    /// A monotonic clock in seconds, for the outage rule.
    public var clock: @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }

    public init(spec: PipelineSpec, target: DeliveryTarget, stateDirectory: URL) {
        self.spec = spec
        self.target = target
        self.stateDirectory = stateDirectory
    }

    /// The letters this replay would send.
    public func pending() -> [(name: String, meta: DeadLetterMeta)] {
        StateDirectory(stateDirectory).deadLetters.list().filter { only?($0.meta) ?? true }
    }

    public func run(stop: StopFlag = StopFlag()) async -> Report {
        var r = Report()
        let store = StateDirectory(stateDirectory).deadLetters
        let letters = pending()
        r.found = letters.count
        guard !letters.isEmpty else { return r }
        let manifest: ManifestWriter
        do {
            manifest = try ManifestWriter(url: StateDirectory(stateDirectory).manifest)
        } catch {
            r.fatalError = "\(error)"
            r.exitCode = ExitCode.usage
            return r
        }
        let state: ManifestState
        do { state = try ManifestState.load(StateDirectory(stateDirectory).manifest) } catch {
            r.fatalError = "\(error)"
            r.exitCode = ExitCode.usage
            return r
        }
        // The same uploader as `run`'s: retries, the outage rule, halving and isolating, and the
        // same pacing to each DCR's quota.
        var uploader = Uploader(target: target, upload: spec.upload, stop: stop, clock: clock, sleep: sleep, log: log)
        uploader.lanes = UploadLanes(
            target: target, upload: spec.upload, maxBodyBytes: spec.limits.maxBodyBytes, clock: clock, sleep: sleep)
        for (index, (name, var meta)) in letters.enumerated() {
            if stop.isSet { break }
            guard meta.logType == spec.target.logType, meta.api == spec.target.api.rawValue else {
                // Written for another table: replaying it here would put it in the wrong place.
                r.skippedOtherTable += 1
                log(
                    .warn,
                    "\(name): written for \(meta.api) \(meta.logType), not this pipeline's \(spec.target.logType); left in place"
                )
                continue
            }
            let body: Data
            do { body = try store.body(name) } catch {
                log(.warn, "\(name): the body file cannot be read (\(error.localizedDescription)); left in place")
                r.stillFailing += 1
                continue
            }
            let total = meta.total ?? meta.records
            let range = (meta.part?.first ?? 0)..<(meta.part?.last ?? meta.records)
            // Parts an earlier replay delivered while it isolated this letter's refused records.
            let delivered = ManifestState.merge(
                (state.ackedParts[meta.chunkId] ?? []).map { Int64($0.lowerBound)..<Int64($0.upperBound) })
            var todo: [Range<Int>] = []
            var k = range.lowerBound
            for d in delivered where Int(d.upperBound) > k && Int(d.lowerBound) < range.upperBound {
                if Int(d.lowerBound) > k { todo.append(k..<Int(d.lowerBound)) }
                k = max(k, Int(min(d.upperBound, Int64(range.upperBound))))
            }
            if k < range.upperBound { todo.append(k..<range.upperBound) }
            guard let elements = BodySplitter.elements(body), elements.count == range.count else {
                log(
                    .warn,
                    "\(name): the body does not hold the \(range.count) records its meta file names; left in place")
                r.stillFailing += 1
                continue
            }
            let letter = LetterRecorder(
                name: name, meta: meta, base: range.lowerBound, total: total, manifest: manifest, log: log)
            var refusals = 0
            var stopped = false
            for part in todo where !stopped {
                let inLetter = (part.lowerBound - range.lowerBound)..<(part.upperBound - range.lowerBound)
                let piece =
                    inLetter.count == elements.count
                    ? body : BodySplitter.body(body, elements: elements, range: inLetter)
                stopped =
                    !(await uploader.deliver(
                        piece, records: part.count, part: part, to: letter, refusals: &refusals))
            }
            let settled = await letter.settled
            r.records += settled.records
            r.chunksPossiblyDuplicated += settled.possiblyDuplicatedBodies
            r.recordsPossiblyDuplicated += settled.possiblyDuplicatedRecords
            if stopped {
                // The letter stays as it is; what was delivered of it is in the manifest and is
                // not sent again by the next replay.
                if let f = settled.fatalError {
                    r.fatalError = f.message
                    r.exitCode = f.exitCode
                    return r
                }
                if let u = settled.unreachable {
                    // This letter and the ones after it stay in place.
                    r.unreachable = u
                    r.stillFailing += letters.count - index
                    r.exitCode = ExitCode.partial
                    return r
                }
                r.stillFailing += 1
                break
            }
            if settled.refused.isEmpty {
                store.remove(name)
                r.replayed += 1
                continue
            }
            if settled.refused.count == 1, settled.refused[0].range == range {
                // Refused as a whole (a single record, or a refusal that does not blame the data).
                meta.attempts += settled.attempts
                meta.lastError = settled.refused[0].reason
                meta.retryable = settled.stillRetryable
                meta.time = HTTPDate.iso8601(Date())
                try? store.write(name: name, body: body, meta: meta)
                r.stillFailing += 1
                log(.warn, "\(name): still refused: \(meta.lastError)")
                continue
            }
            // Isolated: the letter is replaced by its still-refused pieces, each recorded as dead
            // in the manifest (which takes them off the letter's count there).
            var written = true
            for piece in settled.refused {
                var m = meta
                let inLetter = (piece.range.lowerBound - range.lowerBound)..<(piece.range.upperBound - range.lowerBound)
                let pieceBody = BodySplitter.body(body, elements: elements, range: inLetter)
                let whole = piece.range == 0..<total
                let pieceName =
                    whole ? meta.chunkId : "\(meta.chunkId)-\(piece.range.lowerBound)-\(piece.range.upperBound)"
                m.part = whole ? nil : [piece.range.lowerBound, piece.range.upperBound]
                m.total = total
                m.records = piece.range.count
                m.bytes = pieceBody.count
                m.attempts = meta.attempts + settled.attempts
                m.lastError = piece.reason
                // As `run` records its pieces: refused for their content, unless attempts ran out.
                m.retryable = piece.retryable
                m.time = HTTPDate.iso8601(Date())
                m.location = DeadLetterSegment.locate(piece.range, records: total, in: meta.segments)
                do {
                    try store.write(name: pieceName, body: pieceBody, meta: m)
                    try manifest.append(Self.entry(.dead, m, bytes: pieceBody.count, reason: piece.reason))
                } catch {
                    log(
                        .error,
                        "\(pieceName): could not be written (\(error.localizedDescription)); \(name) is left in place")
                    written = false
                    break
                }
                log(
                    .warn,
                    "\(pieceName): still refused: \(piece.reason) (\(DeadLetterSegment.describe(m.location ?? [])))")
            }
            guard written else {
                r.stillFailing += 1
                continue
            }
            if !settled.refused.contains(where: {
                "\(meta.chunkId)-\($0.range.lowerBound)-\($0.range.upperBound)" == name
            }) {
                store.remove(name)
            }
            r.split += 1
            r.stillFailing += settled.refused.count
        }
        if stop.isSet {
            r.exitCode = ExitCode.interrupted
        } else if r.stillFailing > 0 || r.skippedOtherTable > 0 {
            r.exitCode = ExitCode.partial
        }
        return r
    }
}

extension Replayer {
    /// A manifest entry for records of a dead letter (its part of the chunk, or all of it).
    static func entry(
        _ kind: ManifestEntry.Kind, _ meta: DeadLetterMeta, bytes: Int, reason: String? = nil,
        possibleDuplicate: Bool = false
    ) -> ManifestEntry {
        var e = ManifestEntry(kind)
        e.id = meta.chunkId
        e.records = meta.records
        if kind == .ack {
            e.bytes = bytes
            if possibleDuplicate { e.dup = true }
        } else {
            e.reason = reason
        }
        e.seg = meta.segments.enumerated().map { k, s in
            ManifestSegment(
                path: s.file, sample: meta.sample?[safe: k] ?? "stream", start: s.start, end: s.end,
                size: meta.sizes?[safe: k] ?? nil)
        }
        if let p = meta.part {
            e.part = p
            e.total = meta.total
        }
        return e
    }
}

/// Records what becomes of one dead letter being replayed: delivered parts go to the manifest at
/// once; refused parts are collected, and the replay then keeps the letter or replaces it with them.
actor LetterRecorder: DeliveryRecorder {
    /// A part of the letter still refused (chunk positions), with the service's message.
    struct RefusedPiece: Sendable {
        var range: Range<Int>
        var reason: String
        var retryable: Bool
    }

    /// The replay must stop: what to report and the exit code.
    struct Fatal: Sendable {
        var message: String
        var exitCode: Int32
    }

    /// What became of the letter once the uploader is done with it.
    struct Settled: Sendable {
        /// Ranges still refused, in order.
        var refused: [RefusedPiece] = []
        /// A refusal came from attempts running out on failures that were not the content's.
        var stillRetryable = false
        /// Requests with an answer the letter took.
        var attempts = 0
        /// Records delivered.
        var records = 0
        var possiblyDuplicatedBodies = 0
        var possiblyDuplicatedRecords = 0
        var fatalError: Fatal?
        /// The outage rule stopped the replay, with why.
        var unreachable: String?
    }

    let name: String
    let meta: DeadLetterMeta
    /// The chunk position of the letter's first record.
    let base: Int
    let total: Int
    let manifest: ManifestWriter
    let log: LogSink
    private(set) var settled = Settled()

    init(
        name: String, meta: DeadLetterMeta, base: Int, total: Int, manifest: ManifestWriter,
        log: LogSink
    ) {
        self.name = name
        self.meta = meta
        self.base = base
        self.total = total
        self.manifest = manifest
        self.log = log
    }

    nonisolated func label(_ part: Range<Int>) -> String {
        part.count == meta.records && part.lowerBound == base
            ? name : "\(name) records \(part.lowerBound)..<\(part.upperBound)"
    }

    nonisolated func fields(_ part: Range<Int>) -> LogFields { ["letter": .string(label(part))] }

    func delivered(_ d: DeliveredBody) -> Bool {
        var m = meta
        m.part = d.part == 0..<total ? nil : [d.part.lowerBound, d.part.upperBound]
        m.total = total
        m.records = d.records
        settled.attempts += d.attempts
        do {
            try manifest.append(Replayer.entry(.ack, m, bytes: d.bytes, possibleDuplicate: d.possibleDuplicates > 0))
        } catch {
            settled.fatalError = Fatal(message: "cannot write the manifest: \(error)", exitCode: ExitCode.partial)
            return false
        }
        settled.records += d.records
        if d.possibleDuplicates > 0 {
            settled.possiblyDuplicatedBodies += d.possibleDuplicates
            settled.possiblyDuplicatedRecords += d.records * d.possibleDuplicates
        }
        log(
            .info, "\(label(d.part)): delivered (\(d.records) records)",
            d.requestId.map { ["requestId": .string($0)] } ?? [:])
        return true
    }

    func refused(_ r: RefusedBody) -> Bool {
        settled.refused.append(RefusedPiece(range: r.part, reason: r.reason, retryable: r.retryable))
        settled.attempts += r.attempts
        if r.retryable { settled.stillRetryable = true }
        return true
    }

    func retried(status: Int?) {}

    func halving(isolating: Bool, attempts: Int) { settled.attempts += attempts }

    func stopped(_ reason: StopReason, _ message: String) {
        switch reason {
        case .unreachable:
            settled.unreachable = message + ". The dead letters stay in place: replay again later"
        default:
            settled.fatalError = Fatal(message: message, exitCode: ExitCode.refused)
        }
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
