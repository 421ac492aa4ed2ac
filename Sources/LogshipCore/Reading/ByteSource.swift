import Foundation
import LogshipSupport

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

/// gzip (RFC 1952) decoded incrementally; multi-member files (`cat a.gz b.gz`) are read to the
/// end. The DEFLATE data is decoded by logship's `Inflater` (about twice zlib's speed, see its
/// comment), each member's CRC-32 and length checked here with carry-less multiplication where
/// the CPU has it. Header fields (name, comment, extra) are skipped; the header's own CRC-16,
/// when present, is skipped unchecked, as zlib does by default.
public final class GzipByteSource: ByteSource {
    private let inner: ByteSource
    private let inflater = Inflater()
    /// Compressed bytes read and not used yet: `input[start..<end]`.
    private var input: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    /// The file has no more bytes.
    private var inputEnd = false
    private enum Phase {
        /// A member's header (the first, or one after a trailer).
        case header
        case data
        case trailer
        /// After a trailer: padding zeros, another member, or the end.
        case between
        case finished
    }
    private var phase = Phase.header
    /// The current member's CRC-32 and length (mod 2^32) of its output so far.
    private var memberCRC: UInt32 = 0
    private var memberLength: UInt32 = 0
    /// Members read whole and checked so far.
    private var membersRead = 0
    public var rawOffset: Int64 { inner.rawOffset - Int64(end - start) }

    public init(_ inner: ByteSource, inputBufferSize: Int = 256 * 1024) throws(ReadError) {
        self.inner = inner
        input = .allocate(byteCount: max(inputBufferSize, 4096), alignment: 16)
    }

    deinit { input.deallocate() }

    /// Makes `n` unused input bytes available (`n` at most the buffer's size); false when the
    /// file ends first.
    private func ensure(_ n: Int) throws(ReadError) -> Bool {
        while end - start < n && !inputEnd {
            if try inner.refill(&input, start: &start, end: &end).read == 0 { inputEnd = true }
        }
        return end - start >= n
    }

    private func byte(_ k: Int) -> UInt8 { input[start + k] }

    private func corrupt(_ why: String) -> ReadError {
        ReadError(message: "the gzip data is corrupt (\(why))", offset: rawOffset)
    }

    private var truncated: ReadError { ReadError(message: "the gzip stream is truncated", offset: rawOffset) }

    /// Skips a member's header, leaving the input at its DEFLATE data.
    private func readHeader() throws(ReadError) {
        if membersRead > 0 {
            // Bytes after a complete member that do not start another (GNU gzip warns of
            // "trailing garbage"): said as such, not as a truncated or damaged member.
            guard try ensure(2), byte(0) == 0x1F, byte(1) == 0x8B else {
                throw corrupt(
                    "the bytes from here on are not gzip; the \(membersRead) member(s) before them were read whole "
                        + "and checked")
            }
        }
        guard try ensure(10) else { throw end > start ? truncated : corrupt("no gzip header") }
        guard byte(0) == 0x1F && byte(1) == 0x8B else { throw corrupt("incorrect header check") }
        guard byte(2) == 8 else { throw corrupt("unknown compression method") }
        let flags = byte(3)
        guard flags & 0xE0 == 0 else { throw corrupt("unknown header flags set") }
        start += 10
        if flags & 0x04 != 0 {
            guard try ensure(2) else { throw truncated }
            var skip = Int(byte(0)) | Int(byte(1)) << 8
            start += 2
            while skip > 0 {
                guard try ensure(1) else { throw truncated }
                let n = min(skip, end - start)
                start += n
                skip -= n
            }
        }
        // The file name, then the comment: each up to a zero byte.
        for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {
            while true {
                guard try ensure(1) else { throw truncated }
                if let z = input[start..<end].firstIndex(of: 0) {
                    start = z + 1
                    break
                }
                start = end
            }
        }
        if flags & 0x02 != 0 {
            guard try ensure(2) else { throw truncated }
            start += 2
        }
    }

    /// At a member's end: its trailer against the CRC-32 and length of what it inflated to.
    private func checkTrailer() throws(ReadError) {
        guard try ensure(8) else { throw truncated }
        var crc: UInt32 = 0
        var length: UInt32 = 0
        for k in 0..<4 {
            crc |= UInt32(byte(k)) << (8 * k)
            length |= UInt32(byte(4 + k)) << (8 * k)
        }
        if memberCRC != crc { throw corrupt("incorrect data check") }
        if memberLength != length { throw corrupt("incorrect length check") }
        start += 8
        memberCRC = 0
        memberLength = 0
        membersRead += 1
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ReadError) -> Int {
        if let e = pendingError {
            pendingError = nil
            throw e
        }
        var produced = 0
        do throws(ReadError) {
            while produced < buffer.count {
                switch phase {
                case .finished:
                    return produced
                case .header:
                    try readHeader()
                    inflater.reset()
                    phase = .data
                case .data:
                    // The inflater asks for more when fewer than 700 bytes are left unused.
                    if end - start < 4096 { _ = try ensure(4096) }
                    let out = UnsafeMutableRawBufferPointer(rebasing: buffer[produced...])
                    let p: Inflater.Progress
                    do throws(Inflater.Failure) {
                        p = try inflater.inflate(
                            UnsafeRawBufferPointer(rebasing: input[start..<end]), atEnd: inputEnd, into: out)
                    } catch {
                        // What was written before the damage is handed out first, as zlib does.
                        start += error.consumed
                        produced += error.produced
                        throw error.message == Inflater.truncated.message ? truncated : corrupt(error.message)
                    }
                    start += p.consumed
                    if p.produced > 0 {
                        memberCRC = CRC32.update(memberCRC, out.baseAddress!, p.produced)
                        memberLength &+= UInt32(truncatingIfNeeded: p.produced)
                        produced += p.produced
                    }
                    if p.finished {
                        phase = .trailer
                    } else if p.produced == 0 && p.consumed == 0 && inputEnd {
                        throw truncated
                    }
                case .trailer:
                    try checkTrailer()
                    phase = .between
                case .between:
                    // Another member may follow: skip the padding zeros some tools append.
                    while try ensure(1) {
                        if byte(0) != 0 { break }
                        start += 1
                    }
                    phase = end > start ? .header : .finished
                }
            }
        } catch {
            phase = .finished
            if produced > 0 {
                pendingError = error
                return produced
            }
            throw error
        }
        return produced
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
