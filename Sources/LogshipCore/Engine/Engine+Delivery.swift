import Foundation
import LogshipSupport

// Delivering one chunk: send, classify, retry, split (too large) or isolate (refused for its
// data), and record the outcome in the ledger. The outage rule lives here too.
extension Engine {
    /// Sends one body until acknowledged, dead-lettered, split, or the run stops.
    /// Returns false when the run must stop.
    /// - Parameters:
    ///   - refusals: counts the bodies dead-lettered, so a halving knows whether its left half went through.
    ///   - knownRefused: the body is known to hold a record the service refuses (its parent was refused
    ///     for its data and the parent's left half was delivered): it is halved without being sent
    ///     whole, which keeps isolating one record within 2·log2(records) requests.
    func deliver(
        _ chunk: Chunk, body: Data, records: Int, part: Range<Int>, policy: RetryPolicy, ledger: Ledger, outage: SharedOutageWatch,
        refusals: inout Int, knownRefused: String? = nil
    ) async -> Bool {
        var attempt = 0
        var unanswered = 0
        // Answers the service gave (to any chunk) when this one's run of unanswered attempts began.
        var answersAtFirstSilence = 0
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
                if unanswered == 1 { answersAtFirstSilence = outage.answers }
                if mayHaveArrived { lostAnswers += 1 }
                await ledger.retried(status: nil)
                // The service answers others but never this body (say, one it cannot take in
                // upload.timeoutSeconds): after maxAttempts it is this chunk's failure, kept as a
                // retryable dead letter, so the run ends instead of retrying it for ever.
                if unanswered >= policy.maxAttempts, outage.answers > answersAtFirstSilence {
                    return await ledger.deadLetter(
                        chunk, body: body, records: records, part: part, attempts: unanswered,
                        reason: "gave up after \(unanswered) attempts without an answer while the service answered other requests; last: \(reason)",
                        retryable: true)
                }
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
                log(.warn, "\(target.endpoint): \(reason); next attempt in \(String(format: "%.1f", delay)) s (chunk \(chunk.id.prefix(16)))", ["chunk": .string(String(chunk.id.prefix(16))), "attempt": .int(unanswered)])
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
                if case .transient(let status, _, let reason) = outcome { log(.debug, "chunk \(chunk.id.prefix(16)): \(reason); attempt \(attempt + 1) in \(String(format: "%.1f", delay)) s", ["chunk": .string(String(chunk.id.prefix(16))), "attempt": .int(attempt), "status": status.map { .int($0) } ?? "network"]) }
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
    func halve(
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
        log(.debug, "chunk \(chunk.id.prefix(16)): \(isolating == nil ? "too large" : "refused for its data"); halving its \(records) records", ["chunk": .string(String(chunk.id.prefix(16))), "records": .int(records)])
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
