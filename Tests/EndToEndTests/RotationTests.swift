import Foundation
import Testing

/// Nightly runs over a folder that logrotate works on: delivered content that moves to another
/// name (renamed, compressed, grown in between) is recognised and not sent again.
@Suite(.serialized) struct RotationTests {
    func append(_ url: URL, _ text: String) throws {
        let h = try FileHandle(forWritingTo: url)
        try h.seekToEnd()
        try h.write(contentsOf: Data(text.utf8))
        try h.close()
    }

    /// Acknowledgements in the manifest of `state` so far.
    func acks(_ state: URL) -> Int {
        let text = (try? String(contentsOf: state.appendingPathComponent("manifest.jsonl"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.contains("\"t\":\"ack\"") }.count
    }

    /// Starts a run with one request at a time and waits (at most 30 s) for `n` acknowledgements.
    func startOneAtATime(_ args: [String], env: [String: String], state: URL, untilAcks n: Int) throws -> Spawned {
        let proc = try Spawned(args + ["--concurrency", "1"], env: env)
        // A `for … where` would go on reading the manifest 3000 times once the count is reached.
        var polls = 0
        while polls < 3000 && acks(state) < n && proc.isRunning {
            usleep(10_000)
            polls += 1
        }
        return proc
    }

    /// A run killed (SIGKILL, by its PID) once the manifest holds `n` acknowledgements. With
    /// `gate` (the emulator's), the emulator lets exactly `n` data requests through in all (one
    /// per acknowledgement: no faults, one request at a time) and holds the next, so the run
    /// cannot finish before the kill however slow or loaded the machine is; the gate opens again
    /// for the run after.
    /// The first 3,000 records of `files` (written by the caller) run into an emulator answering
    /// after `latencyMs`, killed once three chunks are acknowledged, part way through: the
    /// emulator (the caller stops it) and the run's arguments, to run again.
    func killedPartWay(_ dir: TempDir, files: String, latencyMs: Int) throws -> (EmulatorProcess, [String]) {
        let emu = try EmulatorProcess(["--latency-ms", "\(latencyMs)"], dataDir: dir.file("emu"))
        let p = pipeline(dir, files: [files])
        let state = dir.file("state")
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        do {
            try killAfter(acks: 3, args, env: emu.env, state: state, gate: emu)
        } catch {
            emu.stop()
            throw error
        }
        let partial = seqCounts(emu).count
        #expect(partial > 0 && partial < 3000, "the kill came part way (\(partial) records stored)")
        return (emu, args)
    }

    /// After a killed run and the next one: only records of the chunk in flight at the kill are
    /// stored twice.
    func expectOnlyTheChunkInFlightRepeats(_ counts: [Int: Int]) {
        let twice = counts.values.filter { $0 > 1 }.count
        #expect(twice <= 300, "at most the chunk in flight at the kill repeats, not \(twice)")
    }

    func killAfter(acks n: Int, _ args: [String], env: [String: String], state: URL, gate: EmulatorProcess? = nil)
        throws
    {
        if let gate { try Data("\(n)".utf8).write(to: gate.gate) }
        defer { if let gate { try? FileManager.default.removeItem(at: gate.gate) } }
        let proc = try startOneAtATime(args, env: env, state: state, untilAcks: n)
        kill(proc.pid, SIGKILL)
        _ = try? proc.wait(timeout: 30)
    }

    func gzip(_ from: URL, to: URL) throws {
        let r = try python(
            "import gzip, shutil, sys\nwith open(sys.argv[1], 'rb') as f, gzip.open(sys.argv[2], 'wb') as g: shutil.copyfileobj(f, g)",
            [from.path, to.path])
        #expect(r.status == 0, "\(r.stderr)")
        try FileManager.default.removeItem(at: from)
    }

    /// logrotate with `compress` and `delaycompress`, three nights: `access.log` is rotated
    /// to `access.log.1` after it grew past what the last run saw, `access.log.1` is
    /// compressed to `access.log.2.gz`. Every record is stored exactly once.
    @Test(arguments: API.allCases) func rotatedRenamedAndCompressedFilesAreNotSentAgain(api: API) throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let log = dir.write("in/access.log", records(0..<3000))
        let p = pipeline(dir, files: ["in/access.log*"], api: api)
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("state").path, "--progress",
            "none",
        ]
        func night(_ what: String) throws -> ProcessResult {
            let r = try run(args, env: api.env(emu))
            #expect(r.status == 0, "\(what): \(r.stderr)")
            return r
        }
        _ = try night("first night")

        // More lines after the run, then the rotation: access.log → access.log.1, a new access.log.
        try append(log, records(3000..<3500))
        try FileManager.default.moveItem(at: log, to: dir.file("in/access.log.1"))
        dir.write("in/access.log", records(3500..<4000))
        // `status` already sees what the run will do: the rotated file is partly delivered.
        let status = try run(["status", p.path, "--state-dir", dir.file("state").path, "--json"], env: api.env(emu))
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status.stderr)")
        #expect(summary["partialFiles"] as? [String] == ["in/access.log.1"], "\(status.stdout)")
        #expect(summary["pendingFiles"] as? [String] == ["in/access.log"], "\(status.stdout)")
        let second = try night("second night")
        #expect(
            second.stderr.contains("in/access.log.1 begins with in/access.log as it was delivered"), "\(second.stderr)")
        #expect(
            !second.stderr.contains("changed since it was delivered"),
            "the new access.log is a new file: \(second.stderr)")
        var counts = seqCounts(emu, api)
        #expect(
            counts.count == 4000 && counts.values.allSatisfy { $0 == 1 },
            "\(counts.values.filter { $0 > 1 }.count) records twice")

        // Next rotation: access.log.1 compressed to access.log.2.gz, access.log → access.log.1.
        try gzip(dir.file("in/access.log.1"), to: dir.file("in/access.log.2.gz"))
        try FileManager.default.moveItem(at: dir.file("in/access.log"), to: dir.file("in/access.log.1"))
        dir.write("in/access.log", records(4000..<4200))
        let before = try run(["status", p.path, "--state-dir", dir.file("state").path, "--json"], env: api.env(emu))
        let third = try night("third night")
        let counted = try #require(try JSONSerialization.jsonObject(with: Data(before.stdout.utf8)) as? [String: Any])
        #expect(
            counted["filesDone"] as? Int == 2 && counted["pendingFiles"] as? [String] == ["in/access.log"],
            "\(before.stdout)")
        #expect(
            third.stderr.contains("in/access.log.2.gz holds in/access.log.1 as it was delivered"), "\(third.stderr)")
        #expect(third.stderr.contains("in/access.log.1 holds in/access.log as it was delivered"), "\(third.stderr)")
        counts = seqCounts(emu, api)
        #expect(
            counts.count == 4200 && counts.values.allSatisfy { $0 == 1 },
            "\(counts.values.filter { $0 > 1 }.count) records twice")

        // Numbered archives shift: .2.gz → .3.gz (the same bytes), .1 → .2.gz, and so on.
        try FileManager.default.moveItem(at: dir.file("in/access.log.2.gz"), to: dir.file("in/access.log.3.gz"))
        try gzip(dir.file("in/access.log.1"), to: dir.file("in/access.log.2.gz"))
        try FileManager.default.moveItem(at: dir.file("in/access.log"), to: dir.file("in/access.log.1"))
        dir.write("in/access.log", records(4200..<4300))
        let fourth = try night("fourth night")
        #expect(
            fourth.stderr.contains("in/access.log.3.gz holds in/access.log.2.gz as it was delivered"),
            "\(fourth.stderr)")
        counts = seqCounts(emu, api)
        #expect(
            counts.count == 4300 && counts.values.allSatisfy { $0 == 1 },
            "\(counts.values.filter { $0 > 1 }.count) records twice")

        // Nothing new: nothing sent, and the moved files are known by their own fingerprints now.
        let sent = api.dataRequests(emu)
        let fifth = try night("fifth night")
        #expect(api.dataRequests(emu) == sent)
        #expect(!fifth.stderr.contains("as it was delivered"), "\(fifth.stderr)")
    }

    /// logrotate's `copytruncate` and `dateext`: the log is copied to a dated name (and grew
    /// first), then emptied in place and written again; later the dated copy is compressed.
    @Test func copytruncateAndDateextAreRecognisedToo() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let log = dir.write("in/app.log", records(0..<2000))
        let p = pipeline(dir, files: ["in/app.log*"])
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("state").path, "--progress",
            "none",
        ]
        #expect(try run(args, env: emu.env).status == 0)
        try append(log, records(2000..<2300))
        try FileManager.default.copyItem(at: log, to: dir.file("in/app.log-20261123"))
        try Data(records(2300..<2400).utf8).write(to: log)
        let second = try run(args, env: emu.env)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(
            second.stderr.contains("in/app.log-20261123 begins with in/app.log as it was delivered"), "\(second.stderr)"
        )
        try gzip(dir.file("in/app.log-20261123"), to: dir.file("in/app.log-20261123.gz"))
        try append(log, records(2400..<2500))
        let third = try run(args, env: emu.env)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(
            third.stderr.contains("in/app.log-20261123.gz holds in/app.log-20261123 as it was delivered"),
            "\(third.stderr)")
        let counts = seqCounts(emu)
        #expect(
            counts.count == 2500 && counts.values.allSatisfy { $0 == 1 },
            "\(counts.values.filter { $0 > 1 }.count) records twice")
    }

    /// Content that is still where it was delivered is not "moved": a nightly full export under
    /// a new name that starts like yesterday's is sent in full, as its own file.
    @Test func aNewFileBeginningLikeADeliveredOneStillThereIsSentInFull() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/export-1.ndjson", records(0..<2000))
        let p = pipeline(dir, files: ["in/*.ndjson"])
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("state").path, "--progress",
            "none",
        ]
        #expect(try run(args, env: emu.env).status == 0)
        dir.write("in/export-2.ndjson", records(0..<2500))
        let r = try run(args, env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("as it was delivered"))
        let counts = seqCounts(emu)
        #expect(counts.count == 2500)
        #expect((0..<2000).allSatisfy { counts[$0] == 2 } && (2000..<2500).allSatisfy { counts[$0] == 1 })
    }

    /// A log that grows every night: each run sends only what was added since the last one,
    /// however many times it grew.
    @Test func aFileThatGrowsEveryNightSendsOnlyItsNewRecords() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        let f = dir.write("in/app.ndjson", records(0..<1000))
        let p = pipeline(dir, files: ["in/app.ndjson"])
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("state").path, "--progress",
            "none",
        ]
        #expect(try run(args, env: emu.env).status == 0)
        for night in 1...4 {
            try append(f, records(night * 1000..<(night + 1) * 1000))
            let r = try run(args, env: emu.env)
            #expect(r.status == 0, "night \(night): \(r.stderr)")
            let counts = seqCounts(emu)
            #expect(counts.count == (night + 1) * 1000, "night \(night)")
            #expect(
                counts.values.allSatisfy { $0 == 1 },
                "night \(night): \(counts.values.filter { $0 > 1 }.count) records sent twice")
        }
    }

    /// A file that grew and whose next run was killed part way keeps both what it inherited
    /// from its delivered version and what the killed run delivered: the run after sends
    /// neither again (only the chunk in flight at the kill may repeat).
    @Test func aGrownFileKilledPartWayDoesNotResendItsEarlierRecords() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(["--latency-ms", "600"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        let f = dir.write("in/app.ndjson", records(0..<3000))
        let p = pipeline(dir, files: ["in/app.ndjson"])
        let state = dir.file("state")
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        #expect(try run(args, env: emu.env).status == 0)
        try append(f, records(3000..<6000))
        // One request at a time, 600 ms each (room for a slow, loaded machine to notice the
        // acknowledgements in time): killed after its second acknowledgement of the
        // grown part, most of the new records are not delivered yet.
        try killAfter(acks: acks(state) + 2, args, env: emu.env, state: state, gate: emu)
        let partial = seqCounts(emu).count
        #expect(partial > 3000 && partial < 6000, "the kill came part way (\(partial) records stored)")
        // And it grew again before the next run: both the delivered version and the part the
        // killed run delivered are kept.
        try append(f, records(6000..<6500))
        let r = try run(args, env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")
        let counts = seqCounts(emu)
        #expect((0..<3000).allSatisfy { counts[$0] == 1 }, "records delivered before the file grew were sent again")
        #expect(counts.count == 6500)
        expectOnlyTheChunkInFlightRepeats(counts)
    }

    /// The first delivery of a file killed part way, and the file grew before the next run: the
    /// records the killed run delivered are not sent again.
    @Test func aFileKilledOnItsFirstDeliveryThenGrownKeepsWhatWasDelivered() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let f = dir.write("in/app.ndjson", records(0..<3000))
        let (emu, args) = try killedPartWay(dir, files: "in/app.ndjson", latencyMs: 600)
        defer { emu.stop() }
        try append(f, records(3000..<3500))
        let r = try run(args, env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("grew since a run that stopped part way through it"), "\(r.stderr)")
        let counts = seqCounts(emu)
        #expect(counts.count == 3500)
        expectOnlyTheChunkInFlightRepeats(counts)
    }

    /// Runs logship (one request at a time) and calls `grow` once its first chunk is
    /// acknowledged. A file after a first one of many chunks is read only once the uploads
    /// have freed bodies, so it is read after `grow`: by the body bound, not by timing.
    /// Starts a run, lets the emulator take exactly one data request and hold the next (its
    /// gate), grows the live file while the run waits on that answer, then opens the gate. The
    /// reader is held back by the bodies waiting to be sent, so it reaches the live file only
    /// after it grew, however slow or loaded the machine is.
    func runWhileGrowing(
        _ args: [String], env: [String: String], state: URL, gate: EmulatorProcess, grow: () throws -> Void
    ) throws -> (Int32, String) {
        try Data("1".utf8).write(to: gate.gate)
        defer { try? FileManager.default.removeItem(at: gate.gate) }
        let proc = try startOneAtATime(args, env: env, state: state, untilAcks: 1)
        #expect(proc.isRunning, "the run was still going when the file grew")
        try grow()
        try? FileManager.default.removeItem(at: gate.gate)
        let status = try proc.wait(timeout: 120)
        return (status, proc.stderr)
    }

    /// A log being written as the run reads it: a last line without its line end, in a file
    /// that grew since the run looked at it, is not a record yet. It is left for the next run,
    /// which sends it whole.
    @Test func aLastLineStillBeingWrittenWaitsForTheNextRun() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(["--latency-ms", "100"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a-first.ndjson", records(0..<3000))
        let live = dir.write("in/b-live.ndjson", records(3000..<4000) + "{\"seq\":4000,\"msg\":\"r40")
        let p = pipeline(dir, files: ["in/*.ndjson"])
        let state = dir.file("state")
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        let (status, stderr) = try runWhileGrowing(args, env: emu.env, state: state, gate: emu) {
            try append(live, "00 ü\"}\n" + records(4001..<4200))
        }
        #expect(status == 0, "nothing rejected: \(stderr)")
        #expect(
            stderr.contains("in/b-live.ndjson: its last line has no line end yet and the file is still being written"),
            "\(stderr)")
        #expect(seqCounts(emu).count == 4000, "the records before it, and none after the size the run looked at")
        let second = try run(args, env: emu.env)
        #expect(second.status == 0, "\(second.stderr)")
        let counts = seqCounts(emu)
        #expect(counts.count == 4200 && counts.values.allSatisfy { $0 == 1 })
        #expect(
            emu.rows(API.dataCollector.table()).contains {
                ($0["seq_d"] as? NSNumber)?.intValue == 4000 && $0["msg_s"] as? String == "r4000 ü"
            })
    }

    /// A file that is not growing is complete: its last line counts without a line end (a
    /// copy made a moment ago, an hour-old export alike). Should that line go on after all, it
    /// is sent again whole, and the run says so; a line only given its line end later stays
    /// delivered.
    @Test func aSettledFileEndingMidLineThatGoesOnAfterAllIsSentWhole() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        // Cut inside a line (its JSON is not complete): rejected as it stands.
        let cut = dir.write("in/cut.ndjson", records(0..<1000) + "{\"seq\":1000,\"msg\":\"r10")
        // Complete, only without its line end.
        let whole = dir.write("in/whole.ndjson", records(5000..<5100) + "{\"seq\":5100,\"msg\":\"r5100\"}")
        let p = pipeline(dir, files: ["in/*.ndjson"])
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("state").path, "--progress",
            "none",
        ]
        let first = try run(args, env: emu.env)
        #expect(first.status == 1, "the cut line is rejected: \(first.stderr)")
        #expect(seqCounts(emu).count == 1101, "the last lines count")
        try append(cut, "00 ü\"}\n" + records(1001..<1200))
        try append(whole, "\n" + records(5101..<5200))
        let second = try run(args, env: emu.env)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(
            second.stderr.contains("in/cut.ndjson: its last line had no line end when it was read"), "\(second.stderr)")
        #expect(!second.stderr.contains("in/whole.ndjson: its last line"), "\(second.stderr)")
        let counts = seqCounts(emu)
        #expect(counts.count == 1400)
        #expect(counts.values.allSatisfy { $0 == 1 }, "\(counts.filter { $0.value > 1 }.keys.sorted())")
        #expect(
            emu.rows(API.dataCollector.table()).contains {
                ($0["seq_d"] as? NSNumber)?.intValue == 1000 && $0["msg_s"] as? String == "r1000 ü"
            })
    }

    /// A CSV export still being written, cut inside a quoted field that spans lines: the
    /// record waits for the next run from its first line on, and is then sent whole.
    @Test func aCSVRecordStillBeingWrittenWaitsWhole() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(["--latency-ms", "100"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        func rows(_ r: ClosedRange<Int>) -> String {
            r.map { "\($0),row \($0) \(String(repeating: "x", count: 60))" }.joined(separator: "\n")
        }
        // Typed CSV is decoded ahead on a thread of its own, up to about 20,000 records ahead
        // of the chunker: the first file is long enough that the second is reached only after
        // several acknowledgements.
        dir.write("in/a-first.csv", "id,note\n" + rows(1...40_000) + "\n")
        let live = dir.write("in/b-live.csv", "id,note\n" + rows(50_001...50_500) + "\n50501,\"first line\nstill")
        let p = dir.write(
            "csv.json5",
            """
            { version: 1, source: { files: ["in/*.csv"], format: "csv" }, limits: { maxBodyBytes: 200000 }, target: { logType: "Csv" } }
            """)
        let state = dir.file("state")
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        let (status, stderr) = try runWhileGrowing(args, env: emu.env, state: state, gate: emu) {
            try append(live, " going\"\n" + rows(50_502...50_600) + "\n")
        }
        #expect(status == 0, "nothing rejected: \(stderr)")
        #expect(stderr.contains("in/b-live.csv: its last line has no line end yet"), "\(stderr)")
        func ids() -> [String: Int] {
            var c: [String: Int] = [:]
            for r in emu.rows("Csv_CL") { if let id = r["id_s"] as? String { c[id, default: 0] += 1 } }
            return c
        }
        #expect(ids().count == 40_500)
        let second = try run(args, env: emu.env)
        #expect(second.status == 0, "\(second.stderr)")
        let counts = ids()
        #expect(counts.count == 40_600 && counts.values.allSatisfy { $0 == 1 }, "\(counts.count) ids")
        #expect(
            emu.rows("Csv_CL").contains {
                $0["id_s"] as? String == "50501" && $0["note_s"] as? String == "first line\nstill going"
            })
    }

    /// A run killed part way through `access.log`, then logrotate renamed it before the next
    /// run: what the killed run delivered is not sent again from `access.log.1`.
    @Test func aFileKilledPartWayThenRotatedKeepsWhatWasDelivered() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let log = dir.write("in/access.log", records(0..<3000))
        let (emu, args) = try killedPartWay(dir, files: "in/access.log*", latencyMs: 150)
        defer { emu.stop() }
        try append(log, records(3000..<3200))
        try FileManager.default.moveItem(at: log, to: dir.file("in/access.log.1"))
        dir.write("in/access.log", records(3200..<3400))
        let r = try run(args, env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stderr.contains("in/access.log.1 begins with in/access.log as a run that stopped part way delivered it"),
            "\(r.stderr)")
        #expect(!r.stderr.contains("changed since it was delivered"), "\(r.stderr)")
        let counts = seqCounts(emu)
        #expect(counts.count == 3400)
        expectOnlyTheChunkInFlightRepeats(counts)
    }
}
