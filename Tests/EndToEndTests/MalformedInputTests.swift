import Foundation
import Testing

/// Whatever the files hold, the binary ends with 0–3 and a message, never a signal or a hang.
@Suite(.serialized) struct MalformedInputTests {
    /// The reproduction: `printf '{\377 files:' > p.json5; logship validate p.json5`.
    @Test func aPipelineThatIsNotUTF8IsAnErrorNotACrash() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let file = dir.file("p.json5")
        try Data([0x7B, 0xFF, 0x20, 0x66, 0x69, 0x6C, 0x65, 0x73, 0x3A]).write(to: file)
        for command in ["validate", "preview", "run", "status"] {
            let r = try runWithClosedPipes([command, file.path], stdout: false, stderr: false)
            #expect(!r.signalled && r.status == 2, "\(command): status \(r.status)\n\(r.stderr)")
            #expect(
                r.stderr.contains("p.json5:1:2:") && r.stderr.contains("UTF-8") && r.stderr.contains("0xFF"),
                "\(command): \(r.stderr)")
            #expect(!r.stderr.contains("Fatal error"))
        }
    }

    /// A few seeded mutations of a pipeline and of its data through `validate` and `preview`
    /// (the in-process fuzzers in LogshipCoreTests cover many more inputs).
    @Test func mutatedFilesEndWithAnExitCodeNotASignal() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var state: UInt64 = 0x5EED
        func next() -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int(truncatingIfNeeded: (z ^ (z >> 31)) >> 1)
        }
        func mutate(_ b: [UInt8]) -> [UInt8] {
            var b = b
            for _ in 0..<(1 + next() % 6) {
                let at = next() % (b.count + 1)
                switch next() % 4 {
                case 0 where !b.isEmpty: b[min(at, b.count - 1)] = UInt8(truncatingIfNeeded: next())
                case 1:
                    b.insert(
                        contentsOf: [[0xFF], [0xC3], [0x22], [0x7B], [0x5C, 0x75], [0x0D], [0x00]][next() % 7], at: at)
                case 2 where !b.isEmpty: b.remove(at: min(at, b.count - 1))
                default: b.removeLast(b.count - at)
                }
            }
            return b
        }
        let pipelineText = Array(
            """
            { version: 1, name: "mutated", source: { files: ["in.csv"], format: "csv" },
              fields: { map: { N: { from: "n", type: "int" }, T: { from: "t", type: "datetime" } } }, target: { logType: "Mutated" } }
            """.utf8)
        let csv = Array(
            "n,t,msg\n1,2026-11-23T13:09:43Z,\"a, \"\"quoted\"\" value\"\n2,bad,plain\n3,2026-11-23T13:09:44Z,\"multi\nline\"\n"
                .utf8)
        for k in 0..<12 {
            try Data(k % 2 == 0 ? mutate(pipelineText) : pipelineText).write(to: dir.file("p.json5"))
            try Data(k % 2 == 1 ? mutate(csv) : csv).write(to: dir.file("in.csv"))
            for command in [["validate"], ["preview", "--json"], ["preview"]] {
                let r = try runWithClosedPipes(
                    [command[0], dir.file("p.json5").path] + command.dropFirst(), stdout: false, stderr: false,
                    timeout: 60)
                #expect(
                    !r.signalled && (0...3).contains(r.status), "case \(k) \(command): status \(r.status)\n\(r.stderr)")
            }
        }
    }
}
