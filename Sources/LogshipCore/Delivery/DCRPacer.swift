/// Paces requests to one data collection rule so a run stays inside the DCR's quota
/// (docs/service-facts.md: per DCR, 2 GB and 12,000 requests per minute; 429 with
/// `Retry-After` above) instead of bouncing off it.
///
/// A pure value fed with the clock (seconds, any origin), tested without waiting:
/// - A 429 (or a 503) with `Retry-After` pauses every request to the DCR until then: the
///   requests still queued do not each collect their own 429.
/// - The first 429 after a pause also teaches the rate the DCR takes: the requests and bytes
///   acknowledged since the last pause ended, over the time from then to the end of the new
///   pause (for a window that resets, exactly the quota per window). Requests are then spaced
///   at `margin` of that rate in both dimensions (a token bucket of `burst` requests).
/// - Every quiet period (as long as the last one learned) the rate is raised by `probe`, so an
///   estimate taken low (a window shared with another client) climbs back.
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
    public var probe = 1.03
    public var burst = 2.0
    /// Pause after a 429 without `Retry-After` (seconds).
    public var defaultPause = 1.0

    // Theoretical arrival times of the two buckets (GCRA).
    private var nextRequest = 0.0
    private var nextBytes = 0.0
    private var periodStart: Double? = nil
    private var ackedRequests = 0
    private var ackedBytes = 0
    private var learnedPeriod = 0.0
    private var lastChange = 0.0

    public init() {}

    /// The time a request of `bytes` may be sent (at or after `now`); its share of the rate is
    /// reserved, so the caller must send it then.
    public mutating func schedule(bytes: Int, now: Double) -> Double {
        if periodStart == nil { periodStart = now }
        var at = max(now, pausedUntil)
        if let r = requestRate { at = max(at, nextRequest - burst / r) }
        if let b = byteRate { at = max(at, nextBytes - burst * Double(max(1, bytes)) / b) }
        if let r = requestRate { nextRequest = max(nextRequest, at) + 1 / r }
        if let b = byteRate { nextBytes = max(nextBytes, at) + Double(bytes) / b }
        return at
    }

    /// A request sent at `sentAt` was acknowledged at `now`.
    public mutating func acknowledged(bytes: Int, sentAt: Double, now: Double) {
        guard let start = periodStart, sentAt >= start else { return }
        ackedRequests += 1
        ackedBytes += bytes
        // Quiet for as long as the last lesson's period: try a little more.
        if let r = requestRate, let b = byteRate, learnedPeriod > 0, now - lastChange >= max(1, learnedPeriod) {
            requestRate = r * probe
            byteRate = b * probe
            lastChange = now
        }
    }

    /// A request sent at `sentAt` was answered 429 (or 503) at `now`, with `Retry-After`
    /// seconds when the service said. `learn`: a quota refusal (429), not an outage (503).
    public mutating func throttled(retryAfter: Double?, sentAt: Double, now: Double, learn: Bool = true) {
        throttles += 1
        let until = now + max(0, retryAfter ?? defaultPause)
        // Answers to requests sent before the current period began belong to the last lesson.
        if learn, let start = periodStart, sentAt >= start, now >= pausedUntil {
            let period = until - start
            if period > 0, ackedRequests > 0 {
                requestRate = margin * Double(ackedRequests) / period
                byteRate = margin * Double(max(1, ackedBytes)) / period
                learnedPeriod = period
                lessons += 1
            }
            periodStart = until
            ackedRequests = 0
            ackedBytes = 0
            lastChange = until
        }
        pausedUntil = max(pausedUntil, until)
        nextRequest = max(nextRequest, pausedUntil)
        nextBytes = max(nextBytes, pausedUntil)
    }
}
