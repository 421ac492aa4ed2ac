import CZlib
import Foundation

/// gzip compression of request bodies (the Logs Ingestion API's `Content-Encoding: gzip`).
/// Reading gzip files is `GzipByteSource`'s job; this is the other direction, for bodies of at
/// most a few MB held in memory. Compressing runs on the upload tasks, several at once: each
/// takes an encoder from a small pool, logship's own `FastDeflate` (the default) or a zlib
/// `Deflater`, whose deflate state is reset per body (`deflateReset`), not allocated and
/// initialised again.
public enum Gzip {
    /// Why a body could not be compressed. zlib fails only when memory runs out or on a bug.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Level 1, default strategy, 32 KB window, memLevel 8. Measured December 2 with this
    /// machine's zlib 1.2.13 on thirty ~1,000,000-byte bodies of `bench/gen.py ndjson` (web logs
    /// as a JSON array), one deflate state reset per body, CPU time, best of 5 (a C harness doing
    /// what `bench/zlib_levels.py` does; the machine was loaded, load average 16-18 on 2 cores,
    /// so the absolute figures are high and the ratios are what counts):
    ///
    /// | level | size | CPU-s per 100 MB |
    /// |---|---|---|
    /// | 1 | 22.9 % | 0.75 |
    /// | 2 | 22.0 % | 0.81 |
    /// | 3 | 21.1 % | 0.90 |
    /// | 4 | 20.1 % | 1.40 |
    /// | 6 | 18.4 % | 1.96 |
    ///
    /// Level 1 costs about 17 % less CPU than level 3 for 8 % more bytes sent (2 % of the input);
    /// `Z_FIXED` (27.9 %), `Z_HUFFMAN_ONLY`/`Z_RLE` (66 %), memLevel 9 and smaller windows were
    /// larger and not cheaper. The service's per-DCR quota counts bytes (2 GB and 12,000
    /// requests a minute, docs/service-facts.md), but at about 23 % one core compressing at
    /// level 1 sends far less than that: CPU is the scarcer of the two. For the same reason the
    /// default encoder is no longer zlib but `FastDeflate` (`Encoder.fast`): on the same bodies
    /// it writes about the same size (22.2 % against 22.9 %) at 2.7 times the speed
    /// (`logship-bench deflate`, docs/performance.md). This level is `Encoder.zlib`'s.
    public static let defaultLevel: Int32 = 1

    /// Which encoder writes the deflate stream (`upload.compression`).
    public enum Encoder: String, Sendable, CaseIterable {
        /// `FastDeflate`: several times zlib level 1's speed, about the same size on log JSON.
        case fast
        /// zlib at `defaultLevel`: the reference, for comparison or as a fallback.
        case zlib
    }

    /// `data` as one gzip member (RFC 1952: header, deflate stream, CRC-32, length), by zlib.
    public static func compress(_ data: Data, level: Int32 = defaultLevel) throws(Failure) -> Data {
        let d: Deflater
        if let found = pool.take(where: { $0.level == level }) { d = found } else { d = try Deflater(level: level) }
        defer { pool.give(d) }
        return try d.compress(data)
    }

    /// `data` as one gzip member by `encoder` (zlib at `defaultLevel`).
    public static func compress(_ data: Data, encoder: Encoder) throws(Failure) -> Data {
        guard encoder == .fast else { return try compress(data) }
        let f = fastPool.take() ?? FastDeflate()
        defer { fastPool.give(f) }
        return data.withUnsafeBytes { Data(f.gzip($0)) }
    }

    static let pool = ReusePool<Deflater>()
    static let fastPool = ReusePool<FastDeflate>()
}

/// Encoders kept for reuse: at most one per body compressed at once (the upload concurrency),
/// and never more than `keep`.
final class ReusePool<Item: AnyObject>: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var free: [Item] = []
    private let keep = 16

    func take(where fits: (Item) -> Bool = { _ in true }) -> Item? {
        lock.withLock { free.lastIndex(where: fits).map { free.remove(at: $0) } }
    }

    func give(_ item: Item) {
        lock.withLock { if free.count < keep { free.append(item) } }
    }
}

/// One deflate state (gzip wrapper) and an output buffer, reused body after body.
public final class Deflater: @unchecked Sendable {
    // Used by one task at a time (the pool hands it out to one caller).
    public let level: Int32
    // z_stream must not move between deflateInit2 and deflateEnd: zlib's state points back at
    // it. A heap allocation of its own keeps it in place.
    private let stream: UnsafeMutablePointer<z_stream>
    private var output: UnsafeMutableRawBufferPointer
    private var used = false

    public init(level: Int32 = Gzip.defaultLevel) throws(Gzip.Failure) {
        self.level = level
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = .allocate(byteCount: 1 << 16, alignment: 16)
        // 15 + 16: a 32 KB window with the gzip wrapper rather than the zlib one.
        let rc = logship_deflateInit2(stream, level, 15 + 16)
        guard rc == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            output.deallocate()
            throw Gzip.Failure(description: "zlib: deflateInit2 failed (\(rc))")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// `data` as one gzip member; the state is reset first, so every call is independent.
    public func compress(_ data: Data) throws(Gzip.Failure) -> Data {
        if used {
            let rc = deflateReset(stream)
            guard rc == Z_OK else { throw Gzip.Failure(description: "zlib: deflateReset failed (\(rc))") }
        }
        used = true
        // deflateBound is an upper limit for one Z_FINISH call, so a single pass always ends
        // the stream; the 18 bytes are the gzip header and trailer, which it does not count.
        let capacity = Int(deflateBound(stream, uLong(data.count))) + 18
        if output.count < capacity {
            output.deallocate()
            output = .allocate(byteCount: capacity, alignment: 16)
        }
        let out = output
        // Data's closures rethrow untyped errors; the outcome comes back as a Result instead.
        let result: Result<Int, Gzip.Failure> = data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            // zlib takes a mutable pointer for its input but never writes through it. An
            // empty body has no base address; zlib accepts a null input with avail_in 0.
            stream.pointee.next_in = input.baseAddress.map {
                UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self))
            }
            stream.pointee.avail_in = uInt(input.count)
            stream.pointee.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(capacity)
            let r = deflate(stream, Z_FINISH)
            stream.pointee.next_in = nil
            guard r == Z_STREAM_END else {
                let msg = stream.pointee.msg.map { String(cString: $0) } ?? "error \(r)"
                return .failure(Gzip.Failure(description: "zlib: deflate did not finish (\(msg))"))
            }
            return .success(capacity - Int(stream.pointee.avail_out))
        }
        let produced = try result.get()
        // Only the compressed bytes are copied out (a quarter of the body, or less).
        return Data(bytes: out.baseAddress!, count: produced)
    }
}
