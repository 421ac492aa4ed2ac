/// A fast gzip encoder for Logs Ingestion request bodies: deflate (RFC 1951) in a gzip member
/// (RFC 1952). zlib at level 1 costs about 0.8 CPU-seconds per 100 MB of JSON bodies, more than
/// the whole rest of the pipeline (docs/performance.md); this trades a few percent of size for
/// several times the speed, in the way of LZ4 and libdeflate's level 1:
///
/// - greedy LZ77: one hash table of 6-byte prefixes, one candidate per slot, no chains; a
///   match of 4...258 bytes at most 32 KiB back is taken at once, and the search skips ahead
///   faster the longer it has not found one;
/// - literals and matches are collected per block of `blockItems`, counted, and written with
///   the cheapest of a dynamic Huffman code (15-bit limits, 7 for the code-length code), the
///   fixed code, or stored bytes;
/// - bits go through a 64-bit buffer written 8 bytes at a time.
///
/// One instance compresses one body at a time and keeps its buffers for the next (see
/// `Gzip.compress`'s pool). The output stays valid until the next call.
public final class FastDeflate: @unchecked Sendable {
    // Used by one caller at a time (the pool hands it to one upload task).
    static let hashBits = 14
    /// Bytes hashed: 6 finds longer matches than 4 or 5 and leaves the short ones, which save little.
    static let hashBytes = 6
    /// Matches per block, and bytes: small enough for the code to follow the data, large enough
    /// that the header (about 60-90 bytes) is small beside the block.
    static let blockSequences = 1 << 13
    static let blockBytes = 4 * 65_535
    /// The most bytes skipped in one step (after 62 misses in a row).
    static let maxStep = 32
    static let window = 32768

    let tables = DeflateTables.shared
    private let head: UnsafeMutablePointer<UInt16>
    /// Per match: (length << 16 | distance) << 32 | the literals before it; 0 for no match.
    private let sequences: UnsafeMutablePointer<UInt64>
    let litFreq: UnsafeMutablePointer<UInt32>
    let distFreq: UnsafeMutablePointer<UInt32>
    // Per block: the codes, the code-length code, the header's run-length symbols.
    let lit = CodeTable(288)
    let dist = CodeTable(30)
    let cl = CodeTable(19)
    /// Per match length: the length symbol's code and extra bits together, and their bit count.
    let lengthBits: UnsafeMutablePointer<UInt32>
    let lengthBitCount: UnsafeMutablePointer<UInt8>
    let clFreq: UnsafeMutablePointer<UInt32>
    let runs: UnsafeMutablePointer<UInt16>
    let allLens: UnsafeMutablePointer<UInt8>
    let scratch: UnsafeMutablePointer<UInt32>

    // The output: the gzip member so far, and bits not yet written.
    var out: UnsafeMutableRawPointer
    var outCapacity: Int
    var outCount = 0
    var bitBuffer: UInt64 = 0
    var bitCount = 0

    public init() {
        head = .allocate(capacity: 1 << Self.hashBits)
        sequences = .allocate(capacity: Self.blockSequences + 1)
        litFreq = .allocate(capacity: 288)
        distFreq = .allocate(capacity: 30)
        lengthBits = .allocate(capacity: 259)
        lengthBitCount = .allocate(capacity: 259)
        clFreq = .allocate(capacity: 19)
        runs = .allocate(capacity: 288 + 30)
        allLens = .allocate(capacity: 288 + 30)
        scratch = .allocate(capacity: HuffmanCode.scratchWords)
        outCapacity = 1 << 16
        out = .allocate(byteCount: outCapacity, alignment: 16)
    }

    deinit {
        head.deallocate()
        for p in [litFreq, distFreq, clFreq, scratch] as [UnsafeMutablePointer<UInt32>] { p.deallocate() }
        for p in [lengthBitCount, allLens] as [UnsafeMutablePointer<UInt8>] { p.deallocate() }
        for c in [lit, dist, cl] { c.deallocate() }
        runs.deallocate()
        lengthBits.deallocate()
        sequences.deallocate()
        out.deallocate()
    }

    /// `input` as one gzip member. The bytes returned are this instance's and valid until its
    /// next call.
    public func gzip(_ input: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let n = input.count
        // Worst case is stored blocks: 5 bytes per 64 KiB and per block besides the data. Blocks
        // are checked against the room left before they are written, and the buffer grows then.
        reserve(n + n / 1000 + 1024)
        outCount = 0
        bitBuffer = 0
        bitCount = 0
        // Header: magic, deflate, no flags, no time, XFL 4 (fastest), OS 3 (Unix), as zlib writes.
        let header: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 4, 3]
        for (i, b) in header.enumerated() { out.storeBytes(of: b, toByteOffset: i, as: UInt8.self) }
        outCount = 10
        // An empty buffer may have no address; nothing is read from it then.
        let base = input.baseAddress ?? UnsafeRawPointer(out)
        deflate(base, n)
        let crc = CRC32.update(0, base, n)
        reserve(outCount + 8)
        out.storeBytes(of: crc.littleEndian, toByteOffset: outCount, as: UInt32.self)
        out.storeBytes(of: UInt32(truncatingIfNeeded: n).littleEndian, toByteOffset: outCount + 4, as: UInt32.self)
        outCount += 8
        return UnsafeRawBufferPointer(start: out, count: outCount)
    }

    /// Makes room for `total` bytes of output plus 16 (the 8-byte writes may pass the end).
    func reserve(_ total: Int) {
        guard total + 16 > outCapacity else { return }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: total + 16 + total / 4, alignment: 16)
        bigger.copyMemory(from: out, byteCount: outCount + 8)
        out.deallocate()
        out = bigger
        outCapacity = total + 16 + total / 4
    }

    /// The deflate stream of `base[0..<n]` after the header: greedy matching block by block.
    private func deflate(_ base: UnsafeRawPointer, _ n: Int) {
        let head = self.head
        let sequences = self.sequences
        let litFreq = self.litFreq
        let distFreq = self.distFreq
        let t = tables
        head.update(repeating: 0, count: 1 << Self.hashBits)
        resetFrequencies()
        var count = 0
        var blockStart = 0
        var literalStart = 0
        var p = 0
        // Hashing reads 8 bytes at p, and the match extension 8 at a time: the last bytes are
        // always literals.
        let searchEnd = n - 16
        var misses = 0
        while p < searchEnd {
            let word = base.loadUnaligned(fromByteOffset: p, as: UInt64.self)
            let h = Int(((word &<< (64 - 8 * Self.hashBytes)) &* 889_523_592_379) &>> (64 - Self.hashBits))
            // Positions are kept modulo 65,536: the candidate is the latest position within 64 KiB
            // back that had this hash (or 0, the table's start value, while p < 65,536: never
            // before the input), and the window check and the byte compare below keep anything
            // else (an older slot, the position itself) from being used.
            let distance = Int(UInt16(truncatingIfNeeded: p) &- head[h])
            head[h] = UInt16(truncatingIfNeeded: p)
            let candidate = p &- distance
            if UInt(bitPattern: distance &- 1) < UInt(Self.window)
                && base.loadUnaligned(fromByteOffset: candidate, as: UInt32.self) == UInt32(truncatingIfNeeded: word)
            {
                let maxLength = min(258, n &- p)
                var length = 4
                while true {
                    if length &+ 8 > maxLength {
                        while length < maxLength
                            && base.load(fromByteOffset: p &+ length, as: UInt8.self)
                                == base.load(fromByteOffset: candidate &+ length, as: UInt8.self)
                        {
                            length &+= 1
                        }
                        break
                    }
                    let x =
                        base.loadUnaligned(fromByteOffset: p &+ length, as: UInt64.self)
                        ^ base.loadUnaligned(fromByteOffset: candidate &+ length, as: UInt64.self)
                    if x != 0 {
                        length &+= UInt64(littleEndian: x).trailingZeroBitCount &>> 3
                        break
                    }
                    length &+= 8
                }
                let match = UInt64(truncatingIfNeeded: length << 16 | distance)
                sequences[count] = match << 32 | UInt64(truncatingIfNeeded: p &- literalStart)
                count &+= 1
                litFreq[Int(t.lengthSymbol[length])] &+= 1
                let d = distance &- 1
                distFreq[Int(d < 256 ? t.distSmall[d] : t.distLarge[d &>> 7])] &+= 1
                // Positions inside the match are not entered in the table: that is slower and,
                // measured on log JSON, did not make the output smaller.
                p &+= length
                literalStart = p
                misses = 0
                if count == Self.blockSequences || p &- blockStart >= Self.blockBytes {
                    writeBlock(base, from: blockStart, to: p, sequences: count, final: false)
                    blockStart = p
                    count = 0
                    resetFrequencies()
                }
            } else {
                // Each miss in a row skips further ahead (as LZ4 does, but sooner): in log JSON
                // the unmatched runs are ids, addresses and numbers, which rarely match inside.
                // Measured on a 1 MB body: 1 + misses / 2 against 1 + misses / 64 cost about a
                // third less CPU for 22.4 % of the input against 21.0 % (zlib level 1: 23.0 %).
                misses &+= 1
                let step = min(1 &+ (misses &>> 1), Self.maxStep, searchEnd &- p)
                for i in 0..<step { litFreq[Int(base.load(fromByteOffset: p &+ i, as: UInt8.self))] &+= 1 }
                p &+= step
                if p &- blockStart >= Self.blockBytes {
                    sequences[count] = UInt64(truncatingIfNeeded: p &- literalStart)
                    writeBlock(base, from: blockStart, to: p, sequences: count &+ 1, final: false)
                    blockStart = p
                    literalStart = p
                    count = 0
                    resetFrequencies()
                }
            }
        }
        while p < n {
            litFreq[Int(base.load(fromByteOffset: p, as: UInt8.self))] += 1
            p += 1
        }
        sequences[count] = UInt64(n - literalStart)
        writeBlock(base, from: blockStart, to: n, sequences: count + 1, final: true)
        // The last partial byte.
        reserve(outCount + 8)
        out.storeBytes(of: bitBuffer.littleEndian, toByteOffset: outCount, as: UInt64.self)
        outCount += (bitCount + 7) >> 3
        bitBuffer = 0
        bitCount = 0
    }

    private func resetFrequencies() {
        litFreq.update(repeating: 0, count: 288)
        distFreq.update(repeating: 0, count: 30)
        // The end-of-block symbol, once per block.
        litFreq[256] = 1
    }

    /// Writes the block `base[start...]`, parsed into `sequences[0..<count]` (literals, then a
    /// match or none), with the literal/length and distance codes `lit` and `dist`, then the
    /// end-of-block symbol.
    func writeSequences(
        _ base: UnsafeRawPointer, from start: Int, _ count: Int, lit: CodeTable, dist: CodeTable, bytes: Int
    ) {
        let litLen = lit.lengths
        let litCode = lit.codes
        let distLen = dist.lengths
        let distCode = dist.codes
        let t = tables
        let sequences = self.sequences
        let lengthBits = self.lengthBits
        let lengthBitCount = self.lengthBitCount
        for len in 3...258 {
            let s = Int(t.lengthSymbol[len])
            lengthBits[len] = UInt32(litCode[s]) | UInt32(t.lengthExtraValue[len]) << UInt32(litLen[s])
            lengthBitCount[len] = litLen[s] + t.lengthExtraBits[len]
        }
        // At most 15 bits per literal and 48 per match; the caller reserved the block's size.
        reserve(outCount + bytes * 2 + 16)
        let out = self.out
        var o = outCount
        var buffer = bitBuffer
        var bits = bitCount
        var q = start
        @inline(__always) func literal(_ at: Int) {
            let s = Int(base.load(fromByteOffset: at, as: UInt8.self))
            buffer |= UInt64(litCode[s]) &<< UInt64(bits)
            bits &+= Int(litLen[s])
        }
        @inline(__always) func flush() {
            out.storeBytes(of: buffer.littleEndian, toByteOffset: o, as: UInt64.self)
            let whole = bits &>> 3
            o &+= whole
            buffer = buffer &>> UInt64(whole &<< 3)
            bits &= 7
        }
        for i in 0..<count {
            let sequence = sequences[i]
            var run = Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: sequence))
            // Three literals (45 bits) on top of at most 7 pending fit in the 64-bit buffer.
            while run >= 3 {
                literal(q)
                literal(q &+ 1)
                literal(q &+ 2)
                flush()
                q &+= 3
                run &-= 3
            }
            while run > 0 {
                literal(q)
                q &+= 1
                run &-= 1
            }
            let match = Int(truncatingIfNeeded: sequence &>> 32)
            guard match != 0 else { continue }
            flush()
            let length = match &>> 16
            let d = (match & 0xFFFF) &- 1
            buffer |= UInt64(lengthBits[length]) &<< UInt64(bits)
            bits &+= Int(lengthBitCount[length])
            let ds = Int(d < 256 ? t.distSmall[d] : t.distLarge[d &>> 7])
            let dl = UInt64(distLen[ds])
            let v = UInt64(distCode[ds]) | UInt64(d &- Int(t.distBase[ds])) &<< dl
            buffer |= v &<< UInt64(bits)
            bits &+= Int(dl) &+ Int(t.distExtra[ds])
            // At most 7 + 15 + 5 + 15 + 13 = 55 bits are pending here.
            flush()
            q &+= length
        }
        flush()
        outCount = o
        bitBuffer = buffer
        bitCount = bits
        putBits(UInt64(litCode[256]), Int(litLen[256]))
    }

    /// Adds `count` (at most 32) bits and writes the whole bytes.
    func putBits(_ value: UInt64, _ count: Int) {
        bitBuffer |= value &<< UInt64(bitCount)
        bitCount += count
        out.storeBytes(of: bitBuffer.littleEndian, toByteOffset: outCount, as: UInt64.self)
        let whole = bitCount >> 3
        outCount += whole
        bitBuffer = bitBuffer &>> UInt64(whole << 3)
        bitCount &= 7
    }

    /// Pads to a byte boundary with zero bits and writes them.
    func alignToByte() {
        if bitCount > 0 { putBits(0, 8 - bitCount) }
    }
}
