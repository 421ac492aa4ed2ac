/// Writes JSON string contents on bytes: quotes, backslashes and control characters escaped,
/// non-ASCII copied as UTF-8 after validation. The per-record path's only serializer.
public enum JSONWriter {
    /// What to do with bytes that are not UTF-8.
    public enum InvalidUTF8 { case replace, reject }

    /// Outcome of writing one string: how many input bytes were dropped by truncation, and
    /// whether invalid UTF-8 was replaced.
    public struct StringResult {
        public var truncated = false
        public var replaced = false
        public var invalid = false
    }

    static let hex: StaticString = "0123456789abcdef"

    /// Appends `"…"` for raw `text`, keeping at most `maxBytes` bytes of (decoded) UTF-8,
    /// cut at a character boundary.
    @inline(__always)
    public static func writeString(
        _ text: UnsafeRawBufferPointer, to out: ByteBuffer, maxBytes: Int, invalidUTF8: InvalidUTF8
    ) -> StringResult {
        var r = StringResult()
        out.reserve(text.count + 2)
        out.append(0x22)
        guard let src = text.baseAddress else {
            out.append(0x22)
            return r
        }
        let n = text.count
        // Most values are plain ASCII within the limit: checked at once, copied at once.
        if n <= maxBytes && isPlain(src, n) {
            out.append(text)
            out.append(0x22)
            return r
        }
        var i = 0
        var emitted = 0  // decoded bytes kept so far, for the value limit
        var runStart = 0
        while i < n {
            let c = src.load(fromByteOffset: i, as: UInt8.self)
            if c >= 0x20 && c != 0x22 && c != 0x5C && c < 0x80 {
                if emitted == maxBytes {
                    r.truncated = true
                    break
                }
                i += 1
                emitted += 1
                continue
            }
            // Flush the plain run before handling the special byte.
            if i > runStart { out.append(UnsafeRawBufferPointer(start: src + runStart, count: i - runStart)) }
            if c < 0x80 {
                if emitted == maxBytes {
                    r.truncated = true
                    runStart = i
                    break
                }
                writeEscape(c, to: out)
                i += 1
                emitted += 1
                runStart = i
                continue
            }
            let len = UTF8Bytes.sequenceLength(src, i, n)
            if len == 0 {
                r.invalid = true
                if invalidUTF8 == .reject {
                    out.append(0x22)
                    return r
                }
                r.replaced = true
                if emitted + 3 > maxBytes {
                    r.truncated = true
                    runStart = i
                    break
                }
                out.append(0xEF)
                out.append(0xBF)
                out.append(0xBD)
                emitted += 3
                i += 1
                runStart = i
                continue
            }
            if emitted + len > maxBytes {
                r.truncated = true
                runStart = i
                break
            }
            out.append(UnsafeRawBufferPointer(start: src + i, count: len))
            i += len
            emitted += len
            runStart = i
        }
        if i > runStart { out.append(UnsafeRawBufferPointer(start: src + runStart, count: i - runStart)) }
        out.append(0x22)
        return r
    }

    @inline(__always)
    static func needsLook(_ v: SIMD16<UInt8>) -> Bool {
        let w = UTF8Bytes.specialBytes(v)
        return (w[0] | w[1]) != 0
    }

    /// Whether `n` bytes at `p` can be written between quotes as they are (printable ASCII,
    /// no quote, no backslash). Short values, the common case, are read with two overlapping
    /// loads inside the value instead of byte by byte; nothing outside `p..<p+n` is read.
    @inline(__always)
    public static func isPlain(_ p: UnsafeRawPointer, _ n: Int) -> Bool {
        if n >= 16 {
            var k = 0
            while k + 16 <= n {
                if needsLook(p.loadUnaligned(fromByteOffset: k, as: SIMD16<UInt8>.self)) { return false }
                k += 16
            }
            return k == n || !needsLook(p.loadUnaligned(fromByteOffset: n - 16, as: SIMD16<UInt8>.self))
        }
        // 'A' fills lanes no load covers.
        var lo: UInt64 = 0x4141_4141_4141_4141, hi: UInt64 = 0x4141_4141_4141_4141
        if n >= 8 {
            lo = p.loadUnaligned(as: UInt64.self)
            hi = p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 {
            lo = UInt64(p.loadUnaligned(as: UInt32.self)) | 0x4141_4141_0000_0000
            hi = UInt64(p.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)) | 0x4141_4141_0000_0000
        } else if n > 0 {
            // First, middle and last byte cover one to three bytes.
            lo =
                0x4141_4141_4100_0000 | UInt64(p.load(as: UInt8.self))
                | UInt64(p.load(fromByteOffset: n >> 1, as: UInt8.self)) << 8
                | UInt64(p.load(fromByteOffset: n - 1, as: UInt8.self)) << 16
        }
        return !needsLook(unsafeBitCast(SIMD2<UInt64>(lo, hi), to: SIMD16<UInt8>.self))
    }

    @inline(__always)
    static func writeEscape(_ c: UInt8, to out: ByteBuffer) {
        switch c {
        case 0x22: out.append(0x5C); out.append(0x22)
        case 0x5C: out.append(0x5C); out.append(0x5C)
        case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
        case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
        case 0x08: out.append(0x5C); out.append(UInt8(ascii: "b"))
        case 0x0C: out.append(0x5C); out.append(UInt8(ascii: "f"))
        default:
            out.append("\\u00")
            out.append(hex.utf8Start[Int(c >> 4)])
            out.append(hex.utf8Start[Int(c & 15)])
        }
    }
}
