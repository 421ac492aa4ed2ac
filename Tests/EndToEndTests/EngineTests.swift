import Foundation
import Testing

/// NDJSON records with a unique `seq`, padded to about `size` bytes.
func records(_ range: Range<Int>, size: Int = 80) -> String {
    range.map { i in
        let head = "{\"seq\":\(i),\"msg\":\"r\(i) ü\",\"pad\":\""
        return head + String(repeating: "x", count: max(0, size - head.utf8.count - 2)) + "\"}"
    }.joined(separator: "\n") + "\n"
}

/// The two targets the engine's tests run against: the engine, the manifest, resume and
/// replay must not care which one is behind `DeliveryTarget`.
enum API: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case dataCollector = "data-collector"
    case logsIngestion = "logs-ingestion"

    var testDescription: String { rawValue }

    /// The pipeline's target block for a table (Data Collector) or stream (`Custom-<name>`).
    /// The endpoint is a placeholder: tests pass the emulator's URL with --endpoint.
    func target(_ name: String) -> String {
        switch self {
        case .dataCollector: return "target: { logType: \"\(name)\" }"
        case .logsIngestion:
            return
                "target: { api: \"logs-ingestion\", endpoint: \"http://127.0.0.1:9\", dcrImmutableId: \"dcr-engine\", stream: \"Custom-\(name)\" }"
        }
    }

    /// Where the emulator stores the records: `Engine_CL.ndjson` or `Custom-Engine.ndjson`.
    func table(_ name: String = "Engine") -> String { self == .dataCollector ? "\(name)_CL" : "Custom-\(name)" }

    /// The stored column of the records' `seq` field (type suffix on the Data Collector side).
    var seqKey: String { self == .dataCollector ? "seq_d" : "seq" }

    /// The credentials a run needs against `emu`.
    func env(_ emu: EmulatorProcess) -> [String: String] { self == .dataCollector ? emu.env : emu.ingestionEnv }

    /// Requests that carried records (the token endpoint's are not chunks).
    func dataRequests(_ emu: EmulatorProcess) -> Int { emu.int("requests") - emu.int("tokenRequests") }
}

func pipeline(
    _ dir: TempDir, files: [String], maxBody: Int = 20_000, extra: String = "", logType: String = "Engine",
    name: String = "p.json5",
    api: API = .dataCollector, upload: String = ""
) -> URL {
    dir.write(
        name,
        """
        { version: 1, name: "engine",
          source: { files: [\(files.map { "\"\($0)\"" }.joined(separator: ", "))], format: "ndjson" },
          limits: { maxBodyBytes: \(maxBody) },
          upload: { concurrency: 4, maxAttempts: 20\(upload) },
          \(extra)
          \(api.target(logType)) }
        """)
}

/// Rows per `seq` value in a table or stream.
func seqCounts(_ emu: EmulatorProcess, _ api: API = .dataCollector, table: String? = nil) -> [Int: Int] {
    var c: [Int: Int] = [:]
    for r in emu.rows(table ?? api.table()) { if let s = r[api.seqKey] as? NSNumber { c[s.intValue, default: 0] += 1 } }
    return c
}

func report(_ state: URL) -> [String: Any] {
    guard let d = try? Data(contentsOf: state.appendingPathComponent("last-run.json")) else { return [:] }
    return (try? JSONSerialization.jsonObject(with: d) as? [String: Any]) ?? [:]
}

@Suite(.serialized) struct EngineTests {
    /// The acceptance run of both targets: a fifth (Logs Ingestion) or more of the requests
    /// answered 429/503 with Retry-After, and still every record stored exactly once.
    @Test(arguments: API.allCases) func injectedFaultsStillDeliverEveryRecordExactlyOnce(api: API) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let faults =
            api == .dataCollector
            ? ["--fail-rate", "0.3", "--fail-codes", "429,500,503", "--retry-after", "1", "--seed", "7"]
            : ["--fail-rate", "0.2", "--fail-codes", "429,503", "--retry-after", "1", "--seed", "7"]
        let emu = try EmulatorProcess(faults, dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<10_000))
        dir.write("in/b.ndjson", records(10_000..<15_000))
        let p = pipeline(dir, files: ["in/*.ndjson"], api: api)
        let state = dir.file("state")
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
            env: api.env(emu), timeout: 300)
        #expect(r.status == 0, "\(r.stderr)")
        let counts = seqCounts(emu, api)
        #expect(counts.count == 15_000)
        #expect(counts.values.allSatisfy { $0 == 1 }, "every record exactly once")
        #expect(emu.int("injectedFaults") > 10)
        let retries = report(state)["retriesByStatus"] as? [String: Int] ?? [:]
        #expect(retries.values.reduce(0, +) == emu.int("injectedFaults"))
        if api == .logsIngestion {
            #expect(emu.int("tokensIssued") == 1, "one token for the whole run")
            #expect(emu.int("gzipRequests") == api.dataRequests(emu), "every body gzipped")
        }
    }

    @Test(arguments: API.allCases) func lostAnswersAreTheOnlyDuplicatesAndAreCounted(api: API) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(["--ack-loss-rate", "0.1", "--seed", "3"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<20_000))
        let p = pipeline(dir, files: ["in/a.ndjson"], api: api)
        let state = dir.file("state")
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
            env: api.env(emu), timeout: 300)
        #expect(r.status == 0, "\(r.stderr)")
        let counts = seqCounts(emu, api)
        #expect(counts.count == 20_000, "every record at least once")
        let extra = counts.values.reduce(0, +) - 20_000
        let rep = report(state)
        #expect(emu.int("ackLost") > 0)
        #expect(rep["chunksPossiblyDuplicated"] as? Int == emu.int("ackLost"))
        #expect(
            rep["recordsPossiblyDuplicated"] as? Int == extra,
            "duplicates come only from lost answers, and all are counted")
        #expect(r.stderr.contains("may hold them twice"))
    }

    @Test(arguments: API.allCases) func secondRunSkipsDeliveredFilesAndSendsOnlyNewOnes(api: API) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<3000))
        dir.write("in/b.ndjson", records(3000..<5000))
        let p = pipeline(dir, files: ["in/*.ndjson"], api: api)
        let state = dir.file("state")
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        #expect(try run(args, env: api.env(emu)).status == 0)
        let requests = emu.int("requests")
        let again = try run(args, env: api.env(emu))
        #expect(again.status == 0, "\(again.stderr)")
        #expect(emu.int("requests") == requests, "nothing is sent twice (not even a token request)")
        #expect(report(state)["filesSkipped"] as? Int == 2)
        dir.write("in/c.ndjson", records(5000..<6000))
        #expect(try run(args, env: api.env(emu)).status == 0)
        #expect(report(state)["filesSkipped"] as? Int == 2)
        #expect(report(state)["recordsSent"] as? Int == 1000)
        let counts = seqCounts(emu, api)
        #expect(counts.count == 6000 && counts.values.allSatisfy { $0 == 1 })
        let status = try run(["status", p.path, "--state-dir", state.path, "--json"])
        let s = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        #expect(s?["filesDone"] as? Int == 3)
        #expect(s?["recordsDelivered"] as? Int == 6000)
    }

    @Test(arguments: API.allCases) func aFileThatGrewSendsOnlyItsNewRecords(api: API) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let f = dir.write("in/app.ndjson", records(0..<2000))
        let p = pipeline(dir, files: ["in/app.ndjson"], api: api)
        let state = dir.file("state")
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        #expect(try run(args, env: api.env(emu)).status == 0)
        let h = try FileHandle(forWritingTo: f)
        try h.seekToEnd()
        try h.write(contentsOf: Data(records(2000..<2500).utf8))
        try h.close()
        let r = try run(args, env: api.env(emu))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("grew since the last run"))
        let counts = seqCounts(emu, api)
        #expect(counts.count == 2500 && counts.values.allSatisfy { $0 == 1 })
    }

    @Test func aChangedPipelineIsNotResumedWithoutRestart() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<500))
        let state = dir.file("state")
        let p1 = pipeline(dir, files: ["in/a.ndjson"], maxBody: 20_000)
        #expect(
            try run(["run", p1.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path], env: emu.env)
                .status == 0)
        let p2 = pipeline(dir, files: ["in/a.ndjson"], maxBody: 30_000)
        let refused = try run(
            ["run", p2.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path], env: emu.env)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--restart"))
        let restarted = try run(
            ["run", p2.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--restart"], env: emu.env
        )
        #expect(restarted.status == 0)
        #expect(seqCounts(emu).values.allSatisfy { $0 == 2 }, "--restart sends everything again")
        // The same state, now towards the Logs Ingestion API: another table, another spec.
        let p3 = pipeline(dir, files: ["in/a.ndjson"], maxBody: 30_000, api: .logsIngestion)
        let moved = try run(
            ["run", p3.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path], env: emu.ingestionEnv)
        #expect(moved.status == 2, "\(moved.stderr)")
        #expect(moved.stderr.contains("--restart"))
    }

    @Test(arguments: API.allCases) func aTornManifestLineIsTolerated(api: API) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<1000))
        let p = pipeline(dir, files: ["in/a.ndjson"], api: api)
        let state = dir.file("state")
        let args = ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path]
        #expect(try run(args, env: api.env(emu)).status == 0)
        let m = try FileHandle(forWritingTo: state.appendingPathComponent("manifest.jsonl"))
        try m.seekToEnd()
        try m.write(contentsOf: Data("{\"t\":\"ack\",\"id\":\"c12".utf8))
        try m.close()
        let r = try run(args, env: api.env(emu))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(seqCounts(emu, api).values.allSatisfy { $0 == 1 })
        let text = try String(contentsOf: state.appendingPathComponent("manifest.jsonl"), encoding: .utf8)
        for line in text.split(separator: "\n") {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(line)")
        }
        if api == .logsIngestion {
            #expect(
                text.contains("logs-ingestion 127.0.0.1 dcr-engine Custom-Engine"),
                "the destination names the endpoint host, DCR and stream")
        }
    }

    @Test(arguments: API.allCases) func refusedDataIsDeadLetteredThenReplayed(api: API) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        dir.write("in/a.ndjson", records(0..<1000))
        let p = pipeline(dir, files: ["in/a.ndjson"], api: api)
        let state = dir.file("state")
        let refusing = try EmulatorProcess(["--fail-rate", "1", "--fail-codes", "400"], dataDir: dir.file("emu1"))
        let r = try run(
            ["run", p.path, "--endpoint", refusing.url.absoluteString, "--state-dir", state.path],
            env: api.env(refusing))
        refusing.stop()
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("dead-lettered"))
        let requests = api.dataRequests(refusing)
        let letters = try FileManager.default.contentsOfDirectory(
            atPath: state.appendingPathComponent("deadletter").path)
        // A 400 is never retried as it is: each refused body is halved to isolate the refused
        // records, within a bound per chunk even when the service refuses everything.
        let metas = letters.filter { $0.hasSuffix(".meta.json") }
        #expect(metas.count <= requests)
        let chunks = Set(metas.map { String($0.prefix(while: { $0 != "-" && $0 != "." })) }).count
        #expect(requests <= chunks * 100, "\(requests) requests for \(chunks) chunk(s)")
        let dead = try metas.reduce(0) { n, m in
            let o =
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: state.appendingPathComponent("deadletter/\(m)"))) as? [String: Any]
            return n + (o?["records"] as? Int ?? 0)
        }
        #expect(dead == 1000, "every record is in a letter")
        for l in letters {
            let text = try String(contentsOf: state.appendingPathComponent("deadletter/\(l)"), encoding: .utf8)
            #expect(!text.contains(refusing.key))
            #expect(!text.contains(refusing.secret))
            if api == .logsIngestion && l.hasSuffix(".meta.json") {
                #expect(text.contains("x-ms-client-request-id"), "the failed request's id is kept with the dead letter")
            }
        }
        let status = try run(["status", p.path, "--state-dir", state.path])
        #expect(status.stdout.contains("dead-lettered"))
        // The same workspace (or tenant and application), now accepting.
        let accepting = try EmulatorProcess(dataDir: dir.file("emu2"), identity: refusing)
        defer { accepting.stop() }
        let replay = try run(
            ["replay", p.path, "--endpoint", accepting.url.absoluteString, "--state-dir", state.path],
            env: api.env(accepting))
        #expect(replay.status == 0, "\(replay.stderr)")
        let counts = seqCounts(accepting, api)
        #expect(counts.count == 1000 && counts.values.allSatisfy { $0 == 1 })
        #expect(
            ((try? FileManager.default.contentsOfDirectory(atPath: state.appendingPathComponent("deadletter").path))
                ?? []).isEmpty)
        let again = try run(
            ["replay", p.path, "--endpoint", accepting.url.absoluteString, "--state-dir", state.path],
            env: api.env(accepting))
        #expect(again.status == 0)
        #expect(again.stderr.contains("no dead letters"))
        let after = try run(["status", p.path, "--state-dir", state.path, "--json"])
        let s = try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [String: Any]
        #expect(s?["chunksDeadLettered"] as? Int == 0)
        #expect(s?["recordsDelivered"] as? Int == 1000)
    }

    /// After --restart every record is sent again from the input: the earlier dead letters are
    /// moved aside, so that replaying cannot store their records a second time.
    @Test func restartSetsDeadLettersAside() throws {
        let api = API.dataCollector
        let dir = TempDir()
        defer { dir.cleanup() }
        dir.write("in/a.ndjson", records(0..<1000))
        let p = pipeline(dir, files: ["in/a.ndjson"], api: api)
        let state = dir.file("state")
        let refusing = try EmulatorProcess(["--fail-rate", "1", "--fail-codes", "400"], dataDir: dir.file("emu1"))
        let first = try run(
            ["run", p.path, "--endpoint", refusing.url.absoluteString, "--state-dir", state.path],
            env: api.env(refusing))
        refusing.stop()
        #expect(first.status == 1, "\(first.stderr)")
        let letters = try FileManager.default.contentsOfDirectory(
            atPath: state.appendingPathComponent("deadletter").path)
        let metas = letters.filter { $0.hasSuffix(".meta.json") }.count
        #expect(metas > 0)

        let accepting = try EmulatorProcess(dataDir: dir.file("emu2"), identity: refusing)
        defer { accepting.stop() }
        let again = try run(
            ["run", p.path, "--endpoint", accepting.url.absoluteString, "--state-dir", state.path, "--restart"],
            env: api.env(accepting))
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("moved \(metas) dead letter(s) of earlier runs to"), "\(again.stderr)")
        let entries = try FileManager.default.contentsOfDirectory(atPath: state.path)
        let aside = try #require(entries.first { $0.hasPrefix("deadletter.before-restart-") })
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: state.appendingPathComponent(aside).path).count
                == letters.count)
        let replay = try run(
            ["replay", p.path, "--endpoint", accepting.url.absoluteString, "--state-dir", state.path],
            env: api.env(accepting))
        #expect(replay.status == 0)
        #expect(replay.stderr.contains("no dead letters"), "\(replay.stderr)")
        let counts = seqCounts(accepting, api)
        #expect(
            counts.count == 1000 && counts.values.allSatisfy { $0 == 1 }, "each record once, not again from the letters"
        )
    }

    /// The Data Collector says "too large" with 404 above its limit, the Logs Ingestion API with
    /// 413 (its limit counts the bytes before compression too): both get split.
    @Test(arguments: API.allCases) func aBodyTooLargeIsSplit(api: API) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let limit = api == .dataCollector ? "1500000" : "300000"
        let emu = try EmulatorProcess(["--max-body-bytes", limit], dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<20_000, size: 200))
        let p = pipeline(dir, files: ["in/a.ndjson"], maxBody: api == .dataCollector ? 4_000_000 : 1_000_000, api: api)
        let state = dir.file("state")
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path], env: api.env(emu),
            timeout: 300)
        #expect(r.status == 0, "\(r.stderr)")
        let counts = seqCounts(emu, api)
        #expect(counts.count == 20_000 && counts.values.allSatisfy { $0 == 1 })
        #expect((report(state)["chunksSplit"] as? Int ?? 0) > 0)
        if api == .logsIngestion { #expect((emu.stats()["byStatus"] as? [String: Int])?["413"] ?? 0 > 0) }
        // Resuming after splits sends nothing again.
        let requests = emu.int("requests")
        #expect(
            try run(
                ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path], env: api.env(emu)
            ).status == 0)
        #expect(emu.int("requests") == requests)
    }

    @Test(arguments: API.allCases) func interruptFinishesInFlightRequestsAndResumes(api: API) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(["--latency-ms", "300"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<8000))
        let p = pipeline(dir, files: ["in/a.ndjson"], api: api)
        let state = dir.file("state")
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        // At most 8 requests get through until the interrupt; it comes once one was acknowledged.
        try Data("8".utf8).write(to: emu.gate)
        let proc = try Spawned(args, env: api.env(emu))
        let rotation = RotationTests()
        for _ in 0..<3000 where rotation.acks(state) < 1 && proc.isRunning { usleep(10_000) }
        kill(proc.pid, SIGINT)
        // Requests held at the gate are answered (503, not stored) and not retried after a stop.
        try FileManager.default.removeItem(at: emu.gate)
        let status = try proc.wait(timeout: 30)
        #expect(status == 130, "\(proc.stderr)")
        #expect(proc.stderr.contains("interrupted"))
        let partial = seqCounts(emu, api).count
        #expect(partial > 0 && partial < 8000)
        let r = try run(args, env: api.env(emu), timeout: 120)
        #expect(r.status == 0)
        let counts = seqCounts(emu, api)
        #expect(counts.count == 8000)
        #expect(
            counts.values.allSatisfy { $0 == 1 }, "requests in flight at the interrupt were recorded: nothing repeats")
    }

    /// SIGKILL at random moments, resume each time: every record arrives, and the only
    /// duplicates are chunks that were in flight at a kill.
    @Test(arguments: API.allCases) func survivesRepeatedKills(api: API) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(["--latency-ms", "150"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        let total = 200_000
        dir.write("in/a.ndjson", records(0..<100_000, size: 60))
        dir.write("in/b.ndjson", records(100_000..<total, size: 60))
        // maxRecordsPerChunk bounds what one chunk in flight can duplicate.
        let p = pipeline(dir, files: ["in/*.ndjson"], maxBody: 200_000, api: api)
        let text = try String(contentsOf: p, encoding: .utf8)
            .replacingOccurrences(
                of: "limits: { maxBodyBytes: 200000 }",
                with: "limits: { maxBodyBytes: 200000, maxRecordsPerChunk: 1000 }")
        try Data(text.utf8).write(to: p)
        let state = dir.file("state")
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        var kills = 0
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<40 where kills < 20 {
            let proc = try Spawned(args, env: api.env(emu))
            usleep(UInt32.random(in: 150_000...450_000, using: &rng))
            if proc.isRunning {
                kill(proc.pid, SIGKILL)
                _ = try proc.wait(timeout: 10)
                kills += 1
            } else {
                _ = try proc.wait(timeout: 10)
                break
            }
        }
        #expect(kills >= 20, "the run finished before 20 kills (\(kills)); make it longer")
        let last = try run(args, env: api.env(emu), timeout: 300)
        #expect(last.status == 0, "\(last.stderr)")
        let counts = seqCounts(emu, api)
        #expect(counts.count == total, "every record stored")
        let duplicates = counts.values.reduce(0, +) - total
        #expect(duplicates <= kills * 4 * 1000, "duplicates (\(duplicates)) only from chunks in flight at the kills")
    }

    @Test func threeShardsDeliverEachRecordOnce() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        for k in 0..<30 { dir.write("in/f\(k).ndjson", records(k * 100..<(k + 1) * 100)) }
        let p = pipeline(dir, files: ["in/*.ndjson"])
        var perShard: [Int] = []
        for k in 0..<3 {
            let r = try run(
                [
                    "run", p.path, "--endpoint", emu.url.absoluteString, "--shard", "\(k)/3", "--state-dir",
                    dir.file("state").path,
                ], env: emu.env)
            #expect(r.status == 0, "\(r.stderr)")
            perShard.append(report(dir.file("state/shard-\(k)-of-3"))["filesMatched"] as? Int ?? 0)
        }
        #expect(perShard.reduce(0, +) == 30)
        #expect(perShard.allSatisfy { $0 > 0 })
        let counts = seqCounts(emu)
        #expect(counts.count == 3000 && counts.values.allSatisfy { $0 == 1 })
    }

    @Test func dryRunSendsNothing() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<500))
        let p = pipeline(dir, files: ["in/a.ndjson"])
        let r = try run(
            [
                "run", p.path, "--endpoint", emu.url.absoluteString, "--dry-run", "--keep-bodies", "--state-dir",
                dir.file("state").path,
            ], env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("would send 500 records"))
        #expect((emu.stats()["requests"] as? Int ?? 0) == 0)
        let bodies = try FileManager.default.contentsOfDirectory(atPath: dir.file("state/dry-run/bodies").path)
        #expect(!bodies.isEmpty)
        let first = try Data(contentsOf: dir.file("state/dry-run/bodies/\(bodies.sorted()[0])"))
        #expect((try JSONSerialization.jsonObject(with: first) as? [Any])?.isEmpty == false)
    }
}
