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
        public var exitCode: Int32 = 0
    }

    public let spec: PipelineSpec
    public let target: DeliveryTarget
    public let stateDirectory: URL
    public var log: @Sendable (String) -> Void = { _ in }
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
        DeadLetterStore(directory: stateDirectory.appendingPathComponent("deadletter")).list().filter { only?($0.meta) ?? true }
    }

    public func run(stop: StopFlag = StopFlag()) async -> Report {
        var r = Report()
        let store = DeadLetterStore(directory: stateDirectory.appendingPathComponent("deadletter"))
        let letters = pending()
        r.found = letters.count
        guard !letters.isEmpty else { return r }
        let manifest: ManifestWriter
        do {
            manifest = try ManifestWriter(url: stateDirectory.appendingPathComponent("manifest.jsonl"))
        } catch {
            r.fatalError = "\(error)"
            r.exitCode = ExitCode.usage
            return r
        }
        let policy = RetryPolicy(maxAttempts: spec.upload.maxAttempts)
        let outage = SharedOutageWatch(limit: spec.upload.unreachableAfter, clock: clock)
        for (name, var meta) in letters {
            if stop.isSet { break }
            guard meta.logType == spec.target.logType, meta.api == spec.target.api.rawValue else {
                // Written for another table: replaying it here would put it in the wrong place.
                r.skippedOtherTable += 1
                log("\(name): written for \(meta.api) \(meta.logType), not this pipeline's \(spec.target.logType); left in place")
                continue
            }
            let body: Data
            do { body = try store.body(name) } catch {
                log("\(name): the body file cannot be read (\(error.localizedDescription)); left in place")
                r.stillFailing += 1
                continue
            }
            var attempt = 0
            var unanswered = 0
            var done = false
            while !done {
                let outcome = await target.send(body: body)
                if case .unreachable(let reason, _) = outcome {
                    // As in `run`: an outage leaves the letter in place, untouched, and ends the replay.
                    unanswered += 1
                    if let silent = outage.noAnswer() {
                        r.unreachable = "no answer from \(target.endpoint) (\(target.displayName)) for \(Int(silent.rounded())) s (upload.unreachableAfter: "
                            + "\(Int(spec.upload.unreachableAfter))); last: \(reason). The dead letters stay in place: replay again later"
                        r.stillFailing += letters.count - r.replayed - r.stillFailing - r.skippedOtherTable
                        r.exitCode = ExitCode.partial
                        return r
                    }
                    if stop.isSet { r.stillFailing += 1; break }
                    let decision = policy.decide(outcome, attempt: unanswered, records: meta.records, random: Double.random(in: 0..<1))
                    if case .retry(let backoff) = decision {
                        let delay = min(backoff, outage.remaining() + 0.05)
                        log("\(target.endpoint): \(reason); next attempt in \(String(format: "%.1f", delay)) s (\(name))")
                        await sleep(delay)
                    }
                    continue
                }
                if outcome.gotAnswer { outage.answered() }
                unanswered = 0
                attempt += 1
                switch policy.decide(outcome, attempt: attempt, records: meta.records, random: Double.random(in: 0..<1)) {
                case .acknowledged:
                    var e = ManifestEntry(t: "ack")
                    e.id = meta.chunkId
                    e.records = meta.records
                    e.bytes = body.count
                    e.seg = meta.segments.enumerated().map { k, s in
                        ManifestSegment(path: s.file, sample: meta.sample?[safe: k] ?? "stream", start: s.start, end: s.end)
                    }
                    if let p = meta.part {
                        e.part = p
                        e.total = meta.total
                    }
                    do { try manifest.append(e) } catch {
                        r.fatalError = "cannot write the manifest: \(error)"
                        r.exitCode = ExitCode.partial
                        return r
                    }
                    store.remove(name)
                    r.replayed += 1
                    r.records += meta.records
                    log("\(name): delivered (\(meta.records) records)")
                    done = true
                case .retry(let delay):
                    if stop.isSet { done = true; r.stillFailing += 1; break }
                    await sleep(delay)
                case .split:
                    // Replays send the stored body as it is; a body too large stays dead-lettered with the reason.
                    meta.attempts += attempt
                    meta.lastError = "the service found the body too large; it was not split on replay"
                    try? store.write(name: name, body: body, meta: meta)
                    r.stillFailing += 1
                    done = true
                case .deadLetter(let reason):
                    meta.attempts += attempt
                    meta.lastError = reason
                    if case .transient = outcome { meta.retryable = true } else { meta.retryable = false }
                    meta.time = HTTPDate.iso8601(Date())
                    try? store.write(name: name, body: body, meta: meta)
                    r.stillFailing += 1
                    log("\(name): still refused: \(reason)")
                    done = true
                case .stopRun(let reason):
                    r.fatalError = "the service refused the request (\(target.displayName)): \(reason)"
                    r.exitCode = ExitCode.refused
                    return r
                }
            }
        }
        if stop.isSet { r.exitCode = ExitCode.interrupted } else if r.stillFailing > 0 || r.skippedOtherTable > 0 { r.exitCode = ExitCode.partial }
        return r
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
