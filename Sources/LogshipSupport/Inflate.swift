#if canImport(Glibc)
    import Glibc
#endif

/// Raw DEFLATE (RFC 1951) decoding for the gzip reader, streaming: input and output come in
/// pieces, and the last 32 KiB of output are kept for the matches that reach back past the
/// start of the caller's buffer.
///
/// Why not zlib: zlib 1.2's `inflate` runs at about 400 MB/s of output on web-log NDJSON on
/// this machine, which made the inflating thread as busy as the decoding one
/// (docs/performance.md). This decoder is built the way libdeflate's is:
///
/// - one table lookup per symbol: 11-bit (literal/length) and 8-bit (distance) main tables,
///   with subtables for the longer codes; an entry carries the literal or base value, the
///   count of extra bits and the bits to consume;
/// - a 64-bit bit buffer refilled without branches (8 bytes loaded, whole bytes counted);
/// - a fast loop while at least 16 input bytes and 274 bytes of output room are left, in
///   which a match is copied 8 bytes at a time; a careful loop, one symbol at a time, near the
///   ends of either.
///
/// The stream's validity rules are zlib's: over-subscribed or incomplete codes (but a single
/// one-bit code), too many symbols, a missing end-of-block code, repeats past the end, codes
/// and distances that do not exist or reach too far back are errors.
public final class Inflater {
    /// Why the data cannot be decoded, in zlib's words where zlib has them.
    public struct Failure: Error, Sendable, Equatable {
        public let message: String
        /// Input bytes used and output bytes written before the failure (see `inflate`).
        public var consumed = 0
        public var produced = 0

        public init(message: String) { self.message = message }
    }

    /// What one call did: input bytes used, output bytes written, and whether the stream's
    /// last block ended (the bytes after it, a gzip trailer, are not consumed).
    public struct Progress: Sendable, Equatable {
        public var consumed: Int
        public var produced: Int
        public var finished: Bool
    }

    // A table entry (UInt32):
    //   bits 0-4   bits the entry's code takes (for a subtable pointer: the main table's bits)
    //   bits 8-11  extra bits after the code (length, distance), or a subtable's index bits
    //   bit 12     no such code; bit 13 end of block; bit 14 subtable pointer; bit 15 literal
    //   bits 16-31 the literal byte, the length or distance base, or the subtable's start
    static let literalFlag: UInt32 = 1 << 15
    static let subtableFlag: UInt32 = 1 << 14
    static let endFlag: UInt32 = 1 << 13
    static let invalidFlag: UInt32 = 1 << 12
    static let exceptional: UInt32 = subtableFlag | endFlag | invalidFlag
    static let litRoot = 11
    static let distRoot = 8
    static let preRoot = 7
    // Main table plus subtables: each long code's prefix gets at most 2^(15 - root) entries.
    static let litEntries = (1 << litRoot) + 288 * (1 << (15 - litRoot))
    static let distEntries = (1 << distRoot) + 32 * (1 << (15 - distRoot))
    static let window = 32768
    static let fastInput = 16
    static let fastOutput = 258 + 16

    static let lengthBase: [UInt16] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227,
        258,
    ]
    static let lengthExtra: [UInt8] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ]
    static let distBase: [UInt16] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
        6145, 8193, 12289, 16385, 24577,
    ]
    static let distExtra: [UInt8] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
    ]
    static let precodeOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    enum Phase: Equatable {
        case blockHeader
        case storedLength
        case stored(remaining: Int)
        case codes
        case done
    }

    var phase = Phase.blockHeader
    var lastBlock = false
    /// Bits read but not used; fewer than 8 between calls (whole bytes are given back).
    var bitBuffer: UInt64 = 0
    var bitCount = 0
    /// A match cut short by the end of the output buffer.
    var pendingLength = 0
    var pendingDistance = 0
    /// The last `historyCount` bytes written before the current call's output.
    let history: UnsafeMutablePointer<UInt8>
    var historyCount = 0

    let dynamicLit: UnsafeMutablePointer<UInt32>
    let dynamicDist: UnsafeMutablePointer<UInt32>
    let fixedLit: UnsafeMutablePointer<UInt32>
    let fixedDist: UnsafeMutablePointer<UInt32>
    let precode: UnsafeMutablePointer<UInt32>
    var lit: UnsafeMutablePointer<UInt32>
    var dist: UnsafeMutablePointer<UInt32>
    /// Code lengths of the block being read, and the table builder's scratch.
    let lengths: UnsafeMutablePointer<UInt8>
    let scratch: UnsafeMutablePointer<UInt32>
    let subBits: UnsafeMutablePointer<UInt8>

    public init() {
        history = .allocate(capacity: Self.window)
        dynamicLit = .allocate(capacity: Self.litEntries)
        dynamicDist = .allocate(capacity: Self.distEntries)
        fixedLit = .allocate(capacity: Self.litEntries)
        fixedDist = .allocate(capacity: Self.distEntries)
        precode = .allocate(capacity: 1 << Self.preRoot)
        lengths = .allocate(capacity: 320)
        scratch = .allocate(capacity: 320)
        subBits = .allocate(capacity: 1 << Self.litRoot)
        lit = fixedLit
        dist = fixedDist
        for s in 0..<288 { lengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8 }
        _ = buildLitLen(fixedLit, count: 288)
        for s in 0..<32 { lengths[s] = 5 }
        _ = buildDistance(fixedDist, count: 32)
    }

    deinit {
        history.deallocate()
        dynamicLit.deallocate()
        dynamicDist.deallocate()
        fixedLit.deallocate()
        fixedDist.deallocate()
        precode.deallocate()
        lengths.deallocate()
        scratch.deallocate()
        subBits.deallocate()
    }

    /// Starts a new stream (the next gzip member): nothing of the last one is kept.
    public func reset() {
        phase = .blockHeader
        lastBlock = false
        bitBuffer = 0
        bitCount = 0
        pendingLength = 0
        pendingDistance = 0
        historyCount = 0
    }

    // MARK: Decoding

    /// The input and the bit buffer of one call. Bits above `count` may hold input bytes not
    /// yet counted (the fast refill loads 8 bytes); `clean` drops them.
    struct Bits {
        let p: UnsafeRawPointer
        let end: Int
        let atEnd: Bool
        var i = 0
        var buffer: UInt64
        var count: Int
        /// Zero bytes put in the buffer past the end of the input (`atEnd` only).
        var overrun = 0

        /// Pulls input bytes one at a time until the buffer holds 56 bits or more (or the
        /// input, not at its end, runs out). It never holds more than 63: shifts of 64 wrap.
        @inline(__always) mutating func refill() {
            while count < 56 {
                if i < end {
                    buffer |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) &<< UInt64(count)
                    i += 1
                } else if atEnd {
                    overrun += 1
                } else {
                    return
                }
                count += 8
            }
        }

        /// Loads 8 bytes at once; needs 8 input bytes left.
        @inline(__always) mutating func refillFast() {
            buffer |= UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &<< UInt64(count)
            i += (63 - count) >> 3
            count |= 56
        }

        /// Two bytes straight from the input (the buffer is empty: stored blocks).
        mutating func take16() -> Int {
            let v =
                Int(p.load(fromByteOffset: i, as: UInt8.self)) | Int(p.load(fromByteOffset: i + 1, as: UInt8.self)) << 8
            i += 2
            return v
        }

        @inline(__always) func peek(_ n: Int) -> Int { Int(truncatingIfNeeded: buffer & ((1 &<< UInt64(n)) &- 1)) }

        @inline(__always) mutating func drop(_ n: Int) {
            buffer &>>= UInt64(n)
            count -= n
        }

        @inline(__always) mutating func take(_ n: Int) -> Int {
            let v = peek(n)
            drop(n)
            return v
        }

        @inline(__always) mutating func clean() { buffer &= (1 &<< UInt64(count)) &- 1 }

        /// Whether bits past the input's end were used: the stream is truncated.
        @inline(__always) var overran: Bool { overrun > 0 && count < 8 * overrun }

        /// Gives the whole bytes in the buffer back to the input.
        mutating func giveBack() {
            let whole = count >> 3
            let padding = min(whole, overrun)
            overrun -= padding
            i -= whole - padding
            count &= 7
            clean()
        }
    }

    /// The input ended inside the stream.
    public static let truncated = Failure(message: "unexpected end of the compressed data")

    /// Decodes from `input` into `output` until the output is full, the stream ends, or more
    /// input is needed (then fewer than 700 input bytes were left unused: call again with them
    /// and more). `atEnd`: no input follows this one (what is missing reads as zeros, and using
    /// any of them is an error: the stream is truncated).
    ///
    /// A failure says how far the call got: `produced` bytes were written before the damage was
    /// found (as zlib writes them), `consumed` input bytes hold the bits used until then. Both
    /// depend only on the data, not on how it was cut into pieces.
    public func inflate(
        _ input: UnsafeRawBufferPointer, atEnd: Bool, into output: UnsafeMutableRawBufferPointer
    ) throws(Failure) -> Progress {
        var r = Bits(
            p: input.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, end: input.count, atEnd: atEnd,
            buffer: bitBuffer, count: bitCount)
        let out = output.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafeMutablePointer(bitPattern: 8)!
        var op = 0
        do {
            return try decode(&r, out, output.count, &op)
        } catch {
            phase = .done
            var f = error
            f.consumed = max(0, r.i - max(0, r.count >> 3 - r.overrun))
            f.produced = op
            throw f
        }
    }

    func decode(
        _ r: inout Bits, _ out: UnsafeMutablePointer<UInt8>, _ outEnd: Int, _ op: inout Int
    ) throws(Failure) -> Progress {
        let atEnd = r.atEnd
        while true {
            switch phase {
            case .done:
                return finish(&r, out, op)

            case .blockHeader:
                if lastBlock {
                    r.drop(r.count & 7)
                    phase = .done
                    continue
                }
                // A dynamic header takes at most 14 + 57 + 320 * 14 bits (under 600 bytes).
                if !atEnd && r.end - r.i < 700 { return finish(&r, out, op) }
                r.refill()
                lastBlock = r.take(1) == 1
                let type = r.take(2)
                if r.overran { throw Self.truncated }
                switch type {
                case 0: phase = .storedLength
                case 1:
                    lit = fixedLit
                    dist = fixedDist
                    phase = .codes
                case 2:
                    try readDynamicHeader(&r)
                    lit = dynamicLit
                    dist = dynamicDist
                    phase = .codes
                default: throw Failure(message: "invalid block type")
                }

            case .storedLength:
                r.drop(r.count & 7)
                r.giveBack()
                if r.overrun > 0 { throw Self.truncated }
                if r.end - r.i < 4 {
                    if atEnd { throw Self.truncated }
                    return finish(&r, out, op)
                }
                let length = r.take16()
                let check = r.take16()
                guard length == check ^ 0xFFFF else { throw Failure(message: "invalid stored block lengths") }
                phase = .stored(remaining: length)

            case .stored(let remaining):
                if remaining == 0 {
                    phase = .blockHeader
                    continue
                }
                let n = min(remaining, r.end - r.i, outEnd - op)
                if n == 0 {
                    if op < outEnd && atEnd { throw Self.truncated }
                    return finish(&r, out, op)
                }
                (out + op).update(from: (r.p + r.i).assumingMemoryBound(to: UInt8.self), count: n)
                r.i += n
                op += n
                phase = .stored(remaining: remaining - n)

            case .codes:
                if pendingLength > 0 {
                    let n = min(pendingLength, outEnd - op)
                    op = copySlowly(out, op, n, pendingDistance)
                    pendingLength -= n
                    if pendingLength > 0 { return finish(&r, out, op) }
                }
                switch fastLoop(&r, out, outEnd, &op) {
                case .room: break
                case .endOfBlock: phase = .blockHeader
                case .invalidLiteral: throw Failure(message: "invalid literal/length code")
                case .invalidDistance: throw Failure(message: "invalid distance code")
                case .tooFarBack: throw Failure(message: "invalid distance too far back")
                }
                let lit = self.lit
                let dist = self.dist
                if phase != .codes { continue }
                r.clean()
                // The careful loop: one symbol, from input taken byte by byte.
                if outEnd - op == 0 { return finish(&r, out, op) }
                r.refill()
                if !atEnd && r.count < 48 { return finish(&r, out, op) }
                var e = lit[r.peek(Self.litRoot)]
                if e & Self.subtableFlag != 0 {
                    r.drop(Self.litRoot)
                    e = lit[Int(e >> 16) + r.peek(Int((e >> 8) & 0xF))]
                }
                if e & Self.invalidFlag != 0 {
                    throw r.overran ? Self.truncated : Failure(message: "invalid literal/length code")
                }
                r.drop(Int(e & 0x1F))
                if e & Self.literalFlag != 0 {
                    if r.overran { throw Self.truncated }
                    out[op] = UInt8(truncatingIfNeeded: e >> 16)
                    op += 1
                    continue
                }
                if e & Self.endFlag != 0 {
                    if r.overran { throw Self.truncated }
                    phase = .blockHeader
                    continue
                }
                let length = Int(e >> 16) + r.take(Int((e >> 8) & 0xF))
                var d = dist[r.peek(Self.distRoot)]
                if d & Self.subtableFlag != 0 {
                    r.drop(Self.distRoot)
                    d = dist[Int(d >> 16) + r.peek(Int((d >> 8) & 0xF))]
                }
                if d & Self.invalidFlag != 0 {
                    throw r.overran ? Self.truncated : Failure(message: "invalid distance code")
                }
                r.drop(Int(d & 0x1F))
                let distance = Int(d >> 16) + r.take(Int((d >> 8) & 0xF))
                if r.overran { throw Self.truncated }
                if distance > op + historyCount { throw Failure(message: "invalid distance too far back") }
                let n = min(length, outEnd - op)
                op = copySlowly(out, op, n, distance)
                if n < length {
                    pendingLength = length - n
                    pendingDistance = distance
                    return finish(&r, out, op)
                }
            }
        }
    }

    /// Ends a call: whole unused bytes go back to the input, the rest of the state is kept.
    func finish(_ r: inout Bits, _ out: UnsafeMutablePointer<UInt8>, _ produced: Int) -> Progress {
        r.giveBack()
        bitBuffer = r.buffer
        bitCount = r.count
        keepHistory(out, produced)
        return Progress(consumed: r.i, produced: produced, finished: phase == .done)
    }

    /// Keeps the last 32 KiB written, for matches in the next call's output.
    func keepHistory(_ out: UnsafeMutablePointer<UInt8>, _ produced: Int) {
        if produced >= Self.window {
            history.update(from: out + produced - Self.window, count: Self.window)
            historyCount = Self.window
        } else if produced > 0 {
            let keep = min(historyCount, Self.window - produced)
            if keep < historyCount { memmove(history, history + historyCount - keep, keep) }
            (history + keep).update(from: out, count: produced)
            historyCount = keep + produced
        }
    }
}
