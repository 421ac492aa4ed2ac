import Foundation
import Testing

/// Issue 15 item 9: the small things found on the way (the deploy/ ones are in DeployTests, the
/// literal workspace id in OperatorLogTests.validateJSON, the fatal refusal said once in
/// AzureCLICredentialTests).
@Suite struct SmallThingsTests {
    @Test func helpForACommandIsThatCommandsHelp() throws {
        let a = try run(["help", "run"])
        let b = try run(["run", "--help"])
        #expect(a.status == 0 && a.stdout == b.stdout && a.stdout.contains("--keep-bodies"))
        #expect(b.stdout.contains("<state>/dry-run/bodies/"), "the bodies' folder --keep-bodies writes")
    }

    @Test func aSecondRunOfADeliveredPipelineSaysSoPlainly() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        dir.write("in/a.ndjson", records(0..<500))
        let p = dir.write(
            "p.json5",
            """
            { version: 1, name: "again", source: { files: ["in/*.ndjson"], format: "ndjson" }, target: { logType: "Again" } }
            """)
        let first = try run(["run", p.path, "--local", "--progress", "none"], cwd: dir.url)
        #expect(first.status == 0, "\(first.stderr)")
        let again = try run(["run", p.path, "--local", "--progress", "none"], cwd: dir.url)
        #expect(again.status == 0)
        let text = unstamped(again.stderr)
        #expect(text.contains("1 file(s) already delivered by earlier runs"), "\(text)")
        #expect(!text.contains("0 record(s)"), "\(text)")
        #expect(
            text.contains("nothing new to read") && !text.contains("MB/s"),
            "no speed for bytes that were not read: \(text)")
    }

    @Test func statusShowsTheReplayThatFollowedAFailedRun() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var lines = ""
        for i in 0..<200 { lines += "{\"seq\":\(i),\"msg\":\"\(i == 42 ? "BAD-RECORD" : "fine")\"}\n" }
        dir.write("in/a.ndjson", lines)
        let p = dir.write(
            "p.json5",
            """
            { version: 1, name: "replayed", source: { files: ["in/*.ndjson"], format: "ndjson" }, target: { logType: "Replayed" } }
            """)
        let state = dir.file("state")
        let refusing = try EmulatorProcess(["--refuse-records-matching", "BAD-RECORD"], dataDir: dir.file("emu1"))
        let r = try run(
            [
                "run", p.path, "--endpoint", refusing.url.absoluteString, "--state-dir", state.path, "--progress",
                "none",
            ], env: refusing.env)
        refusing.stop()
        #expect(r.status == 1, "\(r.stderr)")
        let taking = try EmulatorProcess([], dataDir: dir.file("emu2"), identity: refusing)
        defer { taking.stop() }
        let replay = try run(
            ["replay", p.path, "--endpoint", taking.url.absoluteString, "--state-dir", state.path], env: taking.env)
        #expect(replay.status == 0, "\(replay.stderr)")
        let status = try run(["status", p.path, "--state-dir", state.path])
        #expect(status.stdout.contains("exit 1"), "the failed run is still shown: \(status.stdout)")
        #expect(
            status.stdout.contains("replay:") && status.stdout.contains("1 of 1 dead letter(s) delivered"),
            "\(status.stdout)")
        #expect(status.stdout.contains("nothing of the last run is left undelivered"), "\(status.stdout)")
    }
}
