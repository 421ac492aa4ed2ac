import LogshipSupport

/// Datetime text to Unix epoch milliseconds and back, on bytes, for the per-record path.
///
/// Every call is a straight scan over the input with no allocation, no Foundation
/// formatter and no locale, so the result cannot depend on the machine it runs on.
///
/// Conventions shared by all formats:
/// - The result is the millisecond that contains the instant (floor): digits finer than a
///   millisecond are dropped, and for negative epoch values that means rounding toward the
///   past (`-0.0005` s is `-1` ms), so `writeISO(parse(x))` always equals `x` cut to 3 digits.
/// - Second `60` (a leap second) is accepted and becomes `:59.999` of the same minute, whatever
///   fraction follows it. We have no leap-second table to validate it against, and rolling over
///   to the next minute could move a `23:59:60` into the next day, month or year; clamping keeps
///   it on its own date and still sorts it after every other instant of that minute.
/// - Results are limited to years 1–9999 after the zone offset is applied, so `writeISO` can
///   always print them with a four-digit year.
/// - Input must be exactly the datetime: the caller trims surrounding spaces.
public enum DateTimeParser {
    /// 0001-01-01T00:00:00.000Z
    public static let minMillis: Int64 = -62_135_596_800_000
    /// 9999-12-31T23:59:59.999Z
    public static let maxMillis: Int64 = 253_402_300_799_999

    /// Parses `bytes` per `format`; Unix epoch milliseconds (UTC), or nil when the text does not match.
    ///
    /// `.iso8601`: `YYYY-MM-DD`, then optionally `T`/`t`/space and `hh:mm[:ss[(.|,)f{1,9}]]`, then
    /// optionally `Z`/`z`, `±hh:mm`, `±hhmm` or `±hh`; no zone means UTC. The basic form
    /// `YYYYMMDD[Thhmm[ss[.f]]][zone]` is accepted too, but the two forms are not mixed within
    /// one value (a basic date takes a basic time). A zone needs a time.
    ///
    /// `.epochSeconds` / `.epochMillis`: `[+-]digits[.digits]`, no exponent.
    ///
    /// `.pattern`: strptime-like, see `parsePattern`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, format: DateTimeFormat) -> Int64? {
        switch format {
        case .iso8601: return parseISO(bytes)
        case .epochSeconds: return parseEpoch(bytes, scale: 1000)
        case .epochMillis: return parseEpoch(bytes, scale: 1)
        case .pattern(let items): return parsePattern(bytes, items)
        }
    }

    /// Like `parse`, and a value written without an offset (`2026-03-29 02:30:00`, a pattern
    /// without `%z`/`%Z`/`%s`) is read as a wall-clock time in `zone`; values with an offset or
    /// `Z`, and epoch values, keep their own. Also tells how a DST gap or repeat was resolved.
    @inline(__always)
    public static func parse(_ bytes: UnsafeRawBufferPointer, format: DateTimeFormat, zone: ZoneTable) -> (Int64, ZoneTable.Resolution)? {
        var zoned = false
        let v: Int64?
        switch format {
        case .iso8601: v = parseISO(bytes, zoned: &zoned)
        case .epochSeconds, .epochMillis: return parse(bytes, format: format).map { ($0, .exact) }
        case .pattern(let items): v = parsePattern(bytes, items, zoned: &zoned)
        }
        guard let local = v else { return nil }
        if zoned { return (local, .exact) }
        let (utc, how) = zone.utc(fromLocal: local)
        guard let inside = inRange(utc) else { return nil }
        return (inside, how)
    }

    /// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` (always 24 bytes, always 3 fraction digits, UTC) at `out`; returns 24.
    /// Values outside years 1–9999 (which `parse` never returns) are clamped into that range.
    @discardableResult
    public static func writeISO(_ millis: Int64, to out: UnsafeMutableRawPointer) -> Int {
        let m = min(max(millis, minMillis), maxMillis)
        let days = floorDiv(m, 86_400_000)
        let msOfDay = Int(m - days * 86_400_000)
        let (y, mo, d) = CivilDate.fromDays(days)
        @inline(__always) func put(_ at: Int, _ b: UInt8) { out.storeBytes(of: b, toByteOffset: at, as: UInt8.self) }
        @inline(__always) func two(_ at: Int, _ v: Int) {
            put(at, UInt8(truncatingIfNeeded: 48 + v / 10))
            put(at + 1, UInt8(truncatingIfNeeded: 48 + v % 10))
        }
        two(0, y / 100)
        two(2, y % 100)
        put(4, 0x2D)
        two(5, mo)
        put(7, 0x2D)
        two(8, d)
        put(10, 0x54)
        two(11, msOfDay / 3_600_000)
        put(13, 0x3A)
        two(14, (msOfDay / 60_000) % 60)
        put(16, 0x3A)
        two(17, (msOfDay / 1000) % 60)
        put(19, 0x2E)
        let frac = msOfDay % 1000
        put(20, UInt8(truncatingIfNeeded: 48 + frac / 100))
        two(21, frac % 100)
        put(23, 0x5A)
        return 24
    }

    /// Whether `b`, which `parseISO` accepted, is already the text `writeISO` writes for it:
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` with an upper-case `T` and `Z` and no leap second (which
    /// becomes :59.999). Such a value is copied instead of written again.
    @inline(__always)
    public static func isCanonicalISO(_ b: UnsafeRawBufferPointer) -> Bool {
        b.count == 24 && b[4] == 0x2D && b[10] == 0x54 && b[19] == 0x2E && b[23] == 0x5A && b[17] != 0x36
    }

    // MARK: - ISO 8601

    static func parseISO(_ b: UnsafeRawBufferPointer) -> Int64? {
        var zoned = false
        return parseISO(b, zoned: &zoned)
    }

    /// `zoned`: set when the value carries its offset (`Z`, `±hh:mm`).
    static func parseISO(_ b: UnsafeRawBufferPointer, zoned: inout Bool) -> Int64? {
        let n = b.count
        guard n >= 8, let y = four(b, 0) else { return nil }
        let extended = b[4] == UInt8(ascii: "-")
        let month: Int
        let day: Int
        var i: Int
        if extended {
            guard n >= 10, b[7] == UInt8(ascii: "-"), let mo = two(b, 5), let d = two(b, 8) else { return nil }
            month = mo
            day = d
            i = 10
        } else {
            guard let mo = two(b, 4), let d = two(b, 6) else { return nil }
            month = mo
            day = d
            i = 8
        }
        guard y >= 1, month >= 1, month <= 12, day >= 1, day <= CivilDate.daysInMonth(year: y, month: month) else { return nil }
        let midnight = CivilDate.toDays(year: y, month: month, day: day) * 86_400_000
        if i == n { return midnight }

        let sep = b[i]
        guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == UInt8(ascii: " ") else { return nil }
        i += 1
        guard i + 2 <= n, let hh = two(b, i), hh <= 23 else { return nil }
        i += 2
        if extended {
            guard i < n, b[i] == UInt8(ascii: ":") else { return nil }
            i += 1
        }
        guard i + 2 <= n, let mm = two(b, i), mm <= 59 else { return nil }
        i += 2
        var ss = 0
        var frac = 0
        var hasSeconds = false
        if extended {
            if i < n && b[i] == UInt8(ascii: ":") {
                guard i + 3 <= n, let s = two(b, i + 1) else { return nil }
                ss = s
                i += 3
                hasSeconds = true
            }
        } else if i < n && b[i] &- 48 < 10 {
            guard i + 2 <= n, let s = two(b, i) else { return nil }
            ss = s
            i += 2
            hasSeconds = true
        }
        if hasSeconds && i < n && (b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",")) {
            i += 1
            guard let f = fraction(b, &i) else { return nil }
            frac = f
        }
        guard ss <= 60 else { return nil }
        if ss == 60 {
            ss = 59
            frac = 999
        }

        var offsetMinutes = 0
        if i < n {
            let c = b[i]
            if c == UInt8(ascii: "Z") || c == UInt8(ascii: "z") {
                i += 1
            } else if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
                guard let o = offset(b, &i) else { return nil }
                offsetMinutes = o
            } else {
                return nil
            }
            guard i == n else { return nil }
            zoned = true
        }
        let local = midnight + Int64(hh * 3_600_000 + mm * 60_000 + ss * 1000 + frac)
        return inRange(local - Int64(offsetMinutes) * 60_000)
    }

    // MARK: - Epoch

    /// `scale` is milliseconds per unit (1000 for seconds, 1 for milliseconds).
    static func parseEpoch(_ b: UnsafeRawBufferPointer, scale: Int64) -> Int64? {
        let n = b.count
        var i = 0
        guard n > 0 else { return nil }
        var negative = false
        if b[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
        } else if b[0] == UInt8(ascii: "+") {
            i = 1
        }
        let intStart = i
        var whole: Int64 = 0
        while i < n {
            let d = b[i] &- 48
            guard d < 10 else { break }
            whole = whole * 10 + Int64(d)
            // Far past year 9999 in either unit; stopping here keeps `whole * scale` from overflowing.
            guard whole <= 1_000_000_000_000_000 else { return nil }
            i += 1
        }
        guard i > intStart else { return nil }
        var sub: Int64 = 0  // milliseconds below the unit
        var finer = false  // a nonzero digit below one millisecond
        if i < n && b[i] == UInt8(ascii: ".") {
            i += 1
            let fracStart = i
            let kept = scale == 1000 ? 3 : 0
            while i < n {
                let d = b[i] &- 48
                guard d < 10 else { break }
                if i - fracStart < kept {
                    sub = sub * 10 + Int64(d)
                } else if d != 0 {
                    finer = true
                }
                i += 1
            }
            guard i > fracStart else { return nil }
            var k = i - fracStart
            while k < kept {
                sub *= 10
                k += 1
            }
        }
        guard i == n else { return nil }
        let magnitude = whole * scale + sub
        return inRange(negative ? -magnitude - (finer ? 1 : 0) : magnitude)
    }

    // MARK: - strftime-style patterns

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
    static func parsePattern(_ b: UnsafeRawBufferPointer, _ items: [DateTimeFormat.PatternItem], zoned: inout Bool) -> Int64? {
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

    // MARK: - Pieces

    @inline(__always)
    static func inRange(_ v: Int64) -> Int64? {
        v >= minMillis && v <= maxMillis ? v : nil
    }

    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || (c >= 0x09 && c <= 0x0D)
    }

    /// Two digits at `i` (the caller has checked `i + 2 <= count`).
    @inline(__always)
    static func two(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int? {
        let h = b[i] &- 48, l = b[i + 1] &- 48
        guard h < 10, l < 10 else { return nil }
        return Int(h) * 10 + Int(l)
    }

    /// Four digits at `i` (the caller has checked `i + 4 <= count`).
    @inline(__always)
    static func four(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int? {
        guard let h = two(b, i), let l = two(b, i + 2) else { return nil }
        return h * 100 + l
    }

    /// 1 to `width` digits, greedy, as strptime reads `%d` and friends.
    @inline(__always)
    static func number(_ b: UnsafeRawBufferPointer, _ i: inout Int, width: Int) -> Int? {
        let n = b.count
        guard i < n else { return nil }
        var d = b[i] &- 48
        guard d < 10 else { return nil }
        var v = Int(d)
        var j = i + 1
        let end = min(n, i + width)
        while j < end {
            d = b[j] &- 48
            guard d < 10 else { break }
            v = v * 10 + Int(d)
            j += 1
        }
        i = j
        return v
    }

    /// 1–9 fraction digits at `i`, as milliseconds (cut, not rounded).
    @inline(__always)
    static func fraction(_ b: UnsafeRawBufferPointer, _ i: inout Int) -> Int? {
        let n = b.count
        let start = i
        var ms = 0
        var j = i
        while j < n {
            let d = b[j] &- 48
            guard d < 10 else { break }
            if j - start < 3 { ms = ms * 10 + Int(d) }
            j += 1
        }
        let digits = j - start
        guard digits >= 1, digits <= 9 else { return nil }
        if digits == 1 { ms *= 100 } else if digits == 2 { ms *= 10 }
        i = j
        return ms
    }

    /// `±hh`, `±hhmm` or `±hh:mm` at `i` (which holds the sign), as minutes east of UTC.
    @inline(__always)
    static func offset(_ b: UnsafeRawBufferPointer, _ i: inout Int) -> Int? {
        let n = b.count
        guard i + 3 <= n else { return nil }
        let negative: Bool
        switch b[i] {
        case UInt8(ascii: "+"): negative = false
        case UInt8(ascii: "-"): negative = true
        default: return nil
        }
        guard let hh = two(b, i + 1), hh <= 23 else { return nil }
        var j = i + 3
        var mm = 0
        if j < n && b[j] == UInt8(ascii: ":") {
            guard j + 3 <= n, let m = two(b, j + 1) else { return nil }
            mm = m
            j += 3
        } else if j + 2 <= n, let m = two(b, j) {
            mm = m
            j += 2
        }
        guard mm <= 59 else { return nil }
        i = j
        let minutes = hh * 60 + mm
        return negative ? -minutes : minutes
    }

    /// Three bytes at `i` folded to lower case (meaningful for letters only) as one key.
    @inline(__always)
    static func key3(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        UInt32(b[i] | 0x20) << 16 | UInt32(b[i + 1] | 0x20) << 8 | UInt32(b[i + 2] | 0x20)
    }

    /// Consumes the rest of a full name (`rest`, lower case) after its abbreviation when present.
    @inline(__always)
    static func skipRest(_ b: UnsafeRawBufferPointer, _ i: inout Int, _ rest: StaticString) {
        let r = rest.utf8CodeUnitCount
        guard r > 0, i + r <= b.count else { return }
        let p = rest.utf8Start
        for k in 0..<r where b[i + k] | 0x20 != p[k] { return }
        i += r
    }

    static func monthName(_ b: UnsafeRawBufferPointer, _ i: inout Int) -> Int? {
        guard i + 3 <= b.count else { return nil }
        let month: Int
        let rest: StaticString
        switch key3(b, i) {
        case 0x6a616e: (month, rest) = (1, "uary")
        case 0x666562: (month, rest) = (2, "ruary")
        case 0x6d6172: (month, rest) = (3, "ch")
        case 0x617072: (month, rest) = (4, "il")
        case 0x6d6179: (month, rest) = (5, "")
        case 0x6a756e: (month, rest) = (6, "e")
        case 0x6a756c: (month, rest) = (7, "y")
        case 0x617567: (month, rest) = (8, "ust")
        case 0x736570: (month, rest) = (9, "tember")
        case 0x6f6374: (month, rest) = (10, "ober")
        case 0x6e6f76: (month, rest) = (11, "ember")
        case 0x646563: (month, rest) = (12, "ember")
        default: return nil
        }
        i += 3
        skipRest(b, &i, rest)
        return month
    }

    static func weekdayName(_ b: UnsafeRawBufferPointer, _ i: inout Int) -> Bool {
        guard i + 3 <= b.count else { return false }
        let rest: StaticString
        switch key3(b, i) {
        case 0x73756e: rest = "day"  // sun
        case 0x6d6f6e: rest = "day"  // mon
        case 0x747565: rest = "sday"  // tue
        case 0x776564: rest = "nesday"  // wed
        case 0x746875: rest = "rsday"  // thu
        case 0x667269: rest = "day"  // fri
        case 0x736174: rest = "urday"  // sat
        default: return false
        }
        i += 3
        skipRest(b, &i, rest)
        return true
    }
}
