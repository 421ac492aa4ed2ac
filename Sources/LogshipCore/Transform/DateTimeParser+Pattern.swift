import LogshipSupport

/// strftime-style patterns (`format: "%d/%b/%Y:%H:%M:%S %z"`): see `DateTimeParser` for the
/// conventions every format shares.
extension DateTimeParser {
    /// strptime-like matching of `items` against the whole input.
    ///
    /// - `%Y` exactly 4 digits; `%y` exactly 2 (69–99 → 19xx, 00–68 → 20xx, as POSIX).
    /// - `%m %d %H %I %M %S` 1–2 digits and `%j` 1–3 digits, greedy; `%e` is `%d` after optional spaces.
    /// - `%b %B %h` and `%a %A` take an English name, full or three-letter, any case; weekdays are
    ///   not checked against the date.
    /// - `%p` AM/PM (any case) applies to `%I` only; `%I` without `%p` is AM (Python's rule).
    /// - `%f` 1–9 fraction digits, cut to milliseconds.
    /// - `%z` `Z`, `±hh`, `±hhmm`, `±hh:mm`; `%Z` `UTC`, `GMT` or `Z` (any case).
    /// - `%s` epoch seconds fix the instant: other date, time and zone fields are matched but
    ///   ignored, except `%f`, which extends the seconds (its sign follows `%s`).
    /// - A run of whitespace in the pattern matches one or more whitespace bytes; any other byte
    ///   matches itself exactly.
    /// - Missing fields default to 1970-01-01 00:00:00.000 UTC. A pattern without a year is almost
    ///   certainly a mistake upstream; 1970 at least makes it visible in the output. `%j` wins over
    ///   `%m`/`%d` when both are present (as in Python).
    static func parsePattern(_ b: UnsafeRawBufferPointer, _ items: [DateTimeFormat.PatternItem]) -> Int64? {
        var zoned = false
        return parsePattern(b, items, zoned: &zoned)
    }

    /// `zoned`: set when the pattern read an offset or zone name (`%z`, `%Z`) or epoch seconds (`%s`).
    static func parsePattern(
        _ b: UnsafeRawBufferPointer, _ items: [DateTimeFormat.PatternItem], zoned: inout Bool
    ) -> Int64? {
        let n = b.count
        var i = 0
        var year = 1970, month = 1, day = 1, yearDay = 0
        var hour = 0, hour12 = 0, hasHour12 = false, pm = false
        var minute = 0, second = 0, frac = 0, fracFiner = false
        var offsetMinutes = 0
        var epoch: Int64 = 0, hasEpoch = false, epochNegative = false

        var k = 0
        let count = items.count
        while k < count {
            switch items[k] {
            case .literal(let c):
                if isSpace(c) {
                    while k + 1 < count, case .literal(let next) = items[k + 1], isSpace(next) { k += 1 }
                    guard i < n, isSpace(b[i]) else { return nil }
                    repeat { i += 1 } while i < n && isSpace(b[i])
                } else {
                    guard i < n, b[i] == c else { return nil }
                    i += 1
                }
            case .directive(let d):
                switch d {
                case UInt8(ascii: "Y"):
                    guard i + 4 <= n, let v = four(b, i) else { return nil }
                    year = v
                    i += 4
                case UInt8(ascii: "y"):
                    guard i + 2 <= n, let v = two(b, i) else { return nil }
                    year = v < 69 ? 2000 + v : 1900 + v
                    i += 2
                case UInt8(ascii: "m"):
                    guard let v = number(b, &i, width: 2), v >= 1, v <= 12 else { return nil }
                    month = v
                case UInt8(ascii: "d"), UInt8(ascii: "e"):
                    if d == UInt8(ascii: "e") {
                        while i < n && b[i] == UInt8(ascii: " ") { i += 1 }
                    }
                    guard let v = number(b, &i, width: 2), v >= 1, v <= 31 else { return nil }
                    day = v
                case UInt8(ascii: "j"):
                    guard let v = number(b, &i, width: 3), v >= 1, v <= 366 else { return nil }
                    yearDay = v
                case UInt8(ascii: "H"):
                    guard let v = number(b, &i, width: 2), v <= 23 else { return nil }
                    hour = v
                case UInt8(ascii: "I"):
                    guard let v = number(b, &i, width: 2), v >= 1, v <= 12 else { return nil }
                    hour12 = v
                    hasHour12 = true
                case UInt8(ascii: "M"):
                    guard let v = number(b, &i, width: 2), v <= 59 else { return nil }
                    minute = v
                case UInt8(ascii: "S"):
                    guard let v = number(b, &i, width: 2), v <= 60 else { return nil }
                    second = v
                case UInt8(ascii: "f"):
                    let start = i
                    guard let v = fraction(b, &i) else { return nil }
                    frac = v
                    fracFiner = false
                    var j = start + 3
                    while j < i {
                        if b[j] != UInt8(ascii: "0") { fracFiner = true }
                        j += 1
                    }
                case UInt8(ascii: "b"), UInt8(ascii: "B"), UInt8(ascii: "h"):
                    guard let v = monthName(b, &i) else { return nil }
                    month = v
                case UInt8(ascii: "a"), UInt8(ascii: "A"):
                    guard weekdayName(b, &i) else { return nil }
                case UInt8(ascii: "p"):
                    guard i + 2 <= n, b[i + 1] | 0x20 == UInt8(ascii: "m") else { return nil }
                    switch b[i] | 0x20 {
                    case UInt8(ascii: "a"): pm = false
                    case UInt8(ascii: "p"): pm = true
                    default: return nil
                    }
                    i += 2
                case UInt8(ascii: "z"):
                    guard i < n else { return nil }
                    zoned = true
                    if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                        offsetMinutes = 0
                        i += 1
                    } else {
                        guard let o = offset(b, &i) else { return nil }
                        offsetMinutes = o
                    }
                case UInt8(ascii: "Z"):
                    zoned = true
                    if i + 3 <= n, key3(b, i) == 0x757463 || key3(b, i) == 0x676d74 {  // utc, gmt
                        i += 3
                    } else if i < n, b[i] | 0x20 == UInt8(ascii: "z") {
                        i += 1
                    } else {
                        return nil
                    }
                case UInt8(ascii: "s"):
                    zoned = true
                    epochNegative = false
                    if i < n && b[i] == UInt8(ascii: "-") {
                        epochNegative = true
                        i += 1
                    }
                    let start = i
                    var v: Int64 = 0
                    while i < n, b[i] &- 48 < 10 {
                        v = v * 10 + Int64(b[i] &- 48)
                        guard v <= 1_000_000_000_000 else { return nil }
                        i += 1
                    }
                    guard i > start else { return nil }
                    epoch = v
                    hasEpoch = true
                default:
                    return nil  // DateTimeFormat.parse admits no other directive
                }
            }
            k += 1
        }
        guard i == n else { return nil }

        if hasEpoch {
            let magnitude = epoch * 1000 + Int64(frac)
            return inRange(epochNegative ? -magnitude - (fracFiner ? 1 : 0) : magnitude)
        }
        if hasHour12 { hour = hour12 % 12 + (pm ? 12 : 0) }
        if second == 60 {
            second = 59
            frac = 999
        }
        guard year >= 1, year <= 9999 else { return nil }
        let days: Int64
        if yearDay > 0 {
            guard yearDay <= (CivilDate.isLeap(year) ? 366 : 365) else { return nil }
            days = CivilDate.toDays(year: year, month: 1, day: 1) + Int64(yearDay - 1)
        } else {
            guard day <= CivilDate.daysInMonth(year: year, month: month) else { return nil }
            days = CivilDate.toDays(year: year, month: month, day: day)
        }
        let local = days * 86_400_000 + Int64(hour * 3_600_000 + minute * 60_000 + second * 1000 + frac)
        return inRange(local - Int64(offsetMinutes) * 60_000)
    }
}
