import CZlib
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where a reader's bytes come from. `read` fills up to `buffer.count` bytes and returns how
/// many; 0 means the end.
public protocol ByteSource: AnyObject {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ReadError) -> Int
    /// Bytes consumed from the underlying file so far (compressed bytes for gzip).
    var rawOffset: Int64 { get }
}

extension ByteSource {
    /// For the readers that keep a window of unread bytes `start..<end` in `buffer`: moves those
    /// bytes to the front (doubling the buffer when they fill it) and reads more after them.
    /// Returns the bytes read (0 at the end of the source) and how far the window moved.
    func refill(
        _ buffer: inout UnsafeMutableRawBufferPointer, start: inout Int, end: inout Int
    ) throws(ReadError) -> (read: Int, moved: Int) {
        let moved = start
        if start > 0 {
            if end > start { memmove(buffer.baseAddress!, buffer.baseAddress! + start, end - start) }
            end -= start
            start = 0
        }
        if end == buffer.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 64)
            bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
            buffer.deallocate()
            buffer = bigger
        }
        let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
        end += n
        return (n, moved)
    }
}

/// A source that lends out the buffers it fills instead of copying them into the caller's
/// (`LineReader` reads such a source without a copy).
public protocol LendingByteSource: ByteSource {
    /// The next bytes, lent until the next call to `lend` or `read` (the buffer then goes back
    /// to the source to be filled again); empty at the end. An error is thrown only after every
    /// byte before it was lent.
    func lend() throws(ReadError) -> UnsafeRawBufferPointer
}

/// Why a file could not be read (the reader reports it with the file and offset).
public struct ReadError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// Offset in the file (compressed bytes for gzip) where the problem was found.
    public var offset: Int64
    public var description: String { "\(message) (at byte \(offset))" }
}

/// A file (or stdin) read with plain `read(2)` calls into the caller's buffer.
public final class FileByteSource: ByteSource {
    private let fd: Int32
    private let ownsFD: Bool
    public private(set) var rawOffset: Int64 = 0
    /// Bytes after this are not read (what a file grew by while it is read belongs to the next run).
    private let limit: Int64

    /// - Parameter limit: read no further than this many bytes (the size the run fingerprinted).
    public init(path: String, limit: Int64 = .max) throws(ReadError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadError(message: "cannot open: \(String(cString: strerror(errno)))", offset: 0) }
        self.fd = fd
        self.ownsFD = true
        self.limit = limit
        #if os(Linux)
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        #endif
    }

    /// Standard input.
    public init(standardInput: Void) {
        fd = 0
        ownsFD = false
        limit = .max
    }

    deinit { if ownsFD { close(fd) } }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ReadError) -> Int {
        let room = Int(min(Int64(buffer.count), limit - rawOffset))
        if room <= 0 { return 0 }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, room)
            if n >= 0 {
                rawOffset += Int64(n)
                return n
            }
            if errno == EINTR { continue }
            throw ReadError(message: "read failed: \(String(cString: strerror(errno)))", offset: rawOffset)
        }
    }
}

/// gzip decoded incrementally with zlib; multi-member files (`cat a.gz b.gz`) are read to the end.
/// Each member's CRC-32 and length are checked here rather than by zlib (`inflateValidate` off):
/// the same check, computed with carry-less multiplication where the CPU has it.
public final class GzipByteSource: ByteSource {
    private let inner: ByteSource
    // z_stream must not move once inflateInit2 has seen it: zlib keeps a pointer back to it
    // in its internal state. So it lives in its own heap allocation, freed in deinit.
    private let stream: UnsafeMutablePointer<z_stream>
    /// Compressed bytes: the last `kept` bytes read before, then the latest read. A member's
    /// 8-byte trailer (CRC-32, length) is always the 8 bytes before `next_in` when it ends.
    private var input: UnsafeMutableRawBufferPointer
    private static let kept = 8
    private var inputFilled = 0
    private var inputEnd = false
    private var finished = false
    private var initialized = false
    private var memberHasData = false
    /// The current member's CRC-32 and length (mod 2^32) of its output so far.
    private var memberCRC: UInt = 0
    private var memberLength: UInt32 = 0
    private static let pclmul = logship_cpu_has_pclmul() != 0
    public var rawOffset: Int64 { inner.rawOffset - Int64(stream.pointee.avail_in) }

    public init(_ inner: ByteSource, inputBufferSize: Int = 256 * 1024) throws(ReadError) {
        self.inner = inner
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        input = .allocate(byteCount: Self.kept + inputBufferSize, alignment: 16)
        input.initializeMemory(as: UInt8.self, repeating: 0)
        guard logship_inflateInit2(stream, 15 + 16) == Z_OK else {
            throw ReadError(message: "zlib: inflateInit2 failed", offset: 0)
        }
        initialized = true
        guard inflateValidate(stream, 0) == Z_OK else {
            throw ReadError(message: "zlib: inflateValidate failed", offset: 0)
        }
    }

    deinit {
        if initialized { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
        input.deallocate()
    }

    /// Reads more compressed bytes once the last ones are used up, keeping the `kept` bytes
    /// before them; sets `inputEnd` at the end of the file.
    private func refillInput() throws(ReadError) {
        let base = input.baseAddress!
        // The last `kept` bytes of what was read so far (the region is contiguous: it starts
        // with the bytes kept from before).
        memmove(base, base + inputFilled, Self.kept)
        let n = try inner.read(into: UnsafeMutableRawBufferPointer(rebasing: input[Self.kept...]))
        inputFilled = n
        if n == 0 {
            inputEnd = true
        } else {
            stream.pointee.next_in = (base + Self.kept).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_in = UInt32(n)
        }
    }

    /// At a member's end: its trailer against the CRC-32 and length of what it inflated to.
    private func checkTrailer() -> String? {
        let t = UnsafeRawPointer(stream.pointee.next_in!) - 8
        var crc: UInt32 = 0
        var length: UInt32 = 0
        for k in 0..<4 {
            crc |= UInt32(t.load(fromByteOffset: k, as: UInt8.self)) << (8 * k)
            length |= UInt32(t.load(fromByteOffset: 4 + k, as: UInt8.self)) << (8 * k)
        }
        if UInt32(truncatingIfNeeded: memberCRC) != crc { return "incorrect data check" }
        if memberLength != length { return "incorrect length check" }
        return nil
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ReadError) -> Int {
        if let e = pendingError {
            pendingError = nil
            throw e
        }
        guard !finished, buffer.count > 0 else { return 0 }
        stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(min(buffer.count, Int(UInt32.max)))
        while stream.pointee.avail_out > 0 {
            try readInput()
            if stream.pointee.avail_in == 0 && inputEnd {
                let produced = buffer.count - Int(stream.pointee.avail_out)
                if memberHasData {
                    // The stream ended inside a member: the file is truncated.
                    finished = true
                    if produced > 0 {
                        pendingError = ReadError(message: "the gzip stream is truncated", offset: rawOffset)
                        return produced
                    }
                    throw ReadError(message: "the gzip stream is truncated", offset: rawOffset)
                }
                finished = true
                return produced
            }
            let before = stream.pointee.next_out!
            let rc = inflate(stream, Z_NO_FLUSH)
            let out = before.distance(to: stream.pointee.next_out!)
            if out > 0 {
                memberCRC = logship_crc32(memberCRC, before, out, Self.pclmul ? 1 : 0)
                memberLength &+= UInt32(truncatingIfNeeded: out)
            }
            memberHasData = true
            var failure: String? = nil
            switch rc {
            case Z_OK, Z_BUF_ERROR:
                continue
            case Z_STREAM_END:
                if let bad = checkTrailer() {
                    failure = bad
                    break
                }
                memberHasData = false
                memberCRC = 0
                memberLength = 0
                // Another member may follow: skip padding zeros some tools append, then reset.
                while stream.pointee.avail_in > 0 && stream.pointee.next_in.pointee == 0 {
                    stream.pointee.next_in += 1
                    stream.pointee.avail_in -= 1
                }
                try readInput()
                if stream.pointee.avail_in == 0 && inputEnd {
                    finished = true
                    return buffer.count - Int(stream.pointee.avail_out)
                }
                guard inflateReset(stream) == Z_OK else {
                    throw ReadError(message: "zlib: inflateReset failed", offset: rawOffset)
                }
                continue
            default:
                failure = stream.pointee.msg.map { String(cString: $0) } ?? "error \(rc)"
            }
            let produced = buffer.count - Int(stream.pointee.avail_out)
            finished = true
            let err = ReadError(message: "the gzip data is corrupt (zlib: \(failure ?? "?"))", offset: rawOffset)
            if produced > 0 {
                pendingError = err
                return produced
            }
            throw err
        }
        return buffer.count
    }

    /// Gives zlib more compressed input when it has used all it had; at the file's end, notes it.
    private func readInput() throws(ReadError) {
        guard stream.pointee.avail_in == 0 && !inputEnd else { return }
        try refillInput()
    }

    /// An error found after some bytes were produced: those are returned first, the error next.
    private var pendingError: ReadError?

    /// Whether `prefix` starts with the gzip magic bytes.
    public static func isGzip(_ prefix: UnsafeRawBufferPointer) -> Bool {
        prefix.count >= 2 && prefix[0] == 0x1F && prefix[1] == 0x8B
    }
}

/// Puts bytes already read (to sniff the format) back in front of a source.
public final class PrefixedByteSource: ByteSource {
    private var prefix: [UInt8]
    private var position = 0
    private let inner: ByteSource
    public var rawOffset: Int64 { inner.rawOffset - Int64(prefix.count - position) }

    public init(prefix: [UInt8], inner: ByteSource) {
        self.prefix = prefix
        self.inner = inner
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ReadError) -> Int {
        if position < prefix.count {
            let n = min(buffer.count, prefix.count - position)
            prefix.withUnsafeBytes { p in
                buffer.baseAddress!.copyMemory(from: p.baseAddress! + position, byteCount: n)
            }
            position += n
            return n
        }
        return try inner.read(into: buffer)
    }
}

public enum ByteSources {
    /// Opens `path` ("-" is stdin), decoding gzip when `compression` says so or, for `auto`,
    /// when the first two bytes are the gzip magic.
    /// - Parameter limit: raw bytes to read at most (the size the run fingerprinted).
    public static func open(path: String, compression: Compression, limit: Int64 = .max) throws(ReadError) -> ByteSource
    {
        let file: ByteSource =
            path == "-" ? FileByteSource(standardInput: ()) : try FileByteSource(path: path, limit: limit)
        switch compression {
        case .none: return file
        case .gzip: return try GzipByteSource(file)
        case .auto:
            let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: 2, alignment: 1)
            defer { raw.deallocate() }
            var got = 0
            while got < 2 {
                let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[got...]))
                if n == 0 { break }
                got += n
            }
            let head = Array(raw.prefix(got))
            let prefixed = PrefixedByteSource(prefix: head, inner: file)
            let isGz = head.withUnsafeBytes { GzipByteSource.isGzip($0) }
            return isGz ? try GzipByteSource(prefixed) : prefixed
        }
    }
}

/// Runs another source (gzip) on a thread of its own, filling large buffers ahead of the
/// reader, so inflating on one core overlaps with decoding and sending on the other. The
/// bytes, their order and every error (with its offset) are the inner source's; an error is
/// raised only after every byte before it was handed out. `rawOffset` is the inner source's
/// offset after the buffer being handed out was filled (progress only). `LineReader` borrows
/// the filled buffers (`lend`) rather than copying them; a buffer goes back to the filling
/// thread when the next one is borrowed.
public final class ReadAheadByteSource: LendingByteSource {
    /// The buffers and their queues, shared with the filling thread (guarded by `condition`).
    final class Shared: @unchecked Sendable {
        let condition = NSCondition()
        var full: [Filled] = []
        var spare: [UnsafeMutableRawBufferPointer] = []
        var cancelled = false
        var threadDone = false

        deinit {
            for b in spare { b.deallocate() }
            for f in full { f.buffer.deallocate() }
        }
    }

    struct Filled {
        var buffer: UnsafeMutableRawBufferPointer
        var count: Int
        var rawOffset: Int64
        var error: ReadError?
        var end: Bool
    }

    private let shared = Shared()
    private var current: Filled?
    private var position = 0
    private var finished = false
    public private(set) var rawOffset: Int64 = 0

    /// - Parameters:
    ///   - bufferSize: bytes per hand-over (large: one lock round trip per buffer).
    ///   - buffers: how many exist; up to `buffers - 1` are filled ahead of the reader.
    public init(_ inner: ByteSource, bufferSize: Int = 1 << 21, buffers: Int = 3) {
        for _ in 0..<max(buffers, 2) { shared.spare.append(.allocate(byteCount: bufferSize, alignment: 64)) }
        // The inner source moves to the filling thread and is used only there from now on.
        nonisolated(unsafe) let source = inner
        let s = shared
        let t = Thread { Self.fill(source, s) }
        t.name = "logship-inflate"
        t.stackSize = 1 << 20
        t.start()
    }

    deinit {
        let s = shared
        s.condition.withLock {
            s.cancelled = true
            if let c = current { s.spare.append(c.buffer) }
            s.condition.broadcast()
        }
    }

    private static func fill(_ source: ByteSource, _ s: Shared) {
        while true {
            let buffer: UnsafeMutableRawBufferPointer? = s.condition.withLock {
                while s.spare.isEmpty && !s.cancelled { s.condition.wait() }
                return s.cancelled ? nil : s.spare.removeLast()
            }
            guard let buffer else { break }
            var item = Filled(buffer: buffer, count: 0, rawOffset: 0, error: nil, end: false)
            // Fill the buffer whole (the inner source may return less per call).
            while item.count < buffer.count {
                do {
                    let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[item.count...]))
                    if n == 0 {
                        item.end = true
                        break
                    }
                    item.count += n
                } catch {
                    item.error = error
                    item.end = true
                    break
                }
            }
            item.rawOffset = source.rawOffset
            let stop = s.condition.withLock { () -> Bool in
                if s.cancelled {
                    s.spare.append(buffer)
                    return true
                }
                s.full.append(item)
                s.condition.broadcast()
                return item.end
            }
            if stop { break }
        }
        s.condition.withLock {
            s.threadDone = true
            // Buffers handed back after the thread stopped are freed by `Shared`'s deinit.
            s.condition.broadcast()
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ReadError) -> Int {
        if buffer.count == 0 { return 0 }
        guard try advance(), let c = current else { return 0 }
        let n = min(buffer.count, c.count - position)
        buffer.baseAddress!.copyMemory(from: c.buffer.baseAddress! + position, byteCount: n)
        position += n
        return n
    }

    public func lend() throws(ReadError) -> UnsafeRawBufferPointer {
        guard try advance(), let c = current else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let lent = UnsafeRawBufferPointer(start: c.buffer.baseAddress! + position, count: c.count - position)
        position = c.count
        return lent
    }

    /// Makes `current` hold unread bytes, giving a used-up buffer back and taking the next
    /// filled one (one lock round trip for both); false at the end. A buffer's error is raised
    /// once its bytes were handed out.
    private func advance() throws(ReadError) -> Bool {
        while true {
            var used: UnsafeMutableRawBufferPointer? = nil
            if let c = current {
                if position < c.count { return true }
                current = nil
                if let e = c.error {
                    finished = true
                    give(c.buffer)
                    throw e
                }
                if c.end {
                    finished = true
                    give(c.buffer)
                    return false
                }
                used = c.buffer
            }
            if finished { return false }
            let s = shared
            let next: Filled = s.condition.withLock {
                if let used {
                    s.spare.append(used)
                    s.condition.broadcast()
                }
                while s.full.isEmpty { s.condition.wait() }
                return s.full.removeFirst()
            }
            current = next
            position = 0
            rawOffset = next.rawOffset
        }
    }

    private func give(_ b: UnsafeMutableRawBufferPointer) {
        let s = shared
        s.condition.withLock {
            s.spare.append(b)
            s.condition.broadcast()
        }
    }
}
