import Foundation
import LogshipCore
import LogshipSupport

/// One option a command accepts.
struct OptionSpec {
    var name: String  // "--state-dir"
    var value: String?  // "DIR" when the option takes a value
    var help: String
    /// The values it takes, when they are a fixed list (completion offers them).
    var choices: [String] = []
    /// A one-letter spelling ("-o"); help and the man page name it in `help`.
    var short: String? = nil
}

/// A command's surface: used both to parse and to print `--help`.
struct CommandSpec {
    var name: String
    var summary: String
    var usage: String
    var options: [OptionSpec]
    var details: String = ""
    /// The positional argument's possible values (`completion`: bash zsh fish); empty: a file.
    var words: [String] = []

    var helpText: String {
        var s = "\(summary)\n\nUsage: \(usage)\n"
        if !options.isEmpty {
            s += "\nOptions:\n"
            let width = options.map { $0.name.count + ($0.value.map { $0.count + 1 } ?? 0) }.max() ?? 0
            for o in options {
                let left = o.name + (o.value.map { " \($0)" } ?? "")
                s += "  \(left.padding(toLength: max(width, 10) + 2, withPad: " ", startingAt: 0))\(o.help)\n"
            }
            s += "  \("--help".padding(toLength: max(width, 10) + 2, withPad: " ", startingAt: 0))Show this help\n"
        }
        if !details.isEmpty { s += "\n\(details)\n" }
        return s
    }
}

/// Parsed command-line arguments.
struct ParsedArguments {
    var values: [String: String] = [:]
    var flags: Set<String> = []
    var positionals: [String] = []

    func value(_ name: String) -> String? { values[name] }
    func has(_ name: String) -> Bool { flags.contains(name) || values[name] != nil }
}

struct UsageError: Error, CustomStringConvertible {
    var description: String
}

enum ArgumentParser {
    /// Parses `args` (after the command name) against `spec`; `--name=value` and `--name value` both work.
    static func parse(_ args: [String], _ spec: CommandSpec) throws(UsageError) -> ParsedArguments {
        var out = ParsedArguments()
        var i = 0
        var onlyPositionals = false
        while i < args.count {
            var a = args[i]
            i += 1
            if !onlyPositionals, let long = spec.options.first(where: { $0.short != nil && $0.short == a }) {
                a = long.name
            }
            if onlyPositionals || !a.hasPrefix("--") || a == "-" {
                if a.hasPrefix("-") && a != "-" && !onlyPositionals && a.count > 1 {
                    throw UsageError(
                        description: "logship \(spec.name): unknown option \(a); see `logship \(spec.name) --help`")
                }
                out.positionals.append(a)
                continue
            }
            if a == "--" {
                onlyPositionals = true
                continue
            }
            var name = a
            var inline: String? = nil
            if let eq = a.firstIndex(of: "=") {
                name = String(a[..<eq])
                inline = String(a[a.index(after: eq)...])
            }
            if name == "--help" {
                out.flags.insert("--help")
                continue
            }
            guard let opt = spec.options.first(where: { $0.name == name }) else {
                let names = spec.options.map(\.name) + ["--help"]
                let hint = NearestName.nearest(name, in: names).map { " (did you mean \($0)?)" } ?? ""
                throw UsageError(
                    description:
                        "logship \(spec.name): unknown option \(name)\(hint); see `logship \(spec.name) --help`")
            }
            if opt.value != nil {
                if let v = inline {
                    out.values[name] = v
                } else {
                    guard i < args.count else {
                        throw UsageError(description: "logship \(spec.name): \(name) needs a value (\(opt.value!))")
                    }
                    out.values[name] = args[i]
                    i += 1
                }
            } else {
                if inline != nil { throw UsageError(description: "logship \(spec.name): \(name) takes no value") }
                out.flags.insert(name)
            }
        }
        return out
    }

    static func int(_ p: ParsedArguments, _ name: String, _ range: ClosedRange<Int>) throws(UsageError) -> Int? {
        guard let v = p.value(name) else { return nil }
        guard let n = Int(v), range.contains(n) else {
            throw UsageError(
                description:
                    "\(name): \"\(v)\" is not a whole number between \(range.lowerBound) and \(range.upperBound)")
        }
        return n
    }

    static func double(_ p: ParsedArguments, _ name: String, _ range: ClosedRange<Double>) throws(UsageError) -> Double?
    {
        guard let v = p.value(name) else { return nil }
        guard let n = Double(v), range.contains(n) else {
            throw UsageError(
                description: "\(name): \"\(v)\" is not a number between \(range.lowerBound) and \(range.upperBound)")
        }
        return n
    }
}

/// Human messages go to stderr (through `Logger.shared`: plain on a terminal, with a time and a
/// level otherwise, or JSON); machine output to stdout. A reader that went away (`| head -1`)
/// only ends the output: the command goes on and exits with its usual code (see StandardStreams).
enum Console {
    /// A line for stderr whose level is read from its text: `warning:` makes it WARN, else INFO.
    static func error(_ s: String) { Logger.shared.log(s.contains("warning:") ? .warn : .info, s) }
    static func info(_ s: String, _ fields: LogFields = [:]) { Logger.shared.log(.info, s, fields) }
    static func warn(_ s: String, _ fields: LogFields = [:]) { Logger.shared.log(.warn, s, fields) }
    /// An error: shown even with `-q`.
    static func fail(_ s: String, _ fields: LogFields = [:]) { Logger.shared.log(.error, s, fields) }
    /// A line of a command's final summary: shown even with `-q`.
    static func summary(_ s: String, level: LogLevel = .info, _ fields: LogFields = [:]) {
        Logger.shared.log(level, s, fields, summary: true)
    }
    /// A pipeline problem at its own level.
    static func problem(_ p: PipelineProblem) {
        Logger.shared.log(p.severity == .error ? .error : .warn, p.description)
    }
    static func out(_ s: String) { StandardStreams.out(s + "\n") }
}

/// `-q`, `-v` and `--log-format`: accepted by every command that logs, and read before the
/// command parses its arguments, so even a usage error comes out in the format asked for.
/// Options several commands take, written once.
enum SharedOptions {
    static let stateDir = OptionSpec(
        name: "--state-dir", value: "DIR", help: "State directory (default .logship/<name>/ beside the pipeline)")
    static let endpoint = OptionSpec(
        name: "--endpoint", value: "URL",
        help:
            "Send here instead of the cloud's endpoint, or the pipeline's data collection endpoint (http only to 127.0.0.1)"
    )
}

enum LogOptions {
    static let specs = [
        OptionSpec(name: "--quiet", value: nil, help: "Only errors and the final summary on stderr (-q)", short: "-q"),
        OptionSpec(
            name: "--verbose", value: nil, help: "Also each retry, split, token refresh and chunk acknowledgement (-v)",
            short: "-v"),
        OptionSpec(
            name: "--log-format", value: "FORMAT",
            help: "stderr lines: text (time and level unless stderr is a terminal) or json (one object per line)",
            choices: ["text", "json"]),
    ]

    /// Sets up `Logger.shared` from `args` (a command's arguments; nothing after `--`).
    static func configure(_ args: [String], isTerminal: Bool) throws(UsageError) {
        var config = Logger.shared.configuration
        var i = 0
        while i < args.count, args[i] != "--" {
            let a = args[i]
            i += 1
            switch a {
            case "-q", "--quiet": config.verbosity = .quiet
            case "-v", "--verbose": config.verbosity = .verbose
            default:
                var value: String? = nil
                if a == "--log-format" {
                    guard i < args.count else {
                        throw UsageError(description: "logship: --log-format needs a value (text or json)")
                    }
                    value = args[i]
                    i += 1
                } else if a.hasPrefix("--log-format=") {
                    value = String(a.dropFirst("--log-format=".count))
                }
                guard let v = value else { continue }
                switch v {
                case "text": config.format = isTerminal ? .plain : .stamped
                case "json": config.format = .json
                default: throw UsageError(description: "logship: --log-format \(v): allowed: text, json")
                }
            }
        }
        Logger.shared.configuration = config
    }
}

/// `--report FILE` (or `-` for stdout): checked before anything is sent, written at the end.
enum ReportFile {
    /// Fails (exit 2) when FILE cannot be written: a folder, a missing folder, no permission.
    /// Leaves no file behind when there was none.
    static func check(_ path: String, command: String) throws(UsageError) {
        if path == "-" { return }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw UsageError(
                description:
                    "logship \(command): --report \(path): is a folder; name a file (or - for stdout); nothing was sent"
            )
        }
        let existed = FileManager.default.fileExists(atPath: path)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if fd < 0 {
            let why = String(cString: strerror(errno))
            throw UsageError(
                description: "logship \(command): --report \(path): cannot be written (\(why)); nothing was sent")
        }
        close(fd)
        if !existed { unlink(path) }
    }

    static func write(_ data: Data, to path: String) {
        if path == "-" {
            StandardStreams.out(String(decoding: data, as: UTF8.self) + "\n")
            return
        }
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            Console.fail("logship: cannot write the report to \(path): \(error.localizedDescription)")
        }
    }
}
