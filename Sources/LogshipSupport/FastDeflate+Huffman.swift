/// Deflate's fixed tables (RFC 1951 section 3.2.5) and length-limited Huffman codes, for
/// `FastDeflate`. Tables live in memory allocated once and never freed, so the hot loops index
/// raw pointers (no bounds checks, no lazy-global checks per access).
struct DeflateTables: @unchecked Sendable {
    // Written once in `init`, read-only afterwards.
    /// Per match length 3...258: the length symbol (257...285), its extra bit count and value.
    let lengthSymbol: UnsafeMutablePointer<UInt16>
    let lengthExtraBits: UnsafeMutablePointer<UInt8>
    let lengthExtraValue: UnsafeMutablePointer<UInt16>
    /// Distance symbol of `d = distance - 1`: `distSmall[d]` for d < 256, else `distLarge[d >> 7]`.
    let distSmall: UnsafeMutablePointer<UInt8>
    let distLarge: UnsafeMutablePointer<UInt8>
    /// Per distance symbol 0...29: its first `d` (distance - 1) and extra bit count.
    let distBase: UnsafeMutablePointer<UInt16>
    let distExtra: UnsafeMutablePointer<UInt8>
    /// Extra bits of the literal/length symbols 0...287 (0 for literals).
    let litExtra: UnsafeMutablePointer<UInt8>
    /// The fixed codes (block type 1).
    let fixedLit = CodeTable(288)
    let fixedDist = CodeTable(30)

    static let shared = DeflateTables()

    static let lengthBase: [Int] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227,
        258,
    ]
    static let lengthExtra: [Int] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ]
    static let distanceExtra: [Int] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
    ]
    /// The order in which a dynamic block header sends the code-length code's lengths.
    static let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    private init() {
        lengthSymbol = .allocate(capacity: 259)
        lengthExtraBits = .allocate(capacity: 259)
        lengthExtraValue = .allocate(capacity: 259)
        lengthSymbol.initialize(repeating: 0, count: 259)
        lengthExtraBits.initialize(repeating: 0, count: 259)
        lengthExtraValue.initialize(repeating: 0, count: 259)
        litExtra = .allocate(capacity: 288)
        litExtra.initialize(repeating: 0, count: 288)
        for code in 0..<29 {
            let base = Self.lengthBase[code]
            let extra = Self.lengthExtra[code]
            litExtra[257 + code] = UInt8(extra)
            // 258 has a symbol of its own (285); 284's range stops at 257.
            let last = code == 27 ? 257 : base + (1 << extra) - 1
            for len in base...last {
                lengthSymbol[len] = UInt16(257 + code)
                lengthExtraBits[len] = UInt8(extra)
                lengthExtraValue[len] = UInt16(len - base)
            }
        }
        distSmall = .allocate(capacity: 256)
        distLarge = .allocate(capacity: 256)
        distBase = .allocate(capacity: 30)
        distExtra = .allocate(capacity: 30)
        var base = 0
        for code in 0..<30 {
            let extra = Self.distanceExtra[code]
            distBase[code] = UInt16(base)
            distExtra[code] = UInt8(extra)
            for d in base..<(base + (1 << extra)) {
                if d < 256 { distSmall[d] = UInt8(code) } else if d & 127 == 0 { distLarge[d >> 7] = UInt8(code) }
            }
            base += 1 << extra
        }
        // Codes 0...15 cover d 0...255, so distLarge[0] and [1] are never read.
        distLarge[0] = 0
        distLarge[1] = 0
        for s in 0..<288 { fixedLit.lengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8 }
        HuffmanCode.canonical(lengths: fixedLit.lengths, count: 288, codes: fixedLit.codes)
        fixedDist.lengths.update(repeating: 5, count: 30)
        HuffmanCode.canonical(lengths: fixedDist.lengths, count: 30, codes: fixedDist.codes)
    }
}

/// One Huffman code: per symbol its length in bits (0: unused) and its code, bit-reversed.
struct CodeTable {
    let lengths: UnsafeMutablePointer<UInt8>
    let codes: UnsafeMutablePointer<UInt16>

    init(_ count: Int) {
        lengths = .allocate(capacity: count)
        lengths.initialize(repeating: 0, count: count)
        codes = .allocate(capacity: count)
        codes.initialize(repeating: 0, count: count)
    }

    func deallocate() {
        lengths.deallocate()
        codes.deallocate()
    }
}

/// Length-limited Huffman code lengths and canonical codes, on caller-owned scratch memory.
enum HuffmanCode {
    /// Scratch space `lengths(...)` needs: 2 × 288 words of keys and 300 counters.
    static let scratchWords = 288 * 2 + 300

    /// Code lengths of at most `limit` bits for `freq[0..<count]` into `lens` (0 for unused
    /// symbols). At least two symbols always get a code: a code of one symbol (or none) is
    /// incomplete, which inflaters refuse for the code-length code and some refuse for the
    /// others. The extra symbol is never sent; it costs a few header bits.
    static func lengths(
        freq: UnsafePointer<UInt32>, count: Int, limit: Int, lens: UnsafeMutablePointer<UInt8>,
        scratch: UnsafeMutablePointer<UInt32>
    ) {
        lens.update(repeating: 0, count: count)
        // Symbols with a frequency, as (frequency << 9 | symbol), sorted by frequency.
        let keys = scratch
        var used = 0
        for s in 0..<count where freq[s] != 0 {
            keys[used] = freq[s] << 9 | UInt32(s)
            used += 1
        }
        if used < 2 {
            let a = used == 1 ? Int(keys[0] & 511) : 0
            lens[a] = 1
            lens[a == 0 ? 1 : 0] = 1
            return
        }
        var sorted = UnsafeMutableBufferPointer(start: keys, count: used)
        sorted.sort()
        // Moffat and Katajainen, "In-place calculation of minimum-redundancy codes" (1995):
        // `a` holds the sorted weights, then parent pointers, then depths, then code lengths.
        let a = scratch + 288
        for i in 0..<used { a[i] = keys[i] >> 9 }
        a[0] += a[1]
        var root = 0
        var leaf = 2
        for next in 1..<(used - 1) {
            if leaf >= used || a[root] < a[leaf] {
                a[next] = a[root]
                a[root] = UInt32(next)
                root += 1
            } else {
                a[next] = a[leaf]
                leaf += 1
            }
            if leaf >= used || (root < next && a[root] < a[leaf]) {
                a[next] += a[root]
                a[root] = UInt32(next)
                root += 1
            } else {
                a[next] += a[leaf]
                leaf += 1
            }
        }
        a[used - 2] = 0
        var next = used - 3
        while next >= 0 {
            a[next] = a[Int(a[next])] + 1
            next -= 1
        }
        var available = 1
        var depth = 0
        var inner = 0
        root = used - 2
        next = used - 1
        while available > 0 {
            while root >= 0 && Int(a[root]) == depth {
                inner += 1
                root -= 1
            }
            while available > inner {
                a[next] = UInt32(depth)
                next -= 1
                available -= 1
            }
            available = 2 * inner
            depth += 1
            inner = 0
        }
        // How many codes of each length; lengths past the limit are folded back into it and the
        // Kraft sum restored by lengthening shorter codes (miniz's enforce_max_code_size).
        let counts = scratch + 576
        counts.update(repeating: 0, count: 300)
        var deepest = 0
        for i in 0..<used {
            let d = Int(a[i])
            counts[d] += 1
            deepest = max(deepest, d)
        }
        if deepest > limit {
            for i in (limit + 1)...deepest {
                counts[limit] += counts[i]
                counts[i] = 0
            }
            var total: UInt32 = 0
            for i in 1...limit { total += counts[i] << UInt32(limit - i) }
            while total != 1 << UInt32(limit) {
                counts[limit] -= 1
                var i = limit - 1
                while i > 0 {
                    if counts[i] != 0 {
                        counts[i] -= 1
                        counts[i + 1] += 2
                        break
                    }
                    i -= 1
                }
                total -= 1
            }
        }
        // The most frequent symbols (the end of `keys`) get the shortest codes.
        var j = used
        for len in 1...limit {
            var c = counts[len]
            while c > 0 {
                j -= 1
                lens[Int(keys[j] & 511)] = UInt8(len)
                c -= 1
            }
        }
    }

    /// The canonical codes of `lengths` (RFC 1951 section 3.2.2), bit-reversed for writing
    /// least significant bit first.
    static func canonical(lengths: UnsafePointer<UInt8>, count: Int, codes: UnsafeMutablePointer<UInt16>) {
        var lengthCount = [Int](repeating: 0, count: 16)
        for s in 0..<count { lengthCount[Int(lengths[s])] += 1 }
        lengthCount[0] = 0
        var nextCode = [Int](repeating: 0, count: 16)
        var code = 0
        for bits in 1..<16 {
            code = (code + lengthCount[bits - 1]) << 1
            nextCode[bits] = code
        }
        for s in 0..<count {
            let len = Int(lengths[s])
            guard len != 0 else {
                codes[s] = 0
                continue
            }
            var c = nextCode[len]
            nextCode[len] += 1
            var reversed = 0
            for _ in 0..<len {
                reversed = reversed << 1 | c & 1
                c >>= 1
            }
            codes[s] = UInt16(reversed)
        }
    }
}
