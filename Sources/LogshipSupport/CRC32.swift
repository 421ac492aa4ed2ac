import CZlib

/// CRC-32 as gzip's trailer holds it (RFC 1952: the ISO 3309 polynomial, bit-reflected): the
/// one entry point for the gzip reader's trailer check and the request-body encoder. Long runs
/// are folded by carry-less multiplication where the CPU has it (`logship_crc32` in
/// Sources/CZlib/shim.h), the rest by zlib's `crc32_z`.
public enum CRC32 {
    /// Whether this CPU has PCLMULQDQ and SSE4.1, asked once.
    static let pclmul: Int32 = {
        #if arch(x86_64)
            return logship_cpu_has_pclmul()
        #else
            return 0
        #endif
    }()

    /// `crc` (0 to start) carried over `count` bytes at `bytes`.
    @inline(__always)
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawPointer, _ count: Int) -> UInt32 {
        guard count > 0 else { return crc }
        return UInt32(
            truncatingIfNeeded: logship_crc32(UInt(crc), bytes.assumingMemoryBound(to: UInt8.self), count, pclmul))
    }
}
