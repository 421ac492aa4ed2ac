/// Paces requests to one data collection rule so a run stays inside the DCR's quota
/// (docs/service-facts.md: per DCR, 2 GB and 12,000 requests per minute; 429 with
/// `Retry-After` above) instead of bouncing off it.
///
/// A pure value fed with the clock (seconds, any origin), tested without waiting:
/// - A 429 (or a 503) with `Retry-After` pauses every request to the DCR until then: the
///   requests still queued do not each collect their own 429.
/// - The first 429 after a pause also teaches the rate the DCR takes, once the 429s of that
///   pause and the slowest recent answer are in (the window's answers have all come back):
///   the requests and bytes acknowledged that were sent since the period began (the last
///   pause's end) or, for a period longer than a window, in its last `window`, up to the
///   earliest end the 429s named. `window` is the shortest time seen between the ends of two
///   pauses (for a quota counted in fixed windows, the window or a few: a 429 means its quota
///   is used up, so the count is the quota); before there are two, the time since the first
///   request (a minute at most). Requests are then spaced at `margin` of that rate in both
///   dimensions (a token bucket of `burst` requests, empty when a pause ends: after it
///   requests go one at a time). A lesson never raises the rate (a 429 says it was too high)
///   and lowers it by the factor `step` at most. After the first lesson (whose window the run
///   may have entered late, so its rate may be too high) no more requests than it counted go
///   before as long again has passed.
/// - Every two `window`s without a 429 the rate is raised, by `probe` (2 %) after a lesson and
///   by twice the last step each time after (up to 25 %), so an estimate taken low (answers
///   counted in the wrong window, a window shared with another client) climbs back.
public struct DCRPacer: Sendable, Equatable {
    /// No request before this time.
    public private(set) var pausedUntil: Double = 0
    /// Learned rates (per second); nil until the first 429.
    public private(set) var requestRate: Double? = nil
    public private(set) var byteRate: Double? = nil
    /// 429s answered so far, and how many of them taught a rate.
    public private(set) var throttles = 0
    public private(set) var lessons = 0

    public var margin = 0.97
    public var probe = 1.02
    public var burst = 1.0
    /// The most one lesson lowers a learned rate by (a factor).
    public var step = 0.5
    /// Pause after a 429 without `Retry-After` (seconds).
    public var defaultPause = 1.0
    /// Shortest time between the ends of two pauses (nil until there were two).
    public private(set) var window: Double? = nil

    /// Acknowledged requests: when each was sent and its bytes (the latest `ackedCapacity`).
    private struct Ack: Sendable, Equatable {
        var sentAt: Double
        var bytes: Int
    }
    /// More than one window of the service's quota (12,000 requests a minute).
    private static let ackedCapacity = 16_384
    /// The first lesson's window at most: the quota is counted per minute (docs/service-facts.md).
    private static let firstWindowAtMost = 60.0
    // Theoretical arrival times of the two buckets (GCRA).
    private var nextRequest = 0.0
    private var nextBytes = 0.0
    private var periodStart: Double? = nil
    /// The current period began with the first request, not at a pause's end.
    private var firstPeriod = true
    private var acked: [Ack] = []
    private var ackedNext = 0
    /// A 429 that will teach the rate when its pause is over.
    private var lessonPending = false
    private var lessonEnd = 0.0
    private var lessonReady = 0.0
    private var lastChange = 0.0
    private var lastBytes = 1
    private var probeStep = 0.02
    /// Requests the first lesson's window allows before `firstBudgetUntil`.
    private var firstBudget: Int? = nil
    private var firstBudgetUntil = 0.0
    private var learnedPeriod: Double? = nil
    /// The longest latency of the answers since the last lesson.
    private var slowest = 0.0

    public init() {}

    /// The time a request of `bytes` may be sent (at or after `now`); its share of the rate is
    /// reserved, so the caller must send it then.
    public mutating func schedule(bytes: Int, now: Double) -> Double {
        if periodStart == nil { periodStart = now }
        settle(now: now)
        var at = max(now, pausedUntil)
        if let r = requestRate { at = max(at, nextRequest - burst / r) }
        if let b = byteRate { at = max(at, nextBytes - burst * Double(max(1, bytes)) / b) }
        // After the first lesson (its window may have been entered late, its rate too high): no
        // more than that window's count until as long again has passed.
        if let left = firstBudget {
            if left > 0 {
                firstBudget = left - 1
            } else {
                at = max(at, firstBudgetUntil)
                firstBudget = nil
            }
        }
        if let r = requestRate { nextRequest = max(nextRequest, at) + 1 / r }
        if let b = byteRate { nextBytes = max(nextBytes, at) + Double(bytes) / b }
        lastBytes = bytes
        return at
    }

    /// Takes a lesson that is due at `now` (the pause over, the answers in).
    public mutating func update(now: Double) { settle(now: now) }

    /// A request sent at `sentAt` was acknowledged at `now`.
    public mutating func acknowledged(bytes: Int, sentAt: Double, now: Double) {
        guard periodStart != nil else { return }
        let a = Ack(sentAt: sentAt, bytes: bytes)
        if acked.count < Self.ackedCapacity {
            acked.append(a)
        } else {
            acked[ackedNext] = a
        }
        ackedNext = (ackedNext + 1) % Self.ackedCapacity
        slowest = max(slowest, now - sentAt)
        settle(now: now)
        // Two windows without a 429: try more, twice the step each time (up to 25 %), so a rate
        // taken low climbs back within a few windows.
        if let r = requestRate, let b = byteRate, let w = window ?? learnedPeriod, !lessonPending,
            now - lastChange >= 2 * w
        {
            requestRate = r * (1 + probeStep)
            byteRate = b * (1 + probeStep)
            probeStep = min(0.25, probeStep * 2)
            lastChange = now
        }
    }

    /// A request sent at `sentAt` was answered 429 (or 503) at `now`, with `Retry-After`
    /// seconds when the service said. `learn`: a quota refusal (429), not an outage (503).
    public mutating func throttled(retryAfter: Double?, sentAt: Double, now: Double, learn: Bool = true) {
        throttles += 1
        slowest = max(slowest, now - sentAt)
        // A 429 to a request sent after the pending lesson's end: that window's answers are in.
        if lessonPending, sentAt >= lessonEnd { settle(now: now, force: true) }
        settle(now: now)
        let until = now + max(0, retryAfter ?? defaultPause)
        // Where the window ended, as near as the answer tells: `Retry-After` counts from when the
        // service saw the request, taken halfway through the round trip.
        let ended = until - (now - sentAt) / 2
        // The first 429 after a pause ends the period; one to a request sent before the period
        // began belongs to the last lesson.
        if learn, !lessonPending, let start = periodStart, sentAt >= start, now >= pausedUntil {
            lessonPending = true
            lessonEnd = ended
            lessonReady = until
        } else if learn, lessonPending, let start = periodStart, sentAt >= start, sentAt < lessonEnd {
            // The earliest end the 429s of this pause name is nearest the window's: a request sent
            // after it may have been taken in the next window.
            lessonEnd = min(lessonEnd, ended)
            lessonReady = max(lessonReady, until)
        }
        pausedUntil = max(pausedUntil, until)
        // Nothing goes before the lesson is taken (the answers of the window are in): a request
        // sent unpaced meanwhile would only use up the next window at once.
        if lessonPending { pausedUntil = max(pausedUntil, lessonReady + slowest) }
        resume()
    }

    /// After a pause requests start one at a time at the learned rate: the burst allowance
    /// would put several of them at the start of the next window.
    private mutating func resume() {
        nextRequest = max(nextRequest, pausedUntil + (requestRate.map { burst / $0 } ?? 0))
        nextBytes = max(nextBytes, pausedUntil + (byteRate.map { burst * Double(max(1, lastBytes)) / $0 } ?? 0))
    }

    /// Once the answers of a 429's pause are in: the rate is what was acknowledged of the
    /// requests sent in the period (its last window at most) before the earliest end named.
    private mutating func settle(now: Double, force: Bool = false) {
        // After the pause and the slowest recent answer: the window's answers are all in.
        guard lessonPending, force || now >= lessonReady + slowest, let start = periodStart else { return }
        lessonPending = false
        let end = lessonEnd
        let period = end - start
        guard period > 0 else { return }
        if !firstPeriod { window = min(window ?? period, period) }
        let w = firstPeriod ? min(period, Self.firstWindowAtMost) : (window ?? period)
        var requests = 0
        var bytes = 0
        // A period of one window counts from its start (the pause's end, when sending resumed:
        // `window` may be short by the answers' latency); a longer one, its last window.
        var from = period < 1.5 * w ? start : end - w
        for a in acked where a.sentAt >= from && a.sentAt < end {
            requests += 1
            bytes += a.bytes
        }
        if requests == 0 {
            // None in the last window (a window taken short): the whole period.
            from = start
            for a in acked where a.sentAt >= from && a.sentAt < end {
                requests += 1
                bytes += a.bytes
            }
        }
        if requests > 0 {
            // A 429 says the rate was too high, never too low; and one lesson lowers it by at
            // most `step` (a count taken low, with answers still on the wire, costs little).
            let span = end - from
            var r = margin * Double(requests) / span
            var b = margin * Double(max(1, bytes)) / span
            // (The first lesson, from a window the run may have entered late, binds nothing.)
            if let old = requestRate, let oldBytes = byteRate, lessons > 1 {
                r = min(old, max(r, old * step))
                b = min(oldBytes, max(b, oldBytes * step))
            }
            requestRate = r
            byteRate = b
            learnedPeriod = w
            firstBudget = firstPeriod ? requests : nil
            firstBudgetUntil = end + period
            lessons += 1
            probeStep = probe - 1
            resume()
        }
        periodStart = end
        firstPeriod = false
        lastChange = end
        slowest = 0
    }
}
