import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How much a line matters. `debug` lines are shown with `-v` only.
public enum LogLevel: Int, Sendable, Comparable {
    case debug, info, warn, error

    public var name: String {
        switch self {
        case .debug: "DEBUG"
        case .info: "INFO"
        case .warn: "WARN"
        case .error: "ERROR"
        }
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// A structured field's value: JSON writes numbers as numbers.
public enum LogValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case int(Int)
    public init(stringLiteral s: String) { self = .string(s) }
    public init(integerLiteral i: Int) { self = .int(i) }
}

public typealias LogFields = [String: LogValue]

/// Every human line logship writes to stderr goes through here, so each one gets the same
/// treatment: as written on a terminal; with an RFC 3339 time and a level when stderr is not a
/// terminal (a file, a pipe, journald); or one JSON object per line (`--log-format json`) with
/// `time`, `level`, `msg` and the line's structured fields (file, chunk, status, attempt...).
/// `-q` keeps errors and the final summary; `-v` adds the per-chunk lines (`debug`).
/// Log lines are per event, never per record: formatting here may use Foundation freely.
public final class Logger: @unchecked Sendable {
    public enum Format: String, Sendable, CaseIterable {
        /// As written (a terminal).
        case plain
        /// `2026-12-02T13:30:00.123Z INFO  message`.
        case stamped
        case json
    }

    public enum Verbosity: Sendable { case quiet, normal, verbose }

    public struct Configuration: Sendable {
        public var format: Format
        public var verbosity: Verbosity
        public init(format: Format, verbosity: Verbosity = .normal) {
            self.format = format
            self.verbosity = verbosity
        }
    }

    // `config`, `prefix` and `write` are guarded by `lock`.
    private let lock = NSLock()
    private var config: Configuration
    private var prefix = ""
    private var write: @Sendable (String) -> Void
    private let clock: @Sendable () -> Double

    public init(
        _ config: Configuration, clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        write: @escaping @Sendable (String) -> Void = { StandardStreams.err($0) }
    ) {
        self.config = config
        self.clock = clock
        self.write = write
    }

    /// The process's logger. Plain on a terminal, stamped otherwise, until the command line says.
    public static let shared = Logger(Configuration(format: isatty(2) != 0 ? .plain : .stamped))

    public var configuration: Configuration {
        get { lock.withLock { config } }
        set { lock.withLock { config = newValue } }
    }

    /// Written before each plain line, e.g. the escape that clears a progress bar's row.
    public func setPlainPrefix(_ p: String) { lock.withLock { prefix = p } }

    /// Whether a line of `level` would be written (a summary line always is, unless the level is debug).
    public func enabled(_ level: LogLevel, summary: Bool = false) -> Bool {
        switch configuration.verbosity {
        case .quiet: return level >= .error || (summary && level > .debug)
        case .normal: return level >= .info
        case .verbose: return true
        }
    }

    /// Writes `message` (one or more lines) at `level`. `summary`: part of the final summary,
    /// which `-q` keeps.
    public func log(_ level: LogLevel, _ message: String, _ fields: LogFields = [:], summary: Bool = false) {
        guard enabled(level, summary: summary) else { return }
        let (c, p, w) = lock.withLock { (config, prefix, write) }
        switch c.format {
        case .plain:
            w(p + message + "\n")
        case .stamped:
            let head = Self.rfc3339(clock()) + " " + level.name.padding(toLength: 5, withPad: " ", startingAt: 0) + " "
            var out = ""
            for line in message.split(separator: "\n", omittingEmptySubsequences: false) { out += head + line + "\n" }
            w(out)
        case .json:
            w(Self.json(time: clock(), level: level, message: message, fields: fields) + "\n")
        }
    }

    /// One JSON object: time, level, msg (without the `logship: ` every human line starts with),
    /// then the fields in name order.
    public static func json(time: Double, level: LogLevel, message: String, fields: LogFields) -> String {
        var msg = Substring(message)
        if msg.hasPrefix("logship: ") { msg = msg.dropFirst("logship: ".count) }
        var s = "{\"time\":\"\(rfc3339(time))\",\"level\":\"\(level.name)\",\"msg\":"
        appendString(String(msg), to: &s)
        for key in fields.keys.sorted() where !["time", "level", "msg"].contains(key) {
            s += ","
            appendString(key, to: &s)
            s += ":"
            switch fields[key]! {
            case .int(let i): s += String(i)
            case .string(let v): appendString(v, to: &s)
            }
        }
        return s + "}"
    }

    static func appendString(_ v: String, to s: inout String) {
        s += "\""
        for u in v.unicodeScalars {
            switch u {
            case "\"": s += "\\\""
            case "\\": s += "\\\\"
            case "\n": s += "\\n"
            case "\r": s += "\\r"
            case "\t": s += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    s +=
                        "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count)
                        + String(u.value, radix: 16)
                } else {
                    s.unicodeScalars.append(u)
                }
            }
        }
        s += "\""
    }

    /// `2026-12-02T13:30:00.123Z` (UTC, milliseconds).
    public static func rfc3339(_ t: Double) -> String {
        let ms = Int64((t * 1000).rounded(.down))
        let secs = floorDiv(ms, 1000)
        let days = floorDiv(secs, 86_400)
        let sod = secs - days * 86_400
        let (y, m, d) = CivilDate.fromDays(days)
        func p(_ v: Int64, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return
            "\(p(Int64(y), 4))-\(p(Int64(m), 2))-\(p(Int64(d), 2))T\(p(sod / 3600, 2)):\(p(sod / 60 % 60, 2)):\(p(sod % 60, 2))"
            + ".\(p(ms - secs * 1000, 3))Z"
    }

}

/// How the core reports what happens: a message with a level and structured fields. The
/// engine, ledger and replayer take one; `LogSink.standard` writes to `Logger.shared`.
public struct LogSink: Sendable {
    public let emit: @Sendable (LogLevel, String, LogFields) -> Void

    public init(_ emit: @escaping @Sendable (LogLevel, String, LogFields) -> Void) { self.emit = emit }

    /// An informational line (what the engine said before it had levels).
    public func callAsFunction(_ message: String) { emit(.info, message, [:]) }

    public func callAsFunction(_ level: LogLevel, _ message: String, _ fields: LogFields = [:]) {
        emit(level, message, fields)
    }

    /// Prefixes `logship: ` as every human line does.
    public static let standard = LogSink { Logger.shared.log($0, "logship: " + $1, $2) }

    public static let discard = LogSink { _, _, _ in }
}
