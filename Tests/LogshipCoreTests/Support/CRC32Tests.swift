import Foundation
import LogshipSupport
import Testing

/// `CRC32.update` (carry-less multiplication for long runs, zlib for the rest) against a
/// bit-at-a-time CRC-32 written from RFC 1952's definition: every length from 0 to 300 (the
/// folding starts at 64 and works in 16-byte steps), long buffers, odd start addresses, and
/// the same bytes carried over in pieces.
@Suite struct CRC32Tests {
    /// RFC 1952, section 8: reflected polynomial 0xEDB88320, register inverted before and after.
    static func reference(_ bytes: [UInt8], _ start: UInt32 = 0) -> UInt32 {
        var c = ~start
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    static func bytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var x = seed
        return (0..<n).map { _ in
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: x >> 56)
        }
    }

    static func ours(_ b: [UInt8], offset: Int = 0, _ start: UInt32 = 0) -> UInt32 {
        // Copied to `offset` bytes past an aligned address, so loads start unaligned too.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: b.count + offset + 1, alignment: 64)
        defer { raw.deallocate() }
        b.withUnsafeBytes {
            raw.advanced(by: offset).copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(raw), byteCount: b.count)
        }
        return CRC32.update(start, raw.advanced(by: offset), b.count)
    }

    @Test func knownValue() {
        #expect(Self.ours(Array("123456789".utf8)) == 0xCBF4_3926)  // the check value of CRC-32/ISO-HDLC
        #expect(Self.ours([]) == 0)
    }

    @Test func everyLengthUpTo300AndLongOnes() {
        for n in Array(0...300) + [1023, 4096, 65_537, 1_000_003] {
            let b = Self.bytes(n, seed: UInt64(n) + 1)
            let want = Self.reference(b)
            for offset in [0, 1, 7] where n <= 300 || offset == 1 {
                #expect(Self.ours(b, offset: offset) == want, "length \(n), offset \(offset)")
            }
        }
    }

    @Test func carriedOverInPieces() {
        let b = Self.bytes(10_000, seed: 99)
        let want = Self.reference(b)
        for piece in [1, 15, 16, 63, 64, 65, 100, 4096] {
            var crc: UInt32 = 0
            var at = 0
            while at < b.count {
                let k = min(piece, b.count - at)
                crc = Self.ours(Array(b[at..<at + k]), offset: at % 3, crc)
                at += k
            }
            #expect(crc == want, "pieces of \(piece)")
        }
    }
}
