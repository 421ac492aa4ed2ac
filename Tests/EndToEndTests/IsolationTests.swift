import Foundation
import Testing

/// NDJSON records with a unique `seq`; those in `bad` carry a text the emulator is told to refuse.
private func recordsWithBad(_ range: Range<Int>, bad: Set<Int>) -> String {
    range.map { i in
        "{\"seq\":\(i),\"msg\":\"\(bad.contains(i) ? "BAD-RECORD" : "fine") \(i)\",\"pad\":\"\(String(repeating: "x", count: 30))\"}"
    }.joined(separator: "\n") + "\n"
}

private func letters(_ state: URL) -> [(name: String, meta: [String: Any], body: String)] {
    let dir = state.appendingPathComponent("deadletter")
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter {
        $0.hasSuffix(".meta.json")
    }.sorted()
    return names.compactMap { n in
        let base = String(n.dropLast(".meta.json".count))
        guard let m = try? Data(contentsOf: dir.appendingPathComponent(n)),
            let meta = try? JSONSerialization.jsonObject(with: m) as? [String: Any],
            let body = try? String(contentsOf: dir.appendingPathComponent("\(base).json"), encoding: .utf8)
        else { return nil }
        return (base, meta, body)
    }
}

/// Issue 12, item 10: a record the service refuses for its data is isolated by halving; only it
/// is dead-lettered, and the rest of its chunk is delivered.
@Suite(.serialized) struct IsolationTests {
    static let total = 10_000

    /// One chunk of 10,000 records (maxBodyBytes large enough), `bad` of them refused by the
    /// emulator's own reading of the values; returns the emulator's data requests.
    private func runOneChunk(api: API, bad: Set<Int>, dir: TempDir, emu: EmulatorProcess) throws -> (ProcessResult, URL)
    {
        dir.write("in/a.ndjson", recordsWithBad(0..<Self.total, bad: bad))
        let p = pipeline(dir, files: ["in/a.ndjson"], maxBody: 1_000_000, api: api)
        let state = dir.file("state")
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
            env: api.env(emu))
        return (r, state)
    }

    @Test(arguments: API.allCases) func oneRefusedRecordAmongTenThousandIsIsolated(api: API) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(["--refuse-records-matching", "BAD-RECORD"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        let (r, state) = try runOneChunk(api: api, bad: [6789], dir: dir, emu: emu)
        #expect(r.status == 1, "\(r.stderr)")
        let counts = seqCounts(emu, api)
        #expect(counts.count == Self.total - 1 && counts[6789] == nil, "every other record delivered")
        #expect(counts.values.allSatisfy { $0 == 1 }, "none twice")
        let extra = api.dataRequests(emu) - 1
        print("isolation, 1 bad of \(Self.total) (\(api.rawValue)): \(extra) extra requests")
        #expect(extra <= Int(2 * log2(Double(Self.total))), "\(extra) extra requests")
        let l = letters(state)
        #expect(l.count == 1)
        #expect(l.first?.meta["records"] as? Int == 1)
        #expect(l.first?.body.contains("\"seq\":6789,") == true)
        #expect((l.first?.meta["lastError"] as? String)?.contains("400") == true, "the service's message")
        let location = l.first?.meta["location"] as? [[String: Any]]
        #expect(location?.count == 1 && location?.first?["file"] as? String == "in/a.ndjson")
        #expect(location?.first?["start"] as? Int == 6789 && location?.first?["end"] as? Int == 6790)
        #expect(r.stderr.contains("in/a.ndjson record 6790"), "\(r.stderr)")
        let rep = report(state)
        #expect(rep["recordsSent"] as? Int == Self.total - 1)
        #expect(rep["recordsDeadLettered"] as? Int == 1)
    }

    @Test func threeRefusedRecordsAreIsolated() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(["--refuse-records-matching", "BAD-RECORD"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        let bad: Set<Int> = [0, 4321, 9999]
        let (r, state) = try runOneChunk(api: .dataCollector, bad: bad, dir: dir, emu: emu)
        #expect(r.status == 1, "\(r.stderr)")
        let counts = seqCounts(emu)
        #expect(Set(counts.keys) == Set(0..<Self.total).subtracting(bad))
        #expect(counts.values.allSatisfy { $0 == 1 })
        let extra = API.dataCollector.dataRequests(emu) - 1
        print("isolation, 3 bad of \(Self.total): \(extra) extra requests")
        #expect(extra <= Int(3 * 2 * log2(Double(Self.total))), "\(extra) extra requests")
        let l = letters(state)
        #expect(l.count == 3)
        let refused = l.compactMap { ($0.meta["location"] as? [[String: Any]])?.first?["start"] as? Int }
        #expect(Set(refused) == bad)
        // Status counts what is dead, record by record.
        let status = try run(["status", dir.file("p.json5").path, "--state-dir", state.path, "--json"])
        let s = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        #expect(s?["recordsDeadLettered"] as? Int == 3)
        #expect(s?["recordsDelivered"] as? Int == Self.total - 3)
    }

    /// Killed while isolating: the next run sends only what no part in the manifest covers.
    @Test func aKillDuringIsolationDoesNotResendDeliveredParts() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        // Slow answers, so the kill lands part-way through the halving.
        let emu = try EmulatorProcess(
            ["--refuse-records-matching", "BAD-RECORD", "--latency-ms", "300"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        let bad: Set<Int> = [9999]
        dir.write("in/a.ndjson", recordsWithBad(0..<Self.total, bad: bad))
        let p = pipeline(dir, files: ["in/a.ndjson"], maxBody: 1_000_000)
        let state = dir.file("state")
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        let proc = try Spawned(args, env: emu.env)
        // Until two parts are acknowledged in the manifest (bounded: 60 s).
        let manifest = state.appendingPathComponent("manifest.jsonl")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, proc.isRunning {
            let text = (try? String(contentsOf: manifest, encoding: .utf8)) ?? ""
            if text.components(separatedBy: "\"part\"").count - 1 >= 2 { break }
            usleep(20_000)
        }
        #expect(proc.isRunning, "the run ended before the kill: \(proc.stderr)")
        kill(proc.pid, SIGKILL)
        _ = try proc.wait(timeout: 10)
        // The parts the manifest holds as acknowledged at the kill (one chunk of one file: a
        // record's position in the chunk is its seq).
        var ackedBefore = Set<Int>()
        for line in ((try? String(contentsOf: manifest, encoding: .utf8)) ?? "").split(separator: "\n") {
            guard let e = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                e["t"] as? String == "ack",
                let part = e["part"] as? [Int], part.count == 2
            else { continue }
            ackedBefore.formUnion(part[0]..<part[1])
        }
        #expect(ackedBefore.count >= Self.total / 2)
        let last = try run(args, env: emu.env)
        #expect(last.status == 1, "\(last.stderr)")
        let counts = seqCounts(emu)
        #expect(Set(counts.keys) == Set(0..<Self.total).subtracting(bad))
        let twice = Set(counts.filter { $0.value > 1 }.keys)
        #expect(twice.isDisjoint(with: ackedBefore), "no part acknowledged before the kill is sent again")
        // Only the one part in flight at the kill can repeat (the at-least-once window).
        #expect(twice.count <= Self.total / 4, "\(twice.count) records twice")
        #expect(counts.values.allSatisfy { $0 <= 2 })
        #expect(letters(state).count == 1)
    }

    /// A letter of many records (written when the service refused everything) is halved on
    /// replay: the good records are delivered and the letter is replaced by the refused one.
    @Test func replayIsolatesTheRefusedRecordsOfALetter() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let n = 1000
        dir.write("in/a.ndjson", recordsWithBad(0..<n, bad: [500]))
        let p = pipeline(dir, files: ["in/a.ndjson"], maxBody: 1_000_000)
        let state = dir.file("state")
        // The first service refuses every request without looking at the data: one 1,000-record body is
        // halved a bounded number of times, and the rest stays in letters.
        let refusing = try EmulatorProcess(["--fail-rate", "1", "--fail-codes", "400"], dataDir: dir.file("emu1"))
        let r = try run(
            [
                "run", p.path, "--endpoint", refusing.url.absoluteString, "--state-dir", state.path, "--progress",
                "none",
            ], env: refusing.env)
        refusing.stop()
        #expect(r.status == 1, "\(r.stderr)")
        let before = letters(state)
        #expect(before.count <= 2 * 16 && before.count >= 2, "a bounded number of pieces: \(before.count)")
        #expect(before.reduce(0) { $0 + ($1.meta["records"] as? Int ?? 0) } == n)
        #expect(API.dataCollector.dataRequests(refusing) <= 100, "far fewer than two per record")
        // The same workspace, now refusing only the bad record.
        let judging = try EmulatorProcess(
            ["--refuse-records-matching", "BAD-RECORD"], dataDir: dir.file("emu2"), identity: refusing)
        defer { judging.stop() }
        let replay = try run(
            ["replay", p.path, "--endpoint", judging.url.absoluteString, "--state-dir", state.path], env: judging.env)
        #expect(replay.status == 1, "\(replay.stderr)")
        let counts = seqCounts(judging)
        #expect(Set(counts.keys) == Set(0..<n).subtracting([500]))
        #expect(counts.values.allSatisfy { $0 == 1 })
        let after = letters(state)
        #expect(
            after.count == 1 && after.first?.meta["records"] as? Int == 1
                && after.first?.body.contains("\"seq\":500,") == true)
        // A second replay sends only that record, and the state says what is left.
        let requests = API.dataCollector.dataRequests(judging)
        let again = try run(
            ["replay", p.path, "--endpoint", judging.url.absoluteString, "--state-dir", state.path], env: judging.env)
        #expect(again.status == 1)
        #expect(
            API.dataCollector.dataRequests(judging) == requests + 1, "converges: one request for the one refused record"
        )
        let status = try run(["status", p.path, "--state-dir", state.path, "--json"])
        let s = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        #expect(s?["recordsDeadLettered"] as? Int == 1)
        #expect(s?["recordsDelivered"] as? Int == n - 1)
    }
}
