import Foundation
import Testing

/// A record's reject is written once, however often a resumed run reads its chunk again.
@Suite(.serialized) struct RejectsResumeTests {
    /// 6000 lines, every 13th not JSON: 462 rejects among 5538 records.
    typealias Expected = (file: URL, rejects: Set<Int>, valid: Int)

    func input(_ dir: TempDir) -> Expected {
        var lines: [String] = []
        var rejects = Set<Int>()
        for i in 0..<6000 {
            if i % 13 == 5 {
                lines.append("{broken \(i) " + String(repeating: "y", count: 60))
                rejects.insert(i + 1)
            } else {
                lines.append(records(i..<i + 1).trimmingCharacters(in: .newlines))
            }
        }
        let f = dir.write("in/a.ndjson", lines.joined(separator: "\n") + "\n")
        return (f, rejects, 6000 - rejects.count)
    }

    /// The rejects file's lines per location (file, line, offset).
    func rejectsByLocation(_ state: URL) throws -> [String: Int] {
        let text = try String(contentsOf: state.appendingPathComponent("rejects.ndjson"), encoding: .utf8)
        var out: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            let key = "\(o["file"] ?? "?"):\(o["line"] ?? "?"):\(o["offset"] ?? "?")"
            out[key, default: 0] += 1
        }
        return out
    }

    func check(_ state: URL, _ emu: EmulatorProcess, _ expected: Expected) throws {
        let found = try rejectsByLocation(state)
        let repeated = found.filter { $0.value > 1 }
        #expect(
            repeated.isEmpty,
            "\(repeated.count) rejects written more than once, e.g. \(repeated.keys.sorted().prefix(3))")
        let lines = Set(found.keys.compactMap { Int($0.split(separator: ":")[1]) })
        #expect(
            lines == expected.rejects, "every reject is in rejects.ndjson (\(lines.count) of \(expected.rejects.count))"
        )
        #expect(found.keys.allSatisfy { $0.hasPrefix("in/a.ndjson:") })
        #expect(seqCounts(emu).count == expected.valid, "every valid record arrives")
    }

    /// The input, its pipeline into `emu` (answering one request at a time, 150 ms each), the
    /// state directory and the arguments of a run that can be stopped and resumed.
    func resumable(_ dir: TempDir, _ emu: EmulatorProcess) -> (Expected, URL, [String]) {
        let expected = input(dir)
        let p = pipeline(dir, files: ["in/a.ndjson"])
        let state = dir.file("state")
        let args = [
            "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none",
        ]
        return (expected, state, args)
    }

    /// SIGINT once a few chunks are acknowledged (one request at a time, 150 ms each), then a
    /// resume: the rejects of chunks read ahead of the acknowledgements used to be written
    /// again when the resumed run read those chunks again.
    @Test func rejectsAreWrittenOnceAcrossAnInterruptAndResume() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(["--latency-ms", "150"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        let (expected, state, args) = resumable(dir, emu)
        let proc = try RotationTests().startOneAtATime(args, env: emu.env, state: state, untilAcks: 3)
        #expect(proc.isRunning, "the run was still going at its third acknowledgement")
        kill(proc.pid, SIGINT)
        #expect(try proc.wait(timeout: 60) == 130, "\(proc.stderr)")
        #expect(seqCounts(emu).count < expected.valid, "the interrupt came part way")
        let r = try run(args, env: emu.env)
        #expect(r.status == 1, "rejects make exit 1: \(r.stderr)")
        try check(state, emu, expected)
    }

    /// The same with SIGKILL, twice, at moments set by acknowledgements.
    @Test func rejectsAreWrittenOnceAcrossKillsAndResumes() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(["--latency-ms", "150"], dataDir: dir.file("emu"))
        defer { emu.stop() }
        let (expected, state, args) = resumable(dir, emu)
        let rotation = RotationTests()
        try rotation.killAfter(acks: 3, args, env: emu.env, state: state, gate: emu)
        try rotation.killAfter(acks: rotation.acks(state) + 3, args, env: emu.env, state: state, gate: emu)
        #expect(seqCounts(emu).count < expected.valid, "the kills came part way")
        let r = try run(args, env: emu.env)
        #expect(r.status == 1, "rejects make exit 1: \(r.stderr)")
        try check(state, emu, expected)
    }

    /// A reject line torn by a kill mid-write is cut off, and the reject written whole again.
    @Test func aTornRejectLineIsReplacedWhole() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess([], dataDir: dir.file("emu"))
        defer { emu.stop() }
        let expected = input(dir)
        let p = pipeline(dir, files: ["in/a.ndjson"])
        let state = dir.file("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        try Data("{\"file\":\"in/a.ndjson\",\"line\":6,\"off".utf8).write(
            to: state.appendingPathComponent("rejects.ndjson"))
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
            env: emu.env)
        #expect(r.status == 1, "\(r.stderr)")
        try check(state, emu, expected)
    }
}
