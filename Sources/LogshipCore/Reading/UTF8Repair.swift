/// Invalid UTF-8 in a record, with `invalidUTF8: "replace"`: each bad byte becomes U+FFFD, into a
/// buffer the decoder keeps and reuses (grown to 3× the input when needed), so the per-record
/// path allocates only when a longer record comes.
enum UTF8Repair {
    static func replacingInvalid(
        _ bytes: UnsafeRawBufferPointer, into buffer: inout UnsafeMutableRawBufferPointer
    ) -> UnsafeRawBufferPointer {
        let need = bytes.count * 3
        if buffer.count < need {
            buffer.deallocate()
            buffer = .allocate(byteCount: need, alignment: 16)
        }
        var o = 0
        var i = 0
        guard let p = bytes.baseAddress else { return UnsafeRawBufferPointer(rebasing: buffer[0..<0]) }
        while i < bytes.count {
            let c = bytes[i]
            if c < 0x80 {
                buffer[o] = c
                o += 1
                i += 1
                continue
            }
            let l = UTF8Bytes.sequenceLength(p, i, bytes.count)
            if l == 0 {
                buffer[o] = 0xEF
                buffer[o + 1] = 0xBF
                buffer[o + 2] = 0xBD
                o += 3
                i += 1
            } else {
                for k in 0..<l { buffer[o + k] = bytes[i + k] }
                o += l
                i += l
            }
        }
        return UnsafeRawBufferPointer(rebasing: buffer[0..<o])
    }
}
