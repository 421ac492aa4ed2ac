import Foundation
import Testing

@testable import LogshipCore

// Over 500 lines on purpose: every documentation check in one place, over one Markdown reader.

/// A Markdown file of the package, cut into the pieces the documentation tests check.
struct Readme {
    let url: URL
    let text: String

    static func load(_ path: String = "README.md") throws -> Readme {
        let url = Binary.packageRoot.appendingPathComponent(path)
        return Readme(url: url, text: try String(contentsOf: url, encoding: .utf8))
    }

    /// The path under the package root: `README.md`, `docs/pipeline.md`.
    var name: String {
        let root = Binary.packageRoot.standardizedFileURL.path
        let path = url.standardizedFileURL.path
        return path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }

    /// The documentation the tests keep true: README.md (the front door), then every
    /// docs/*.md file (the reference) in name order.
    static func all() throws -> [Readme] {
        let folder = Binary.packageRoot.appendingPathComponent("docs")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".md") }
            .sorted()
        return try [load()] + names.map { try load("docs/\($0)") }
    }

    /// The `## title` section wherever it is in README.md and docs/: exactly one file may
    /// have it (a section copied back into the README, or moved twice, would be ambiguous).
    static func documented(_ title: String) throws -> (doc: Readme, body: String) {
        let found = try all().compactMap { d in d.section(title).map { (doc: d, body: $0) } }
        #expect(found.count <= 1, "\"## \(title)\" is in \(found.map(\.doc.name)), it belongs in one file")
        return try #require(found.first, "no \"## \(title)\" section in README.md or docs/*.md")
    }

    /// The `### title` subsection wherever it is in README.md and docs/ (up to the next
    /// `### ` or `## ` heading), from the one file that has it.
    static func subsection(_ title: String) throws -> (doc: Readme, body: String) {
        let found = try all().compactMap { d -> (doc: Readme, body: String)? in
            let parts = d.text.components(separatedBy: "\n### \(title)\n")
            guard parts.count > 1 else { return nil }
            return (d, parts[1].components(separatedBy: "\n### ")[0].components(separatedBy: "\n## ")[0])
        }
        #expect(found.count <= 1, "\"### \(title)\" is in \(found.map(\.doc.name)), it belongs in one file")
        return try #require(found.first, "no \"### \(title)\" in README.md or docs/*.md")
    }

    var lines: [String] { text.components(separatedBy: "\n") }

    /// The body of the `## title` section, up to the next `## ` heading (subsections included).
    func section(_ title: String) -> String? {
        var out: [String] = []
        var inside = false
        var fenced = false
        for line in lines {
            if line.hasPrefix("```") { fenced.toggle() }
            if !fenced && line.hasPrefix("## ") {
                if inside { break }
                inside = line == "## \(title)"
                continue
            }
            if inside { out.append(line) }
        }
        return inside ? out.joined(separator: "\n") : nil
    }

    /// Fenced code blocks in order: the info string (`sh`, …) and the lines between the fences.
    static func fencedBlocks(_ text: String) -> [(info: String, lines: [String])] {
        var blocks: [(info: String, lines: [String])] = []
        var current: (info: String, lines: [String])? = nil
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("```") {
                if let c = current {
                    blocks.append(c)
                    current = nil
                } else {
                    current = (String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces), [])
                }
            } else if current != nil {
                current!.lines.append(line)
            }
        }
        return blocks
    }

    /// The commands of the first code block under "## Quick start", blank lines left out.
    func quickStartCommands() throws -> [String] {
        let body = try #require(section("Quick start"), "README.md has no \"## Quick start\" section")
        let block = try #require(Self.fencedBlocks(body).first, "the quick start has no code block")
        return block.lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The output the quick start shows: its first code block without an info string.
    func quickStartOutput() throws -> [String] {
        let body = try #require(section("Quick start"))
        let block = try #require(Self.fencedBlocks(body).first { $0.info.isEmpty }, "the quick start shows no output")
        return block.lines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }

    /// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
    static func anchor(_ heading: String) -> String {
        var out = ""
        for c in heading.lowercased() {
            if c.isLetter || c.isNumber || c == "-" || c == "_" {
                out.append(c)
            } else if c == " " {
                out.append("-")
            }
        }
        return out
    }

    var anchors: Set<String> {
        var out = Set<String>()
        var fenced = false
        for line in lines {
            if line.hasPrefix("```") { fenced.toggle() }
            if !fenced, line.hasPrefix("#") {
                let title = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
                out.insert(Self.anchor(title))
            }
        }
        return out
    }

    /// Text inside backticks: fenced blocks and inline code spans.
    var code: [String] {
        var out = Self.fencedBlocks(text).flatMap(\.lines)
        var fenced = false
        for line in lines {
            if line.hasPrefix("```") {
                fenced.toggle()
                continue
            }
            if fenced { continue }
            let parts = line.components(separatedBy: "`")
            for k in stride(from: 1, to: parts.count, by: 2) { out.append(parts[k]) }
        }
        return out
    }
}

/// Every match of `pattern` in `text`: capture group 1 when the pattern has one, else the whole match.
func matches(_ pattern: String, in text: String) -> [String] {
    let re = try! NSRegularExpression(pattern: pattern)
    let ns = text as NSString
    return re.matches(in: text, range: NSRange(location: 0, length: ns.length)).map {
        ns.substring(with: $0.numberOfRanges > 1 ? $0.range(at: 1) : $0.range)
    }
}

/// `--flag` words, not `---` table rules or hyphenated names.
func flags(in text: String) -> [String] { matches("(?<![\\w-])(--[a-z][a-z-]*[a-z])", in: text) }

/// README.md is the front door and docs/*.md the reference: these tests keep them true to the binary.
@Suite struct ReadmeTests {
    /// Command names as `logship --help` lists them.
    static func commands() throws -> [String] {
        let r = try run(["--help"])
        #expect(r.status == 0)
        guard let list = r.stdout.components(separatedBy: "Commands:\n").last else { return [] }
        return list.components(separatedBy: "\n\n")[0].split(separator: "\n").compactMap {
            $0.split(separator: " ").first.map(String.init)
        }
    }

    static func helps() throws -> [String: String] {
        var out: [String: String] = [:]
        for c in try commands() {
            let r = try run([c, "--help"])
            #expect(r.status == 0, "logship \(c) --help: \(r.stderr)")
            out[c] = r.stdout
        }
        return out
    }

    @Test func helpListsEveryCommand() throws {
        let listed = try Self.commands()
        for c in ["run", "validate", "preview", "status", "replay", "emulate"] {
            #expect(listed.contains(c), "logship --help does not list \(c)")
        }
        // The reference documents each one in a section of its own…
        let (doc, commands) = try Readme.documented("Commands")
        for c in listed {
            #expect(commands.contains("\n### logship \(c)\n"), "\(doc.name): no \"### logship \(c)\" under Commands")
        }
        // … and the README's table at a glance names each one.
        let glance = try #require(
            try Readme.load().section("Commands at a glance"), "README.md has no \"## Commands at a glance\"")
        for c in listed {
            #expect(glance.contains("| `logship \(c)"), "README.md: `logship \(c)` is not in Commands at a glance")
        }
    }

    @Test func runHelpListsTheContractFlags() throws {
        let help = try run(["run", "--help"]).stdout
        for f in [
            "--state-dir", "--endpoint", "--concurrency", "--restart", "--local", "--dry-run", "--shard", "--progress",
            "--report",
        ] {
            #expect(help.contains("  \(f)"), "logship run --help does not list \(f)")
        }
    }

    /// A flag in a command's subsection, or on a line that names the command (usage lines and
    /// their indented continuations too), must be in that command's `--help`; any other flag
    /// in the Commands section must be in some command's `--help`.
    @Test func everyFlagInCommandsIsInTheMatchingHelp() throws {
        let helps = try Self.helps()
        let (doc, section) = try Readme.documented("Commands")
        let checked = try Self.checkFlags(in: section, of: doc.name, helps: helps)
        #expect(checked > 30, "the Commands section should document the flags (\(checked) found)")
        // The README's table at a glance, by the same rule.
        let glance = try #require(try Readme.load().section("Commands at a glance"))
        #expect(try Self.checkFlags(in: glance, of: "README.md (Commands at a glance)", helps: helps) >= 5)
    }

    /// Checks the flags of one section as `everyFlagInCommandsIsInTheMatchingHelp` says; returns how many.
    static func checkFlags(in section: String, of file: String, helps: [String: String]) throws -> Int {
        var subsection: String? = nil
        var lastNamed: String? = nil
        var fenced = false
        var checked = 0
        for line in section.components(separatedBy: "\n") {
            if line.hasPrefix("```") {
                fenced.toggle()
                lastNamed = nil
                continue
            }
            if line.hasPrefix("### ") {
                subsection = matches("logship ([a-z]+)", in: line).first { helps[$0] != nil }
                continue
            }
            let named = matches("\\blogship ([a-z]+)", in: line).last { helps[$0] != nil }
            if named != nil { lastNamed = named }
            let owner = named ?? (fenced && line.hasPrefix(" ") ? lastNamed : nil) ?? subsection
            for flag in flags(in: line) {
                checked += 1
                switch flag {
                case "--help":
                    continue  // every command answers it: helps() ran each one
                case "--version":
                    let v = try run(["--version"])
                    #expect(v.status == 0 && v.stdout.hasPrefix("logship "))
                default:
                    if let owner {
                        #expect(
                            helps[owner]!.contains("  \(flag) ") || helps[owner]!.contains("  \(flag)\n")
                                || helps[owner]!.contains("[\(flag)"),
                            "\(file): \(flag) is not in `logship \(owner) --help` (line: \(line))")
                    } else {
                        #expect(
                            helps.values.contains { $0.contains("  \(flag)") },
                            "\(file): \(flag) is in no command's --help (line: \(line))")
                    }
                }
            }
        }
        return checked
    }

    /// Every `logship <word>` in code, in the README, in docs/ and in deploy/README.md, is a command.
    @Test func everyNamedCommandExists() throws {
        let known = Set(try Self.commands())
        for doc in try Readme.all() + [Readme.load("deploy/README.md")] {
            let file = doc.name
            var seen = Set<String>()
            for snippet in doc.code {
                for word in matches("\\blogship\\s+([a-z][a-z-]*)", in: snippet) {
                    seen.insert(word)
                    #expect(known.contains(word), "\(file): `logship \(word)` is not a command (in: \(snippet))")
                }
            }
            if file == "README.md" {
                #expect(seen.isSuperset(of: known), "README.md never shows \(known.subtracting(seen).sorted())")
            }
            if file == "docs/commands.md" {
                #expect(seen.isSuperset(of: known), "docs/commands.md never shows \(known.subtracting(seen).sorted())")
            }
        }
    }

    /// Commands shown in code in README.md and docs/ take the flags they are shown with (as
    /// `DeployTests.readmeCommandsUseRealFlags` checks deploy/README.md): the tour, the
    /// examples in the reference.
    @Test func commandsInCodeUseRealFlags() throws {
        let helps = try Self.helps()
        var checked = 0
        for doc in try Readme.all() {
            for snippet in doc.code {
                let ns = snippet as NSString
                let re = try NSRegularExpression(pattern: "\\blogship ([a-z]+)((?: [^ '`|]+)*)")
                for m in re.matches(in: snippet, range: NSRange(location: 0, length: ns.length)) {
                    guard let help = helps[ns.substring(with: m.range(at: 1))] else { continue }
                    for f in flags(in: ns.substring(with: m.range(at: 2))) {
                        checked += 1
                        #expect(
                            help.contains("  \(f)"),
                            "\(doc.name): logship \(ns.substring(with: m.range(at: 1))) has no \(f) (\(snippet))")
                    }
                }
            }
        }
        #expect(checked >= 10, "\(checked) flags checked")
    }

    /// The quick start is two commands: the `--local` run that `quickstartRunsLocally` runs, and
    /// the test command that `.ci/run` ends with.
    @Test func quickStartIsExactlyTheCommandsTheTestsRun() throws {
        let commands = try Readme.load().quickStartCommands()
        #expect(commands == [QuickStart.runCommand, QuickStart.testCommand])
        let sections = try Readme.load().lines.filter { $0.hasPrefix("## ") }
        #expect(sections.first == "## Quick start", "the quick start comes first")
    }

    @Test func ciRunEndsWithTheReadmeTestCommand() throws {
        let ci = try String(contentsOf: Binary.packageRoot.appendingPathComponent(".ci/run"), encoding: .utf8)
        let last = ci.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.last {
            !$0.isEmpty && !$0.hasPrefix("#")
        }
        #expect(last == QuickStart.testCommand)
        #expect(FileManager.default.isExecutableFile(atPath: Binary.packageRoot.appendingPathComponent(".ci/run").path))
    }

    /// Every relative link in README.md, docs/*.md, deploy/README.md and bench/README.md
    /// resolves: to a file or folder of the repository, and a `#fragment` to a heading of the
    /// file it names (or of the same file).
    @Test func linksResolve() throws {
        var checked = 0
        for doc in try Readme.all() + [Readme.load("deploy/README.md"), Readme.load("bench/README.md")] {
            let file = doc.name
            let folder = doc.url.deletingLastPathComponent()
            for target in matches("\\]\\(([^)\\s]+)\\)", in: doc.text) where !target.hasPrefix("http") {
                checked += 1
                let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(
                    String.init)
                var linked = doc
                if !parts[0].isEmpty {
                    let u = folder.appendingPathComponent(parts[0])
                    #expect(
                        FileManager.default.fileExists(atPath: u.path), "\(file): the link \(target) points at nothing")
                    if parts[0].hasSuffix(".md"), let d = try? String(contentsOf: u, encoding: .utf8) {
                        linked = Readme(url: u, text: d)
                    }
                }
                if parts.count == 2 {
                    #expect(linked.anchors.contains(parts[1]), "\(file): the link \(target) names no heading")
                }
            }
        }
        #expect(checked > 100, "\(checked) links checked")
    }

    /// The README is the front door: at most 25,000 bytes, the reference in docs/. Its
    /// contents link every section it has and every docs/*.md file, so none is left out of them.
    @Test func readmeIsAFrontDoor() throws {
        let readme = try Readme.load()
        #expect(
            readme.text.utf8.count <= 25_000,
            "README.md is \(readme.text.utf8.count) bytes; move reference text to docs/")
        let contents = try #require(readme.section("Contents"), "README.md has no \"## Contents\"")
        for title in readme.lines.filter({ $0.hasPrefix("## ") }).map({ String($0.dropFirst(3)) })
        where title != "Contents" {
            #expect(contents.contains("](#\(Readme.anchor(title)))"), "README.md Contents: no link to \"\(title)\"")
        }
        for doc in try Readme.all().dropFirst() {
            #expect(
                contents.contains("](\(doc.name))") || contents.contains("](\(doc.name)#"),
                "README.md Contents: no link to \(doc.name)")
            if doc.name == "docs/service-facts.md" { continue }
            // Each reference file opens with its title and a way back to the front door's list.
            #expect(doc.lines.first?.hasPrefix("# ") == true, "\(doc.name) has no title")
        }
    }

    /// Every exit code logship has is in the README's short table and in the reference's.
    @Test func exitCodesAreDocumented() throws {
        let codes = [ExitCode.success, ExitCode.partial, ExitCode.usage, ExitCode.refused, ExitCode.interrupted]
        let short = try #require(
            try Readme.load().section("Exit codes in short"), "README.md has no \"## Exit codes in short\"")
        let (doc, full) = try Readme.subsection("Exit codes")
        for code in codes {
            #expect(short.contains("\n| \(code) |"), "README.md Exit codes in short: no row for \(code)")
            #expect(full.contains("\n| \(code) |"), "\(doc.name) Exit codes: no row for \(code)")
        }
        // No row for a code logship does not have.
        for table in [short, full] {
            for row in matches("(?m)^\\| ([0-9]+) \\|", in: table) {
                #expect(codes.contains(Int32(row) ?? -1), "an exit code \(row) logship does not have")
            }
        }
    }

    /// Every pipeline the README's example table lists exists, and every Data Collector example
    /// in pipelines/ is listed.
    @Test func exampleTableMatchesPipelines() throws {
        let section = try #require(try Readme.load().section("Example pipelines"))
        let listed = Set(matches("\\(pipelines/([a-z0-9-]+\\.json5)\\)", in: section))
        for p in listed {
            #expect(
                FileManager.default.fileExists(atPath: Binary.packageRoot.appendingPathComponent("pipelines/\(p)").path)
            )
        }
        for p in ExamplePipelineTests.dataCollector {
            #expect(listed.contains(p), "README.md: pipelines/\(p) is not in the example table")
        }
    }

    /// The example in the pipeline reference is a pipeline logship reads without an error.
    @Test func pipelineReferenceExampleLoads() throws {
        let section = try Readme.documented("Pipeline reference").body
        let example = try #require(Readme.fencedBlocks(section).first { $0.info == "json5" })
        let dir = TempDir()
        defer { dir.cleanup() }
        let loaded = PipelineLoader(environment: [:]).load(
            dir.write("example.json5", example.lines.joined(separator: "\n")))
        #expect(loaded.errors.isEmpty, "\(loaded.errors.map(\.description))")
    }

    /// Every key the loader accepts is in the pipeline reference, and nothing else: an unknown
    /// key's error lists what is allowed in its object, and that list is compared with the
    /// README's table for the object.
    @Test func pipelineReferenceListsEveryKey() throws {
        let reference = try Readme.documented("Pipeline reference").body
        func subsection(_ title: String) -> String {
            let parts = reference.components(separatedBy: "\n### \(title)\n")
            return parts.count > 1
                ? parts[1].components(separatedBy: "\n### ")[0].components(separatedBy: "\n#### ")[0] : ""
        }
        /// Keys allowed in the object at `path` of `pipeline`, from the unknown-key error.
        func allowed(_ pipeline: String, _ path: String) throws -> [String] {
            let dir = TempDir()
            defer { dir.cleanup() }
            let problems = PipelineLoader(environment: [:]).load(dir.write("p.json5", pipeline)).problems
            let p = try #require(
                problems.first { $0.path == (path.isEmpty ? "zzz" : "\(path).zzz") }, "\(problems.map(\.description))")
            let list = try #require(p.message.components(separatedBy: "allowed here: ").last)
            return list.components(separatedBy: ", ")
        }
        let source = #"source: { files: ["x"], format: "csv", csv: { header: true CSV }, LINES SRC }"#
        func pipeline(
            top: String = "", src: String = "", csv: String = "", fields: String = "", target: String = "",
            limits: String = "",
            upload: String = "", errors: String = "", api: String = "data-collector"
        ) -> String {
            """
            { version: 1, \(top)
              \(source.replacingOccurrences(of: "CSV", with: csv).replacingOccurrences(of: "LINES", with: "").replacingOccurrences(of: "SRC", with: src)),
              fields: { passthrough: true, \(fields) },
              target: { api: "\(api)", logType: "X", \(target) },
              limits: { \(limits) }, upload: { \(upload) }, errors: { \(errors) } }
            """
        }
        let cases: [(path: String, pipeline: String, readme: String, prefix: String)] = [
            ("", pipeline(top: "zzz: 1,"), subsection("Top level"), ""),
            ("source", pipeline(src: "zzz: 1"), subsection("source"), ""),
            ("source.csv", pipeline(csv: ", zzz: 1"), subsection("source"), "csv."),
            ("fields", pipeline(fields: "zzz: 1"), subsection("fields"), ""),
            ("target", pipeline(target: "zzz: 1"), subsection("target"), ""),
            ("limits", pipeline(limits: "zzz: 1"), subsection("limits"), ""),
            ("upload", pipeline(upload: "zzz: 1"), subsection("upload"), ""),
            ("errors", pipeline(errors: "zzz: 1"), subsection("errors"), ""),
        ]
        for c in cases {
            let keys = try allowed(c.pipeline, c.path)
            #expect(!keys.isEmpty)
            let documented = Set(matches("(?m)^\\| `([A-Za-z0-9.]+)` \\|", in: c.readme))
            for k in keys {
                // An object key (source.csv) is documented by its own keys (csv.delimiter, …).
                #expect(
                    documented.contains(c.prefix + k) || documented.contains { $0.hasPrefix("\(c.prefix)\(k).") },
                    "pipeline reference: \(c.path.isEmpty ? "top level" : c.path).\(k) is not documented")
            }
            for d in documented where d.hasPrefix(c.prefix) && !d.dropFirst(c.prefix.count).contains(".") {
                #expect(
                    keys.contains(String(d.dropFirst(c.prefix.count))),
                    "pipeline reference documents \(d), which logship does not accept in \(c.path)")
            }
        }
        // The Logs Ingestion keys are named somewhere in the documentation (the migration explains them).
        let li = try allowed(pipeline(target: "zzz: 1", api: "logs-ingestion"), "target")
        let docs = try Readme.all().map(\.text).joined(separator: "\n")
        for k in li {
            #expect(docs.contains("`\(k)`"), "README.md and docs/: target.\(k) (logs-ingestion) is not named")
        }
        // lines.pattern is the only key of source.lines.
        #expect(subsection("source").contains("| `lines.pattern` |"))
    }

    /// The presets table names every preset with the fields it really produces, in order.
    @Test func presetTableMatchesThePresets() throws {
        let reference = try Readme.documented("Pipeline reference").body
        var rows: [String: [String]] = [:]
        for line in reference.components(separatedBy: "\n") {
            let cells = matches("`([^`]+)`", in: line)
            if line.hasPrefix("| `"), cells.count == 2, PipelineLoader.presets.contains(cells[0]) {
                rows[cells[0]] = cells[1].split(separator: " ").map(String.init).filter { !$0.isEmpty && $0 != "(the" }
            }
        }
        for name in PipelineLoader.presets {
            let preset = try #require(LinePreset(name: name))
            #expect(
                rows[name] == preset.fieldNames,
                "the preset table, \(name): \(rows[name] ?? []) but logship: \(preset.fieldNames)")
        }
    }

    /// And the other way round: every option a command's `--help` lists is in that command's
    /// section of the reference.
    @Test func everyHelpFlagIsDocumented() throws {
        let (doc, section) = try Readme.documented("Commands")
        for (command, help) in try Self.helps() {
            let parts = section.components(separatedBy: "\n### logship \(command)\n")
            let documented = parts.count > 1 ? parts[1].components(separatedBy: "\n### ")[0] : ""
            for line in help.split(separator: "\n") where line.hasPrefix("  --") {
                let flag = String(line.dropFirst(2).prefix { $0 != " " })
                if flag == "--help" { continue }
                #expect(
                    documented.contains("`\(flag)"),
                    "\(doc.name): `logship \(command)` section does not document \(flag)")
            }
        }
    }

}
