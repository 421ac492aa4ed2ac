import Foundation
import LogshipCore
import LogshipSupport
import Testing

/// deploy/: the cron line, the systemd units and the Kubernetes manifests run logship commands
/// that exist, and what deploy/README.md says about shards is what logship does.
@Suite struct DeployTests {
    static let deploy = Binary.packageRoot.appendingPathComponent("deploy")

    static func text(_ path: String) throws -> String {
        try String(contentsOf: deploy.appendingPathComponent(path), encoding: .utf8)
    }

    /// `logship run --help`, once.
    static let runHelp: String = (try? run(["run", "--help"]).stdout) ?? ""

    /// Every `--flag` of a logship command line must be one `logship run` takes.
    static func expectRunFlags(_ line: String, _ whereFrom: String) {
        let found = flags(in: line)
        #expect(!found.isEmpty, "\(whereFrom): no flags in \(line)")
        for f in found { #expect(runHelp.contains("  \(f)"), "\(whereFrom): logship run has no \(f)") }
    }

    /// The YAML documents of a manifest, as JSON objects (PyYAML; `.ci/run` installs it).
    static func yaml(_ path: String) throws -> [[String: Any]] {
        let r = try python(
            """
            import json, sys
            try:
                import yaml
            except ImportError:
                sys.exit("python3 has no yaml module: install python3-yaml (.ci/run does)")
            print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))
            """, [deploy.appendingPathComponent(path).path])
        #expect(r.status == 0, "\(path): \(r.stderr)")
        let docs = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]
        return try #require(docs, "\(path) is not a list of YAML documents")
    }

    static func dig(_ o: Any?, _ path: String) -> Any? {
        var cur = o
        for key in path.split(separator: ".") {
            if let k = Int(key), let a = cur as? [Any] {
                cur = k < a.count ? a[k] : nil
            } else {
                cur = (cur as? [String: Any])?[String(key)]
            }
        }
        return cur
    }

    @Test func backfillIsAnIndexedJobOfShards() throws {
        let docs = try Self.yaml("kubernetes/backfill-job.yaml")
        let job = try #require(docs.first { $0["kind"] as? String == "Job" })
        #expect(Self.dig(job, "apiVersion") as? String == "batch/v1")
        #expect(Self.dig(job, "spec.completionMode") as? String == "Indexed")
        let n = try #require(Self.dig(job, "spec.completions") as? Int)
        let parallelism = try #require(Self.dig(job, "spec.parallelism") as? Int)
        #expect(n >= 2 && parallelism >= 1 && parallelism <= n)
        #expect(Self.dig(job, "spec.template.spec.restartPolicy") as? String == "Never")

        let container = try #require(Self.dig(job, "spec.template.spec.containers.0") as? [String: Any])
        let args = try #require(container["args"] as? [String])
        #expect(args.first == "run")
        let shard = try #require(args.firstIndex(of: "--shard").map { args[$0 + 1] })
        #expect(
            shard == "$(JOB_COMPLETION_INDEX)/\(n)",
            "--shard must be $(JOB_COMPLETION_INDEX)/N with N = completions (\(n))")
        Self.expectRunFlags(args.joined(separator: " "), "backfill-job.yaml")

        // State on a persistent volume.
        let stateDir = try #require(args.firstIndex(of: "--state-dir").map { args[$0 + 1] })
        let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
        let mount = try #require(
            mounts.first { stateDir.hasPrefix(($0["mountPath"] as? String ?? "?") + "/") },
            "--state-dir is on no volume")
        let volumes = try #require(Self.dig(job, "spec.template.spec.volumes") as? [[String: Any]])
        let volume = volumes.first { $0["name"] as? String == mount["name"] as? String }
        #expect(
            Self.dig(volume, "persistentVolumeClaim.claimName") != nil,
            "the state volume must be a PersistentVolumeClaim")
        #expect(mount["readOnly"] as? Bool != true)

        // The workspace id from a Secret; the key as a file mounted from it (checked below).
        let env = try #require(container["env"] as? [[String: Any]])
        let e = env.first { $0["name"] as? String == "LOGSHIP_WORKSPACE_ID" }
        #expect(Self.dig(e, "valueFrom.secretKeyRef.name") != nil, "LOGSHIP_WORKSPACE_ID must come from a Secret")

        // The pipeline in the ConfigMap loads, with its credentials left to the environment.
        let configMaps = docs.compactMap { $0["data"] as? [String: Any] }
        let pipeline = try #require(configMaps.compactMap { $0["pipeline.json5"] as? String }.first)
        let dir = TempDir()
        defer { dir.cleanup() }
        let loaded = PipelineLoader(environment: [:]).load(dir.write("pipeline.json5", pipeline))
        #expect(loaded.errors.isEmpty, "\(loaded.errors.map(\.description))")
        #expect(!pipeline.contains("sharedKey: \""), "the key is not an environment variable in the pipeline")
        let keyFile = try #require(
            loaded.spec.flatMap { spec -> String? in
                if case .value(let v)? = spec.target.sharedKeyFile { return v } else { return nil }
            }, "the pipeline reads the key from target.sharedKeyFile")
        try Self.expectSecretFile(
            keyFile, pod: try #require(Self.dig(job, "spec.template.spec") as? [String: Any]), "backfill-job.yaml")
    }

    /// Secrets reach the pod as files from a Secret volume, never as environment variables, and
    /// the pod waits past logship's 30 s grace period before it is killed.
    static func expectSecretFile(_ path: String, pod: [String: Any], _ whereFrom: String) throws {
        let container = try #require(dig(pod, "containers.0") as? [String: Any])
        let env = container["env"] as? [[String: Any]] ?? []
        for name in ["LOGSHIP_SHARED_KEY", "LOGSHIP_CLIENT_SECRET", "AZURE_CLIENT_SECRET"] {
            #expect(!env.contains { $0["name"] as? String == name }, "\(whereFrom): \(name) is an environment variable")
        }
        let mounts = container["volumeMounts"] as? [[String: Any]] ?? []
        let mount = try #require(
            mounts.first { path.hasPrefix(($0["mountPath"] as? String ?? "?") + "/") },
            "\(whereFrom): \(path) is on no volume")
        #expect(mount["readOnly"] as? Bool == true, "\(whereFrom): the secret volume is read-only")
        let volumes = pod["volumes"] as? [[String: Any]] ?? []
        let volume = volumes.first { $0["name"] as? String == mount["name"] as? String }
        let secret = try #require(
            dig(volume, "secret") as? [String: Any], "\(whereFrom): \(path) is not on a Secret volume")
        #expect(secret["defaultMode"] as? Int == 0o400, "\(whereFrom): the key file is for its owner only (0400)")
        let file = String(path.dropFirst((mount["mountPath"] as? String ?? "").count + 1))
        let items = secret["items"] as? [[String: Any]] ?? []
        #expect(items.contains { $0["path"] as? String == file }, "\(whereFrom): the Secret volume has no item \(file)")
        let grace = try #require(
            pod["terminationGracePeriodSeconds"] as? Int, "\(whereFrom): no terminationGracePeriodSeconds")
        #expect(
            grace > 30, "\(whereFrom): terminationGracePeriodSeconds \(grace) is not above logship's 30 s grace period")
    }

    @Test func nightlyCronJobNeverOverlaps() throws {
        let docs = try Self.yaml("kubernetes/nightly-cronjob.yaml")
        let cron = try #require(docs.first { $0["kind"] as? String == "CronJob" })
        #expect(Self.dig(cron, "spec.concurrencyPolicy") as? String == "Forbid")
        let args = try #require(Self.dig(cron, "spec.jobTemplate.spec.template.spec.containers.0.args") as? [String])
        #expect(args.first == "run")
        Self.expectRunFlags(args.joined(separator: " "), "nightly-cronjob.yaml")
        let pod = try #require(Self.dig(cron, "spec.jobTemplate.spec.template.spec") as? [String: Any])
        let env = try #require(Self.dig(pod, "containers.0.env") as? [[String: Any]])
        let keyFile = try #require(
            env.first { $0["name"] as? String == "LOGSHIP_SHARED_KEY_FILE" }?["value"] as? String)
        try Self.expectSecretFile(keyFile, pod: pod, "nightly-cronjob.yaml")
    }

    /// The cron line runs `logship run` with flags it has, and deploy/README.md shows that line.
    @Test func cronLine() throws {
        let lines = try Self.text("cron/logship.cron").split(separator: "\n").map(String.init).filter {
            !$0.hasPrefix("#") && !$0.isEmpty
        }
        #expect(lines.count == 1)
        let line = try #require(lines.first)
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        #expect(
            fields.count > 6
                && fields[..<5].allSatisfy {
                    $0.allSatisfy { $0.isNumber || $0 == "*" || $0 == "/" || $0 == "," || $0 == "-" }
                })
        #expect(!line.contains("%"), "cron turns % into a line break")
        let command = try #require(line.components(separatedBy: "logship run ").dropFirst().first)
        #expect(command.contains("--state-dir /var/lib/logship/"))
        Self.expectRunFlags(String(command.prefix { $0 != "'" }), "logship.cron")
        // deploy/README.md shows the same command (without cron.d's user column).
        let readme = try Self.text("README.md")
        let schedule = fields[..<5].joined(separator: " ")
        let shown = line.replacingOccurrences(of: #"^(\S+\s+){6}"#, with: "", options: .regularExpression)
        #expect(
            readme.contains("\(schedule) \(shown)"), "deploy/README.md should show the cron line:\n\(schedule) \(shown)"
        )
    }

    @Test func systemdUnits() throws {
        let service = try Self.text("systemd/logship-nightly.service")
        let exec = try #require(service.split(separator: "\n").first { $0.hasPrefix("ExecStart=") }.map(String.init))
        #expect(exec.contains("logship run "))
        Self.expectRunFlags(exec, "logship-nightly.service")
        let state = try #require(service.split(separator: "\n").first { $0.hasPrefix("StateDirectory=") }).dropFirst(
            "StateDirectory=".count)
        #expect(
            exec.contains("--state-dir /var/lib/\(state)"),
            "--state-dir must be the StateDirectory= (/var/lib/\(state))")
        for setting in [
            "Type=oneshot", "DynamicUser=yes", "EnvironmentFile=/etc/logship/logship.env", "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            // The key as a systemd credential, under the name logship looks for (docs/commands.md "Credentials").
            "LoadCredential=logship-shared-key:/etc/logship/shared-key",
            // Hardening a tool that reads files and sends HTTPS needs no less than.
            "ProtectProc=invisible", "ProcSubset=pid", "MemoryDenyWriteExecute=yes", "SystemCallFilter=@system-service",
        ] {
            #expect(service.contains("\n\(setting)\n"), "logship-nightly.service: \(setting)")
        }
        let timer = try Self.text("systemd/logship-nightly.timer")
        for setting in ["OnCalendar=", "Persistent=true", "WantedBy=timers.target"] { #expect(timer.contains(setting)) }
        // The environment file keeps the workspace id and no key: the key is the credential. Under
        // systemd a key variable there would outrank the credential, so none is set (cron's
        // LOGSHIP_SHARED_KEY_FILE stays a comment).
        let env = try Self.text("systemd/logship.env.example")
        let assignments = env.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("=") }.map {
            String($0.prefix { $0 != "=" })
        }
        #expect(assignments == ["LOGSHIP_WORKSPACE_ID"])
        #expect(env.contains("\n#LOGSHIP_SHARED_KEY_FILE=/etc/logship/shared-key\n"))
        // The credential name in the unit is the one logship reads, and the reference documents it.
        let (doc, credentials) = try Readme.subsection("Credentials")
        for name in ["logship-shared-key", "logship-client-secret"] {
            #expect(credentials.contains("`\(name)`"), "\(doc.name) Credentials: \(name)")
        }
    }

    /// What the unit does, done by hand: the key only in `$CREDENTIALS_DIRECTORY/logship-shared-key`
    /// and the workspace id from the environment file, as systemd would start the ExecStart line.
    @Test func theUnitsCredentialReachesTheRun() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emulator"))
        defer { emu.stop() }
        let service = try Self.text("systemd/logship-nightly.service")
        let load = try #require(service.split(separator: "\n").first { $0.hasPrefix("LoadCredential=") }).dropFirst(
            "LoadCredential=".count)
        let name = String(load.prefix { $0 != ":" })
        let credentials = dir.file("credentials")
        let keyFile = dir.write("credentials/\(name)", emu.key + "\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: keyFile.path)
        // The example environment file, filled in, as EnvironmentFile= reads it.
        var env: [String: String] = ["CREDENTIALS_DIRECTORY": credentials.path]
        for line in try Self.text("systemd/logship.env.example").split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { env[parts[0]] = parts[0] == "LOGSHIP_WORKSPACE_ID" ? emu.workspace : parts[1] }
        }
        let data = dir.write("in.ndjson", (0..<20).map { "{\"n\":\($0)}" }.joined(separator: "\n") + "\n")
        let pipeline = dir.write(
            "p.json5",
            """
            { version: 1, name: "unit", source: { files: ["\(data.path)"], format: "ndjson" },
              target: { logType: "Unit", workspaceId: "${LOGSHIP_WORKSPACE_ID}" } }
            """)
        let r = try run(["run", pipeline.path, "--endpoint", emu.url.absoluteString, "--progress", "plain"], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(emu.rows("Unit_CL").count == 20)
        #expect(!r.stderr.contains(emu.key) && !r.stdout.contains(emu.key))
    }

    /// systemd itself reads the units (ExecStart pointed at /bin/true: the binary is not installed).
    @Test(
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "needs systemd-analyze"))
    func systemdAnalyzeVerifies() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let service = try Self.text("systemd/logship-nightly.service").replacingOccurrences(
            of: "/usr/local/bin/logship", with: "/bin/true")
        let s = dir.write("logship-nightly.service", service)
        let t = dir.write("logship-nightly.timer", try Self.text("systemd/logship-nightly.timer"))
        let r = try run(["verify", s.path, t.path], executable: "/usr/bin/systemd-analyze")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("logship-nightly"), "\(r.stderr)")
    }

    /// The Python in deploy/README.md computes the shard logship computes.
    @Test func shardSnippetAgreesWithLogship() throws {
        let readme = try Self.text("README.md")
        let snippet = try #require(Readme.fencedBlocks(readme).first { $0.info == "python" }).lines
        let function = snippet.prefix { !$0.hasPrefix("print(") }.joined(separator: "\n")
        let paths = [
            "../../archive/nginx/web-01/access.log-20261121.gz", "in/f0.ndjson", "in/f17.ndjson",
            "../samples/nginx/access.log.2.gz",
            "a", "", "données/été.csv", "deep/er/path/with spaces.log",
        ]
        let counts = [1, 2, 3, 7, 64]
        let r = try python(
            function
                + "\nimport sys\nfor p in sys.argv[2:]:\n    print(' '.join(str(shard(p, int(n))) for n in sys.argv[1].split(',')))",
            [counts.map(String.init).joined(separator: ",")] + paths)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").map { $0.split(separator: " ").compactMap { Int($0) } }
        #expect(rows.count == paths.count)
        for (p, row) in zip(paths, rows) {
            #expect(row == counts.map { Engine.shard(of: p, count: $0) }, "shard of \"\(p)\"")
        }
    }

    /// Commands shown in deploy/README.md take the flags they are shown with.
    @Test func readmeCommandsUseRealFlags() throws {
        let doc = try Readme.load("deploy/README.md")
        var helps: [String: String] = [:]
        var checked = 0
        for snippet in doc.code {
            let ns = snippet as NSString
            let re = try NSRegularExpression(pattern: "\\blogship ([a-z]+)((?: [^ '`|]+)*)")
            for m in re.matches(in: snippet, range: NSRange(location: 0, length: ns.length)) {
                let command = ns.substring(with: m.range(at: 1))
                if helps[command] == nil { helps[command] = try run([command, "--help"]).stdout }
                for f in flags(in: ns.substring(with: m.range(at: 2))) {
                    checked += 1
                    #expect(
                        helps[command]!.contains("  \(f)"),
                        "deploy/README.md: logship \(command) has no \(f) (\(snippet))")
                }
            }
        }
        #expect(checked >= 6)
    }
}
