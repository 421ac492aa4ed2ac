import Foundation
import LogshipCore

/// The time TimeGenerated ages are measured from: now, or `LOGSHIP_NOW` (an ISO 8601 time; UTC
/// without an offset) for reproducible previews, demos over old samples, and tests that must hold on
/// any date. Only the two-day/one-day TimeGenerated window moves; request signatures and
/// tokens always use the real clock, since the service checks them against its own.
enum ReferenceClock {
    static let variable = "LOGSHIP_NOW"

    /// The reference time, or a usage error naming the variable when it cannot be read.
    static func now(_ env: [String: String] = ProcessInfo.processInfo.environment) throws(UsageError) -> Date {
        guard let text = env[variable], !text.isEmpty else { return Date() }
        let millis = Array(text.utf8).withUnsafeBytes { DateTimeParser.parse($0, format: .iso8601) }
        guard let millis else {
            throw UsageError(
                description: """
                    logship: \(variable)="\(text)" is not an ISO 8601 time; write e.g. \(variable)=2026-11-23T12:00:00Z \
                    (no offset means UTC), or unset it to use the clock
                    """)
        }
        return Date(timeIntervalSince1970: Double(millis) / 1000)
    }

    /// Seconds to add to the real clock to reach the reference time (0 without `LOGSHIP_NOW`).
    static func offset() throws(UsageError) -> Double {
        let real = Date()
        return try now().timeIntervalSince(real)
    }
}
