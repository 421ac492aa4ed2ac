import Foundation
import Testing

@testable import LogshipCore

@Suite struct ClassificationTests {
    func answer(_ status: Int, _ code: String? = nil, retryAfter: String? = nil) -> HTTPResponse {
        var h: [String: String] = [:]
        if let r = retryAfter { h["retry-after"] = r }
        let body = code.map { Array("{\"Error\":\"\($0)\",\"Message\":\"m\"}".utf8) } ?? []
        return HTTPResponse(status: status, headers: h, body: body)
    }

    @Test func acknowledged() {
        #expect(DataCollectorTarget.classify(answer(200), bodyLength: 10) == .acknowledged(status: 200))
    }

    @Test(arguments: [429, 500, 503])
    func transientWithRetryAfter(status: Int) {
        let o = DataCollectorTarget.classify(answer(status, retryAfter: "7"), bodyLength: 10)
        guard case .transient(let s, let ra, _) = o else {
            Issue.record("expected transient, got \(o)")
            return
        }
        #expect(s == status)
        #expect(ra == 7)
    }

    @Test(arguments: [
        "InactiveCustomer", "InvalidCustomerId", "InvalidLogType", "InvalidApiVersion", "MissingApiVersion",
        "MissingContentType", "MissingLogType", "UnsupportedContentType",
    ])
    func fatal400(code: String) {
        let o = DataCollectorTarget.classify(answer(400, code), bodyLength: 10)
        guard case .fatal(400, let c, _) = o else {
            Issue.record("expected fatal, got \(o)")
            return
        }
        #expect(c == code)
    }

    @Test func invalidDataFormatIsPermanentForTheChunk() {
        #expect(
            DataCollectorTarget.classify(answer(400, "InvalidDataFormat"), bodyLength: 10)
                == .permanent(status: 400, code: "InvalidDataFormat", reason: "m"))
    }

    @Test func forbiddenIsFatal() {
        guard
            case .fatal(403, "InvalidAuthorization", _) = DataCollectorTarget.classify(
                answer(403, "InvalidAuthorization"), bodyLength: 10)
        else {
            Issue.record("403 must stop the run")
            return
        }
    }

    @Test func notFoundOnLargeBodyMeansTooLarge() {
        guard case .tooLarge(404, _) = DataCollectorTarget.classify(answer(404), bodyLength: 20_000_000) else {
            Issue.record("404 on a large body must split")
            return
        }
        guard case .fatal(404, _, _) = DataCollectorTarget.classify(answer(404), bodyLength: 500) else {
            Issue.record("404 on a small body is a wrong URL")
            return
        }
    }

    /// A connection dropped mid-answer is the chunk's transient failure (and may have been
    /// stored); no connection, or no answer at all, is an outage: `unreachable`.
    @Test func networkErrorsAreTransientOrUnreachable() {
        guard
            case .transient(nil, nil, _) = DataCollectorTarget.classify(
                TransportError.connectionLost("reset"), bodyLength: 10)
        else {
            Issue.record("a lost connection must be transient")
            return
        }
        #expect(
            DataCollectorTarget.classify(TransportError.cannotConnect("refused"), bodyLength: 10)
                == .unreachable(reason: "cannot connect: refused", mayHaveArrived: false))
        guard
            case .unreachable(_, mayHaveArrived: true) = DataCollectorTarget.classify(
                TransportError.timedOut, bodyLength: 10)
        else {
            Issue.record("a timeout after sending is unreachable, and the body may have arrived")
            return
        }
    }

    /// However often the service cannot be reached, the policy never dead-letters: the outage
    /// rule, not the attempt count, ends the wait. Backoff grows and is capped.
    @Test func unreachableIsRetriedWithoutLimitAndCappedBackoff() {
        let p = RetryPolicy(maxAttempts: 3)
        let outcome = DeliveryOutcome.unreachable(reason: "cannot connect", mayHaveArrived: false)
        var last = 0.0
        for attempt in 1...200 {
            guard case .retry(let d) = p.decide(outcome, attempt: attempt, records: 10, random: 0.999) else {
                Issue.record("attempt \(attempt) must be retried")
                return
            }
            #expect(d >= last && d <= p.maxUnreachableDelay)
            last = d
        }
        #expect(last > p.maxUnreachableDelay * 0.9)
    }

    @Test func theOutageRuleCountsFromTheLastAnswer() {
        var w = OutageWatch(limit: 300, start: 1000)
        let early = w.noAnswer(at: 1100)
        #expect(!early)
        #expect(w.remaining(at: 1100) == 200)
        w.answered(at: 1250)  // a 503 is an answer: the service is there
        let sinceAnswer = w.noAnswer(at: 1500)
        #expect(!sinceAnswer)
        #expect(w.failuresSinceAnswer == 1)
        #expect(w.answers == 1, "answers are counted: a chunk never answered while others are is its own failure")
        let stop = w.noAnswer(at: 1550)
        #expect(stop, "300 s since the last answer")
        #expect(w.silentFor(at: 1550) == 300)
        #expect(DeliveryOutcome.transient(status: 503, retryAfter: nil, reason: "").gotAnswer)
        #expect(!DeliveryOutcome.transient(status: nil, retryAfter: nil, reason: "reset").gotAnswer)
        #expect(!DeliveryOutcome.unreachable(reason: "", mayHaveArrived: true).gotAnswer)
        #expect(DeliveryOutcome.permanent(status: 400, code: "x", reason: "").gotAnswer)
    }

    @Test func retryAfterAsHTTPDate() {
        let now = Date(timeIntervalSince1970: 1_459_756_800)
        #expect(parseRetryAfter("Mon, 04 Apr 2016 08:00:30 GMT", now: now) == 30)
        #expect(parseRetryAfter("2.5", now: now) == 2.5)
        #expect(parseRetryAfter("soon", now: now) == nil)
    }
}

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 3)

    /// Issue 12, item 10: a 400 blames the data of a body of several records: isolate the
    /// refused ones; one record refused is a dead letter with the service's message.
    @Test func refusedDataOfSeveralRecordsIsIsolated() {
        let bad = DeliveryOutcome.permanent(status: 400, code: "InvalidDataFormat", reason: "record 3 is invalid")
        #expect(
            policy.decide(bad, attempt: 1, records: 10_000, random: 0)
                == .isolate(reason: "400 InvalidDataFormat: record 3 is invalid"))
        #expect(
            policy.decide(bad, attempt: 1, records: 2, random: 0)
                == .isolate(reason: "400 InvalidDataFormat: record 3 is invalid"))
        #expect(
            policy.decide(bad, attempt: 1, records: 1, random: 0)
                == .deadLetter(reason: "400 InvalidDataFormat: record 3 is invalid"))
        // Not a judgement of the data: halving would be refused the same way.
        #expect(
            policy.decide(
                .permanent(status: 405, code: "MethodNotAllowed", reason: "m"), attempt: 1, records: 50, random: 0)
                == .deadLetter(reason: "405 MethodNotAllowed: m"))
        // Fatal answers stop the run whatever the body holds.
        #expect(
            policy.decide(.fatal(status: 400, code: "InvalidLogType", reason: "t"), attempt: 1, records: 50, random: 0)
                == .stopRun(reason: "400 InvalidLogType: t"))
    }

    /// Where an isolated record is: exact without gaps; a range when records between were rejected.
    @Test func anIsolatedRecordIsLocatedInItsFile() {
        let segs = [
            DeadLetterSegment(file: "a.ndjson", start: 100, end: 103),
            DeadLetterSegment(file: "b.ndjson", start: 0, end: 5),
        ]
        #expect(
            DeadLetterSegment.locate(3..<4, records: 8, in: segs) == [
                DeadLetterSegment(file: "b.ndjson", start: 0, end: 1)
            ])
        #expect(
            DeadLetterSegment.locate(1..<2, records: 8, in: segs) == [
                DeadLetterSegment(file: "a.ndjson", start: 101, end: 102)
            ])
        // One record of the 8 ordinals was rejected: record 2 is ordinal 2 or 3 of the span.
        #expect(
            DeadLetterSegment.locate(2..<3, records: 7, in: segs)
                == [
                    DeadLetterSegment(file: "a.ndjson", start: 102, end: 103),
                    DeadLetterSegment(file: "b.ndjson", start: 0, end: 1),
                ])
        #expect(
            DeadLetterSegment.describe([DeadLetterSegment(file: "a.ndjson", start: 101, end: 102)])
                == "a.ndjson record 102")
    }

    @Test func backoffGrowsAndHonoursRetryAfter() {
        let t = DeliveryOutcome.transient(status: 503, retryAfter: nil, reason: "x")
        #expect(policy.decide(t, attempt: 1, records: 5, random: 0.999) == .retry(afterSeconds: 0.5 * 0.999))
        #expect(policy.decide(t, attempt: 2, records: 5, random: 0.5) == .retry(afterSeconds: 0.5))
        let ra = DeliveryOutcome.transient(status: 429, retryAfter: 9, reason: "x")
        #expect(policy.decide(ra, attempt: 1, records: 5, random: 0.1) == .retry(afterSeconds: 9))
    }

    @Test func givesUpIntoDeadLetterAfterMaxAttempts() {
        let t = DeliveryOutcome.transient(status: 500, retryAfter: nil, reason: "HTTP 500")
        guard case .deadLetter = policy.decide(t, attempt: 3, records: 5, random: 0.5) else {
            Issue.record("expected a dead letter")
            return
        }
    }

    @Test func fatalStopsPermanentDeadLettersTooLargeSplits() {
        guard
            case .stopRun = policy.decide(
                .fatal(status: 403, code: "InvalidAuthorization", reason: "r"), attempt: 1, records: 5, random: 0)
        else {
            Issue.record("403 must stop")
            return
        }
        guard
            case .deadLetter = policy.decide(
                .permanent(status: 400, code: "InvalidDataFormat", reason: "r"), attempt: 1, records: 1, random: 0)
        else {
            Issue.record("400 InvalidDataFormat for one record must dead-letter it, never retry")
            return
        }
        #expect(policy.decide(.tooLarge(status: 404, reason: "r"), attempt: 1, records: 5, random: 0) == .split)
        guard case .deadLetter = policy.decide(.tooLarge(status: 404, reason: "r"), attempt: 1, records: 1, random: 0)
        else {
            Issue.record("a single record cannot be split")
            return
        }
    }
}
