import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
/// every `interval` seconds otherwise (or on a `TERM=dumb` terminal), or nothing.
///
/// The bar fits the terminal: its width is asked again at every redraw (TIOCGWINSZ, then
/// `COLUMNS`, then 80), layouts get shorter below 100 and 80 columns, the line never reaches
/// the last column (a full line would wrap and leave a stale row), and every redraw clears to
/// the end of the line. `render` is a pure function of the counters, the width and the mode.
public final class ProgressDisplay: @unchecked Sendable {
    public enum Mode: String, Sendable { case bar, plain, none }

    /// What is known of the terminal stderr is.
    public struct Terminal: Sendable {
        public var isTerminal: Bool
        public var width: Int
        /// `TERM=dumb`: no cursor movement, no escapes.
        public var dumb: Bool
        public init(isTerminal: Bool, width: Int, dumb: Bool) {
            self.isTerminal = isTerminal
            self.width = width
            self.dumb = dumb
        }

        public static func current(fd: Int32, environment: [String: String] = ProcessInfo.processInfo.environment)
            -> Terminal
        {
            Terminal(
                isTerminal: isatty(fd) != 0, width: width(fd: fd, environment: environment),
                dumb: environment["TERM"] == "dumb")
        }

        /// The terminal's columns: the kernel's window size, else `COLUMNS`, else 80.
        public static func width(fd: Int32, environment: [String: String] = ProcessInfo.processInfo.environment) -> Int
        {
            var ws = winsize()
            if ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 { return Int(ws.ws_col) }
            if let c = environment["COLUMNS"].flatMap(Int.init), c > 0 { return c }
            return 80
        }
    }

    /// The mode `--progress` asks for on this terminal: `auto` is the bar on a terminal and
    /// plain lines otherwise (nothing with `-q`); a dumb terminal always gets plain lines.
    public static func mode(_ requested: String, terminal: Terminal, quiet: Bool) -> Mode {
        switch requested {
        case "none": return .none
        case "plain": return .plain
        case "bar": return terminal.dumb ? .plain : .bar
        default:
            if quiet { return .none }
            return terminal.isTerminal && !terminal.dumb ? .bar : .plain
        }
    }

    // `task` is set once in start() and read in stop(), both from the run's task.
    private var task: Task<Void, Never>?
    private let counters: ProgressCounters
    private let mode: Mode
    private let interval: Double
    private let started = Date()
    private let width: @Sendable () -> Int
    private let write: @Sendable (String) -> Void

    public init(
        mode: Mode, counters: ProgressCounters, interval: Double? = nil, terminal: Terminal? = nil,
        write: @escaping @Sendable (String) -> Void
    ) {
        self.mode = mode
        self.counters = counters
        self.interval = interval ?? (mode == .bar ? 0.25 : 10)
        let fixed = terminal?.width ?? 80
        // A terminal can be resized during a run: ask again at each redraw.
        if terminal?.isTerminal == true {
            self.width = { Terminal.width(fd: 2) }
        } else {
            self.width = { fixed }
        }
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
        Self.render(
            counters.snapshot, elapsed: max(0.001, Date().timeIntervalSince(started)), width: width(), mode: mode)
    }

    /// One redraw of the bar (`\r`, the text, clear to end of line) or one plain line (no escapes,
    /// no newline: the logger ends it). Below 80 columns the layout drops the bytes read, the
    /// record rate and the retries; below 40 only the percentage, speed and ETA are left.
    public static func render(_ s: ProgressCounters.Snapshot, elapsed: Double, width: Int, mode: Mode) -> String {
        let mbps = Double(s.bytesRead) / 1e6 / elapsed
        let rps = Double(s.recordsRead) / elapsed
        let fraction = s.totalBytes > 0 ? min(1, Double(s.bytesRead) / Double(s.totalBytes)) : 0
        var eta = ""
        if fraction > 0.01 && fraction < 1 { eta = " ETA " + duration(elapsed * (1 - fraction) / fraction) }
        let percent = String(format: "%5.1f%%", fraction * 100)
        let speed = String(format: "%.1f MB/s", mbps)
        guard mode == .bar else {
            return "logship: \(percent) \(bytes(s.bytesRead))/\(bytes(s.totalBytes))  \(speed)  \(count(rps)) rec/s  "
                + "chunks \(s.chunksAcked) acked, \(s.inFlight) in flight, \(s.retrying) retrying\(eta)"
        }
        let text: String
        let barWidth: Int
        if width >= 100 {
            barWidth = 24
            text =
                "\(percent) \(bytes(s.bytesRead))/\(bytes(s.totalBytes))  \(speed)  \(count(rps)) rec/s  "
                + "chunks \(s.chunksAcked) acked, \(s.inFlight) in flight, \(s.retrying) retrying\(eta)"
        } else if width >= 80 {
            barWidth = 12
            text =
                "\(percent) of \(bytes(s.totalBytes)) \(speed) \(s.chunksAcked) acked \(s.inFlight) up \(s.retrying) retry\(eta)"
        } else if width >= 40 {
            barWidth = 10
            text = "\(percent) \(speed) \(s.chunksAcked) acked \(s.inFlight) up\(eta)"
        } else {
            barWidth = 0
            text = "\(percent) \(speed)\(eta)"
        }
        var shown = ""
        if barWidth > 0 {
            let filled = Int(fraction * Double(barWidth))
            shown = String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled) + " "
        }
        shown += text
        // Never the last column: a line that fills it wraps on some terminals, and the next `\r`
        // would redraw only the wrapped part, leaving a stale row above.
        let room = max(1, width - 1)
        if shown.count > room { shown = String(shown.prefix(room)) }
        return "\r" + shown + "\u{1B}[K"
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
        return t >= 3600
            ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
