import Foundation
import Testing

/// Overlapping runs on one state directory (a cron job that outlives its interval): the second
/// exits 2 at once naming the holder, and nothing is sent twice.
@Suite(.serialized) struct StateLockEndToEndTests {
    /// Waits (bounded) until `proc` has written its pid into the state's lock file.
    func waitForLock(_ state: URL, _ proc: Spawned) -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && proc.isRunning {
            let text = (try? String(contentsOf: state.appendingPathComponent("lock"), encoding: .utf8)) ?? ""
            if text.contains("pid \(proc.pid),") { return true }
            usleep(20_000)
        }
        return false
    }

    @Test func aSecondRunReplayOrRestartIsRefusedWhileOneRuns() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        // Slow answers keep the first run going while the others try.
        let emu = try EmulatorProcess(["--latency-ms", "400"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        let total = 4_000
        dir.write("in/a.ndjson", records(0..<total))
        let p = pipeline(dir, files: ["in/a.ndjson"], maxBody: 20_000, extra: "fields: { recordId: \"LogshipId\" },")
        let state = dir.file("state")
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        // The emulator holds the first run's third request until the gate opens, so the first
        // run is still going however long the others take to start on a loaded machine.
        try Data("2".utf8).write(to: emu.gate)
        let first = try Spawned(args + ["--concurrency", "1"], env: emu.env)
        defer {
            if first.isRunning { kill(first.pid, SIGKILL) }
            _ = try? first.wait(timeout: 10)
        }
        #expect(waitForLock(state, first), "the first run took the lock: \(first.stderr)")

        for (command, extra) in [("run", [String]()), ("run", ["--restart"]), ("replay", [])] {
            let base =
                command == "run"
                ? args : ["replay", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path]
            let second = try run(base + extra, env: emu.env, timeout: 30)
            #expect(second.status == 2, "\(command) \(extra): \(second.stderr)")
            #expect(second.stderr.contains(state.path), "names the state directory: \(second.stderr)")
            #expect(second.stderr.contains("pid \(first.pid), logship run"), "names the holder: \(second.stderr)")
        }
        // status only reads.
        let status = try run(["status", p.path, "--state-dir", state.path])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(first.isRunning, "the first run was still going while the others were refused")
        try FileManager.default.removeItem(at: emu.gate)

        #expect(try first.wait(timeout: 120) == 0, "\(first.stderr)")
        let counts = seqCounts(emu)
        #expect(counts.count == total && counts.values.allSatisfy { $0 == 1 }, "each record once")
        // The lock went with the process: the next run goes ahead (and has nothing to send).
        let next = try run(args, env: emu.env)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(report(state)["recordsSent"] as? Int == 0)
    }

    /// SIGKILL leaves the lock file but not the lock: the kernel released it with the process.
    @Test func aKilledRunLeavesNoLockBehind() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(["--latency-ms", "400"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        let total = 2_000
        dir.write("in/a.ndjson", records(0..<total))
        let p = pipeline(dir, files: ["in/a.ndjson"], maxBody: 20_000)
        let state = dir.file("state")
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        let first = try Spawned(args + ["--concurrency", "1"], env: emu.env)
        #expect(waitForLock(state, first), "\(first.stderr)")
        kill(first.pid, SIGKILL)
        _ = try first.wait(timeout: 10)
        let again = try run(args, env: emu.env, timeout: 120)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(Set(seqCounts(emu).keys) == Set(0..<total))
    }
}
