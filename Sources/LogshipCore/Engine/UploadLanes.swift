import Foundation

/// Where each request of a run goes and when: one lane per DCR (`target.dcrImmutableId` may
/// list several), each paced to its quota by a `DCRPacer`, and the number of uploads in flight
/// set by a `ConcurrencyController`. The engine asks `limit` before starting a chunk and sends
/// every request through `send`.
public final class UploadLanes: @unchecked Sendable {
    public struct Lane: Sendable {
        public let target: any DeliveryTarget
        /// What the manifest records for an acknowledgement through this lane (the DCR id).
        public let name: String?
        public var pacer = DCRPacer()
        /// Requests scheduled or on the wire.
        public var busy = 0
    }

    // Guarded by `lock`.
    private let lock = NSLock()
    private var lanes: [Lane]
    private var controller: ConcurrencyController
    private var onWire = 0
    private var highestLimit = 0
    private let clock: @Sendable () -> Double
    private let sleep: @Sendable (Double) async -> Void

    public init(
        target: any DeliveryTarget, upload: UploadSpec, maxBodyBytes: Int, clock: @escaping @Sendable () -> Double,
        sleep: @escaping @Sendable (Double) async -> Void
    ) {
        self.lanes = target.lanes.map { Lane(target: $0, name: $0.laneName) }
        let ceiling = upload.ceiling(maxBodyBytes: maxBodyBytes)
        self.controller =
            upload.adaptive
            ? ConcurrencyController(initial: min(8, ceiling), maximum: ceiling)
            : ConcurrencyController(fixed: upload.concurrency)
        self.clock = clock
        self.sleep = sleep
    }

    /// Uploads that may be in flight now.
    public var limit: Int {
        lock.withLock {
            let n = controller.current
            highestLimit = max(highestLimit, n)
            return n
        }
    }

    /// The highest limit the run reached, the 429s its lanes got, and the lanes' learned
    /// request rates (per second), for the report.
    public var summary: (highestLimit: Int, throttled: Int, rates: [Double?]) {
        lock.withLock { (highestLimit, lanes.reduce(0) { $0 + $1.pacer.throttles }, lanes.map(\.pacer.requestRate)) }
    }

    /// Sends one body through the lane that can take it soonest (least loaded on a tie), once
    /// its pacing allows; returns the answer (with its request id) and the lane's name. nil when `stop` was set
    /// while waiting (nothing was sent).
    public func send(body: Data, stop: StopFlag) async -> (SentRequest, String?)? {
        let bytes = body.count
        var k = 0
        while true {
            let at: Double
            let lessons: Int
            (k, at, lessons) = lock.withLock { () -> (Int, Double, Int) in
                let now = clock()
                var best = 0
                var bestAt = Double.infinity
                for (i, lane) in lanes.enumerated() {
                    var probe = lane.pacer
                    let t = probe.schedule(bytes: bytes, now: now)
                    if t < bestAt || (t == bestAt && lane.busy < lanes[best].busy) {
                        best = i
                        bestAt = t
                    }
                }
                let at = lanes[best].pacer.schedule(bytes: bytes, now: now)
                lanes[best].busy += 1
                return (best, at, lanes[best].pacer.lessons)
            }
            // In slices, so a stop does not wait out a long pause.
            while !stop.isSet {
                let left = at - clock()
                if left <= 0 { break }
                await sleep(min(left, 0.5))
            }
            if stop.isSet {
                lock.withLock { lanes[k].busy -= 1 }
                return nil
            }
            // A 429 paused the lane while this request waited for its turn, or the lane learned
            // a new rate: the turn was taken without it (it would only collect a 429 of its
            // own), so it takes a new one.
            let paused = lock.withLock { () -> Bool in
                let now = clock()
                lanes[k].pacer.update(now: now)
                guard lanes[k].pacer.pausedUntil > now || lanes[k].pacer.lessons != lessons else { return false }
                lanes[k].busy -= 1
                return true
            }
            if !paused { break }
        }
        let (target, inFlight) = lock.withLock { () -> (any DeliveryTarget, Int) in
            onWire += 1
            return (lanes[k].target, onWire)
        }
        let sentAt = clock()
        let sent = await target.sendRequest(body: body)
        let outcome = sent.outcome
        let now = clock()
        return lock.withLock {
            onWire -= 1
            lanes[k].busy -= 1
            var status: Int? = nil
            switch outcome {
            case .acknowledged(let s):
                status = s
                lanes[k].pacer.acknowledged(bytes: bytes, sentAt: sentAt, now: now)
            case .transient(let s, let retryAfter, _):
                status = s
                if s == 429 || (s == 503 && retryAfter != nil) {
                    lanes[k].pacer.throttled(retryAfter: retryAfter, sentAt: sentAt, now: now, learn: s == 429)
                }
            case .permanent(let s, _, _), .fatal(let s, _, _):
                status = s
            case .tooLarge(let s, _):
                status = s
            case .unreachable:
                status = nil
            }
            controller.completed(at: now, latency: now - sentAt, status: status, inFlight: inFlight)
            return (sent, lanes[k].name)
        }
    }
}
