import CZlib
import LogshipSupport

/// The emulator's own gzip decoder for `Content-Encoding: gzip` request bodies. It shares no
/// code with the client's compressor (`Gzip`), so a fault in one shows up as a refusal by the
/// other. Output is capped: a small body that inflates to gigabytes is refused, not stored.
enum EmulatorGzip {
    enum Failure: Error, Equatable {
        /// The decoded body would be larger than the limit.
        case tooLarge
        /// Not gzip, truncated or corrupt.
        case corrupt(String)
    }

    /// Decodes one or more gzip members; fails past `limit` bytes of output.
    static func decode(_ input: [UInt8], limit: Int) -> Result<[UInt8], Failure> {
        guard input.count >= 18, input[0] == 0x1F, input[1] == 0x8B else { return .failure(.corrupt("not gzip data")) }
        // z_stream must stay put between inflateInit2 and inflateEnd (zlib points back at it).
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        guard logship_inflateInit2(stream, 15 + 16) == Z_OK else {
            return .failure(.corrupt("zlib: inflateInit2 failed"))
        }
        defer { inflateEnd(stream) }
        var out: [UInt8] = []
        out.reserveCapacity(min(limit + 1, input.count * 8))
        var window = [UInt8](repeating: 0, count: 64 * 1024)
        return input.withUnsafeBufferPointer { inBuf -> Result<[UInt8], Failure> in
            // zlib's next_in is not const, but inflate only reads through it.
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.pointee.avail_in = uInt(inBuf.count)
            while true {
                let (rc, produced) = window.withUnsafeMutableBufferPointer { w -> (Int32, Int) in
                    stream.pointee.next_out = w.baseAddress
                    stream.pointee.avail_out = uInt(w.count)
                    let rc = inflate(stream, Z_NO_FLUSH)
                    return (rc, w.count - Int(stream.pointee.avail_out))
                }
                out.append(contentsOf: window[0..<produced])
                if out.count > limit { return .failure(.tooLarge) }
                switch rc {
                case Z_STREAM_END:
                    // Another member may follow (concatenated gzip is still gzip).
                    if stream.pointee.avail_in == 0 { return .success(out) }
                    guard inflateReset(stream) == Z_OK else { return .failure(.corrupt("zlib: inflateReset failed")) }
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    // No progress possible with room to write: the input ended inside a member.
                    if stream.pointee.avail_in == 0 || produced == 0 {
                        return .failure(.corrupt("the gzip data is truncated"))
                    }
                    continue
                default:
                    let msg = stream.pointee.msg.map { String(cString: $0) } ?? "error \(rc)"
                    return .failure(.corrupt("zlib: \(msg)"))
                }
            }
        }
    }
}
