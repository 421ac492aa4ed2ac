/// Conversions of field values on bytes, for the per-record path: no Foundation, no locale,
/// and no allocation except in `parseDouble`'s rare slow path.
public enum ValueParsers {
    /// A leading `-` or `+` of a non-empty value: whether it is negative, and where the digits start.
    @inline(__always)
    static func sign(_ b: UnsafeRawBufferPointer) -> (negative: Bool, digits: Int) {
        switch b[0] {
        case UInt8(ascii: "-"): return (true, 1)
        case UInt8(ascii: "+"): return (false, 1)
        default: return (false, 0)
        }
    }

    /// Optional `+`/`-`, then one or more ASCII digits; nil on anything else or on overflow.
    public static func parseInt64(_ b: UnsafeRawBufferPointer) -> Int64? {
        let n = b.count
        guard n > 0 else { return nil }
        var (negative, i) = sign(b)
        guard i < n else { return nil }
        // Accumulated as a negative number so that Int64.min, whose magnitude has no positive
        // Int64, parses without a special case.
        var v: Int64 = 0
        while i < n {
            let d = b[i] &- 48
            guard d < 10 else { return nil }
            let (t, o1) = v.multipliedReportingOverflow(by: 10)
            let (u, o2) = t.subtractingReportingOverflow(Int64(d))
            guard !o1, !o2 else { return nil }
            v = u
            i += 1
        }
        if negative { return v }
        return v == .min ? nil : -v
    }

    /// `[+-]` then `digits[.[digits]]` or `.digits`, then optionally `[eE][+-]digits`.
    /// Agrees bit for bit with Swift's `Double(String)` wherever both accept; results that
    /// overflow to infinity are nil, because JSON cannot carry them.
    public static func parseDouble(_ b: UnsafeRawBufferPointer) -> Double? {
        let n = b.count
        guard n > 0 else { return nil }
        var (negative, i) = sign(b)
        var mantissa: UInt64 = 0
        var significant = 0  // digits in `mantissa`, leading zeros excluded
        var dropped = false  // a nonzero digit did not fit in `mantissa`
        var exp10 = 0
        var digits = 0
        while i < n {
            let d = b[i] &- 48
            guard d < 10 else { break }
            digits += 1
            if significant < 19 {
                mantissa = mantissa * 10 + UInt64(d)
                if mantissa != 0 { significant += 1 }
            } else {
                exp10 += 1
                if d != 0 { dropped = true }
            }
            i += 1
        }
        if i < n && b[i] == UInt8(ascii: ".") {
            i += 1
            while i < n {
                let d = b[i] &- 48
                guard d < 10 else { break }
                digits += 1
                if significant < 19 {
                    mantissa = mantissa * 10 + UInt64(d)
                    if mantissa != 0 { significant += 1 }
                    exp10 -= 1
                } else if d != 0 {
                    dropped = true
                }
                i += 1
            }
        }
        guard digits > 0 else { return nil }
        if i < n && (b[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            var expNegative = false
            if i < n && (b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+")) {
                expNegative = b[i] == UInt8(ascii: "-")
                i += 1
            }
            let start = i
            var e = 0
            while i < n {
                let d = b[i] &- 48
                guard d < 10 else { break }
                // Past this every finite mantissa has long over- or underflowed.
                if e < 1_000_000 { e = e * 10 + Int(d) }
                i += 1
            }
            guard i > start else { return nil }
            exp10 += expNegative ? -e : e
        }
        guard i == n else { return nil }
        if mantissa == 0 { return negative ? -0.0 : 0.0 }

        // Clinger's fast path: an exact mantissa and an exact power of ten meet in a single
        // correctly rounded IEEE operation.
        if !dropped && mantissa <= 1 << 53 {
            var m = mantissa
            var e = exp10
            if e > 22 {
                // 1e30 is 1e8 (exact) times 1e22, provided the mantissa stays exact.
                while e > 22 && m <= (1 << 53) / 10 {
                    m *= 10
                    e -= 1
                }
            }
            if e >= -22 && e <= 22 {
                let p = powersOfTen[e < 0 ? -e : e]
                let v = e < 0 ? Double(m) / p : Double(m) * p
                return negative ? -v : v
            }
        }
        // Hard cases (more than 2^53, more than 19 digits, large exponents) go to the
        // standard library, whose parser is correctly rounded; the grammar is checked above,
        // so it sees no hex, `inf` or `nan`.
        guard let v = Double(String(decoding: b, as: UTF8.self)), v.isFinite else { return nil }
        return v
    }

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Whether the bytes are already a valid JSON number (RFC 8259 grammar) — lets the caller copy them verbatim.
    public static func isJSONNumber(_ b: UnsafeRawBufferPointer) -> Bool {
        let n = b.count
        var i = 0
        if i < n && b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n else { return false }
        if b[i] == UInt8(ascii: "0") {
            i += 1
        } else if b[i] &- 49 < 9 {
            i += 1
            while i < n && b[i] &- 48 < 10 { i += 1 }
        } else {
            return false
        }
        if i < n && b[i] == UInt8(ascii: ".") {
            i += 1
            guard i < n, b[i] &- 48 < 10 else { return false }
            while i < n && b[i] &- 48 < 10 { i += 1 }
        }
        if i < n && (b[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            if i < n && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < n, b[i] &- 48 < 10 else { return false }
            while i < n && b[i] &- 48 < 10 { i += 1 }
        }
        return i == n
    }

    /// `true`/`false`, `yes`/`no` (any case), `1`/`0`.
    public static func parseBool(_ b: UnsafeRawBufferPointer) -> Bool? {
        let n = b.count
        guard n >= 1, n <= 5 else { return nil }
        // Folding every byte with 0x20 maps only A–Z onto a–z among the bytes that can then
        // compare equal to a lower-case letter, so the comparisons below stay exact.
        @inline(__always) func lower(_ k: Int) -> UInt8 { b[k] | 0x20 }
        switch n {
        case 1:
            if b[0] == UInt8(ascii: "1") { return true }
            if b[0] == UInt8(ascii: "0") { return false }
        case 2:
            if lower(0) == UInt8(ascii: "n") && lower(1) == UInt8(ascii: "o") { return false }
        case 3:
            if lower(0) == UInt8(ascii: "y") && lower(1) == UInt8(ascii: "e") && lower(2) == UInt8(ascii: "s") {
                return true
            }
        case 4:
            if lower(0) == UInt8(ascii: "t") && lower(1) == UInt8(ascii: "r") && lower(2) == UInt8(ascii: "u")
                && lower(3) == UInt8(ascii: "e")
            {
                return true
            }
        default:
            if lower(0) == UInt8(ascii: "f") && lower(1) == UInt8(ascii: "a") && lower(2) == UInt8(ascii: "l")
                && lower(3) == UInt8(ascii: "s") && lower(4) == UInt8(ascii: "e")
            {
                return false
            }
        }
        return nil
    }

    /// 8-4-4-4-12 hex digits, optionally wrapped in {}; writes the canonical lowercase 36-byte form to out and returns true.
    /// Returns false otherwise (`out` may have been written; it needs room for 36 bytes).
    public static func normalizeGUID(_ b: UnsafeRawBufferPointer, to out: UnsafeMutableRawPointer) -> Bool {
        var start = 0
        switch b.count {
        case 36: break
        case 38:
            guard b[0] == UInt8(ascii: "{"), b[37] == UInt8(ascii: "}") else { return false }
            start = 1
        default: return false
        }
        // Three overlapping sixteen-byte loads cover the 36 bytes; every lane is checked at
        // once (GUID digits are random, so a test per byte with a branch mispredicts about
        // half the time). `c | 0x20` lower-cases A–F and leaves digits and '-' as they are.
        let src = b.baseAddress! + start
        @inline(__always) func lane(_ at: Int, _ dashes: SIMD16<UInt8>) -> Bool {
            let v = src.loadUnaligned(fromByteOffset: at, as: SIMD16<UInt8>.self)
            let lower = v | SIMD16<UInt8>(repeating: 0x20)
            out.storeBytes(of: lower, toByteOffset: at, as: SIMD16<UInt8>.self)
            let hex =
                ((v &- SIMD16<UInt8>(repeating: 0x30)) .< SIMD16<UInt8>(repeating: 10))
                .| ((lower &- SIMD16<UInt8>(repeating: 0x61)) .< SIMD16<UInt8>(repeating: 6))
            let dash = v .== SIMD16<UInt8>(repeating: 0x2D)
            let wantDash = dashes .== SIMD16<UInt8>(repeating: 1)
            // Each lane is right when it is a dash exactly where one belongs and hex elsewhere.
            let good = (wantDash .& dash) .| (.!wantDash .& hex)
            let w = unsafeBitCast(good, to: SIMD2<UInt64>.self)
            return w[0] & w[1] == .max
        }
        let a = lane(0, SIMD16(0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0))  // bytes 0–15: dashes at 8, 13
        let b2 = lane(16, SIMD16(0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0))  // 16–31: at 18, 23
        let c = lane(20, SIMD16(0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))  // 20–35: at 23
        return a && b2 && c
    }

    /// Shortest round-tripping JSON text for a finite Double into out (at most 32 bytes); returns the byte count.
    ///
    /// The text is exactly Swift's `description` (`5.0`, `-0.0`, `0.1`, `1e-05`, `1e+20`,
    /// `1.7976931348623157e+308`): the standard library's shortest-digits algorithm, and every
    /// form it prints for a finite value is a JSON number. The `.0` of integral values is kept so
    /// the text still reads as a real, and so `-0.0` keeps its sign in parsers that would take
    /// `-0` for the integer 0. A non-finite value, which JSON cannot carry, is written as `null`.
    public static func writeDouble(_ d: Double, to out: UnsafeMutableRawPointer) -> Int {
        guard d.isFinite else {
            for (k, c) in "null".utf8.enumerated() { out.storeBytes(of: c, toByteOffset: k, as: UInt8.self) }
            return 4
        }
        // `Double.write(to:)` hands its digits to `_writeASCII` straight from a stack buffer,
        // which keeps this path free of String allocations.
        var sink = FixedSink(base: out)
        d.write(to: &sink)
        return min(sink.count, FixedSink.capacity)
    }

    /// Decimal digits of `v` at `out` (at most 20 bytes); returns the byte count.
    public static func writeInt64(_ v: Int64, to out: UnsafeMutableRawPointer) -> Int {
        var magnitude = v.magnitude
        var digits = 0
        var probe = magnitude
        repeat {
            digits += 1
            probe /= 10
        } while probe != 0
        let sign = v < 0 ? 1 : 0
        if sign == 1 { out.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self) }
        var at = sign + digits
        repeat {
            at -= 1
            out.storeBytes(of: UInt8(truncatingIfNeeded: 48 + magnitude % 10), toByteOffset: at, as: UInt8.self)
            magnitude /= 10
        } while magnitude != 0
        return sign + digits
    }
}

/// A TextOutputStream over a fixed 32-byte window, for `writeDouble`.
private struct FixedSink: TextOutputStream {
    static let capacity = 32
    let base: UnsafeMutableRawPointer
    var count = 0

    init(base: UnsafeMutableRawPointer) { self.base = base }

    mutating func write(_ string: String) {
        for c in string.utf8 { put(c) }
    }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        for c in buffer { put(c) }
    }

    @inline(__always)
    private mutating func put(_ c: UInt8) {
        // Swift prints at most 24 bytes for a finite Double; the bound only guards the caller's memory.
        if count < Self.capacity { base.storeBytes(of: c, toByteOffset: count, as: UInt8.self) }
        count += 1
    }
}
