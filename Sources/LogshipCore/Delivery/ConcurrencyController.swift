/// How many uploads may be in flight (`upload.concurrency: "auto"`): AIMD steered by latency.
///
/// A pure value fed with each answer (its completion time, its latency, its status, and how
/// many requests were in flight), tested with a simulated clock:
/// - **Grow** only while the limit is what holds the run back (the requests in flight fill
///   it) and latency holds: +1 per answer at first (doubling per round trip, "slow start"),
///   +1 per round trip after the first back-off. Slow start also ends when a measuring
///   interval shows the limit grew by a quarter while throughput did not grow by 5 %.
/// - **Back off** ×0.75 on 429 or 503, ×0.9 when the smoothed latency rises above 2× the
///   lowest seen (+ 5 ms): at most once per round trip, so one burst of refusals counts once.
/// - Bounded `minimum`...`maximum` (1...64).
/// A fixed `upload.concurrency` bypasses it (`fixed`).
public struct ConcurrencyController: Sendable, Equatable {
    public let minimum: Int
    public let maximum: Int
    public let fixed: Int?
    public private(set) var limit: Double
    public private(set) var slowStart = true
    /// Lowest latency seen (slowly forgotten), and the smoothed latency.
    public private(set) var baseline: Double? = nil
    public private(set) var smoothed: Double? = nil
    public private(set) var decreases = 0

    public var tolerance = 2.0
    private var lastDecrease = -Double.infinity
    // Throughput over measuring intervals (slow start's plateau check).
    private var intervalStart: Double? = nil
    private var intervalAnswers = 0
    private var lastRate: Double? = nil
    private var limitAtLastRate = 0.0

    public init(initial: Int = 8, minimum: Int = 1, maximum: Int = 64, fixed: Int? = nil) {
        self.minimum = minimum
        self.maximum = maximum
        self.fixed = fixed
        self.limit = Double(min(max(initial, minimum), maximum))
    }

    /// Uploads that may be in flight now.
    public var current: Int { fixed ?? Int(limit) }

    /// An answer came at `now` after `latency` seconds; `status` nil when there was none (a
    /// connection failure: no signal about load). `inFlight`: requests in flight when it was sent.
    public mutating func completed(at now: Double, latency: Double, status: Int?, inFlight: Int) {
        guard fixed == nil, let status else { return }
        let rtt = smoothed ?? latency
        if status == 429 || status == 503 {
            decrease(now: now, factor: 0.75, rtt: rtt)
            return
        }
        guard (200..<300).contains(status) else { return }
        let s = (smoothed ?? latency) * 0.9 + latency * 0.1
        smoothed = s
        if let b = baseline {
            baseline = latency < b ? latency : b + (latency - b) * 0.002
        } else {
            baseline = latency
        }
        measure(now: now)
        if let b = baseline, s > b * tolerance + 0.005 {
            decrease(now: now, factor: 0.9, rtt: s)
            return
        }
        // Grow only when the limit is what holds the run back.
        guard Double(inFlight) >= limit - 1 else { return }
        limit = min(Double(maximum), limit + (slowStart ? 1 : 1 / limit))
    }

    private mutating func decrease(now: Double, factor: Double, rtt: Double) {
        slowStart = false
        guard now - lastDecrease >= rtt else { return }
        lastDecrease = now
        decreases += 1
        limit = max(Double(minimum), (limit * factor).rounded(.down))
        // Latency measured at the old limit is not the new limit's: start the average afresh.
        smoothed = nil
    }

    /// Slow start ends when a quarter more concurrency brought under 5 % more answers.
    private mutating func measure(now: Double) {
        guard slowStart else { return }
        let start = intervalStart ?? now
        intervalStart = start
        intervalAnswers += 1
        let span = max(0.25, 4 * (smoothed ?? 0))
        guard now - start >= span else { return }
        let rate = Double(intervalAnswers) / (now - start)
        if let last = lastRate, limit >= limitAtLastRate * 1.25 {
            if rate < last * 1.05 {
                slowStart = false
                // Back to the limit that gave this throughput.
                limit = max(Double(minimum), limitAtLastRate)
            }
            lastRate = rate
            limitAtLastRate = limit
        } else if lastRate == nil {
            lastRate = rate
            limitAtLastRate = limit
        }
        intervalStart = now
        intervalAnswers = 0
    }
}
