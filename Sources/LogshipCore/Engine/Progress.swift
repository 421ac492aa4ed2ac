import Foundation

/// Live counters of a run, written by the reading thread and the uploads, read by the
/// progress display. Each update takes the lock once per batch of records.
public final class ProgressCounters: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    public struct Snapshot: Sendable {
        public var totalBytes: Int64 = 0
        public var bytesRead: Int64 = 0
        public var recordsRead = 0
        public var recordsSent = 0
        public var chunksAcked = 0
        public var inFlight = 0
        public var retrying = 0
        public var bytesSent: Int64 = 0
        public var filesDone = 0
        public var filesTotal = 0
    }
    private var s = Snapshot()
    public init() {}
    public var snapshot: Snapshot { lock.withLock { s } }
    public func update(_ f: (inout Snapshot) -> Void) { lock.withLock { f(&s) } }
}

/// Shows a run's progress on stderr: a bar redrawn in place on a terminal, a plain line
/// every `interval` seconds otherwise, or nothing.
public final class ProgressDisplay: @unchecked Sendable {
    public enum Mode: String, Sendable { case bar, plain, none }
    // `task` is set once in start() and read in stop(), both from the run's task.
    private var task: Task<Void, Never>?
    private let counters: ProgressCounters
    private let mode: Mode
    private let interval: Double
    private let started = Date()
    private let write: @Sendable (String) -> Void

    public init(mode: Mode, counters: ProgressCounters, interval: Double? = nil, write: @escaping @Sendable (String) -> Void) {
        self.mode = mode
        self.counters = counters
        self.interval = interval ?? (mode == .bar ? 0.25 : 10)
        self.write = write
    }

    public func start() {
        guard mode != .none else { return }
        let interval = self.interval
        task = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
                if Task.isCancelled { break }
                write(line(final: false))
            }
        }
    }

    public func stop() {
        task?.cancel()
        task = nil
        if mode == .bar { write(line(final: true) + "\n") }
    }

    func line(final: Bool) -> String {
        let s = counters.snapshot
        let elapsed = max(0.001, Date().timeIntervalSince(started))
        let mbps = Double(s.bytesRead) / 1e6 / elapsed
        let rps = Double(s.recordsRead) / elapsed
        let fraction = s.totalBytes > 0 ? min(1, Double(s.bytesRead) / Double(s.totalBytes)) : 0
        var eta = ""
        if fraction > 0.01 && fraction < 1 {
            let left = elapsed * (1 - fraction) / fraction
            eta = " ETA " + Self.duration(left)
        }
        let text = String(
            format: "%5.1f%% %@/%@  %.1f MB/s  %@ rec/s  chunks %d acked, %d in flight, %d retrying%@",
            fraction * 100, Self.bytes(s.bytesRead), Self.bytes(s.totalBytes), mbps, Self.count(rps), s.chunksAcked, s.inFlight,
            s.retrying, eta)
        if mode == .bar {
            let width = 24
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            return "\r\u{1B}[2K\(bar) \(text)"
        }
        return "logship: \(text)\n"
    }

    static func bytes(_ n: Int64) -> String {
        let d = Double(n)
        if d >= 1e9 { return String(format: "%.2f GB", d / 1e9) }
        if d >= 1e6 { return String(format: "%.1f MB", d / 1e6) }
        return String(format: "%.0f kB", d / 1e3)
    }

    static func count(_ d: Double) -> String {
        if d >= 1e6 { return String(format: "%.2fM", d / 1e6) }
        if d >= 1e3 { return String(format: "%.1fk", d / 1e3) }
        return String(format: "%.0f", d)
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
