import Foundation
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

/// A record holding one key twice loses a value at the service without a word; the emulator
/// stores it as the service would and counts it, so tests can check for zero.
@Suite(.serialized) struct EmulatorDuplicateKeyTests {
    @Test func aRecordHoldingAKeyTwiceIsCounted() throws {
        let e = try LocalEmulator()
        defer { e.stop() }
        let r = try e.send([["body": #"[{"a":1,"a":2,"b":1},{"a":3},{"c":1,"C":2}]"#]])
        #expect(r[0].status == 200, "\(r[0].body ?? r[0].error ?? "")")
        #expect(e.rows("Tests_CL").count == 3)
        let data = try Data(contentsOf: e.dir.file("stats.json"))
        let stats = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        // "a" twice in one record; "c" and "C" are distinct property names.
        #expect(stats["duplicateKeys"] as? Int == 1)
    }
}
