import Foundation

/// The outage rule: when the service has given no answer at all (every attempt failed to
/// connect or timed out) for `limit` seconds, the run stops rather than turning its input into
/// dead letters — an unreachable endpoint is not the data's fault, and the next run resumes.
/// Any HTTP answer, even an error, shows the service is there and restarts the count.
/// A value type driven by the caller's clock, so the rule is tested without waiting.
public struct OutageWatch: Sendable, Equatable {
    public let limit: Double
    /// Clock reading of the last answer (or of the start).
    public private(set) var lastAnswer: Double
    /// Attempts that got no answer since `lastAnswer`.
    public private(set) var failuresSinceAnswer = 0
    /// Answers seen in all: a chunk that keeps getting none while this grows is not facing an
    /// outage but a problem of its own (a body the service never answers in time).
    public private(set) var answers = 0

    public init(limit: Double, start: Double) {
        self.limit = limit
        self.lastAnswer = start
    }

    /// The service answered (any status).
    public mutating func answered(at t: Double) {
        lastAnswer = max(lastAnswer, t)
        failuresSinceAnswer = 0
        answers += 1
    }

    /// An attempt got no answer; true when the run must stop now.
    public mutating func noAnswer(at t: Double) -> Bool {
        failuresSinceAnswer += 1
        return t - lastAnswer >= limit
    }

    /// Seconds left at `t` before the rule stops the run.
    public func remaining(at t: Double) -> Double { max(0, limit - silentFor(at: t)) }

    /// Seconds without an answer at `t`.
    public func silentFor(at t: Double) -> Double { max(0, t - lastAnswer) }
}

/// An `OutageWatch` shared by concurrent uploads.
public final class SharedOutageWatch: @unchecked Sendable {
    // `watch` is only read and written under `lock`.
    private let lock = NSLock()
    private var watch: OutageWatch
    private let clock: @Sendable () -> Double

    public init(limit: Double, clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        self.clock = clock
        watch = OutageWatch(limit: limit, start: clock())
    }

    public func answered() {
        let t = clock()
        lock.withLock { watch.answered(at: t) }
    }

    /// Answers seen so far (see `OutageWatch.answers`).
    public var answers: Int { lock.withLock { watch.answers } }

    /// Seconds left before the rule stops the run: a backoff longer than that only delays the stop.
    public func remaining() -> Double {
        let t = clock()
        return lock.withLock { watch.remaining(at: t) }
    }

    /// Records a failure without an answer; returns the seconds of silence when the limit is
    /// reached (the run must stop), nil otherwise.
    public func noAnswer() -> Double? {
        let t = clock()
        return lock.withLock { watch.noAnswer(at: t) ? watch.silentFor(at: t) : nil }
    }
}

extension DeliveryOutcome {
    /// Whether an HTTP answer came back (any status): the service is reachable.
    public var gotAnswer: Bool {
        switch self {
        case .acknowledged, .permanent, .fatal: return true
        case .transient(let status, _, _), .tooLarge(let status, _): return status != nil
        case .unreachable: return false
        }
    }
}
