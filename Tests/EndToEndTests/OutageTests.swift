import Foundation
import Testing

/// An unreachable service during a run: nothing of the input becomes a dead letter, the run
/// stops under `upload.unreachableAfter` with exit 1 naming the endpoint, and the next run,
/// once the service is back, delivers every record.
@Suite(.serialized) struct OutageTests {
    @Test(arguments: API.allCases) func anUnreachableServiceStopsTheRunWithoutDeadLetters(api: API) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let total = 6_000
        dir.write("in/a.ndjson", records(0..<total))
        // maxAttempts 2: before the outage rule, two refused connections dead-lettered a chunk.
        let p = dir.write(
            "p.json5",
            """
            { version: 1, name: "outage",
              source: { files: ["in/a.ndjson"], format: "ndjson" },
              fields: { recordId: "LogshipId" },
              limits: { maxBodyBytes: 20000 },
              upload: { concurrency: 4, maxAttempts: 2, unreachableAfter: 2 },
              \(api.target("Engine")) }
            """)
        let state = dir.file("state")
        // A port the emulator had a moment ago: nothing listens there now, every connection is
        // refused, and the emulator comes back on it later, so the next run resumes towards the
        // same destination. For the Logs Ingestion API the token service is what is out of reach.
        let probe = try EmulatorProcess(dataDir: dir.file("probe"))
        let port = try #require(probe.url.port)
        let identity = probe
        probe.stop()
        let down = "http://127.0.0.1:\(port)"
        let env = api.env(identity).merging(api == .logsIngestion ? ["AZURE_AUTHORITY_HOST": down] : [:]) { $1 }
        let r = try run(
            ["run", p.path, "--endpoint", down, "--state-dir", state.path, "--progress", "none"], env: env, timeout: 60)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("run stopped: no answer from \(down)"), "\(r.stderr)")
        #expect(r.stderr.contains("upload.unreachableAfter: 2"), "\(r.stderr)")
        #expect(r.stderr.contains("next attempt in"), "each retry is said as it happens: \(r.stderr)")
        let letters =
            (try? FileManager.default.contentsOfDirectory(atPath: state.appendingPathComponent("deadletter").path))
            ?? []
        #expect(letters.isEmpty, "nothing dead-lettered: \(letters.count) file(s)")
        let first = report(state)
        #expect(first["unreachable"] as? Bool == true)
        #expect(first["chunksDeadLettered"] as? Int == 0)
        #expect(first["recordsSent"] as? Int == 0)

        // The service is back: the same command (towards it) delivers everything, once.
        let emu = try EmulatorProcess(dataDir: dir.file("emu"), identity: identity, port: port)
        defer { emu.stop() }
        let again = try run(
            ["run", p.path, "--endpoint", down, "--state-dir", state.path, "--progress", "none"], env: env, timeout: 120
        )
        #expect(again.status == 0, "\(again.stderr)")
        let counts = seqCounts(emu, api)
        #expect(counts.count == total && counts.values.allSatisfy { $0 == 1 })
    }

    /// Outages during a replay leave the dead letters in place and end the replay the same way.
    @Test func anUnreachableServiceStopsAReplayAndKeepsTheLetters() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(["--fail-rate", "1", "--fail-codes", "400"], dataDir: dir.file("emu"))
        let total = 500
        dir.write("in/a.ndjson", records(0..<total))
        let p = dir.write(
            "p.json5",
            """
            { version: 1, name: "outage", source: { files: ["in/a.ndjson"], format: "ndjson" },
              limits: { maxBodyBytes: 20000 }, upload: { concurrency: 1, maxAttempts: 2, unreachableAfter: 2 },
              \(API.dataCollector.target("Engine")) }
            """)
        let state = dir.file("state")
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
            env: emu.env)
        emu.stop()
        #expect(r.status == 1, "\(r.stderr)")
        let letters = try FileManager.default.contentsOfDirectory(
            atPath: state.appendingPathComponent("deadletter").path
        ).sorted()
        #expect(!letters.isEmpty)
        let replay = try run(
            ["replay", p.path, "--endpoint", "http://127.0.0.1:1", "--state-dir", state.path], env: emu.env, timeout: 60
        )
        #expect(replay.status == 1, "\(replay.stderr)")
        #expect(replay.stderr.contains("stopped: no answer from http://127.0.0.1:1"), "\(replay.stderr)")
        let after = try FileManager.default.contentsOfDirectory(atPath: state.appendingPathComponent("deadletter").path)
            .sorted()
        #expect(after == letters, "every letter is still there, unchanged")
    }
}
