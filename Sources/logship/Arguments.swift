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
            if !onlyPositionals, let long = spec.options.first(where: { $0.short != nil && $0.short == a }) { a = long.name }
            if onlyPositionals || !a.hasPrefix("--") || a == "-" {
                if a.hasPrefix("-") && a != "-" && !onlyPositionals && a.count > 1 {
                    throw UsageError(description: "logship \(spec.name): unknown option \(a); see `logship \(spec.name) --help`")
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
                throw UsageError(description: "logship \(spec.name): unknown option \(name)\(hint); see `logship \(spec.name) --help`")
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
            throw UsageError(description: "\(name): \"\(v)\" is not a whole number between \(range.lowerBound) and \(range.upperBound)")
        }
        return n
    }

    static func double(_ p: ParsedArguments, _ name: String, _ range: ClosedRange<Double>) throws(UsageError) -> Double? {
        guard let v = p.value(name) else { return nil }
        guard let n = Double(v), range.contains(n) else {
            throw UsageError(description: "\(name): \"\(v)\" is not a number between \(range.lowerBound) and \(range.upperBound)")
        }
        return n
    }
}

/// Human messages go to stderr; machine output to stdout. A reader that went away (`| head -1`)
/// only ends the output: the command goes on and exits with its usual code (see StandardStreams).
enum Console {
    static func error(_ s: String) { StandardStreams.err(s + "\n") }
    static func out(_ s: String) { StandardStreams.out(s + "\n") }
}
