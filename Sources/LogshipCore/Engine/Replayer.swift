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
        public var exitCode: Int32 = 0
    }

    public let spec: PipelineSpec
    public let target: DeliveryTarget
    public let stateDirectory: URL
    public var log: LogSink = .discard
    public var sleep: @Sendable (Double) async -> Void = { s in try? await Task.sleep(nanoseconds: UInt64(max(0, s) * 1e9)) }
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
        let policy = RetryPolicy(maxAttempts: spec.upload.maxAttempts)
        let outage = SharedOutageWatch(limit: spec.upload.unreachableAfter, clock: clock)
        for (index, (name, var meta)) in letters.enumerated() {
            if stop.isSet { break }
            guard meta.logType == spec.target.logType, meta.api == spec.target.api.rawValue else {
                // Written for another table: replaying it here would put it in the wrong place.
                r.skippedOtherTable += 1
                log(.warn, "\(name): written for \(meta.api) \(meta.logType), not this pipeline's \(spec.target.logType); left in place")
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
            let delivered = ManifestState.merge((state.ackedParts[meta.chunkId] ?? []).map { Int64($0.lowerBound)..<Int64($0.upperBound) })
            var todo: [Range<Int>] = []
            var k = range.lowerBound
            for d in delivered where Int(d.upperBound) > k && Int(d.lowerBound) < range.upperBound {
                if Int(d.lowerBound) > k { todo.append(k..<Int(d.lowerBound)) }
                k = max(k, Int(min(d.upperBound, Int64(range.upperBound))))
            }
            if k < range.upperBound { todo.append(k..<range.upperBound) }
            guard let elements = BodySplitter.elements(body), elements.count == range.count else {
                log(.warn, "\(name): the body does not hold the \(range.count) records its meta file names; left in place")
                r.stillFailing += 1
                continue
            }
            var letter = LetterReplay(
                name: name, meta: meta, body: body, elements: elements, base: range.lowerBound, total: total, manifest: manifest,
                policy: policy, outage: outage, stop: stop)
            var stopped = false
            for part in todo where !stopped {
                stopped = !(await letter.deliver(part, replayer: self, report: &r))
            }
            if stopped {
                // The letter stays as it is; what was delivered of it is in the manifest and is
                // not sent again by the next replay.
                if r.fatalError != nil { return r }
                if r.unreachable != nil {
                    // This letter and the ones after it stay in place.
                    r.stillFailing += letters.count - index
                    r.exitCode = ExitCode.partial
                    return r
                }
                r.stillFailing += 1
                break
            }
            if letter.refused.isEmpty {
                store.remove(name)
                r.replayed += 1
                continue
            }
            if letter.refused.count == 1, letter.refused[0].range == range {
                // Refused as a whole (a single record, or a refusal that does not blame the data).
                meta.attempts += letter.attempts
                meta.lastError = letter.refused[0].reason
                meta.retryable = letter.stillRetryable
                meta.time = HTTPDate.iso8601(Date())
                try? store.write(name: name, body: body, meta: meta)
                r.stillFailing += 1
                log(.warn, "\(name): still refused: \(meta.lastError)")
                continue
            }
            // Isolated: the letter is replaced by its still-refused pieces, each recorded as dead
            // in the manifest (which takes them off the letter's count there).
            var written = true
            for piece in letter.refused {
                var m = meta
                let inLetter = (piece.range.lowerBound - range.lowerBound)..<(piece.range.upperBound - range.lowerBound)
                let pieceBody = BodySplitter.body(body, elements: elements, range: inLetter)
                let whole = piece.range == 0..<total
                let pieceName = whole ? meta.chunkId : "\(meta.chunkId)-\(piece.range.lowerBound)-\(piece.range.upperBound)"
                m.part = whole ? nil : [piece.range.lowerBound, piece.range.upperBound]
                m.total = total
                m.records = piece.range.count
                m.bytes = pieceBody.count
                m.attempts = meta.attempts + letter.attempts
                m.lastError = piece.reason
                m.retryable = false  // isolated pieces were refused for their content
                m.time = HTTPDate.iso8601(Date())
                m.location = DeadLetterSegment.locate(piece.range, records: total, in: meta.segments)
                do {
                    try store.write(name: pieceName, body: pieceBody, meta: m)
                    try manifest.append(Self.entry("dead", m, bytes: pieceBody.count, reason: piece.reason))
                } catch {
                    log(.error, "\(pieceName): could not be written (\(error.localizedDescription)); \(name) is left in place")
                    written = false
                    break
                }
                log(.warn, "\(pieceName): still refused: \(piece.reason) (\(DeadLetterSegment.describe(m.location ?? [])))")
            }
            guard written else {
                r.stillFailing += 1
                continue
            }
            if !letter.refused.contains(where: { "\(meta.chunkId)-\($0.range.lowerBound)-\($0.range.upperBound)" == name }) { store.remove(name) }
            r.split += 1
            r.stillFailing += letter.refused.count
        }
        if stop.isSet { r.exitCode = ExitCode.interrupted } else if r.stillFailing > 0 || r.skippedOtherTable > 0 { r.exitCode = ExitCode.partial }
        return r
    }
}

extension Replayer {
    /// A manifest entry for records of a dead letter (its part of the chunk, or all of it).
    static func entry(_ t: String, _ meta: DeadLetterMeta, bytes: Int, reason: String? = nil) -> ManifestEntry {
        var e = ManifestEntry(t: t)
        e.id = meta.chunkId
        e.records = meta.records
        if t == "ack" { e.bytes = bytes } else { e.reason = reason }
        e.seg = meta.segments.enumerated().map { k, s in
            ManifestSegment(path: s.file, sample: meta.sample?[safe: k] ?? "stream", start: s.start, end: s.end)
        }
        if let p = meta.part {
            e.part = p
            e.total = meta.total
        }
        return e
    }

    /// How one body ended: delivered, refused for its data (halve it), refused as it is, or the
    /// replay must stop (a fatal answer, the outage rule, a stop request).
    enum Settled {
        case delivered
        case isolate(String)
        /// `retryable`: attempts ran out on failures that were not the content's (429, 5xx).
        case refused(String, retryable: Bool)
        case stop
    }

    /// Sends `body` until it settles, with the run's retry policy and outage rule.
    func settle(
        _ body: Data, records: Int, label: String, policy: RetryPolicy, outage: SharedOutageWatch, stop: StopFlag,
        attempts: inout Int, report r: inout Report
    ) async -> Settled {
        // `attempts` counts requests with an answer, for the letter's meta.
        var attempt = 0
        var unanswered = 0
        while true {
            let outcome = await target.send(body: body)
            if case .unreachable(let reason, _) = outcome {
                // As in `run`: an outage leaves the letter in place, untouched, and ends the replay.
                unanswered += 1
                if let silent = outage.noAnswer() {
                    r.unreachable = "no answer from \(target.endpoint) (\(target.displayName)) for \(Int(silent.rounded())) s (upload.unreachableAfter: "
                        + "\(Int(spec.upload.unreachableAfter))); last: \(reason). The dead letters stay in place: replay again later"
                    return .stop
                }
                if stop.isSet { return .stop }
                let decision = policy.decide(outcome, attempt: unanswered, records: records, random: Double.random(in: 0..<1))
                if case .retry(let backoff) = decision {
                    let delay = min(backoff, outage.remaining() + 0.05)
                    log(.warn, "\(target.endpoint): \(reason); next attempt in \(String(format: "%.1f", delay)) s (\(label))")
                    await sleep(delay)
                }
                continue
            }
            if outcome.gotAnswer { outage.answered() }
            unanswered = 0
            attempt += 1
            attempts += 1
            switch policy.decide(outcome, attempt: attempt, records: records, random: Double.random(in: 0..<1)) {
            case .acknowledged:
                return .delivered
            case .retry(let delay):
                if stop.isSet { return .stop }
                await sleep(delay)
            case .split:
                // Replays send the stored body as it is; a body too large stays dead-lettered with the reason.
                return .refused("the service found the body too large; it was not split on replay", retryable: false)
            case .isolate(let reason):
                return .isolate(reason)
            case .deadLetter(let reason):
                if case .transient = outcome { return .refused(reason, retryable: true) }
                return .refused(reason, retryable: false)
            case .stopRun(let reason):
                r.fatalError = "the service refused the request (\(target.displayName)): \(reason)"
                r.exitCode = ExitCode.refused
                return .stop
            }
        }
    }
}

/// One dead letter being replayed: its parts are sent and, when the service refuses a part of
/// several records for its data, halved (left first) until the refused records stand alone.
struct LetterReplay {
    let name: String
    let meta: DeadLetterMeta
    let body: Data
    let elements: [Range<Int>]
    /// The chunk position of the letter's first record.
    let base: Int
    let total: Int
    let manifest: ManifestWriter
    let policy: RetryPolicy
    let outage: SharedOutageWatch
    let stop: StopFlag
    /// Chunk ranges still refused, with the service's message, in order.
    var refused: [(range: Range<Int>, reason: String)] = []
    /// The last refusal came from attempts running out on transient failures, not the content.
    var stillRetryable = false
    var attempts = 0

    /// Sends records `part` (chunk positions) of the letter; false when the replay must stop.
    /// - Parameter known: the part is known to hold a refused record (its parent was refused and
    ///   the parent's left half delivered): it is halved without being sent whole.
    mutating func deliver(_ part: Range<Int>, known: String? = nil, replayer: Replayer, report r: inout Replayer.Report) async -> Bool {
        if stop.isSet { return false }
        let inLetter = (part.lowerBound - base)..<(part.upperBound - base)
        let piece = inLetter.count == elements.count ? body : BodySplitter.body(body, elements: elements, range: inLetter)
        let label = inLetter.count == elements.count ? name : "\(name) records \(part.lowerBound)..<\(part.upperBound)"
        let settled: Replayer.Settled
        if let known, part.count > 1 {
            settled = .isolate(known)
        } else {
            settled = await replayer.settle(
                piece, records: part.count, label: label, policy: policy, outage: outage, stop: stop, attempts: &attempts, report: &r)
        }
        switch settled {
        case .delivered:
            var m = meta
            let whole = part == 0..<total
            m.part = whole ? nil : [part.lowerBound, part.upperBound]
            m.total = total
            m.records = part.count
            do { try manifest.append(Replayer.entry("ack", m, bytes: piece.count)) } catch {
                r.fatalError = "cannot write the manifest: \(error)"
                r.exitCode = ExitCode.partial
                return false
            }
            r.records += part.count
            replayer.log("\(label): delivered (\(part.count) records)")
            return true
        case .isolate(let reason):
            if refused.count >= RetryPolicy.maxIsolatedPerBody {
                // As in `run`: a bounded number of requests per letter, even if everything is refused.
                refused.append((part, "\(reason) (not halved further: \(RetryPolicy.maxIsolatedPerBody) parts of this letter were already refused)"))
                return true
            }
            let half = part.lowerBound + part.count / 2
            let before = refused.count
            guard await deliver(part.lowerBound..<half, replayer: replayer, report: &r) else { return false }
            // A refused whole whose left half was delivered holds its refused records on the right.
            return await deliver(half..<part.upperBound, known: refused.count == before ? reason : nil, replayer: replayer, report: &r)
        case .refused(let reason, let retryable):
            refused.append((part, reason))
            if retryable { stillRetryable = true }
            return true
        case .stop:
            return false
        }
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
