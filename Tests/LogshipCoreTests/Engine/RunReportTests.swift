import Foundation
import Testing

@testable import LogshipCore

@Suite struct RunReportTests {
    /// A `last-run.json` written before fields were added (here: without the dead-letter and
    /// outage fields) is still read, the new fields at their defaults.
    @Test func aReportOfAnEarlierVersionIsRead() throws {
        let old =
            #"{"pipeline":"p.json5","target":"t","startedAt":"2026-11-20T01:00:00Z","durationSeconds":1.5,"recordsSent":42,"exitCode":0}"#
        #expect(
            (try? JSONDecoder().decode(RunReport.self, from: Data(old.utf8))) == nil,
            "the plain decoder needs every key")
        let r = try RunReport.decodingOlder(Data(old.utf8))
        #expect(r.recordsSent == 42 && r.startedAt == "2026-11-20T01:00:00Z")
        #expect(r.pendingDeadLetters.isEmpty && !r.unreachable)
    }
}
