/// How many uploads may be in flight (`upload.concurrency: "auto"`), from what the answers show:
/// the rate they come back at and the lowest latency seen (as BBR sizes a TCP window).
///
/// A pure value fed with each answer (its completion time, its latency, its status, and how
/// many requests were on the wire when it was sent), tested with a simulated clock:
/// - **Target.** `gain` × the highest answer rate of the last `rounds` round trips × the
///   lowest latency (of a round trip's answers, on average: latency that varies from one
///   request to the next is not a queue): twice the requests the service turns round without
///   queueing. With the limit what holds the run back, the rate is limit / latency, so the
///   target is 2 × limit while latency holds at its lowest, and falls below the limit once
///   latency passes twice the lowest (a queue at the service, or a client short of CPU).
/// - **Slow start** (from `initial`): +1 per answer while under the target (×`startupGain`),
///   doubling the limit each round trip, until a back-off or until three round trips in a row
///   with the limit full raised the highest rate by under 25 %.
/// - **After it**: +1 per round trip (1 / limit per answer) up to the target, down to the
///   target at once when it falls (the service slowed down: rate lower, latency higher).
/// - **Back off** ×0.75 on 429 or 503, at most once per round trip (a burst of refusals counts
///   once); the target then bounds the regrowth of +1 per round trip.
/// - **The lowest latency** is measured again every `refresh` seconds: the limit is halved
///   for two round trips, so a queue the limit itself keeps (latency that never falls back)
///   is not taken for the service's own latency.
/// - Bounded `minimum`...`maximum` (1...64). A fixed `upload.concurrency` bypasses it (`fixed`).
public struct ConcurrencyController: Sendable, Equatable {
    public let minimum: Int
    public let maximum: Int
    public let fixed: Int?
    public private(set) var limit: Double
    public private(set) var slowStart = true
    /// Lowest mean latency of a round (seconds), and the highest answer rate (per second) of
    /// the last rounds.
    public private(set) var baseline: Double? = nil
    public private(set) var maxRate = 0.0
    /// Back-offs on 429/503.
    public private(set) var decreases = 0
    /// Measuring the lowest latency again (the limit is halved meanwhile).
    public private(set) var refreshing = false

    /// Target in-flight requests per (rate × lowest latency), after and during slow start.
    public var gain = 2.0
    public var startupGain = 2.9
    /// Round trips over which the highest rate is kept.
    public var rounds = 6
    /// Seconds after which the lowest latency is measured again.
    public var refresh = 10.0

    private let initial: Int
    private var answers = 0
    private var lastDecrease = -Double.infinity
    private var smoothed: Double? = nil
    // The current round (a smoothed latency long): its start and 2xx answers; the last rates.
    private var roundStart: Double? = nil
    private var roundAnswers = 0
    private var roundLatency = 0.0
    private var roundFull = false
    private var rates: [Double] = []
    // Slow start's plateau check: the rate at the last growth of 25 %, flat rounds since.
    private var fullRate = 0.0
    private var flatRounds = 0
    // When the lowest latency was last seen or measured; the refresh's end and its lowest.
    private var baselineAt = 0.0
    private var refreshEnd = 0.0
    private var refreshLowest = Double.infinity

    public init(initial: Int = 8, minimum: Int = 1, maximum: Int = 64, fixed: Int? = nil) {
        self.minimum = minimum
        self.maximum = maximum
        self.fixed = fixed
        self.initial = min(max(initial, minimum), maximum)
        self.limit = Double(self.initial)
    }

    /// Uploads that may be in flight now.
    public var current: Int {
        if let fixed { return fixed }
        return refreshing ? max(minimum, Int(limit / 2)) : Int(limit)
    }

    /// The limit the answers ask for: `gain` × highest rate × lowest latency.
    public var target: Double {
        guard let b = baseline, maxRate > 0 else { return Double(initial) }
        return (slowStart ? startupGain : gain) * maxRate * b
    }

    /// An answer came at `now` after `latency` seconds; `status` nil when there was none (a
    /// connection failure: no signal about load). `inFlight`: requests on the wire when it was sent.
    public mutating func completed(at now: Double, latency: Double, status: Int?, inFlight: Int) {
        guard fixed == nil, let status else { return }
        if status == 429 || status == 503 {
            decrease(now: now, rtt: baseline ?? latency)
            return
        }
        guard (200..<300).contains(status) else { return }
        answers += 1
        smoothed = (smoothed ?? latency) * 0.875 + latency * 0.125
        round(now: now, latency: latency, full: Double(inFlight) >= limit - 1)
        let t = target
        if slowStart {
            // Doubling per round trip while under the target (and through the first round).
            if limit < t || answers <= initial { limit += 1 }
        } else if limit > t {
            limit = t
        } else {
            limit = min(t, limit + 1 / limit)
        }
        limit = min(Double(maximum), max(Double(minimum), limit))
    }

    /// The lowest of the rounds' mean latencies; measured again (limit halved for two round
    /// trips) every `refresh` seconds.
    private mutating func lowest(now: Double, mean: Double) {
        if refreshing {
            refreshLowest = min(refreshLowest, mean)
            if now >= refreshEnd {
                refreshing = false
                baseline = refreshLowest
                baselineAt = now
            }
        } else if baseline == nil || mean <= baseline! {
            baseline = mean
            baselineAt = now
        } else if now - baselineAt >= refresh {
            refreshing = true
            refreshEnd = now + 2 * (smoothed ?? mean)
            refreshLowest = .infinity
        }
    }

    /// Rounds of one smoothed latency: the answer rate of each; slow start ends when three
    /// rounds with the limit full did not raise the highest rate by 25 %.
    private mutating func round(now: Double, latency: Double, full: Bool) {
        roundAnswers += 1
        roundLatency += latency
        roundFull = roundFull || full
        let start = roundStart ?? (now - (smoothed ?? 0))
        roundStart = start
        let span = now - start
        guard span >= (smoothed ?? 0), span > 0 else { return }
        rates.append(Double(roundAnswers) / span)
        lowest(now: now, mean: roundLatency / Double(roundAnswers))
        if rates.count > rounds { rates.removeFirst(rates.count - rounds) }
        maxRate = rates.max() ?? 0
        if slowStart {
            if maxRate >= fullRate * 1.25 {
                fullRate = maxRate
                flatRounds = 0
            } else if roundFull {
                flatRounds += 1
                if flatRounds >= 3 { slowStart = false }
            }
        }
        roundStart = now
        roundAnswers = 0
        roundLatency = 0
        roundFull = false
    }

    private mutating func decrease(now: Double, rtt: Double) {
        slowStart = false
        guard now - lastDecrease >= rtt else { return }
        lastDecrease = now
        decreases += 1
        limit = max(Double(minimum), (limit * 0.75).rounded(.down))
    }
}
