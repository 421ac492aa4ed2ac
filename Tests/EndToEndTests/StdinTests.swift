import Foundation
import Testing

/// `source.files: ["-"]` reads stdin, which has no fingerprint to recognise it by.
@Suite struct StdinTests {
    /// Runs logship with `input` on its stdin.
    static func run(_ args: [String], input: String) throws -> ProcessResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Binary.path)
        p.arguments = args
        p.environment = processEnvironment([:])
        let inp = Pipe(), out = Pipe(), err = Pipe()
        p.standardInput = inp
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let g = DispatchGroup()
        let o = collect(out, g), r = collect(err, g)
        inp.fileHandleForWriting.write(Data(input.utf8))
        try inp.fileHandleForWriting.close()
        try finish(p, args, timeout: 60, readers: g)
        return ProcessResult(
            status: p.terminationStatus, stdout: String(decoding: o.get(), as: UTF8.self),
            stderr: String(decoding: r.get(), as: UTF8.self))
    }

    /// Two runs on one state directory, each fed other records on stdin (the same number of
    /// them): both are delivered, and their record ids differ. (Chunks of stdin used to be
    /// identified by position alone, so the second run took its records for the first run's,
    /// sent nothing and exited 0; and both runs' record ids were the same.)
    @Test func laterRunsOnTheSameStateSendWhatIsPiped() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let p = dir.write(
            "stdin.json5",
            """
            { version: 1, name: "stdin", source: { files: ["-"], format: "ndjson" },
              fields: { recordId: "Id" }, target: { logType: "Piped" } }
            """)
        let state = dir.file("state")
        for batch in ["a", "b"] {
            let input = (1...3).map { "{\"n\":\($0),\"batch\":\"\(batch)\"}" }.joined(separator: "\n") + "\n"
            let r = try Self.run(
                ["run", p.path, "--local", "--state-dir", state.path, "--progress", "none"], input: input)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("sent 3 records"), "\(r.stderr)")
        }
        let table = state.appendingPathComponent("local/emulator/Piped_CL.ndjson")
        let rows = try String(contentsOf: table, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(rows.count == 6)
        #expect(Set(rows.compactMap { $0["batch_s"] as? String }) == ["a", "b"])
        #expect(Set(rows.compactMap { $0["Id_g"] as? String }).count == 6, "record ids must differ between runs")
    }
}
