import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

/// The client's service limits say what docs/service-facts.md says, and the emulator, which
/// keeps its own constants, agrees with both.
@Suite struct ServiceLimitsTests {
    /// The part of docs/service-facts.md under `## <title>`, up to the next `## `.
    static func section(_ title: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/service-facts.md"), encoding: .utf8)
        let parts = text.components(separatedBy: "\n## ")
        return try #require(parts.first { $0.hasPrefix(title) }, "no section \(title)")
    }

    @Test func dataCollectorLimitsAreTheDocumentedOnes() throws {
        let s = try Self.section("HTTP Data Collector API")
        typealias L = ServiceLimits.DataCollector
        #expect(L.maxBodyBytes == 30_000_000 && s.contains("at most 30,000,000 bytes"))
        #expect(L.maxValueBytes == 32_766 && s.contains("at 32,766 bytes"))
        #expect(L.maxFields == 500 && s.contains("500 custom columns per table"))
        #expect(L.recommendedFields == 50 && s.contains("50 fields per type"))
        #expect(L.maxFieldNameLength == 45 && s.contains("at most 45 characters"))
        #expect(L.maxLogTypeLength == 100 && s.contains("at most 100 characters"))
    }

    @Test func logsIngestionLimitsAreTheDocumentedOnes() throws {
        let s = try Self.section("Logs Ingestion API")
        typealias L = ServiceLimits.LogsIngestion
        #expect(L.maxBodyBytes == 1_000_000 && s.contains("at most 1 MB per call"))
        // "Values over 64 KB are cut": logship stays below.
        #expect(L.maxValueBytes < 64 * 1024 && s.contains("Values** over 64 KB are cut"))
    }

    /// Two independent copies of the same facts (the emulator must not read the client's).
    @Test func theEmulatorAgrees() {
        #expect(EmulatedAPI.logsIngestionMaxBodyBytes == ServiceLimits.LogsIngestion.maxBodyBytes)
        let config = EmulatorConfig(workspaceId: "w", sharedKey: Secret("k"))
        #expect(config.maxBodyBytes == ServiceLimits.DataCollector.maxBodyBytes)
        #expect(EmulatorStore.maxValueBytes == ServiceLimits.DataCollector.maxValueBytes)
        #expect(EmulatorStore.maxColumns == ServiceLimits.DataCollector.maxFields)
    }

    /// The client's targets cap bodies at their API's limit.
    @Test func targetsUseTheirAPIsBodyLimit() {
        #expect(DataCollectorTarget.serviceMaxBodyBytes == ServiceLimits.DataCollector.maxBodyBytes)
        #expect(LogsIngestionTarget.serviceMaxBodyBytes == ServiceLimits.LogsIngestion.maxBodyBytes)
    }
}
