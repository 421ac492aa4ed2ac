import Foundation
import Testing

@testable import LogshipCore

/// DCRPacer and ConcurrencyController against simulated services on a simulated clock (events
/// in time order; no waiting, no timing of the machine).
@Suite struct PacingTests {
    /// A fixed-window quota as the emulator keeps it: `quota` requests per `window` seconds.
    struct WindowQuota {
        let quota: Int
        let window: Double
        var index = -1
        var used = 0
        /// nil when accepted, else Retry-After.
        mutating func take(at t: Double) -> Double? {
            let k = Int(t / window)
            if k != index {
                index = k
                used = 0
            }
            guard used < quota else { return Double(k + 1) * window - t }
            used += 1
            return nil
        }
    }

    struct QuotaRun {
        var perWindow: [Int: Int] = [:]
        var throttled = 0
        var end = 0.0
        var pacer = DCRPacer()
        /// Accepted requests over the quota's capacity from the first request to the last answer.
        var share = 0.0
    }

    /// Sends `requests` requests through a pacer, `parallel` at a time from `start`, each
    /// answered after `latency` by a fixed-window quota; a 429 is sent again (after the pause).
    /// `spread`: latencies vary from (1 - spread) to (1 + spread) × `latency` (answers out of order).
    static func simulate(
        requests: Int, parallel: Int, latency: Double, quota: Int, window: Double, start: Double = 0,
        spread: Double = 0
    ) -> QuotaRun {
        var run = QuotaRun()
        var service = WindowQuota(quota: quota, window: window)
        // Each worker's next event: a send at `at`, or an answer at `at` to a send at `sent`.
        struct Worker {
            var at: Double
            var sent: Double? = nil
            var retryAfter: Double? = nil
        }
        var workers = [Worker](repeating: Worker(at: start), count: parallel)
        for w in workers.indices { workers[w].at = run.pacer.schedule(bytes: 1000, now: start) }
        var left = requests
        var events = 0
        var sends = 0
        while left > 0, events < 1_000_000 {
            events += 1
            let w = workers.indices.min { workers[$0].at < workers[$1].at }!
            let now = workers[w].at
            if let sent = workers[w].sent {
                // An answer: the worker sends its next (or the same again) when the pacer lets it.
                if let ra = workers[w].retryAfter {
                    run.throttled += 1
                    run.pacer.throttled(retryAfter: ra, sentAt: sent, now: now)
                } else {
                    run.pacer.acknowledged(bytes: 1000, sentAt: sent, now: now)
                    left -= 1
                    run.end = max(run.end, now)
                }
                workers[w] = Worker(at: run.pacer.schedule(bytes: 1000, now: now))
            } else {
                let ra = service.take(at: now)
                if ra == nil { run.perWindow[Int(now / window), default: 0] += 1 }
                // A fixed spread of latencies (the golden ratio's multiples, modulo 1).
                sends += 1
                let u = (Double(sends) * 0.618_033_988_75).truncatingRemainder(dividingBy: 1)
                workers[w] = Worker(at: now + latency * (1 + spread * (2 * u - 1)), sent: now, retryAfter: ra)
            }
        }
        run.share = Double(requests) / ((run.end - start) * Double(quota) / window)
        return run
    }

    @Test func thePacerLearnsTheQuotaAndStopsBouncingOffIt() {
        // 100 requests per 10 s, 30 windows' worth of requests, 16 in parallel, 50 ms answers.
        let r = Self.simulate(requests: 3000, parallel: 16, latency: 0.05, quota: 100, window: 10)
        // Without pacing every window would end in a burst of 429s (16 per window, ~480);
        // with it, the first window teaches the rate and later ones are mostly clean.
        #expect(r.throttled < 60, "429s: \(r.throttled)")
        #expect(r.share >= 0.9, "\(r.share) of the quota; finished at \(r.end) s")
        #expect(r.perWindow.values.allSatisfy { $0 <= 100 })
    }

    /// The bench's case: a run that starts within a window, more parallel requests than the
    /// quota needs, answers out of order. The rate is learned from the window the 429 closes,
    /// once every answer of that window is in, so it is not taken low (from answers still on the
    /// wire at the first 429, or from windows paced below the quota).
    @Test func aRunStartedWithinAWindowSettlesAtTheQuota() {
        for start in [0.0, 0.3, 1.1, 1.9] {
            let r = Self.simulate(
                requests: 600, parallel: 8, latency: 0.05, quota: 20, window: 2, start: start, spread: 0.9)
            #expect(r.share >= 0.93, "start \(start): \(r.share) of the quota, \(r.throttled) 429s")
            let rate = r.pacer.requestRate ?? 0
            // (Between lessons the rate climbs a little past the quota, by 25 % at most.)
            #expect(rate >= 0.9 * 10 && rate <= 10 * 1.25, "start \(start): learned \(rate) requests/s")
            // The window or a few, to within the answers' latency (a pause ends a latency after it).
            let w = (r.pacer.window ?? 0) / 2
            #expect(
                w >= 0.97 && abs(w - w.rounded()) <= 0.03,
                "start \(start): window \(String(describing: r.pacer.window))")
            // One 429 every few windows (each with the requests then on the wire), not a storm.
            #expect(r.throttled <= 30 + 8 * 4, "start \(start): \(r.throttled) 429s for 30 windows")
        }
    }

    @Test func aPauseHoldsEveryRequestUntilRetryAfter() {
        var pacer = DCRPacer()
        _ = pacer.schedule(bytes: 10, now: 0)
        pacer.acknowledged(bytes: 10, sentAt: 0, now: 0.1)
        _ = pacer.schedule(bytes: 10, now: 0.1)
        pacer.throttled(retryAfter: 5, sentAt: 0.1, now: 0.2)
        // Until Retry-After, and the slowest answer's latency more (0.1 s: the lesson's answers).
        #expect(abs(pacer.pausedUntil - 5.3) < 1e-9)
        #expect(pacer.schedule(bytes: 10, now: 1) >= 5.3)
        // An answer to a request sent before the pause does not teach a second rate.
        pacer.throttled(retryAfter: 5, sentAt: 0.15, now: 0.3)
        #expect(pacer.throttles == 2)
        #expect(abs(pacer.pausedUntil - 5.45) < 1e-9)
        // The lesson is taken once the pause and the slowest answer's latency (0.15 s) are over:
        // 1 request from the first to where the window ended (the earliest end a 429 named, less
        // half its round trip: 5.15 s).
        _ = pacer.schedule(bytes: 10, now: 5.3)
        #expect(pacer.lessons == 0)
        _ = pacer.schedule(bytes: 10, now: 5.45)
        #expect(pacer.lessons == 1)
        #expect(abs((pacer.requestRate ?? 0) - 0.97 / 5.15) < 1e-9)
    }

    @Test func withoutRetryAfterThePauseIsTheDefault() {
        var pacer = DCRPacer()
        _ = pacer.schedule(bytes: 10, now: 0)
        // A 503 (no lesson): the default pause of 1 s.
        pacer.throttled(retryAfter: nil, sentAt: 0, now: 1, learn: false)
        #expect(pacer.pausedUntil == 2)
    }

    // MARK: ConcurrencyController

    /// A service of `servers` slots, each taking `service(k)` seconds for the k-th request
    /// (first come, first served: past `servers` in flight, requests queue and latency rises),
    /// answering 429 to a request sent with more than `refuseAbove` in flight. The client keeps
    /// `c.current` requests in flight. Returns answers per second over the second half.
    static func drive(
        _ c: inout ConcurrencyController, servers: Int, service: (Int) -> Double, refuseAbove: Int = .max,
        answers: Int = 4000, from start: Double = 0
    ) -> (rate: Double, end: Double) {
        var free = [Double](repeating: start, count: servers)
        // Requests on the wire: (answer time, sent at, status, in flight when sent).
        var wire: [(at: Double, sent: Double, status: Int, inFlight: Int)] = []
        var now = start
        var sent = 0
        var done = 0
        var halfTime = start
        var late = 0
        while done < answers {
            while wire.count < c.current {
                let inFlight = wire.count + 1
                let status = inFlight > refuseAbove ? 429 : 204
                var at = now + 0.001
                if status == 204 {
                    let s = free.indices.min { free[$0] < free[$1] }!
                    at = max(now, free[s]) + service(sent)
                    free[s] = at
                }
                wire.append((at, now, status, inFlight))
                sent += 1
            }
            let i = wire.indices.min { wire[$0].at < wire[$1].at }!
            let a = wire.remove(at: i)
            now = a.at
            c.completed(at: now, latency: now - a.sent, status: a.status, inFlight: a.inFlight)
            done += 1
            if done == answers / 2 { halfTime = now }
            if done > answers / 2 && a.status == 204 { late += 1 }
        }
        return (Double(late) / (now - halfTime), now)
    }

    @Test func autoDoublesEachRoundTripUpToTheCeilingWhileLatencyHolds() {
        var c = ConcurrencyController()
        // Answers after 100 ms whatever the load: from 8 to 64 in five round trips (the rate a
        // round trip shows sets the next one's target).
        let (_, end) = Self.drive(&c, servers: 1000, service: { _ in 0.1 }, answers: 120)
        #expect(c.current == 64, "limit \(c.limit) at \(end) s")
        #expect(end < 0.55)
        _ = Self.drive(&c, servers: 1000, service: { _ in 0.1 }, answers: 2000, from: end)
        #expect(c.current == 64)
    }

    @Test func autoSettlesWhereLatencyRisesAndKeepsTheBestThroughput() {
        var c = ConcurrencyController()
        // 16 slots of 100 ms: 160 answers per second at best, from 16 in flight on.
        let (rate, _) = Self.drive(&c, servers: 16, service: { _ in 0.1 })
        #expect(rate >= 0.9 * 160, "rate \(rate), limit \(c.limit)")
        // It stops where latency has doubled (a queue as long as the slots), not at the ceiling.
        #expect(c.current >= 16 && c.current <= 34, "limit \(c.limit)")
    }

    @Test func autoBacksOffWhenTheServiceSlowsDown() {
        var c = ConcurrencyController()
        let (_, end) = Self.drive(&c, servers: 32, service: { _ in 0.05 }, answers: 3000)
        let before = c.current
        // Now each request takes four times as long: latency rises, throughput falls.
        _ = Self.drive(&c, servers: 8, service: { _ in 0.2 }, answers: 1500, from: end)
        #expect(before >= 32, "limit before \(before)")
        #expect(c.current <= 18, "limit \(c.limit) after the slowdown (before: \(before))")
    }

    /// Latency that varies from one request to the next but not with the load (a client or
    /// network busy with other things) is no queue: the limit stays where throughput is best.
    @Test func jitterThatIsNotLoadDoesNotPullTheLimitDown() {
        var c = ConcurrencyController()
        // 100 to 400 ms, spread over requests, with room for everything: 64 in flight is best.
        let (rate, _) = Self.drive(&c, servers: 1000, service: { k in 0.1 + 0.3 * Double((k * 7919) % 101) / 100 })
        #expect(c.current >= 48, "limit \(c.limit)")
        #expect(rate >= 0.75 * 64 / 0.25, "rate \(rate), limit \(c.limit)")
    }

    @Test func autoBacksOffOn429AndSettlesUnderTheLimit() {
        var c = ConcurrencyController()
        _ = Self.drive(&c, servers: 1000, service: { _ in 0.1 }, refuseAbove: 10)
        #expect(c.current <= 10 + 1)
        #expect(c.current >= 5)
        #expect(c.decreases > 0)
    }

    @Test func aFixedConcurrencyIsNotChanged() {
        var c = ConcurrencyController(fixed: 16)
        _ = Self.drive(&c, servers: 4, service: { _ in 0.1 }, refuseAbove: 2, answers: 200)
        #expect(c.current == 16)
    }

    @Test func itIsBoundedOneToSixtyFour() {
        var c = ConcurrencyController()
        _ = Self.drive(&c, servers: 1000, service: { _ in 0.1 }, refuseAbove: 0, answers: 500)
        #expect(c.current == 1)
        var d = ConcurrencyController(initial: 1)
        _ = Self.drive(&d, servers: 1000, service: { _ in 0.01 }, answers: 5000)
        #expect(d.current == 64)
    }
}
