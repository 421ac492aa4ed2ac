/// Byte tests on UTF-8 text that both the decoders (Reading) and the JSON writer (Chunking)
/// run per value: they live here, below both, so neither reaches into the other.
public enum UTF8Bytes {
    /// Length of the valid UTF-8 sequence starting at `i` (2–4), or 0 when it is invalid.
    @inline(__always)
    public static func sequenceLength(_ p: UnsafeRawPointer, _ i: Int, _ n: Int) -> Int {
        let c0 = p.load(fromByteOffset: i, as: UInt8.self)
        @inline(__always) func cont(_ k: Int) -> UInt8? {
            guard i + k < n else { return nil }
            let c = p.load(fromByteOffset: i + k, as: UInt8.self)
            return c & 0xC0 == 0x80 ? c : nil
        }
        if c0 >= 0xC2 && c0 <= 0xDF {
            return cont(1) != nil ? 2 : 0
        }
        if c0 >= 0xE0 && c0 <= 0xEF {
            guard let c1 = cont(1), cont(2) != nil else { return 0 }
            if c0 == 0xE0 && c1 < 0xA0 { return 0 }  // overlong
            if c0 == 0xED && c1 >= 0xA0 { return 0 }  // surrogates
            return 3
        }
        if c0 >= 0xF0 && c0 <= 0xF4 {
            guard let c1 = cont(1), cont(2) != nil, cont(3) != nil else { return 0 }
            if c0 == 0xF0 && c1 < 0x90 { return 0 }
            if c0 == 0xF4 && c1 >= 0x90 { return 0 }
            return 4
        }
        return 0
    }

    /// The bytes among sixteen that a JSON string cannot carry as they are (a quote, a
    /// backslash, a control character or a non-ASCII byte), as two little-endian words whose
    /// bytes are 0xFF for those and 0 otherwise. Reading the mask as words, rather than with
    /// `any`, avoids a lane-by-lane reduction on baseline x86-64; the first such byte is at
    /// `trailingZeroBitCount / 8`.
    @inline(__always)
    public static func specialBytes(_ v: SIMD16<UInt8>) -> SIMD2<UInt64> {
        let quote = SIMD16<UInt8>(repeating: 0x22), backslash = SIMD16<UInt8>(repeating: 0x5C)
        let space = SIMD16<UInt8>(repeating: 0x20), high = SIMD16<UInt8>(repeating: 0x80)
        let m = (v .== quote) .| (v .== backslash) .| (v .< space) .| (v .>= high)
        return unsafeBitCast(m, to: SIMD2<UInt64>.self)
    }
}
