import Foundation
import Testing

/// State directories written by an earlier logship still resume: changing a default must not
/// change the spec hash of pipelines that leave the key out.
@Suite struct StateCompatibilityTests {
    /// `Tests/Fixtures/state-before-per-api-limits`: a logs-ingestion pipeline without
    /// `limits.maxFields`, and the state its run wrote when the default was 50 for every API.
    /// Today the default is 500 for the Logs Ingestion API; the next night's file goes out and
    /// the delivered one is skipped.
    @Test func aStateWrittenBeforeThePerAPIFieldLimitResumes() throws {
        let fixture = Binary.packageRoot.appendingPathComponent("Tests/Fixtures/state-before-per-api-limits")
        let dir = TempDir()
        defer { dir.cleanup() }
        let work = dir.file("work")
        try FileManager.default.copyItem(at: fixture, to: work)
        var lines = ""
        for i in 0..<10 {
            lines += "{\"time\":\"2026-11-23T11:\(10 + i):00Z\",\"level\":\"warn\",\"seq\":\(100 + i)}\n"
        }
        try lines.write(to: work.appendingPathComponent("in/b.ndjson"), atomically: true, encoding: .utf8)

        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        var env = emu.ingestionEnv
        env["LOGSHIP_ENDPOINT"] = emu.url.absoluteString
        env["LOGSHIP_NOW"] = "2026-11-23T12:00:00Z"
        let pipeline = work.appendingPathComponent("pipeline.json5").path
        let state = work.appendingPathComponent("state").path
        let r = try run(["run", pipeline, "--state-dir", state, "--progress", "none"], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("changed"), "\(r.stderr)")
        let rep = report(URL(fileURLWithPath: state))
        #expect(rep["recordsSent"] as? Int == 10, "only the new file is sent: \(rep)")
        #expect((emu.stats()["streams"] as? [String: Int])?["Custom-Fixture"] == 10)
    }
}
