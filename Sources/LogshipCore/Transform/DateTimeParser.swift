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
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, format: DateTimeFormat, zone: ZoneTable
    ) -> (Int64, ZoneTable.Resolution)? {
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
        guard y >= 1, month >= 1, month <= 12, day >= 1, day <= CivilDate.daysInMonth(year: y, month: month) else {
            return nil
        }
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
}
