import Foundation
import Testing

/// The tree stays formatted with the `.swift-format` at the root (issue 16, habits): this runs
/// `scripts/format.sh --check`, which formats copies and lists every file that would change.
@Suite struct FormatTests {
    @Test func everySwiftFileIsFormatted() throws {
        let script = Binary.packageRoot.appendingPathComponent("scripts/format.sh").path
        let r = try run([script, "--check"], executable: "/bin/bash", cwd: Binary.packageRoot, timeout: 300)
        #expect(
            r.status == 0,
            "scripts/format.sh --check exited \(r.status); run scripts/format.sh to format:\n\(r.stdout)\(r.stderr)")
    }
}
