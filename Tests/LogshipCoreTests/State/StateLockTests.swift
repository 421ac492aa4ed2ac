import Foundation
import Testing

@testable import LogshipCore

@Suite struct StateLockTests {
    /// flock locks belong to open file descriptions, so two opens in one process conflict just
    /// as two processes do; the second is refused at once and told who holds the lock.
    @Test func aSecondHolderIsRefusedAndToldWhoHoldsIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lock-\(UUID().uuidString)/state")
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        var first: StateLock? = try StateLock(directory: dir, command: "run")
        #expect(first != nil)
        do {
            _ = try StateLock(directory: dir, command: "replay")
            Issue.record("a second lock on the same state directory was granted")
        } catch let held as StateLock.Held {
            #expect(held.holder.contains("pid \(getpid()), logship run"), "\(held.holder)")
            #expect(held.description.contains(dir.path))
        }
        first = nil  // released by closing, as a crash would
        let again = try StateLock(directory: dir, command: "run --restart")
        #expect(again.url.lastPathComponent == "lock")
        let mode = try FileManager.default.attributesOfItem(atPath: dir.path)[.posixPermissions] as? Int
        #expect(mode == 0o700)
    }
}
