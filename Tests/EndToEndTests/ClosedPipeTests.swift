import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// How a process ended: `signalled` when a signal (a trap, SIGPIPE) ended it.
struct Ending {
    var status: Int32
    var signalled: Bool
    var stderr: String
}

/// Runs `logship` with stdout and/or stderr on a pipe whose reading end is closed before the
/// process starts, so every write to them fails with EPIPE (what `| head -1` does once head has
/// exited, without depending on when it exits). A stream not closed is captured (stderr) or
/// discarded (stdout). Stopped by PID past `timeout`, and waited for.
func runWithClosedPipes(
    _ args: [String], stdout closeOut: Bool, stderr closeErr: Bool, env: [String: String] = [:],
    timeout: Double = 120
) throws -> Ending {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { throw TimeoutError(description: "pipe() failed") }
    close(fds[0])  // nobody will ever read: writes fail with EPIPE
    let closedPipe = FileHandle(fileDescriptor: fds[1], closeOnDealloc: false)
    defer { close(fds[1]) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Binary.path)
    p.arguments = args
    p.environment = processEnvironment(env)
    let err = Pipe()
    p.standardOutput = closeOut ? closedPipe : FileHandle.nullDevice
    p.standardError = closeErr ? closedPipe : err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let g = DispatchGroup()
    let box = closeErr ? DataBox() : collect(err, g)
    try finish(p, args, timeout: timeout, readers: g)
    return Ending(
        status: p.terminationStatus, signalled: p.terminationReason == .uncaughtSignal,
        stderr: String(decoding: box.get(), as: UTF8.self))
}

@Suite(.serialized) struct ClosedPipeTests {
    /// `logship preview P --records 2000 | head -1` ends quietly instead of with a backtrace.
    @Test func previewToAClosedPipeEndsQuietly() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let data = dir.write(
            "in.ndjson", (0..<3000).map { "{\"n\":\($0),\"msg\":\"record \($0)\"}" }.joined(separator: "\n"))
        let pipeline = dir.write(
            "p.json5",
            """
            { version: 1, name: "pipes", source: { files: ["\(data.path)"], format: "ndjson" }, target: { logType: "Pipes" } }
            """)
        for args in [
            ["preview", pipeline.path, "--records", "2000"], ["preview", pipeline.path, "--json"],
            ["validate", pipeline.path], ["--help"],
        ] {
            let r = try runWithClosedPipes(args, stdout: true, stderr: false)
            #expect(!r.signalled && (r.status == 0 || r.status == 141), "\(args): status \(r.status)\n\(r.stderr)")
            #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Broken pipe"), "\(args): \(r.stderr)")
        }
    }

    /// `logship run … 2>&1 | head -1`: the run delivers every record and exits with its usual
    /// code (1 here: one line is rejected), whichever of its streams is gone.
    @Test func runWithClosedStreamsDeliversEverything() throws {
        for (closeOut, closeErr) in [(true, true), (false, true)] {
            let dir = TempDir()
            defer { dir.cleanup() }
            let emu = try EmulatorProcess(dataDir: dir.file("emulator"))
            defer { emu.stop() }
            var lines = (0..<4000).map { "{\"n\":\($0),\"msg\":\"record number \($0) of the closed pipe test\"}" }
            lines.insert("not json", at: 1234)
            let data = dir.write("in.ndjson", lines.joined(separator: "\n") + "\n")
            let pipeline = dir.write(
                "p.json5",
                """
                { version: 1, name: "pipes", source: { files: ["\(data.path)"], format: "ndjson" },
                  limits: { maxBodyBytes: 8000 }, upload: { concurrency: 2 }, target: { logType: "Pipes" } }
                """)
            let r = try runWithClosedPipes(
                ["run", pipeline.path, "--endpoint", emu.url.absoluteString, "--progress", "plain"], stdout: closeOut,
                stderr: closeErr,
                env: emu.env)
            #expect(
                !r.signalled && r.status == 1, "stdout closed \(closeOut): status \(r.status) signalled \(r.signalled)")
            let rows = emu.rows("Pipes_CL")
            #expect(rows.count == 4000)
            #expect(Set(rows.compactMap { $0["n_d"] as? Double }).count == 4000)
        }
    }
}
