/// One deflate block of `FastDeflate`: the codes, the three encodings' sizes, and the writing.
extension FastDeflate {
    /// Writes `base[start..<end]`, parsed into `sequences[0..<count]` with the frequencies
    /// counted, as the smallest of a dynamic Huffman block, a fixed Huffman block, or stored blocks.
    func writeBlock(_ base: UnsafeRawPointer, from start: Int, to end: Int, sequences count: Int, final: Bool) {
        let t = tables
        HuffmanCode.lengths(freq: litFreq, count: 286, limit: 15, lens: lit.lengths, scratch: scratch)
        HuffmanCode.lengths(freq: distFreq, count: 30, limit: 15, lens: dist.lengths, scratch: scratch)
        var litCount = 286
        while litCount > 257 && lit.lengths[litCount - 1] == 0 { litCount -= 1 }
        var distCount = 30
        while distCount > 1 && dist.lengths[distCount - 1] == 0 { distCount -= 1 }
        // The two lists of lengths are one sequence in the header: runs may cross from one to the
        // other (RFC 1951 section 3.2.7).
        let total = litCount + distCount
        for i in 0..<litCount { allLens[i] = lit.lengths[i] }
        for i in 0..<distCount { allLens[litCount + i] = dist.lengths[i] }
        let runCount = encodeRuns(total)
        HuffmanCode.lengths(freq: clFreq, count: 19, limit: 7, lens: cl.lengths, scratch: scratch)
        var clCount = 19
        while clCount > 4 && cl.lengths[DeflateTables.codeLengthOrder[clCount - 1]] == 0 { clCount -= 1 }

        // Sizes in bits of the three choices.
        var dynamic = 3 + 5 + 5 + 4 + 3 * clCount
        dynamic += Int(clFreq[16]) * 2 + Int(clFreq[17]) * 3 + Int(clFreq[18]) * 7
        for s in 0..<19 { dynamic += Int(clFreq[s]) * Int(cl.lengths[s]) }
        var fixed = 3
        for s in 0..<286 {
            let f = Int(litFreq[s])
            guard f != 0 else { continue }
            let extra = Int(t.litExtra[s])
            dynamic += f * (Int(lit.lengths[s]) + extra)
            fixed += f * (Int(t.fixedLit.lengths[s]) + extra)
        }
        for s in 0..<30 {
            let f = Int(distFreq[s])
            guard f != 0 else { continue }
            let extra = Int(t.distExtra[s])
            dynamic += f * (Int(dist.lengths[s]) + extra)
            fixed += f * (5 + extra)
        }
        let length = end - start
        let pieces = max(1, (length + 65534) / 65535)
        // Header bits, padding to a byte (at most 7), LEN and NLEN, per piece of at most 65,535.
        let stored = pieces * (3 + 7 + 32) + length * 8

        if stored <= min(dynamic, fixed) {
            writeStored(base, from: start, to: end, final: final)
            return
        }
        reserve(outCount + min(dynamic, fixed) / 8 + 16)
        if fixed < dynamic {
            putBits(final ? 1 : 0, 1)
            putBits(1, 2)
            writeSequences(base, from: start, count, lit: t.fixedLit, dist: t.fixedDist, bytes: end - start)
            return
        }
        HuffmanCode.canonical(lengths: lit.lengths, count: 286, codes: lit.codes)
        HuffmanCode.canonical(lengths: dist.lengths, count: 30, codes: dist.codes)
        HuffmanCode.canonical(lengths: cl.lengths, count: 19, codes: cl.codes)
        putBits(final ? 1 : 0, 1)
        putBits(2, 2)
        putBits(UInt64(litCount - 257), 5)
        putBits(UInt64(distCount - 1), 5)
        putBits(UInt64(clCount - 4), 4)
        for i in 0..<clCount { putBits(UInt64(cl.lengths[DeflateTables.codeLengthOrder[i]]), 3) }
        for i in 0..<runCount {
            let r = runs[i]
            let s = Int(r & 31)
            putBits(UInt64(cl.codes[s]), Int(cl.lengths[s]))
            switch s {
            case 16: putBits(UInt64(r >> 5), 2)
            case 17: putBits(UInt64(r >> 5), 3)
            case 18: putBits(UInt64(r >> 5), 7)
            default: break
            }
        }
        writeSequences(base, from: start, count, lit: lit, dist: dist, bytes: end - start)
    }

    /// The code lengths `allLens[0..<total]` as code-length symbols into `runs` (symbol in the
    /// low 5 bits, its extra bits' value above), counted in `clFreq`. Returns how many.
    private func encodeRuns(_ total: Int) -> Int {
        clFreq.update(repeating: 0, count: 19)
        var n = 0
        func emit(_ symbol: Int, _ extra: Int = 0) {
            runs[n] = UInt16(symbol | extra << 5)
            clFreq[symbol] += 1
            n += 1
        }
        var i = 0
        while i < total {
            let len = Int(allLens[i])
            var run = 1
            while i + run < total && Int(allLens[i + run]) == len { run += 1 }
            i += run
            if len == 0 {
                while run >= 11 {
                    let k = min(run, 138)
                    emit(18, k - 11)
                    run -= k
                }
                if run >= 3 {
                    emit(17, run - 3)
                    run = 0
                }
            } else {
                emit(len)
                run -= 1
                while run >= 3 {
                    let k = min(run, 6)
                    emit(16, k - 3)
                    run -= k
                }
            }
            while run > 0 {
                emit(len)
                run -= 1
            }
        }
        return n
    }

    /// `base[start..<end]` as stored blocks of at most 65,535 bytes (at least one, maybe empty).
    private func writeStored(_ base: UnsafeRawPointer, from start: Int, to end: Int, final: Bool) {
        var at = start
        repeat {
            let piece = min(65535, end - at)
            let last = at + piece == end
            putBits(final && last ? 1 : 0, 1)
            putBits(0, 2)
            alignToByte()
            reserve(outCount + 4 + piece)
            out.storeBytes(of: UInt16(piece).littleEndian, toByteOffset: outCount, as: UInt16.self)
            out.storeBytes(of: (~UInt16(piece)).littleEndian, toByteOffset: outCount + 2, as: UInt16.self)
            (out + outCount + 4).copyMemory(from: base + at, byteCount: piece)
            outCount += 4 + piece
            at += piece
        } while at < end
    }
}
