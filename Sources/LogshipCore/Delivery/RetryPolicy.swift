/// What to do after an attempt: a pure function of the outcome and the attempt count, tested
/// without I/O. Backoff is exponential with full jitter; `Retry-After` is a floor.
public struct RetryPolicy: Sendable {
    public enum Action: Sendable, Equatable {
        case acknowledged
        case retry(afterSeconds: Double)
        case split
        /// The service refused the data of a body of several records: send its halves, and
        /// theirs, until the refused records stand alone (about 2·log2(records) requests each).
        case isolate(reason: String)
        case deadLetter(reason: String)
        case stopRun(reason: String)
    }

    public var maxAttempts: Int
    public var baseDelay: Double = 0.5
    public var maxDelay: Double = 60
    /// Longest `Retry-After` honoured; a larger one is capped (and the wait is still honoured up to it).
    public var maxRetryAfter: Double = 300
    /// Longest wait between attempts while the service cannot be reached: short enough to
    /// notice soon that it is back.
    public var maxUnreachableDelay: Double = 30

    public init(maxAttempts: Int) { self.maxAttempts = maxAttempts }

    /// Refused parts one body (a chunk, a dead letter) is halved into at most: beyond, the parts
    /// still refused stay whole, so a service refusing every record costs a bounded number of
    /// requests, not two per record.
    public static let maxIsolatedPerBody = 16

    /// - Parameters:
    ///   - attempt: 1 for the first try (for `.unreachable`, the count of such failures in a row).
    ///   - records: records in the body (a body of one record cannot be split).
    ///   - random: a number in [0, 1) for the jitter.
    public func decide(_ outcome: DeliveryOutcome, attempt: Int, records: Int, random: Double) -> Action {
        switch outcome {
        case .acknowledged:
            return .acknowledged
        case .fatal(let status, let code, let reason):
            // Status 0: refused before any HTTP answer (no token, an unreadable token file).
            return .stopRun(reason: status == 0 ? "\(code): \(reason)" : "\(status) \(code): \(reason)")
        case .permanent(let status, let code, let reason):
            // A 400 blames the data, which may be one record among thousands; other refusals
            // (a 405, a 409) would refuse every half too, so halving them only multiplies requests.
            if status == 400 && records > 1 { return .isolate(reason: "\(status) \(code): \(reason)") }
            return .deadLetter(reason: "\(status) \(code): \(reason)")
        case .tooLarge(let status, let reason):
            if records > 1 { return .split }
            return .deadLetter(
                reason: "\(status.map { "\($0) " } ?? "")\(reason); the body holds one record and cannot be split")
        case .unreachable:
            // Never the chunk's fault, never a dead letter: the engine's outage rule ends the wait.
            return .retry(afterSeconds: min(maxUnreachableDelay, baseDelay * pow2(attempt - 1)) * (0.5 + random / 2))
        case .transient(let status, let retryAfter, let reason):
            if attempt >= maxAttempts {
                return .deadLetter(
                    reason: "gave up after \(attempt) attempts; last: \(status.map { "\($0) " } ?? "")\(reason)")
            }
            let exp = min(maxDelay, baseDelay * pow2(attempt - 1))
            var delay = exp * random
            if let ra = retryAfter { delay = max(delay, min(ra, maxRetryAfter)) }
            return .retry(afterSeconds: delay)
        }
    }

    private func pow2(_ n: Int) -> Double { n >= 62 ? Double.greatestFiniteMagnitude : Double(1 << max(0, n)) }
}
