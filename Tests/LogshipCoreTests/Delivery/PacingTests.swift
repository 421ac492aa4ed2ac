import Foundation
import Testing

@testable import LogshipCore

/// DCRPacer and ConcurrencyController against simulated services on a simulated clock.
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

    /// Sends `requests` requests through a pacer, `parallel` at a time, each answered after
    /// `latency`; returns (accepted per window, 429s, finish time).
    static func simulate(requests: Int, parallel: Int, latency: Double, quota: Int, window: Double) -> (
        [Int: Int], Int, Double
    ) {
        var pacer = DCRPacer()
        var service = WindowQuota(quota: quota, window: window)
        var perWindow: [Int: Int] = [:]
        var throttled = 0
        // Each worker's next free time; pending requests are retried until accepted.
        var workers = [Double](repeating: 0, count: parallel)
        var left = requests
        var end = 0.0
        var guardCount = 0
        while left > 0, guardCount < 1_000_000 {
            guardCount += 1
            let w = workers.indices.min { workers[$0] < workers[$1] }!
            let at = pacer.schedule(bytes: 1000, now: workers[w])
            let answer = at + latency
            if let ra = service.take(at: at) {
                throttled += 1
                pacer.throttled(retryAfter: ra, sentAt: at, now: answer)
            } else {
                perWindow[Int(at / window), default: 0] += 1
                pacer.acknowledged(bytes: 1000, sentAt: at, now: answer)
                left -= 1
                end = max(end, answer)
            }
            workers[w] = answer
        }
        return (perWindow, throttled, end)
    }

    @Test func thePacerLearnsTheQuotaAndStopsBouncingOffIt() {
        // 100 requests per 10 s, 30 windows' worth of requests, 16 in parallel, 50 ms answers.
        let (perWindow, throttled, end) = Self.simulate(
            requests: 3000, parallel: 16, latency: 0.05, quota: 100, window: 10)
        // Without pacing every window would end in a burst of 429s (16 per window, ~480);
        // with it, the first window teaches the rate and later ones are mostly clean.
        #expect(throttled < 60, "429s: \(throttled)")
        // At least 90 % of the quota over the run: 3000 requests in at most 3000/90 windows.
        #expect(end <= 3000.0 / 90 * 10 + 10, "finished at \(end) s")
        #expect(perWindow.values.allSatisfy { $0 <= 100 })
    }

    @Test func aPauseHoldsEveryRequestUntilRetryAfter() {
        var pacer = DCRPacer()
        _ = pacer.schedule(bytes: 10, now: 0)
        pacer.acknowledged(bytes: 10, sentAt: 0, now: 0.1)
        _ = pacer.schedule(bytes: 10, now: 0.1)
        pacer.throttled(retryAfter: 5, sentAt: 0.1, now: 0.2)
        #expect(pacer.pausedUntil == 5.2)
        #expect(pacer.schedule(bytes: 10, now: 1) >= 5.2)
        // An answer to a request sent before the pause does not teach a second rate.
        pacer.throttled(retryAfter: 5, sentAt: 0.15, now: 0.3)
        #expect(pacer.lessons == 1)
        #expect(pacer.throttles == 2)
    }

    @Test func withoutRetryAfterThePauseIsTheDefault() {
        var pacer = DCRPacer()
        _ = pacer.schedule(bytes: 10, now: 0)
        pacer.throttled(retryAfter: nil, sentAt: 0, now: 1)
        #expect(pacer.pausedUntil == 2)
    }

    // MARK: ConcurrencyController

    /// A service with `servers` parallel slots each taking `service` seconds (more queue, so
    /// latency rises), or answering 429 above `refuseAbove` in flight. Returns the controller
    /// after `steps` answers and the throughput of the last half.
    static func drive(
        _ c: inout ConcurrencyController, servers: Int, service: Double, refuseAbove: Int = .max, steps: Int = 4000
    ) -> Double {
        var t = 0.0
        var answersLate = 0
        let halfAt = steps / 2
        var halfTime = 0.0
        for k in 0..<steps {
            let n = c.current
            // n requests in flight: latency grows once they exceed the servers.
            let latency = service * max(1, Double(n) / Double(servers))
            let status = n > refuseAbove ? 429 : 204
            // One answer arrives every latency / n seconds.
            t += latency / Double(n)
            c.completed(at: t, latency: latency, status: status, inFlight: n)
            if k == halfAt { halfTime = t }
            if k > halfAt && status == 204 { answersLate += 1 }
        }
        return Double(answersLate) / (t - halfTime)
    }

    @Test func autoGrowsToTheServiceCapacityAndBacksOffWhenLatencyRises() {
        var c = ConcurrencyController()
        let rate = Self.drive(&c, servers: 24, service: 0.1)
        // The best throughput is 24 / 0.1 = 240 answers per second.
        #expect(rate >= 0.9 * 240, "rate \(rate), limit \(c.limit)")
        // Past twice the servers latency doubles: it backed off at least once.
        #expect(c.decreases > 0)
    }

    @Test func autoReachesTheCeilingWhenLatencyHolds() {
        var c = ConcurrencyController()
        _ = Self.drive(&c, servers: 1000, service: 0.1, steps: 2000)
        #expect(c.current == 64)
    }

    @Test func autoBacksOffOn429AndSettlesUnderTheLimit() {
        var c = ConcurrencyController()
        _ = Self.drive(&c, servers: 1000, service: 0.1, refuseAbove: 10)
        #expect(c.current <= 10 + 1)
        #expect(c.current >= 5)
        #expect(c.decreases > 0)
    }

    @Test func aFixedConcurrencyIsNotChanged() {
        var c = ConcurrencyController(fixed: 16)
        _ = Self.drive(&c, servers: 4, service: 0.1, refuseAbove: 2, steps: 200)
        #expect(c.current == 16)
    }

    @Test func itIsBoundedOneToSixtyFour() {
        var c = ConcurrencyController()
        _ = Self.drive(&c, servers: 1000, service: 0.1, refuseAbove: 0, steps: 500)
        #expect(c.current == 1)
    }
}
