import Foundation
import Testing

/// `--help`, the completion scripts and the man page come from one table: every command and
/// option `--help` shows is in each of them, and the bash script completes in a real bash.
@Suite struct CommandSurfaceTests {
    /// Each command's options as its `--help` lists them (`  --flag ...` lines), and the
    /// global options of `logship --help`.
    static func surface() throws -> (commands: [String: [String]], global: [String]) {
        var out: [String: [String]] = [:]
        for c in try ReadmeTests.commands() {
            let help = try run([c, "--help"]).stdout
            out[c] = help.split(separator: "\n").filter { $0.hasPrefix("  --") }.map {
                String($0.dropFirst(2).prefix { $0 != " " })
            }
        }
        let top = try run(["--help"]).stdout
        let global =
            top.components(separatedBy: "Options:\n").last?.components(separatedBy: "\n\n")[0]
            .split(separator: "\n").filter { $0.hasPrefix("  --") }.map { String($0.dropFirst(2).prefix { $0 != " " }) }
            ?? []
        return (out, global)
    }

    @Test func completionScriptsAndManPageNameEveryCommandAndFlag() throws {
        let (commands, global) = try Self.surface()
        #expect(commands.keys.contains("init") && commands.keys.contains("completion") && commands.keys.contains("man"))
        #expect(global.contains("--version") && global.contains("--json"))
        var texts: [String: String] = [:]
        for shell in ["bash", "zsh", "fish"] {
            let r = try run(["completion", shell])
            #expect(r.status == 0, "completion \(shell): \(r.stderr)")
            texts[shell] = r.stdout
        }
        let man = try run(["man"])
        #expect(man.status == 0 && man.stdout.hasPrefix(".\\\""))
        // roff spells a hyphen \- ; read it as the reader of the page does.
        texts["man"] = man.stdout.replacingOccurrences(of: "\\-", with: "-")
        for (name, text) in texts {
            /// fish names a long option without its dashes (`-l state-dir`).
            func has(_ flag: String) -> Bool {
                name == "fish" ? text.contains("-l \(flag.dropFirst(2))") : text.contains(flag)
            }
            for (command, flags) in commands {
                #expect(text.contains(command), "\(name): no command \(command)")
                for f in flags { #expect(has(f), "\(name): \(command)'s \(f) is missing") }
            }
            for f in global { #expect(has(f), "\(name): the global option \(f) is missing") }
        }
        // Every command is its own section of the man page, with its options under it.
        for (command, flags) in commands {
            let section = texts["man"]!.components(separatedBy: ".SS \"logship \(command)\"\n")
            #expect(section.count == 2, "man: no section for \(command)")
            let body = section.last!.components(separatedBy: "\n.SS ")[0]
            for f in flags where f != "--help" {
                #expect(body.contains("\\fB\(f)\\fR"), "man: \(f) is not under logship \(command)")
            }
        }
    }

    /// Completions from the bash script, sourced into bash: `words` are COMP_WORDS, the last
    /// one being completed.
    static func bashComplete(_ script: URL, _ words: [String], cwd: URL? = nil) throws -> [String] {
        let quoted = words.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let r = try run(
            [
                "-c",
                "source \"$1\"; COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1); _logship; printf '%s\\n' \"${COMPREPLY[@]}\"",
                "bash", script.path,
            ],
            executable: "/bin/bash", cwd: cwd)
        #expect(r.status == 0 && r.stderr.isEmpty, "bash: \(r.stderr)")
        return r.stdout.split(separator: "\n").map(String.init)
    }

    @Test func bashCompletionCompletes() throws {
        let dir = TempDir("logship-completion")
        defer { dir.cleanup() }
        let script = dir.write("logship.bash", try run(["completion", "bash"]).stdout)
        #expect(try run(["-n", script.path], executable: "/bin/bash").status == 0)

        #expect(try Self.bashComplete(script, ["logship", ""]).contains("completion"))
        #expect(try Self.bashComplete(script, ["logship", "pre"]) == ["preview"])
        #expect(try Self.bashComplete(script, ["logship", "--ver"]) == ["--version"])
        #expect(try Self.bashComplete(script, ["logship", "--version", "--j"]) == ["--json"])
        #expect(try Self.bashComplete(script, ["logship", "run", "p.json5", "--sta"]) == ["--state-dir"])
        #expect(
            try Self.bashComplete(script, ["logship", "run", "--progress", ""]).sorted() == [
                "auto", "bar", "none", "plain",
            ])
        #expect(
            try Self.bashComplete(script, ["logship", "init", "--format", ""]) == [
                "ndjson", "csv", "json", "nginx", "syslog", "lines",
            ])
        #expect(try Self.bashComplete(script, ["logship", "init", "--target", "d"]) == ["data-collector"])
        #expect(try Self.bashComplete(script, ["logship", "completion", "z"]) == ["zsh"])
        // File names for a pipeline, folders only for --state-dir.
        dir.write("work/pipe.json5", "{}")
        try FileManager.default.createDirectory(at: dir.file("work/state"), withIntermediateDirectories: true)
        #expect(try Self.bashComplete(script, ["logship", "validate", "pi"], cwd: dir.file("work")) == ["pipe.json5"])
        #expect(
            try Self.bashComplete(script, ["logship", "status", "p.json5", "--state-dir", ""], cwd: dir.file("work"))
                == ["state"])
    }

    /// zsh and fish check their scripts' syntax (`zsh -n`, `fish -n`; `.ci/run` installs both),
    /// and fish completes from its script (`complete -C` asks it as the command line would).
    @Test func zshAndFishScripts() throws {
        var checked = 0
        for (shell, path) in [("zsh", "/usr/bin/zsh"), ("fish", "/usr/bin/fish")]
        where FileManager.default.isExecutableFile(atPath: path) {
            let dir = TempDir("logship-completion")
            defer { dir.cleanup() }
            let script = dir.write("logship.\(shell)", try run(["completion", shell]).stdout)
            let r = try run(["-n", script.path], executable: path)
            #expect(r.status == 0, "\(shell) -n: \(r.stderr)")
            if shell == "fish" {
                func complete(_ line: String) throws -> [String] {
                    let c = try run(
                        ["-c", "source $argv[1]; complete -C $argv[2]", script.path, line], executable: path)
                    #expect(c.status == 0, "fish: \(c.stderr)")
                    return c.stdout.split(separator: "\n").map { String($0.prefix { $0 != "\t" }) }
                }
                #expect(try complete("logship ini") == ["init"])
                #expect(
                    try complete("logship init --format ").sorted() == [
                        "csv", "json", "lines", "ndjson", "nginx", "syslog",
                    ])
                #expect(try complete("logship run x.json5 --pro") == ["--progress"])
                #expect(try complete("logship completion ").sorted() == ["bash", "fish", "zsh"])
            }
            checked += 1
        }
        if checked == 0 { try Test.cancel("neither zsh nor fish is installed here (.ci/run installs them)") }
    }

    @Test func manPageRendersWithoutWarnings() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/groff") else {
            try Test.cancel("groff is not installed")
        }
        let dir = TempDir("logship-man")
        defer { dir.cleanup() }
        let page = dir.write("logship.1", try run(["man"]).stdout)
        let r = try run(["-man", "-ww", "-z", page.path], executable: "/usr/bin/groff")
        #expect(r.status == 0 && r.stderr.isEmpty, "groff: \(r.stderr)")
    }

    @Test func versionNamesCommitDateAndSwift() throws {
        let text = try run(["--version"])
        #expect(text.status == 0)
        let lines = text.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.first?.hasPrefix("logship ") == true)
        for key in ["commit:", "date:", "swift:"] {
            #expect(lines.contains { $0.hasPrefix(key) }, "--version has no \(key) line")
        }

        let json = try run(["--version", "--json"])
        #expect(json.status == 0)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: String])
        #expect(Set(o.keys) == ["version", "commit", "date", "swift"])
        #expect(text.stdout.hasPrefix("logship \(o["version"]!)\n"))
        // The tests' debug build is not stamped by scripts/release.sh.
        #expect(o["commit"] == "unknown" && o["date"] == "unknown")
        #expect(o["swift"]?.hasPrefix("6.") == true)
        #expect(try run(["-V"]).stdout == text.stdout)
        #expect(try run(["--version", "--yaml"]).status == 2)
    }
}
