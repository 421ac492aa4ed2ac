// The fast loop of `Inflater`, where nearly all the output is written.
extension Inflater {
    enum FastExit {
        /// Input or output room ran short.
        case room
        case endOfBlock
        case invalidLiteral
        case invalidDistance
        case tooFarBack
    }

    /// The fast loop: while there is enough input for a symbol after one refill (at most 48
    /// bits: 15 + 5 for a length, 15 + 13 for a distance) and room for a whole match. Its state
    /// is in locals (registers), written back once at the end; wrapping arithmetic, as every
    /// value is bounded by the loop's condition.
    func fastLoop(
        _ r: inout Bits, _ out: UnsafeMutablePointer<UInt8>, _ outEnd: Int, _ position: inout Int
    ) -> FastExit {
        let lit = self.lit
        let dist = self.dist
        let p = r.p
        let inLast = r.end &- Self.fastInput
        let outLast = outEnd &- Self.fastOutput
        var bb = r.buffer
        var bc = UInt64(r.count)
        var ip = r.i
        var op = position
        var exit = FastExit.room
        @inline(__always) func lookup(_ table: UnsafeMutablePointer<UInt32>, _ bits: UInt64) -> UInt32 {
            table[Int(truncatingIfNeeded: bb & ((1 &<< bits) &- 1))]
        }
        @inline(__always) func refill() {
            bb |= UInt64(littleEndian: p.loadUnaligned(fromByteOffset: ip, as: UInt64.self)) &<< bc
            ip &+= Int(truncatingIfNeeded: (63 &- bc) &>> 3)
            bc |= 56
        }
        fast: while ip <= inLast && op <= outLast {
            refill()
            var e = lookup(lit, UInt64(Self.litRoot))
            // After a match, the next symbol's entry is looked up before the match is copied (its
            // latency overlaps the copy), and decoding goes on here with it.
            symbol: while true {
                if e & Self.literalFlag != 0 {
                    bb &>>= UInt64(e & 0x1F)
                    bc &-= UInt64(e & 0x1F)
                    out[op] = UInt8(truncatingIfNeeded: e &>> 16)
                    op &+= 1
                    // A second literal fits in the bits left (at least 45).
                    e = lookup(lit, UInt64(Self.litRoot))
                    if e & Self.literalFlag == 0 { continue fast }
                    bb &>>= UInt64(e & 0x1F)
                    bc &-= UInt64(e & 0x1F)
                    out[op] = UInt8(truncatingIfNeeded: e &>> 16)
                    op &+= 1
                    continue fast
                }
                if e & Self.exceptional != 0 {
                    if e & Self.subtableFlag != 0 {
                        bb &>>= UInt64(Self.litRoot)
                        bc &-= UInt64(Self.litRoot)
                        e = lit[Int(e &>> 16) &+ Int(truncatingIfNeeded: bb & ((1 &<< UInt64((e &>> 8) & 0xF)) &- 1))]
                        if e & Self.literalFlag != 0 {
                            bb &>>= UInt64(e & 0x1F)
                            bc &-= UInt64(e & 0x1F)
                            out[op] = UInt8(truncatingIfNeeded: e &>> 16)
                            op &+= 1
                            continue fast
                        }
                    }
                    if e & Self.endFlag != 0 {
                        bb &>>= UInt64(e & 0x1F)
                        bc &-= UInt64(e & 0x1F)
                        exit = .endOfBlock
                        break fast
                    }
                    if e & Self.invalidFlag != 0 {
                        exit = .invalidLiteral
                        break fast
                    }
                }
                // The code and its extra bits consumed at once: the extra bits are the ones above the code's.
                let lc = UInt64(e & 0x1F)
                let lt = lc &+ UInt64((e &>> 8) & 0xF)
                let length = Int(e &>> 16) &+ Int(truncatingIfNeeded: (bb & ((1 &<< lt) &- 1)) &>> lc)
                bb &>>= lt
                bc &-= lt
                var d = lookup(dist, UInt64(Self.distRoot))
                if d & Self.exceptional != 0 {
                    if d & Self.subtableFlag != 0 {
                        bb &>>= UInt64(Self.distRoot)
                        bc &-= UInt64(Self.distRoot)
                        d = dist[Int(d &>> 16) &+ Int(truncatingIfNeeded: bb & ((1 &<< UInt64((d &>> 8) & 0xF)) &- 1))]
                    }
                    if d & Self.invalidFlag != 0 {
                        exit = .invalidDistance
                        break fast
                    }
                }
                let dc = UInt64(d & 0x1F)
                let dt = dc &+ UInt64((d &>> 8) & 0xF)
                let distance = Int(d &>> 16) &+ Int(truncatingIfNeeded: (bb & ((1 &<< dt) &- 1)) &>> dc)
                bb &>>= dt
                bc &-= dt
                let dst = out + op
                if distance > op {
                    if distance > op &+ historyCount {
                        exit = .tooFarBack
                        break fast
                    }
                    op = copySlowly(out, op, length, distance)
                    continue fast
                }
                let src = dst - distance
                // At most 48 bits were used since the refill at the top, which left the position at
                // least 9 bytes before the input's end: another 8-byte load is safe.
                refill()
                let next = lookup(lit, UInt64(Self.litRoot))
                if distance >= 16 {
                    // 16 bytes at a time, past the match's end (the room is there); each load reads
                    // bytes already written, as the distance is at least 16. Most matches in logs
                    // reach far back and end within one or two steps.
                    var s = UnsafeRawPointer(src)
                    var t = UnsafeMutableRawPointer(dst)
                    let end = t + length
                    repeat {
                        t.storeBytes(of: s.loadUnaligned(as: SIMD16<UInt8>.self), as: SIMD16<UInt8>.self)
                        s += 16
                        t += 16
                    } while t < end
                } else if distance >= 8 {
                    var s = UnsafeRawPointer(src)
                    var t = UnsafeMutableRawPointer(dst)
                    let end = t + length
                    repeat {
                        t.storeBytes(of: s.loadUnaligned(as: UInt64.self), as: UInt64.self)
                        s += 8
                        t += 8
                    } while t < end
                } else if distance == 1 {
                    dst.update(repeating: src.pointee, count: length)
                } else {
                    for k in 0..<length { dst[k] = src[k] }
                }
                op &+= length
                if ip > inLast || op > outLast { break fast }
                e = next
            }
        }
        r.buffer = bb
        r.count = Int(bc)
        r.i = ip
        // Bits above `count` are input not yet counted: drop them.
        r.clean()
        position = op
        return exit
    }

    /// Copies a match byte by byte from `at`, reaching into the history before this call's
    /// output; returns the position after it.
    func copySlowly(_ out: UnsafeMutablePointer<UInt8>, _ at: Int, _ length: Int, _ distance: Int) -> Int {
        var op = at
        for _ in 0..<length {
            let from = op - distance
            out[op] = from >= 0 ? out[from] : history[historyCount + from]
            op += 1
        }
        return op
    }
}
