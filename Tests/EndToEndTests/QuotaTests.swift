import Foundation
import Testing

/// `logship run` against an emulator whose per-DCR quota is scaled down (a few requests per
/// two-second window, `--quota-window-ms` being the emulator's knob for tests): the run paces
/// itself instead of dead-lettering or storming. Counts only, never speed.
@Suite(.serialized) struct QuotaTests {
    static func pipeline(_ dir: TempDir, dcrs: [String], maxAttempts: Int) -> URL {
        dir.write(
            "p.json5",
            """
            { version: 1, name: "quota",
              source: { files: ["in/a.ndjson"], format: "ndjson" },
              limits: { maxBodyBytes: 20000 },
              upload: { maxAttempts: \(maxAttempts) },
              target: { api: "logs-ingestion", endpoint: "http://127.0.0.1:9",
                        dcrImmutableId: [\(dcrs.map { "\"\($0)\"" }.joined(separator: ", "))], stream: "Custom-Engine" } }
            """)
    }

    static func quota(_ emu: EmulatorProcess) -> [String: [String: Any]] {
        (emu.stats()["quota"] as? [String: [String: Any]]) ?? [:]
    }

    static func windows(_ q: [String: Any]?) -> [(requests: Int, throttled: Int)] {
        ((q?["windows"] as? [[String: Any]]) ?? []).map {
            (($0["requests"] as? Int) ?? 0, ($0["throttled"] as? Int) ?? 0)
        }
    }

    static func ackedBy(_ state: URL) throws -> [String: Int] {
        var out: [String: Int] = [:]
        let text = try String(contentsOf: state.appendingPathComponent("manifest.jsonl"), encoding: .utf8)
        for line in text.split(separator: "\n") {
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                o["t"] as? String == "ack"
            else { continue }
            out[(o["dcr"] as? String) ?? "(none)", default: 0] += 1
        }
        return out
    }

    /// 40 chunks, 4 requests per 2 s window, and upload.maxAttempts 2: a 429 that says when to
    /// come back must not count as an attempt, or chunks would be dead-lettered.
    /// Runs 9,000 records into `emu` over `dcrs` (two attempts a body): every one arrives once
    /// and nothing is dead-lettered, however the quota answers. Returns the state directory.
    static func deliverAll(_ dir: TempDir, _ emu: EmulatorProcess, dcrs: [String]) throws -> URL {
        dir.write("in/a.ndjson", records(0..<9_000))
        let p = Self.pipeline(dir, dcrs: dcrs, maxAttempts: 2)
        let state = dir.file("state")
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
            env: emu.ingestionEnv, timeout: 600)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(report(state)["chunksDeadLettered"] as? Int == 0)
        let counts = seqCounts(emu, .logsIngestion)
        #expect(counts.count == 9_000 && counts.values.allSatisfy { $0 == 1 })
        return state
    }

    @Test func aRunAgainstAQuotaPacesItselfWithNoDeadLetters() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(
            ["--dcr-requests-per-minute", "4", "--quota-window-ms", "2000"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        let state = try Self.deliverAll(dir, emu, dcrs: ["dcr-engine"])
        let q = Self.quota(emu)["dcr-engine"]
        let windows = Self.windows(q)
        let accepted = (q?["accepted"] as? Int) ?? 0
        let throttled = emu.int("throttled")
        #expect(accepted >= 36, "about 40 chunks of 20 KB")
        #expect(windows.allSatisfy { $0.requests <= 4 })
        #expect(windows.reduce(0) { $0 + $1.requests } == accepted)
        #expect(API.logsIngestion.dataRequests(emu) == accepted + throttled)
        // The run had to pace (more chunks than one window takes) …
        #expect(throttled > 0)
        // … and was answered by pacing, not by a storm: once the rate is learned a window ends
        // with at most a probe's 429, far fewer than one per accepted request.
        #expect(throttled * 3 <= accepted, "\(throttled) 429s for \(accepted) accepted; windows \(windows)")
        #expect(try Self.ackedBy(state) == ["dcr-engine": accepted])
    }

    /// Two DCRs, each with its own quota: chunks go to both and the manifest says which one
    /// acknowledged each.
    @Test func chunksAreSpreadOverTwoDCRsAndTheManifestNamesEach() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(
            ["--dcr-requests-per-minute", "4", "--quota-window-ms", "2000"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        let state = try Self.deliverAll(dir, emu, dcrs: ["dcr-a", "dcr-b"])
        let quota = Self.quota(emu)
        let a = (quota["dcr-a"]?["accepted"] as? Int) ?? 0
        let b = (quota["dcr-b"]?["accepted"] as? Int) ?? 0
        #expect(a > 0 && b > 0, "both DCRs took chunks: \(a) and \(b)")
        #expect(Self.windows(quota["dcr-a"]).allSatisfy { $0.requests <= 4 })
        #expect(Self.windows(quota["dcr-b"]).allSatisfy { $0.requests <= 4 })
        #expect(try Self.ackedBy(state) == ["dcr-a": a, "dcr-b": b])
    }
}
