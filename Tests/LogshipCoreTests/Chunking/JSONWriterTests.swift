import Foundation
import Testing

@testable import LogshipCore

@Suite("JSONWriter")
struct JSONWriterTests {
    /// The definition `isPlain` must agree with, byte by byte.
    static func plainByDefinition(_ b: ArraySlice<UInt8>) -> Bool {
        b.allSatisfy { $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C && $0 < 0x80 }
    }

    @Test("isPlain agrees with the definition at every length and position, and reads nothing outside the value")
    func isPlainAgrees() {
        // Every byte outside the value is one that needs escaping: a read past either end
        // would turn a plain answer into a wrong "not plain".
        let specials: [UInt8] = [0x00, 0x0A, 0x1F, 0x22, 0x5C, 0x80, 0xC3, 0xFF]
        let plains: [UInt8] = [0x20, 0x41, 0x7E, 0x7F, 0x30]
        var checked = 0
        for n in 0...70 {
            var buf = [UInt8](repeating: 0x22, count: n + 64)
            for k in 0..<n { buf[32 + k] = plains[k % plains.count] }
            let base = 32
            func check(_ b: [UInt8]) {
                let expected = Self.plainByDefinition(b[base..<base + n])
                let got = b.withUnsafeBytes { JSONWriter.isPlain($0.baseAddress! + base, n) }
                #expect(got == expected, "length \(n): \(Array(b[base..<base + n]))")
                checked += 1
            }
            check(buf)
            for pos in 0..<n {
                for s in specials {
                    var b = buf
                    b[base + pos] = s
                    check(b)
                }
            }
        }
        #expect(checked > 10_000)
    }

    @Test("writeString output parses back to the input for plain, escaped and non-ASCII values")
    func writeStringRoundTrips() throws {
        var rng = SystemRandomNumberGenerator()

        let out = ByteBuffer()
        for _ in 0..<3000 {
            let n = Int.random(in: 0...40, using: &rng)
            var s = ""
            for _ in 0..<n {
                if Bool.random(using: &rng) {
                    s += "x"
                } else {
                    let pick = Int.random(in: 0..<8, using: &rng)
                    s += ["a", " ", "\"", "\\", "\n", "\u{01}", "é", "😀"][pick]
                }
            }

            out.removeAll()
            let bytes = Array(s.utf8)
            let r = bytes.withUnsafeBytes {
                JSONWriter.writeString($0, to: out, maxBytes: 1 << 20, invalidUTF8: .reject)
            }
            #expect(!r.truncated && !r.invalid)
            let back = try JSONSerialization.jsonObject(with: Data(out.bytes), options: [.fragmentsAllowed]) as? String
            #expect(back == s)
        }
    }
}
