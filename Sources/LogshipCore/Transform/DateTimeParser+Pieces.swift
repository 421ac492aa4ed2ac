/// The small scanners every `DateTimeParser` format is built from: digits, fractions, offsets,
/// English month and weekday names.
extension DateTimeParser {
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
