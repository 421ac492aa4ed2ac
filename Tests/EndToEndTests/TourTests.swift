import Foundation
import Testing

/// The README's five-minute tour, typed as a newcomer types it: the `sh` blocks of "A five-minute
/// tour" run in bash, in a copy of samples/ and pipelines/, with this build's `logship` on the
/// PATH. Every command exits as the text says, and the records end where the text says.
@Suite struct TourTests {
    @Test func theTourRunsAsWritten() throws {
        let section = try #require(
            try Readme.load().section("A five-minute tour"), "README.md has no \"## A five-minute tour\"")
        let blocks = Readme.fencedBlocks(section).filter { $0.info == "sh" }
            .map { $0.lines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty } }
        try #require(blocks.count == 5, "the tour has \(blocks.count) sh blocks; this test knows five steps")

        let dir = TempDir("logship-tour")
        defer { dir.cleanup() }
        for folder in ["samples", "pipelines"] {
            try FileManager.default.copyItem(
                at: Binary.packageRoot.appendingPathComponent(folder), to: dir.file(folder))
        }
        let bin = dir.file("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: bin.appendingPathComponent("logship").path, withDestinationPath: Binary.path)
        // The tour's fixed port 8089 becomes one an emulator had a moment ago (a fixed port
        // would collide with other tests running beside this one).
        let probe = try EmulatorProcess(dataDir: dir.file("probe"))
        let port = try #require(probe.url.port)
        probe.stop()

        // Each command is followed by a line with its exit status; background emulators note
        // their PIDs, so they are stopped below whatever happens to the script.
        var script = "set -u\ncd '\(dir.url.path)'\nexport PATH='\(bin.path)':\"$PATH\"\n"
        var expected: [String: Int32] = [:]
        for (i, block) in blocks.enumerated() {
            // The last step needs an Azure subscription: its first command (dcr) runs, no more.
            for (k, line) in (i == 4 ? Array(block.prefix(1)) : block).enumerated() {
                script += line.replacingOccurrences(of: "8089", with: String(port)) + "\n"
                if line.hasSuffix("&") { script += "echo $! >> pids\n" }
                script += "echo \"rc \(i).\(k) $?\" >&2\n"
                // The run against the refusing emulator leaves dead letters: exit 1, as the tour says.
                expected["\(i).\(k)"] = line.contains("logship run pipelines/") && line.contains("--endpoint") ? 1 : 0
            }
        }
        script += "kill $(jobs -p) 2>/dev/null; wait\n"
        let r: ProcessResult
        do {
            r = try run(
                [dir.write("tour.sh", script).path], executable: "/bin/bash", env: samplesClock, cwd: dir.url,
                timeout: 300)
        } catch {
            // bash was killed before its last line stopped and waited for the emulators.
            Self.stopAll(listedIn: dir.file("pids"))
            throw error
        }

        var seen: [String: Int32] = [:]
        for line in r.stderr.split(separator: "\n") where line.hasPrefix("rc ") {
            let parts = line.split(separator: " ")
            if parts.count == 3 { seen[String(parts[1])] = Int32(parts[2]) }
        }
        #expect(seen == expected, "exit statuses by step.command; stderr:\n\(r.stderr)")

        // Step 1 wrote the pipeline; step 3 sent its 140 records once, though it ran twice.
        #expect(FileManager.default.fileExists(atPath: dir.file("orders.json5").path))
        let local = try String(
            contentsOf: dir.file(".logship/orders/local/emulator/Custom-Orders.ndjson"), encoding: .utf8)
        #expect(local.split(separator: "\n").count == 140)
        // Step 4: the two records of the refused customer were dead-lettered, then replayed; the
        // emulators stored the 300 records of the orders once each, and nothing waits.
        let stored = try String(contentsOf: dir.file("emulator-data/OrdersNightly_CL.ndjson"), encoding: .utf8).split(
            separator: "\n")
        #expect(stored.count == 300)
        #expect(stored.filter { $0.contains("zoe.nowak@example.com") }.count == 2)
        let ids = stored.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["LogshipId_g"] as? String
        }
        #expect(Set(ids).count == 300)
        let letters =
            (try? FileManager.default.contentsOfDirectory(
                atPath: dir.file("pipelines/.logship/orders-csv/deadletter").path)) ?? []
        #expect(letters.isEmpty, "\(letters)")
    }

    /// SIGTERM to each PID the script noted that is still running, then wait until it is gone
    /// (bounded; SIGKILL after 10 s).
    static func stopAll(listedIn file: URL) {
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        for pid in text.split(separator: "\n").compactMap({ pid_t($0) }) where pid > 1 {
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while kill(pid, 0) == 0 && Date() < deadline { usleep(20_000) }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
    }
}
