import Foundation
import Testing

@testable import LogshipCore

/// `logship dcr --apply --write`: the two target values change, every other byte stays.
@Suite struct PipelineFileEditTests {
    static let text = """
        // a comment
        {
          version: 1, name: "é-app",   // ünïcode before the values
          source: { files: ["x.ndjson"], format: "ndjson" },
          target: {
            api: "logs-ingestion",
            endpoint: 'https://placeholder.invalid',  // filled in by --write
            dcrImmutableId: "dcr-00000000000000000000000000000000",
            stream: "Custom-App",
          },
        }
        """

    @Test func replacesOnlyTheValues() throws {
        let out = try PipelineFileEdit.settingTarget(
            [
                ("endpoint", "https://app-x.westeurope-1.ingest.monitor.azure.com"),
                ("dcrImmutableId", "dcr-0123456789abcdef0123456789abcdef"),
            ],
            in: Self.text, file: "p.json5")
        let expected = Self.text
            .replacingOccurrences(
                of: "'https://placeholder.invalid'", with: "'https://app-x.westeurope-1.ingest.monitor.azure.com'"
            )
            .replacingOccurrences(
                of: "dcr-00000000000000000000000000000000", with: "dcr-0123456789abcdef0123456789abcdef")
        #expect(out == expected)
    }

    @Test func refusesWhatItCannotEditSafely() {
        func refusal(_ text: String) -> String {
            do {
                _ = try PipelineFileEdit.settingTarget(
                    [("endpoint", "https://e"), ("dcrImmutableId", "dcr-1")], in: text, file: "p.json5")
                return ""
            } catch {
                return error.description
            }
        }
        #expect(
            refusal(
                Self.text.replacingOccurrences(of: "'https://placeholder.invalid'", with: "\"${LOGSHIP_ENDPOINT}\"")
            ).contains("environment reference"))
        #expect(
            refusal(
                Self.text.replacingOccurrences(
                    of: "dcrImmutableId: \"dcr-00000000000000000000000000000000\",", with: "")
            ).contains("not written"))
        #expect(
            refusal(
                Self.text.replacingOccurrences(
                    of: "\"dcr-00000000000000000000000000000000\"", with: "[\"dcr-1\", \"dcr-2\"]")
            ).contains("not a string"))
        #expect(refusal("{ target: ").contains("fix the file first"))
    }
}
