import Foundation

/// Hands producer events from the reading thread to the upload loop. `send` blocks the
/// reading thread while `capacity` events wait, so memory stays bounded however large the
/// input: the reader only runs ahead of the uploads by `capacity` chunks.
final class EventChannel: @unchecked Sendable {
    // All state is guarded by `condition`.
    private let condition = NSCondition()
    private var buffer: [ChunkProducer.Event] = []
    private var waiting: CheckedContinuation<ChunkProducer.Event?, Never>?
    private var closed = false
    private var cancelled = false
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Blocks while the channel is full; false once the consumer has cancelled.
    func send(_ event: ChunkProducer.Event) -> Bool {
        condition.lock()
        while buffer.count >= capacity && !cancelled { condition.wait() }
        if cancelled {
            condition.unlock()
            return false
        }
        if let w = waiting {
            waiting = nil
            condition.unlock()
            w.resume(returning: event)
            return true
        }
        buffer.append(event)
        condition.unlock()
        return true
    }

    /// No more events will come.
    func close() {
        let w: CheckedContinuation<ChunkProducer.Event?, Never>? = condition.withLock {
            closed = true
            defer { waiting = nil }
            return waiting
        }
        w?.resume(returning: nil)
    }

    /// The consumer stops: the producer's next `send` returns false.
    func cancel() {
        let w: CheckedContinuation<ChunkProducer.Event?, Never>? = condition.withLock {
            cancelled = true
            buffer.removeAll()
            condition.broadcast()
            defer { waiting = nil }
            return waiting
        }
        w?.resume(returning: nil)
    }

    /// The next event, or nil when the producer is done or the channel was cancelled.
    func receive() async -> ChunkProducer.Event? {
        enum Immediate { case event(ChunkProducer.Event), end, wait }
        let now: Immediate = condition.withLock {
            if !buffer.isEmpty {
                let e = buffer.removeFirst()
                condition.signal()
                return .event(e)
            }
            return closed || cancelled ? .end : .wait
        }
        switch now {
        case .event(let e): return e
        case .end: return nil
        case .wait: break
        }
        return await withCheckedContinuation { c in
            let resumeNow: ChunkProducer.Event?? = condition.withLock {
                // Re-check: the producer may have sent between the two locks.
                if !buffer.isEmpty {
                    let e = buffer.removeFirst()
                    condition.signal()
                    return .some(e)
                }
                if closed || cancelled { return .some(nil) }
                waiting = c
                return nil
            }
            if let r = resumeNow { c.resume(returning: r) }
        }
    }
}

/// Why a run (or a replay) stopped before its end.
public enum StopReason: Sendable, Equatable {
    /// A stop request (SIGINT, SIGTERM).
    case interrupted
    /// The outage rule: no answer for `upload.unreachableAfter` seconds.
    case unreachable
    /// The service refused the run as a whole (authorization, workspace, table).
    case refused
    /// Reading stopped the run (too many rejects, a problem that is not one record's), with why.
    case aborted(String)
}

/// A flag the run's parts check to stop: set on a fatal answer, an abort, or a signal. The
/// first reason set is kept.
public final class StopFlag: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var _reason: StopReason?
    public init() {}
    public func set(_ reason: StopReason) { lock.withLock { if _reason == nil { _reason = reason } } }
    public var isSet: Bool { lock.withLock { _reason != nil } }
    public var reason: StopReason? { lock.withLock { _reason } }
}
