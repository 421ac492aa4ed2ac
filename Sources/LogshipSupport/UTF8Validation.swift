/// Finds the first byte that is not part of well-formed UTF-8 (Unicode 15, table 3-7: no
/// overlong forms, no surrogates, nothing above U+10FFFF).
///
/// Foundation's JSON5 reader stops the process (a fatal error, not a thrown one) on text that
/// is not UTF-8, so pipeline files are checked here first, where the error can name the byte.
public enum UTF8Validation {
    /// The offset where the first ill-formed sequence starts; nil when every byte is valid.
    public static func firstInvalidByte(_ b: UnsafeRawBufferPointer) -> Int? {
        let n = b.count
        var i = 0
        while i < n {
            let c = b[i]
            if c < 0x80 {
                i += 1
                continue
            }
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            let length: Int
            switch c {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; hi = 0x9F  // U+D800...U+DFFF are surrogates
            case 0xF0: length = 4; lo = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; hi = 0x8F  // nothing above U+10FFFF
            default: return i  // 0x80...0xC1 (continuation or overlong lead), 0xF5...0xFF
            }
            guard i + length <= n, b[i + 1] >= lo, b[i + 1] <= hi else { return i }
            var k = 2
            while k < length {
                if b[i + k] & 0xC0 != 0x80 { return i }
                k += 1
            }
            i += length
        }
        return nil
    }

    /// Same, over an array.
    public static func firstInvalidByte(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBytes { firstInvalidByte($0) }
    }
}
