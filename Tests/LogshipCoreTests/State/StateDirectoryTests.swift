import Foundation
import Testing

@testable import LogshipCore

@Suite struct StateDirectoryTests {
    func scratch() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)")
    }

    /// The names are a contract (docs/delivery.md "State directory"); scripts read them.
    @Test func namesTheContractFiles() {
        let s = StateDirectory(URL(fileURLWithPath: "/s"))
        #expect(s.manifest.path == "/s/manifest.jsonl")
        #expect(s.rejects.path == "/s/rejects.ndjson")
        #expect(s.deadLetterFolder.path == "/s/deadletter")
        #expect(s.lastRun.path == "/s/last-run.json")
        #expect(s.lockFile.path == "/s/lock")
    }

    /// --restart forgets deliveries and sets the dead letters aside under the restart's time.
    @Test func restartForgetsAndSetsDeadLettersAside() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let s = StateDirectory(dir)
        try FileManager.default.createDirectory(at: s.deadLetterFolder, withIntermediateDirectories: true)
        for f in [s.manifest, s.rejects, s.lastRun] { try Data("x\n".utf8).write(to: f) }
        try Data("[]".utf8).write(to: s.deadLetterFolder.appendingPathComponent("c1.json"))
        try Data("{}".utf8).write(to: s.deadLetterFolder.appendingPathComponent("c1.meta.json"))
        let when = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18T11:06:40Z
        let aside = s.restart(now: when)
        guard case .moved(let count, let to) = aside else {
            Issue.record("expected the dead letters moved aside, got \(aside)")
            return
        }
        #expect(count == 1 && to.lastPathComponent == "deadletter.before-restart-20261118T110640Z")
        #expect(FileManager.default.fileExists(atPath: to.appendingPathComponent("c1.meta.json").path))
        for f in [s.manifest, s.rejects, s.lastRun, s.deadLetterFolder] {
            #expect(!FileManager.default.fileExists(atPath: f.path))
        }
        // Nothing to set aside the second time.
        #expect(s.restart(now: when) == .none)
    }
}
