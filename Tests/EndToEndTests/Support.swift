import Foundation
import Testing

/// The `logship` binary built beside the test bundle.
enum Binary {
    static let path: String = {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [here, here.deletingLastPathComponent()] {
            let p = dir.appendingPathComponent("logship").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(
            ".build/debug/logship"
        ).path
    }()

    /// The package's root folder (pipelines/, samples/).
    static let packageRoot: URL = {
        var u = URL(fileURLWithPath: #filePath)
        while u.path != "/" {
            u.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: u.appendingPathComponent("Package.swift").path) { return u }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()
}

struct TempDir {
    let url: URL
    init(_ name: String = "logship-e2e") {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> URL { url.appendingPathComponent(name) }
    @discardableResult
    func write(_ name: String, _ text: String) -> URL {
        let u = file(name)
        try! FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
        try! Data(text.utf8).write(to: u)
        return u
    }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// Credentials and endpoints a test must not inherit from the shell that runs it.
let credentialVariables = [
    "LOGSHIP_WORKSPACE_ID", "LOGSHIP_SHARED_KEY", "LOGSHIP_ENDPOINT", "LOGSHIP_TENANT_ID", "LOGSHIP_CLIENT_ID",
    "LOGSHIP_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST", "LOGSHIP_SHARED_KEY_FILE", "LOGSHIP_CLIENT_SECRET_FILE", "LOGSHIP_AZ_PATH", "HTTPS_PROXY",
    "https_proxy", "NO_PROXY", "no_proxy",
    // Set when the tests themselves run under a systemd unit with credentials.
    "CREDENTIALS_DIRECTORY",
]

/// The checked-in samples' own time (their records are from 2026-11-21 to 2026-11-23): tests whose
/// outcome depends on the samples' age set `LOGSHIP_NOW` to it, so they hold on any date.
let samplesClock = ["LOGSHIP_NOW": "2026-11-23T12:00:00Z"]

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

struct TimeoutError: Error, CustomStringConvertible { var description: String }

final class DataBox: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.withLock { data = d } }
    func append(_ d: Data) { lock.withLock { data.append(d) } }
    func get() -> Data { lock.withLock { data } }
}

/// The environment a test's `logship` runs with: the test's own, without credentials or a clock
/// of the caller's (a test sets LOGSHIP_NOW when it means to), plus `env`.
func processEnvironment(_ env: [String: String]) -> [String: String] {
    var e = ProcessInfo.processInfo.environment
    for k in credentialVariables { e[k] = nil }
    e["LOGSHIP_NOW"] = nil
    for (k, v) in env { e[k] = v }
    return e
}

/// Reads `pipe` to its end on another thread; `group` is left once it has.
func collect(_ pipe: Pipe, _ group: DispatchGroup) -> DataBox {
    let box = DataBox()
    group.enter()
    DispatchQueue.global().async {
        box.set(pipe.fileHandleForReading.readDataToEndOfFile()); group.leave()
    }
    return box
}

/// Waits for `p` to exit, at most `timeout` seconds: past it, kills it by PID, waits for it and
/// throws. Then waits (bounded) for the readers of its output in `readers`.
func finish(_ p: Process, _ args: [String], timeout: Double, readers: DispatchGroup) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(10_000) }
    if p.isRunning {
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        throw TimeoutError(description: "logship \(args.joined(separator: " ")) ran over \(timeout) s and was killed")
    }
    p.waitUntilExit()
    _ = readers.wait(timeout: .now() + 10)
}

/// Runs `logship` (or another program) to completion within `timeout` seconds.
func run(
    _ args: [String], executable: String = Binary.path, env: [String: String] = [:], cwd: URL? = nil,
    timeout: Double = 120
) throws -> ProcessResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    p.environment = processEnvironment(env)
    if let cwd { p.currentDirectoryURL = cwd }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let g = DispatchGroup()
    let o = collect(out, g), r = collect(err, g)
    try finish(p, args, timeout: timeout, readers: g)
    return ProcessResult(
        status: p.terminationStatus, stdout: String(decoding: o.get(), as: UTF8.self),
        stderr: String(decoding: r.get(), as: UTF8.self))
}

/// `logship emulate` in a process of its own; stopped by PID and waited for. It serves both
/// APIs: a workspace and key for the Data Collector, a tenant, client and secret for the Logs
/// Ingestion API's token endpoint.
final class EmulatorProcess {
    let process = Process()
    let url: URL
    let dataDir: URL
    let workspace: String
    let key: String
    let tenant: String
    let client: String
    let secret: String
    private let stderrBox = DataBox()

    /// - Parameter identity: another emulator whose workspace, key, tenant, client and secret to reuse.
    /// `--gate-file` of this emulator: a test writes a number of data requests to let through.
    let gate: URL

    /// - Parameter port: a fixed port (0: any free one).
    init(
        _ extra: [String] = [], dataDir: URL, workspace: String? = nil, key: String? = nil,
        identity: EmulatorProcess? = nil,
        port: Int = 0
    ) throws {
        gate = dataDir.deletingLastPathComponent().appendingPathComponent("gate-\(UUID().uuidString)")
        var bytes = [UInt8](repeating: 0, count: 64)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        self.key = identity?.key ?? key ?? Data(bytes).base64EncodedString()
        self.workspace = identity?.workspace ?? workspace ?? UUID().uuidString.lowercased()
        self.tenant = identity?.tenant ?? UUID().uuidString.lowercased()
        self.client = identity?.client ?? UUID().uuidString.lowercased()
        // Letters and digits like a portal secret, with a marker tests can grep for.
        self.secret =
            identity?.secret ?? "Sx8Q~" + UUID().uuidString.replacingOccurrences(of: "-", with: "") + "~secret"
        self.dataDir = dataDir
        process.executableURL = URL(fileURLWithPath: Binary.path)
        process.arguments =
            [
                "emulate", "--port", String(port), "--data-dir", dataDir.path, "--workspace-id", self.workspace,
                "--shared-key", self.key,
                "--tenant-id", self.tenant, "--client-id", self.client, "--client-secret", self.secret, "--gate-file",
                gate.path,
            ] + extra
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let box = stderrBox
        err.fileHandleForReading.readabilityHandler = { h in box.append(h.availableData) }
        // The first stdout line names the port; wait for it, bounded.
        var line = Data()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            line.append(d)
            if line.contains(UInt8(ascii: "\n")) { break }
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("listening on "), let u = URL(string: String(text.dropFirst("listening on ".count))) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TimeoutError(description: "the emulator did not start: \(text)")
        }
        url = u
    }

    var stderr: String { String(decoding: stderrBox.get(), as: UTF8.self) }

    func stats() -> [String: Any] {
        guard let d = try? Data(contentsOf: dataDir.appendingPathComponent("stats.json")),
            let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any]
        else { return [:] }
        return o
    }

    func rows(_ table: String) -> [[String: Any]] {
        guard let data = try? Data(contentsOf: dataDir.appendingPathComponent("\(table).ndjson")) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap {
            try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]
        }
    }

    /// SIGTERM by PID, then wait (SIGKILL after 10 s).
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    var env: [String: String] { ["LOGSHIP_WORKSPACE_ID": workspace, "LOGSHIP_SHARED_KEY": key] }

    /// For a logs-ingestion pipeline: the identity, and this emulator as the token service.
    var ingestionEnv: [String: String] {
        [
            "LOGSHIP_TENANT_ID": tenant, "LOGSHIP_CLIENT_ID": client, "LOGSHIP_CLIENT_SECRET": secret,
            "AZURE_AUTHORITY_HOST": url.absoluteString,
        ]
    }

    func int(_ key: String) -> Int { (stats()[key] as? NSNumber)?.intValue ?? 0 }
}

/// A `logship` process started in the background, stopped by its PID and waited for.
final class Spawned {
    let process = Process()
    private let out = DataBox(), err = DataBox()

    init(_ args: [String], env: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: Binary.path)
        process.arguments = args
        var e = ProcessInfo.processInfo.environment
        for k in credentialVariables { e[k] = nil }
        for (k, v) in env { e[k] = v }
        process.environment = e
        let o = Pipe(), r = Pipe()
        process.standardOutput = o
        process.standardError = r
        process.standardInput = FileHandle.nullDevice
        let ob = out, eb = err
        o.fileHandleForReading.readabilityHandler = { h in ob.append(h.availableData) }
        r.fileHandleForReading.readabilityHandler = { h in eb.append(h.availableData) }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var stderr: String { String(decoding: err.get(), as: UTF8.self) }

    /// Waits for the exit (SIGKILL past `timeout`) and returns the status.
    func wait(timeout: Double) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
            throw TimeoutError(description: "logship ran over \(timeout) s and was killed")
        }
        process.waitUntilExit()
        usleep(50_000)
        return process.terminationStatus
    }
}

/// The README's quick start, word for word. `ReadmeTests` checks the README against these and
/// `quickstartRunsLocally` runs the first one, so the README shows the command the tests run.
enum QuickStart {
    static let runCommand = "swift run logship run pipelines/quickstart.json5 --local"
    static let testCommand = "swift test"
    /// What `swift run logship` hands to logship.
    static var logshipArguments: [String] {
        Array(runCommand.split(separator: " ").dropFirst(3).map(String.init))
    }
}

/// Runs a Python 3 script (standard library, plus `yaml` where a test says so) with arguments.
func python(_ script: String, _ args: [String] = [], timeout: Double = 120) throws -> ProcessResult {
    try run(["python3", "-c", script] + args, executable: "/usr/bin/env", timeout: timeout)
}

/// `s` without the time and level logship puts before each stderr line when stderr is not a
/// terminal (`2026-12-02T13:30:00.123Z INFO  `), for tests that compare whole lines.
func unstamped(_ s: String) -> String {
    s.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
        guard
            let r = line.range(
                of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO |WARN |ERROR) "#, options: .regularExpression)
        else { return String(line) }
        return String(line[r.upperBound...])
    }.joined(separator: "\n")
}
