import Foundation
import LogshipSupport

// Delivering one body: send, classify, retry, split (too large) or isolate (refused for its
// data), and record the outcome. `run` (each chunk, recorded in the ledger) and `replay` (each
// dead letter) both deliver through `Uploader`; the outage rule lives here too.

/// A body the service stored: records `part` of its chunk.
struct DeliveredBody: Sendable {
    var part: Range<Int>
    var records: Int
    var bytes: Int
    /// Requests with an answer this body took.
    var attempts: Int
    /// Earlier attempts whose answer was lost after the body may have arrived
    /// (`DeliveryOutcome.mayHaveArrived`): each is one possible extra copy in the table.
    var possibleDuplicates: Int
    /// The DCR (of `target.dcrImmutableId`'s list) that acknowledged it, when the run spreads over several.
    var dcr: String? = nil
    /// The acknowledged request's `x-ms-client-request-id`, when the API has one.
    var requestId: String? = nil
}

/// A body that will not be delivered as it is: records `part` of its chunk, with the reason.
struct RefusedBody: Sendable {
    var part: Range<Int>
    var body: Data
    var records: Int
    var attempts: Int
    var reason: String
    /// The failure was not the content's (attempts ran out on 429/5xx, or on no answer while the
    /// service answered others): the next run sends it again by itself.
    var retryable: Bool
    /// The last request's `x-ms-client-request-id`, when the API has one.
    var requestId: String? = nil
}

/// Where an uploader records what became of each body: the run's ledger (manifest, dead
/// letters, report), or the dead letter a replay re-sends.
protocol DeliveryRecorder: Sendable {
    /// A short name of the body for log lines ("chunk 1a2b…", a letter's name).
    func label(_ part: Range<Int>) -> String
    /// The body's fields for structured log lines (`--log-format json`): its chunk and file, or its letter.
    func fields(_ part: Range<Int>) -> LogFields
    /// Records a delivery (fsync'd) before it counts; false when it cannot be recorded (stop).
    func delivered(_ body: DeliveredBody) async -> Bool
    /// Records a refused body (a dead letter, or a piece of one); false when the run must stop.
    func refused(_ body: RefusedBody) async -> Bool
    /// A request is sent again (`status` nil: no HTTP answer).
    func retried(status: Int?) async
    /// A body is halved: too large (`isolating` false), or refused for its data; `attempts`:
    /// the requests with an answer it took.
    func halving(isolating: Bool, attempts: Int) async
    /// The run must stop: the service refused it (`.refused`) or the outage rule (`.unreachable`).
    func stopped(_ reason: StopReason, _ message: String) async
}

/// Sends bodies until each is acknowledged, refused, split, or the run stops, with the run's
/// retry policy and outage rule. Shared by the concurrent deliveries of one run (or a replay).
struct Uploader: Sendable {
    /// 429s with `Retry-After` one body waits out before they count toward `upload.maxAttempts`:
    /// a quota's answer is not the body's failure, but a service that throttles a body for ever
    /// must not keep the run going for ever (it ends as a retryable dead letter).
    static let maxThrottledWaits = 100

    let target: DeliveryTarget
    let policy: RetryPolicy
    let outage: SharedOutageWatch
    let stop: StopFlag
    /// `upload.unreachableAfter`, for the outage message.
    let unreachableAfter: Double
    let sleep: @Sendable (Double) async -> Void
    let log: LogSink
    /// In-flight and retrying counts for the progress line (nil: not shown).
    var counters: ProgressCounters? = nil
    /// The DCR lanes (pacing to each one's quota, adaptive concurrency); nil: straight to `target`.
    var lanes: UploadLanes? = nil

    init(
        target: DeliveryTarget, upload: UploadSpec, stop: StopFlag, clock: @escaping @Sendable () -> Double,
        sleep: @escaping @Sendable (Double) async -> Void, log: LogSink
    ) {
        self.target = target
        self.policy = RetryPolicy(maxAttempts: upload.maxAttempts)
        self.outage = SharedOutageWatch(limit: upload.unreachableAfter, clock: clock)
        self.stop = stop
        self.unreachableAfter = upload.unreachableAfter
        self.sleep = sleep
        self.log = log
    }

    /// Sends one body until acknowledged, refused, split, or the run stops.
    /// Returns false when the run must stop.
    /// - Parameters:
    ///   - part: the body's records as positions in its chunk.
    ///   - refusals: counts the bodies refused, so a halving knows whether its left half went through.
    ///   - knownRefused: the body is known to hold a record the service refuses (its parent was refused
    ///     for its data and the parent's left half was delivered): it is halved without being sent
    ///     whole, which keeps isolating one record within 2·log2(records) requests.
    func deliver(
        _ body: Data, records: Int, part: Range<Int>, to recorder: any DeliveryRecorder, refusals: inout Int,
        knownRefused: String? = nil
    ) async -> Bool {
        var attempt = 0
        var throttledWaits = 0
        var unanswered = 0
        // Answers the service gave (to any body) when this one's run of unanswered attempts began.
        var answersAtFirstSilence = 0
        var lostAnswers = 0
        var retrying = false
        defer { if retrying { counters?.update { $0.retrying -= 1 } } }
        if let known = knownRefused, records > 1 {
            return await halve(
                body, records: records, part: part, isolating: known, attempts: 0, to: recorder, refusals: &refusals)
        }
        while true {
            if stop.isSet { return false }
            counters?.update { $0.inFlight += 1 }
            // Through the DCR lanes (pacing, concurrency) when the run has them.
            var ackedBy: String? = nil
            let sent: SentRequest
            if let lanes {
                guard let (s, lane) = await lanes.send(body: body, stop: stop) else {
                    counters?.update { $0.inFlight -= 1 }
                    return false
                }
                sent = s
                ackedBy = lane
            } else {
                sent = await target.sendRequest(body: body)
            }
            let outcome = sent.outcome
            // The fields of a line about this request: the body's, `extra`, and the request id
            // (`--log-format json`'s `requestId`); built only when a line is written.
            func lineFields(_ extra: LogFields) -> LogFields {
                var f = recorder.fields(part)
                for (k, v) in extra { f[k] = v }
                if let id = sent.requestId { f["requestId"] = .string(id) }
                return f
            }
            counters?.update { $0.inFlight -= 1 }
            if case .unreachable(let reason, _) = outcome {
                // Not the body's fault: no attempt is counted and nothing is dead-lettered;
                // the outage rule decides when waiting is over.
                unanswered += 1
                if unanswered == 1 { answersAtFirstSilence = outage.answers }
                if outcome.mayHaveArrived { lostAnswers += 1 }
                await recorder.retried(status: nil)
                // The service answers others but never this body (say, one it cannot take in
                // upload.timeoutSeconds): after maxAttempts it is this body's failure, kept as a
                // retryable dead letter, so the run ends instead of retrying it for ever.
                if unanswered >= policy.maxAttempts, outage.answers > answersAtFirstSilence {
                    let reason =
                        "gave up after \(unanswered) attempts without an answer while the service answered other "
                        + "requests; last: \(reason)"
                    return await recorder.refused(
                        RefusedBody(
                            part: part, body: body, records: records, attempts: unanswered, reason: reason,
                            retryable: true, requestId: sent.requestId))
                }
                if let silent = outage.noAnswer() {
                    await recorder.stopped(
                        .unreachable,
                        "no answer from \(target.endpoint) (\(target.displayName)) for \(Int(silent.rounded())) s "
                            + "(upload.unreachableAfter: \(Int(unreachableAfter))); last: \(reason)")
                    stop.set(.unreachable)
                    return false
                }
                let decision = policy.decide(
                    outcome, attempt: unanswered, records: records, random: Double.random(in: 0..<1))
                guard case .retry(let backoff) = decision else { return false }
                let delay = min(backoff, outage.remaining() + 0.05)
                if !retrying {
                    retrying = true
                    counters?.update { $0.retrying += 1 }
                }
                let next = String(format: "%.1f", delay)
                log(
                    .warn, "\(target.endpoint): \(reason); next attempt in \(next) s (\(recorder.label(part)))",
                    lineFields(["attempt": .int(unanswered)]))
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
            // A 429 that says when to come back is the quota's answer, not the body's failure:
            // it is waited out (the lane pauses) and counts toward upload.maxAttempts only after
            // `maxThrottledWaits` of them.
            if case .transient(429, .some, _) = outcome, throttledWaits < Self.maxThrottledWaits {
                throttledWaits += 1
            } else {
                attempt += 1
            }
            switch policy.decide(outcome, attempt: attempt, records: records, random: Double.random(in: 0..<1)) {
            case .acknowledged:
                return await recorder.delivered(
                    DeliveredBody(
                        part: part, records: records, bytes: body.count, attempts: attempt,
                        possibleDuplicates: lostAnswers, dcr: ackedBy, requestId: sent.requestId))
            case .retry(let delay):
                if case .transient(let status, _, _) = outcome {
                    await recorder.retried(status: status)
                    // A connection dropped before its answer may have been stored: its resend can duplicate.
                    if outcome.mayHaveArrived { lostAnswers += 1 }
                }
                if !retrying {
                    retrying = true
                    counters?.update { $0.retrying += 1 }
                }
                if stop.isSet { return false }
                if case .transient(let status, _, let reason) = outcome {
                    log(
                        .debug,
                        "\(recorder.label(part)): \(reason); attempt \(attempt + 1) in \(String(format: "%.1f", delay)) s",
                        lineFields(["attempt": .int(attempt), "status": status.map { .int($0) } ?? "network"]))
                }
                // The lanes wait out a Retry-After themselves (the throttled DCR pauses; another may take it now).
                if lanes != nil, case .transient(429, .some, _) = outcome { continue }
                await sleep(delay)
            case .split:
                return await halve(
                    body, records: records, part: part, isolating: nil, attempts: attempt, to: recorder,
                    refusals: &refusals)
            case .isolate(let reason):
                return await halve(
                    body, records: records, part: part, isolating: reason, attempts: attempt, to: recorder,
                    refusals: &refusals)
            case .deadLetter(let reason):
                refusals += 1
                var retryable = false
                if case .transient = outcome { retryable = true }
                return await recorder.refused(
                    RefusedBody(
                        part: part, body: body, records: records, attempts: attempt, reason: reason,
                        retryable: retryable, requestId: sent.requestId))
            case .stopRun(let reason):
                stop.set(.refused)
                await recorder.stopped(.refused, "the service refused the request (\(target.displayName)): \(reason)")
                return false
            }
        }
    }

    /// Sends the two halves of a body, left first: for one too large (`isolating` nil), or for
    /// one the service refused for its data (`isolating` its message), until the refused records
    /// stand alone. What is delivered, and the part ranges recorded (so a resumed run skips
    /// them), depend only on the answers.
    func halve(
        _ body: Data, records: Int, part: Range<Int>, isolating: String?, attempts: Int,
        to recorder: any DeliveryRecorder, refusals: inout Int
    ) async -> Bool {
        if let reason = isolating, refusals >= RetryPolicy.maxIsolatedPerBody {
            // A service that refuses everything would take two requests per record; past this many
            // refused parts the rest stays whole in its letter (`logship replay` halves it further).
            refusals += 1
            let max = RetryPolicy.maxIsolatedPerBody
            return await recorder.refused(
                RefusedBody(
                    part: part, body: body, records: records, attempts: attempts,
                    reason: "\(reason) (not halved further: \(max) parts of this chunk were already refused)",
                    retryable: false))
        }
        await recorder.halving(isolating: isolating != nil, attempts: attempts)
        log(
            .debug,
            "\(recorder.label(part)): \(isolating == nil ? "too large" : "refused for its data"); halving its \(records) records",
            recorder.fields(part).merging(["records": .int(records)]) { a, _ in a })
        guard let elements = BodySplitter.elements(body), elements.count == records else {
            refusals += 1
            return await recorder.refused(
                RefusedBody(
                    part: part, body: body, records: records, attempts: attempts,
                    reason: isolating ?? "the body could not be split", retryable: false))
        }
        let half = records / 2
        let left = BodySplitter.body(body, elements: elements, range: 0..<half)
        let before = refusals
        guard
            await deliver(
                left, records: half, part: part.lowerBound..<part.lowerBound + half, to: recorder, refusals: &refusals)
        else { return false }
        let right = BodySplitter.body(body, elements: elements, range: half..<records)
        // A body refused for its data whose left half went through holds its refused records on
        // the right: sending the right half whole would only be refused again.
        return await deliver(
            right, records: records - half, part: part.lowerBound + half..<part.upperBound, to: recorder,
            refusals: &refusals, knownRefused: refusals == before ? isolating : nil)
    }
}

extension DeliveryOutcome {
    /// The body may have reached the service although no answer came back (a timeout after
    /// sending, a connection dropped before its answer): a resend can store it twice.
    public var mayHaveArrived: Bool {
        switch self {
        case .unreachable(_, let mayHaveArrived): return mayHaveArrived
        case .transient(let status, _, _): return status == nil
        case .acknowledged, .tooLarge, .permanent, .fatal: return false
        }
    }
}
