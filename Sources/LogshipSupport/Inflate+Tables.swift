// The decoding tables of `Inflater`: canonical Huffman codes to lookup tables, and a dynamic
// block's header (RFC 1951 section 3.2.7).
extension Inflater {
    // MARK: Tables

    /// The `l` low bits of `code` in reverse order (Huffman codes are packed from their first
    /// bit, the bit reader's lowest).
    @inline(__always)
    static func reversed(_ code: Int, _ l: Int) -> Int {
        var x = UInt16(truncatingIfNeeded: code)
        x = (x & 0x5555) << 1 | (x >> 1) & 0x5555
        x = (x & 0x3333) << 2 | (x >> 2) & 0x3333
        x = (x & 0x0F0F) << 4 | (x >> 4) & 0x0F0F
        return Int(x.byteSwapped >> (16 - l))
    }

    /// Fills `table` (main table of `root` bits, subtables after it) from `lengths[0..<count]`;
    /// `payload(symbol)` is the entry without its bit count. False for a set of lengths that is
    /// over-subscribed, or incomplete where that is not allowed (`complete`; otherwise only a
    /// single one-bit code may leave room, as zlib allows). No lengths at all give a table of
    /// invalid entries.
    func build(
        _ table: UnsafeMutablePointer<UInt32>, root: Int, count: Int, complete: Bool, payload: (Int) -> UInt32
    ) -> Bool {
        var counts = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &counts) { raw -> Bool in
            let n = raw.baseAddress!.assumingMemoryBound(to: Int.self)
            for s in 0..<count { n[Int(lengths[s])] += 1 }
            n[0] = 0
            var left = 1
            var maxLength = 0
            for l in 1...15 {
                left = (left << 1) - n[l]
                if left < 0 { return false }
                if n[l] > 0 { maxLength = l }
            }
            if left > 0 && maxLength > 0 && (complete || maxLength != 1) { return false }
            let mainSize = 1 << root
            // A complete code writes every main entry below (a code's replicas, or a subtable's
            // link); only an incomplete one (a single code, or none) leaves some invalid.
            if left != 0 { table.update(repeating: Self.invalidFlag, count: mainSize) }
            // First code of each length, as RFC 1951 section 3.2.2 assigns them.
            var next = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            return withUnsafeMutableBytes(of: &next) { nraw -> Bool in
                let first = nraw.baseAddress!.assumingMemoryBound(to: Int.self)
                var code = 0
                for l in 1...15 {
                    code = (code + n[l - 1]) << 1
                    first[l] = code
                }
                var long = 0
                for s in 0..<count {
                    let l = Int(lengths[s])
                    if l == 0 { continue }
                    let c = first[l]
                    first[l] += 1
                    let rev = Self.reversed(c, l)
                    if l <= root {
                        let e = payload(s) | UInt32(l)
                        var k = rev
                        while k < mainSize {
                            table[k] = e
                            k += 1 << l
                        }
                    } else {
                        scratch[long] = UInt32(rev) | UInt32(l) << 15 | UInt32(s) << 19
                        long += 1
                    }
                }
                if long == 0 { return true }
                // Longer codes: one subtable per `root`-bit prefix, as deep as its longest code.
                subBits.update(repeating: 0, count: mainSize)
                for k in 0..<long {
                    let prefix = Int(scratch[k]) & (mainSize - 1)
                    let l = Int(scratch[k] >> 15) & 0xF
                    subBits[prefix] = max(subBits[prefix], UInt8(l - root))
                    // Not a link yet (the table may hold the previous block's entries).
                    table[prefix] = 0
                }
                var free = mainSize
                for k in 0..<long {
                    let v = Int(scratch[k])
                    let rev = v & 0x7FFF
                    let l = (v >> 15) & 0xF
                    let s = v >> 19
                    let prefix = rev & (mainSize - 1)
                    let bits = Int(subBits[prefix])
                    if table[prefix] & Self.subtableFlag == 0 {
                        table[prefix] = UInt32(free) << 16 | Self.subtableFlag | UInt32(bits) << 8 | UInt32(root)
                        (table + free).update(repeating: Self.invalidFlag, count: 1 << bits)
                        free += 1 << bits
                    }
                    let start = Int(table[prefix] >> 16)
                    let e = payload(s) | UInt32(l - root)
                    var j = rev >> root
                    while j < 1 << bits {
                        table[start + j] = e
                        j += 1 << (l - root)
                    }
                }
                return true
            }
        }
    }

    func buildLitLen(_ table: UnsafeMutablePointer<UInt32>, count: Int) -> Bool {
        build(table, root: Self.litRoot, count: count, complete: false) { s in
            if s < 256 { return UInt32(s) << 16 | Self.literalFlag }
            if s == 256 { return Self.endFlag }
            if s > 285 { return Self.invalidFlag }
            return UInt32(Self.lengthBase[s - 257]) << 16 | UInt32(Self.lengthExtra[s - 257]) << 8
        }
    }

    func buildDistance(_ table: UnsafeMutablePointer<UInt32>, count: Int) -> Bool {
        build(table, root: Self.distRoot, count: count, complete: false) { s in
            s >= 30 ? Self.invalidFlag : UInt32(Self.distBase[s]) << 16 | UInt32(Self.distExtra[s]) << 8
        }
    }

    /// Reads a dynamic block's code lengths (RFC 1951 section 3.2.7) and builds its tables.
    /// The caller made sure the whole header is in the input (or the input ends).
    func readDynamicHeader(_ r: inout Bits) throws(Failure) {
        r.refill()
        let literals = 257 + r.take(5)
        let distances = 1 + r.take(5)
        let codeLengths = 4 + r.take(4)
        if literals > 286 || distances > 30 { throw Failure(message: "too many length or distance symbols") }
        for k in 0..<19 { lengths[k] = 0 }
        for k in 0..<codeLengths {
            r.refill()
            lengths[Self.precodeOrder[k]] = UInt8(r.take(3))
        }
        if r.overran { throw Self.truncated }
        guard build(precode, root: Self.preRoot, count: 19, complete: true, payload: { UInt32($0) << 16 }) else {
            throw Failure(message: "invalid code lengths set")
        }
        let total = literals + distances
        var k = 0
        while k < total {
            r.refill()
            let e = precode[r.peek(Self.preRoot)]
            if e & Self.invalidFlag != 0 { throw Failure(message: "invalid code lengths set") }
            r.drop(Int(e & 0x1F))
            let symbol = Int(e >> 16)
            var value: UInt8 = 0
            var repeats = 1
            switch symbol {
            case 0..<16: value = UInt8(symbol)
            case 16:
                if k == 0 { throw Failure(message: "invalid bit length repeat") }
                value = lengths[k - 1]
                repeats = 3 + r.take(2)
            case 17: repeats = 3 + r.take(3)
            default: repeats = 11 + r.take(7)
            }
            if r.overran { throw Self.truncated }
            if k + repeats > total { throw Failure(message: "invalid bit length repeat") }
            for j in k..<k + repeats { lengths[j] = value }
            k += repeats
        }
        if lengths[256] == 0 { throw Failure(message: "invalid code -- missing end-of-block") }
        guard buildLitLen(dynamicLit, count: literals) else { throw Failure(message: "invalid literal/lengths set") }
        // The distance lengths follow the literal/length ones.
        let distanceLengths = lengths + literals
        for j in 0..<distances { lengths[j] = distanceLengths[j] }
        guard buildDistance(dynamicDist, count: distances) else { throw Failure(message: "invalid distances set") }
    }
}
