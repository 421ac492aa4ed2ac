/// Paces requests to one data collection rule so a run stays inside the DCR's quota
/// (docs/service-facts.md: per DCR, 2 GB and 12,000 requests per minute; 429 with
/// `Retry-After` above) instead of bouncing off it.
///
/// A pure value fed with the clock (seconds, any origin), tested without waiting:
/// - A 429 (or a 503) with `Retry-After` pauses every request to the DCR until then: the
///   requests still queued do not each collect their own 429.
/// - The first 429 after a pause also teaches the rate the DCR takes, once that pause is over
///   and the slowest recent answer's time more (the window's answers are in): the requests and bytes
///   acknowledged that were sent in the last `window` before the pause's end, over `window`.
///   `window` is the shortest time seen between the ends of two pauses (for a quota counted in
///   fixed windows, the window: a 429 means its quota is used up, so the count is the quota);
///   before there are two, the time since the first request (a minute at most). Requests are then spaced at
///   `margin` of that rate in both dimensions (a token bucket of `burst` requests). A lesson
///   never raises the rate (a 429 says it was too high) and lowers it by `step` at most.
/// - Every `window` without a 429 the rate is raised by `probe`, so an estimate taken low (a
///   window shared with another client) climbs back within a few windows.
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
    public var burst = 2.0
    /// The most one lesson lowers a learned rate by.
    public var step = 0.9
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
    private var lastChange = 0.0
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
        if let r = requestRate { nextRequest = max(nextRequest, at) + 1 / r }
        if let b = byteRate { nextBytes = max(nextBytes, at) + Double(bytes) / b }
        return at
    }

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
        // A window without a 429: try a little more.
        if let r = requestRate, let b = byteRate, let w = window ?? learnedPeriod, !lessonPending,
            now - lastChange >= w
        {
            requestRate = r * probe
            byteRate = b * probe
            lastChange = now
        }
    }

    /// A request sent at `sentAt` was answered 429 (or 503) at `now`, with `Retry-After`
    /// seconds when the service said. `learn`: a quota refusal (429), not an outage (503).
    public mutating func throttled(retryAfter: Double?, sentAt: Double, now: Double, learn: Bool = true) {
        throttles += 1
        slowest = max(slowest, now - sentAt)
        settle(now: now)
        let until = now + max(0, retryAfter ?? defaultPause)
        // The first 429 after a pause ends the period; one to a request sent before the period
        // began belongs to the last lesson.
        if learn, !lessonPending, let start = periodStart, sentAt >= start, now >= pausedUntil {
            lessonPending = true
        }
        pausedUntil = max(pausedUntil, until)
        nextRequest = max(nextRequest, pausedUntil)
        nextBytes = max(nextBytes, pausedUntil)
    }

    /// Once the pause of a 429 is over: the rate is what was acknowledged in the last window
    /// before the pause's end.
    private mutating func settle(now: Double) {
        // After the pause and the slowest recent answer: the window's answers are all in.
        guard lessonPending, now >= pausedUntil + slowest, let start = periodStart else { return }
        lessonPending = false
        let end = pausedUntil
        let period = end - start
        guard period > 0 else { return }
        if !firstPeriod { window = min(window ?? period, period) }
        let w = firstPeriod ? min(period, Self.firstWindowAtMost) : (window ?? period)
        var requests = 0
        var bytes = 0
        for a in acked where a.sentAt >= end - w && a.sentAt < end {
            requests += 1
            bytes += a.bytes
        }
        if requests > 0 {
            // A 429 says the rate was too high, never too low; and one lesson lowers it by at
            // most `step` (a count taken low, with answers still on the wire, costs little).
            var r = margin * Double(requests) / w
            var b = margin * Double(max(1, bytes)) / w
            if let old = requestRate, let oldBytes = byteRate {
                r = min(old, max(r, old * step))
                b = min(oldBytes, max(b, oldBytes * step))
            }
            requestRate = r
            byteRate = b
            learnedPeriod = w
            lessons += 1
            nextRequest = max(nextRequest, end)
            nextBytes = max(nextBytes, end)
        }
        periodStart = end
        firstPeriod = false
        lastChange = end
        slowest = 0
    }
}
