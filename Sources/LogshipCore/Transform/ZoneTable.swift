import Foundation
import LogshipSupport

/// An IANA time zone as a sorted table of its UTC offset changes, built once from the
/// system's tz database (through Foundation) when a pipeline is loaded, so that turning a
/// local time into UTC per value is a binary search with no Foundation call.
///
/// Local times that do not exist (a DST gap) or exist twice (the repeated hour) are resolved
/// with the offset in force *before* the change, which is java.time's rule: a time in a gap
/// moves forward by the gap's length (02:30 on a spring-forward night of Europe/Amsterdam is
/// 03:30 CEST), and a repeated time takes its earlier instant (02:30 on the fall-back night is
/// 02:30 CEST, 00:30Z). The caller counts both (docs/pipeline.md "Time zones").
public final class ZoneTable: Sendable {
    public enum Resolution: UInt8, Sendable {
        case exact
        /// The local time falls in a gap; moved forward by the gap.
        case gap
        /// The local time exists twice; the earlier instant was taken.
        case repeated
    }

    public let identifier: String
    /// UTC milliseconds at which the offset changes, ascending.
    private let transitions: [Int64]
    /// `offsets[k]` (milliseconds) is in force before `transitions[k]` and from `transitions[k-1]`:
    /// one more entry than `transitions`.
    private let offsets: [Int64]
    /// `transitions[k]` in local time under the smaller of the offsets either side: the first
    /// local time the change affects. Ascending (changes are far apart compared with offsets).
    private let localStarts: [Int64]

    /// The table covers these years; outside them the offset at the nearer edge applies.
    public static let years = 1800...2200

    /// Whether the tz database knows `identifier` (an IANA name; `UTC` too).
    public static func knows(_ identifier: String) -> Bool { DateTimeFormat.knowsZone(identifier) }

    /// nil when the tz database does not know the zone.
    public init?(identifier: String) {
        guard let tz = TimeZone(identifier: identifier) else { return nil }
        self.identifier = identifier
        let from = Date(
            timeIntervalSince1970: Double(CivilDate.toDays(year: Self.years.lowerBound, month: 1, day: 1) * 86_400))
        let until = Date(
            timeIntervalSince1970: Double(CivilDate.toDays(year: Self.years.upperBound + 1, month: 1, day: 1) * 86_400))
        var transitions: [Int64] = []
        var offsets: [Int64] = [Int64(tz.secondsFromGMT(for: from)) * 1000]
        var at = from
        // Bounded: a zone changes its offset a few times a year at most.
        var steps = 0
        while steps < 10_000, let next = tz.nextDaylightSavingTimeTransition(after: at), next < until {
            steps += 1
            let o = Int64(tz.secondsFromGMT(for: next)) * 1000
            if o != offsets.last! {
                transitions.append(Int64((next.timeIntervalSince1970 * 1000).rounded()))
                offsets.append(o)
            }
            at = next
        }
        self.transitions = transitions
        self.offsets = offsets
        self.localStarts = transitions.indices.map { transitions[$0] + min(offsets[$0], offsets[$0 + 1]) }
    }

    /// The offset changes in the table, for tests and the examples in docs/pipeline.md.
    public var changeCount: Int { transitions.count }

    /// UTC milliseconds for a local wall-clock time given as milliseconds since 1970-01-01T00:00
    /// local, and how it was resolved.
    @inline(__always)
    public func utc(fromLocal local: Int64) -> (Int64, Resolution) {
        // The last change whose first affected local time is <= local.
        var lo = 0
        var hi = localStarts.count
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if localStarts[mid] <= local { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return (local - offsets[0], .exact) }
        let k = lo - 1
        let before = offsets[k]
        let after = offsets[k + 1]
        if local >= transitions[k] + max(before, after) { return (local - after, .exact) }
        // Between the two local readings of the change: a gap when the clock jumped forward,
        // a repeat when it went back. Either way the offset before the change applies.
        return (local - before, after > before ? .gap : .repeated)
    }

    /// The offset in force at a UTC instant (milliseconds).
    public func offset(atUTC utc: Int64) -> Int64 {
        var lo = 0
        var hi = transitions.count
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if transitions[mid] <= utc { lo = mid + 1 } else { hi = mid }
        }
        return offsets[lo]
    }
}
