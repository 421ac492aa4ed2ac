import Foundation
import LogshipCore
import LogshipSupport

#if canImport(Glibc)
    import Glibc
#endif

@main
struct Logship {
    static let version = "0.1.0"

    /// Every command with its line in `logship --help`. `--help`, the completion scripts and the
    /// man page are all generated from this table and the commands' `CommandSpec`s, so they
    /// cannot disagree about what exists.
    static let commands: [(spec: CommandSpec, line: String)] = [
        (RunCommand.spec, "Send the records of a pipeline's files to Log Analytics (resumable)"),
        (ValidateCommand.spec, "Check a pipeline file without touching the network"),
        (PreviewCommand.spec, "Show the first records and the table Log Analytics would create"),
        (StatusCommand.spec, "Summarise what a pipeline's state directory holds"),
        (ReplayCommand.spec, "Re-send dead-lettered chunks"),
        (DcrCommand.spec, "Print the table and data collection rule a logs-ingestion pipeline needs (ARM bodies)"),
        (EmulateCommand.spec, "Serve the Data Collector and Logs Ingestion APIs on 127.0.0.1 for local testing"),
        (InitCommand.spec, "Print a commented starter pipeline (or write it with -o FILE)"),
        (CompletionCommand.spec, "Print a completion script for bash, zsh or fish"),
        (ManCommand.spec, "Print the manual page (roff), the one release archives install as logship.1"),
    ]

    /// Options of `logship` itself, before any command.
    static let globalOptions =
        [OptionSpec(name: "--help", value: nil, help: "Show this help (-h)")] + VersionCommand.options

    static var help: String {
        var s = """
            logship \(version): move log files into Azure Log Analytics, completely and fast.

            Usage: logship COMMAND [OPTIONS]

            Commands:

            """
        for (spec, text) in commands {
            s += "  \(spec.name.padding(toLength: 12, withPad: " ", startingAt: 0))\(text)\n"
        }
        s += "\nOptions:\n"
        for o in globalOptions { s += "  \(o.name.padding(toLength: 12, withPad: " ", startingAt: 0))\(o.help)\n" }
        s += """

            Every command has --help. Exit codes: 0 all delivered; 1 finished with rejected records, dead
            letters waiting, or the service unreachable; 2 usage or pipeline error, or the state directory in
            use; 3 the service refused the run; 130 interrupted.
            """
        return s
    }

    static func main() async {
        signal(SIGPIPE, SIG_IGN)
        var args = Array(CommandLine.arguments.dropFirst())
        guard let command = args.first else {
            Console.error(help)
            exit(ExitCode.usage)
        }
        args.removeFirst()
        let code: Int32
        do {
            try LogOptions.configure(args, isTerminal: isatty(2) != 0)
            switch command {
            case "help" where args.first.map { name in commands.contains { $0.spec.name == name } } == true:
                // `logship help run` is `logship run --help`.
                let name = args.removeFirst()
                guard let spec = commands.first(where: { $0.spec.name == name })?.spec else {
                    throw UsageError(description: "")
                }
                Console.out(spec.helpText)
                code = 0
            case "--help", "-h", "help":
                Console.out(help)
                code = 0
            case "--version", "-V": code = try VersionCommand.main(args)
            case "run": code = try await RunCommand.main(args)
            case "validate": code = try ValidateCommand.main(args)
            case "preview": code = try PreviewCommand.main(args)
            case "status": code = try StatusCommand.main(args)
            case "replay": code = try await ReplayCommand.main(args)
            case "dcr": code = try await DcrCommand.main(args)
            case "emulate": code = try await EmulateCommand.main(args)
            case "init": code = try InitCommand.main(args)
            case "completion": code = try CompletionCommand.main(args)
            case "man": code = try ManCommand.main(args)
            default:
                let hint =
                    NearestName.nearest(command, in: commands.map(\.spec.name)).map { " (did you mean `\($0)`?)" } ?? ""
                throw UsageError(description: "logship: unknown command \"\(command)\"\(hint); see `logship --help`")
            }
        } catch let e as UsageError {
            Console.fail(e.description)
            code = ExitCode.usage
        } catch {
            Console.fail("logship: \(error)")
            code = ExitCode.usage
        }
        exit(code)
    }
}

/// Loads a pipeline file for a command, printing every problem; nil after errors.
func loadPipeline(_ path: String, command: String) -> (PipelineSpec, [PipelineProblem])? {
    let url = URL(fileURLWithPath: path)
    let result = PipelineLoader().load(url)
    for p in result.problems { Console.problem(p) }
    guard let spec = result.spec else {
        Console.fail("logship \(command): \(result.errors.count) problem(s) in \(path); nothing was sent")
        return nil
    }
    return (spec, result.warnings)
}

/// The pipeline path argument of a command.
func pipelineArgument(_ p: ParsedArguments, _ spec: CommandSpec) throws(UsageError) -> String {
    guard p.positionals.count == 1 else {
        throw UsageError(
            description: p.positionals.isEmpty
                ? "logship \(spec.name): name a pipeline file; usage: \(spec.usage)"
                : "logship \(spec.name): expected one pipeline file, got \(p.positionals.count): \(p.positionals.joined(separator: " "))"
        )
    }
    return p.positionals[0]
}

/// `.logship/<name>/` beside the pipeline file unless `--state-dir` says otherwise.
func stateDirectory(_ p: ParsedArguments, _ spec: PipelineSpec) -> URL {
    if let d = p.value("--state-dir") { return URL(fileURLWithPath: d) }
    return spec.baseDirectory.appendingPathComponent(".logship").appendingPathComponent(spec.name)
}
