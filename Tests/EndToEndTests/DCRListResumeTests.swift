import Foundation
import Testing

/// A backfill may gain a DCR half-way (for its quota): the DCRs of a list send one stream into
/// one table, so the state written with the first one resumes with the longer list, and only
/// what was not yet delivered is sent. Putting another DCR first names another destination.
@Suite struct DCRListResumeTests {
    static func pipeline(_ dir: TempDir, dcrs: [String]) -> URL {
        dir.write(
            "p.json5",
            """
            { version: 1, name: "grow", source: { files: ["in/*.ndjson"], format: "ndjson" },
              limits: { maxBodyBytes: 20000 },
              target: { api: "logs-ingestion", endpoint: "http://127.0.0.1:9",
                        dcrImmutableId: [\(dcrs.map { "\"\($0)\"" }.joined(separator: ", "))], stream: "Custom-Engine" } }
            """)
    }

    @Test func addingADCRKeepsTheStateAndSendsOnlyTheRest() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess([], dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("in/a.ndjson", records(0..<2_000))
        let state = dir.file("state")
        func runIt(_ dcrs: [String]) throws -> ProcessResult {
            let p = Self.pipeline(dir, dcrs: dcrs)
            return try run(
                ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
                env: emu.ingestionEnv)
        }
        let first = try runIt(["dcr-one"])
        #expect(first.status == 0, "\(first.stderr)")
        dir.write("in/b.ndjson", records(2_000..<4_000))
        let second = try runIt(["dcr-one", "dcr-two"])
        #expect(second.status == 0, "\(second.stderr)")
        let counts = seqCounts(emu, .logsIngestion)
        #expect(counts.count == 4_000 && counts.values.allSatisfy { $0 == 1 }, "each record once")
        #expect(report(state)["recordsSent"] as? Int == 2_000, "the second run sent b only")

        // Another DCR first is another destination: refused before anything is sent.
        let before = API.logsIngestion.dataRequests(emu)
        let swapped = try runIt(["dcr-three", "dcr-one"])
        #expect(swapped.status == 2, "\(swapped.stderr)")
        #expect(API.logsIngestion.dataRequests(emu) == before)
    }
}
