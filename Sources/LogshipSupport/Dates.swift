import Foundation

/// RFC 1123 dates (`Mon, 04 Apr 2016 08:00:00 GMT`) for `x-ms-date`, formatted and parsed by
/// hand: no DateFormatter on the request path, and no locale that could change the names.
public enum HTTPDate {
    static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Formats whole seconds since the Unix epoch.
    public static func format(unixSeconds: Int64) -> String {
        let days = floorDiv(unixSeconds, 86_400)
        let secondsOfDay = unixSeconds - days * 86_400
        let (y, m, d) = CivilDate.fromDays(days)
        let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday (4)
        let hh = secondsOfDay / 3600, mm = (secondsOfDay / 60) % 60, ss = secondsOfDay % 60
        return "\(dayNames[weekday]), \(pad2(d)) \(monthNames[m - 1]) \(y) \(pad2(hh)):\(pad2(mm)):\(pad2(ss)) GMT"
    }

    public static func format(_ date: Date) -> String {
        format(unixSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// Parses the RFC 1123 form; nil for anything else.
    public static func parse(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].count == 4, parts[0].hasSuffix(","), parts[5] == "GMT",
            let day = Int(parts[1]), let monthIndex = monthNames.firstIndex(of: String(parts[2])),
            let year = Int(parts[3]), (1...9999).contains(year)  // four digits: a larger year overflows the day count
        else { return nil }
        let hms = parts[4].split(separator: ":")
        guard hms.count == 3, let h = Int(hms[0]), let mi = Int(hms[1]), let s = Int(hms[2]),
            (0..<24).contains(h), (0..<60).contains(mi), (0...60).contains(s), (1...31).contains(day)
        else { return nil }
        let days = CivilDate.toDays(year: year, month: monthIndex + 1, day: day)
        return days * 86_400 + Int64(h * 3600 + mi * 60 + s)
    }

    private static func pad2<T: BinaryInteger>(_ v: T) -> String { v < 10 ? "0\(v)" : "\(v)" }
}

/// Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01), after
/// Howard Hinnant's `days_from_civil`. Used by every date path that must not allocate.
public enum CivilDate {
    @inlinable
    public static func toDays(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    @inlinable
    public static func fromDays(_ z0: Int64) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }

    @inlinable
    public static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    @inlinable
    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

@inlinable
public func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

extension HTTPDate {
    /// `2026-11-23T13:09:43Z`, for reports and state files.
    public static func iso8601(_ date: Date) -> String {
        let secs = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = floorDiv(secs, 86_400)
        let sod = Int(secs - days * 86_400)
        let (y, m, d) = CivilDate.fromDays(days)
        func p(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(p(m))-\(p(d))T\(p(sod / 3600)):\(p(sod / 60 % 60)):\(p(sod % 60))Z"
    }
}
