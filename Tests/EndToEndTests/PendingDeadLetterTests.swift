import Foundation
import Testing

/// Dead letters are not forgotten: `run` exits 0 only when nothing of the pipeline is
/// undelivered; it sends again, before new data, the letters whose failure was not their
/// content's, and keeps those the service refused for their content pending, said and counted.
@Suite(.serialized) struct PendingDeadLetterTests {
    /// The pipeline, the state, and a free port the emulators of the test take in turn, so every
    /// run goes to the same destination (as a nightly job does).
    struct Setup {
        let dir = TempDir()
        let p: URL
        let state: URL
        let port: Int
        let identity: EmulatorProcess
        var url: String { "http://127.0.0.1:\(port)" }

        init(api: API, total: Int) throws {
            dir.write("in/a.ndjson", records(0..<total))
            p = dir.write(
                "p.json5",
                """
                { version: 1, name: "letters", source: { files: ["in/*.ndjson"], format: "ndjson" },
                  fields: { recordId: "LogshipId" },
                  limits: { maxBodyBytes: 20000 }, upload: { concurrency: 2, maxAttempts: 2 },
                  \(api.target("Engine")) }
                """)
            state = dir.file("state")
            identity = try EmulatorProcess(dataDir: dir.file("probe"))
            port = try #require(identity.url.port)
            identity.stop()
        }

        func emulator(_ name: String, _ extra: [String] = []) throws -> EmulatorProcess {
            try EmulatorProcess(extra, dataDir: dir.file(name), identity: identity, port: port)
        }

        func run(_ api: API, _ command: String = "run") throws -> ProcessResult {
            var args = [command, p.path, "--state-dir", state.path]
            if command != "status" { args += ["--endpoint", url] }
            if command == "run" { args += ["--progress", "none"] }
            return try EndToEndTests.run(args, env: api.env(identity), timeout: 120)
        }
    }

    @Test(arguments: API.allCases) func aNightOfServerErrorsIsFinishedByTheNextRun(api: API) throws {
        let s = try Setup(api: api, total: 2_000)
        defer { s.dir.cleanup() }
        // Night 1: the service answers 503 to everything; attempts run out.
        let failing = try s.emulator("emu1", ["--fail-rate", "1", "--fail-codes", "503"])
        let night1 = try s.run(api)
        failing.stop()
        #expect(night1.status == 1, "\(night1.stderr)")
        #expect(night1.stderr.contains("the next run sends them again first"), "\(night1.stderr)")
        let first = report(s.state)
        let pending = try #require(first["pendingDeadLetters"] as? [String: Any])
        #expect(pending["records"] as? Int == 2_000 && pending["refusedLetters"] as? Int == 0)

        // Night 2: nothing new in the folder, the service is healthy: the letters go first.
        let healthy = try s.emulator("emu2")
        defer { healthy.stop() }
        let night2 = try s.run(api)
        #expect(night2.status == 0, "\(night2.stderr)")
        let counts = seqCounts(healthy, api)
        #expect(counts.count == 2_000 && counts.values.allSatisfy { $0 == 1 }, "every record once")
        let second = report(s.state)
        #expect(second["recordsResentFromDeadLetters"] as? Int == 2_000)
        #expect((second["pendingDeadLetters"] as? [String: Any])?["letters"] as? Int == 0)
        #expect(
            ((try? FileManager.default.contentsOfDirectory(atPath: s.state.appendingPathComponent("deadletter").path))
                ?? []).isEmpty)

        // Night 3: new data only; nothing is sent twice.
        s.dir.write("in/b.ndjson", records(2_000..<2_500))
        #expect(try s.run(api).status == 0)
        let after = seqCounts(healthy, api)
        #expect(after.count == 2_500 && after.values.allSatisfy { $0 == 1 })
    }

    @Test func contentTheServiceRefusedWaitsForTheUserAndKeepsTheExitAtOne() throws {
        let api = API.dataCollector
        let s = try Setup(api: api, total: 600)
        defer { s.dir.cleanup() }
        let refusing = try s.emulator("emu1", ["--fail-rate", "1", "--fail-codes", "400"])
        let night1 = try s.run(api)
        refusing.stop()
        #expect(night1.status == 1, "\(night1.stderr)")

        // The next night the service takes data again, but these letters were refused for their
        // content: resending them unchanged would be refused again. They wait, said and counted.
        let healthy = try s.emulator("emu2")
        defer { healthy.stop() }
        let night2 = try s.run(api)
        #expect(night2.status == 1, "not complete while refused letters wait: \(night2.stderr)")
        #expect(night2.stderr.contains("the service refused for their content (600 records)"), "\(night2.stderr)")
        #expect(night2.stderr.contains("× 400"), "the service's reason is shown: \(night2.stderr)")
        #expect(seqCounts(healthy, api).isEmpty, "refused letters are not re-sent by run")
        let status = try s.run(api, "status")
        #expect(status.stdout.contains("waiting:  "), "\(status.stdout)")
        #expect(status.stdout.contains("refused for their content"), "\(status.stdout)")

        // The user replays them (after fixing what was wrong); from then on run exits 0.
        let replay = try s.run(api, "replay")
        #expect(replay.status == 0, "\(replay.stderr)")
        let night3 = try s.run(api)
        #expect(night3.status == 0, "\(night3.stderr)")
        let counts = seqCounts(healthy, api)
        #expect(counts.count == 600 && counts.values.allSatisfy { $0 == 1 })
    }
}
