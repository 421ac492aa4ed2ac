import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Splits a byte source into lines through one fixed buffer (grown only for a line longer
/// than it). A line's bytes are valid until the next call to `next()`.
///
/// A `LendingByteSource` (gzip inflated ahead on its own thread) is read without that copy:
/// lines are handed out where they lie in the lent buffer, and only a line that straddles two
/// lent buffers is put together in this reader's buffer.
public final class LineReader {
    public struct Line {
        /// The line without its `\n` (and without a `\r` before it).
        public var bytes: UnsafeRawBufferPointer
        /// 1-based line number.
        public var number: Int
        /// Offset of the line's first byte in the decoded stream.
        public var offset: Int64
        /// The line was longer than the limit and was cut short (the rest is skipped).
        public var overlong: Bool
    }

    let source: ByteSource
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var eof = false
    private var lineNumber = 0
    private var consumed: Int64 = 0  // decoded bytes before `start`
    public let maxLineBytes: Int
    /// Asked at the end when the last line has no line end: true when the file is still being
    /// written, and that line is then not handed out (the rest of it has not arrived yet).
    /// `heldBack` tells whether a line was left so.
    public var stillBeingWritten: (() -> Bool)? = nil
    public private(set) var heldBack = false
    /// Decoded bytes handed out so far (for progress).
    public var decodedOffset: Int64 { consumed }
    public var rawOffset: Int64 { source.rawOffset }

    public init(source: ByteSource, bufferSize: Int = 1 << 20, maxLineBytes: Int = 32 << 20) {
        self.source = source
        self.lender = source as? LendingByteSource
        self.buffer = .allocate(byteCount: max(bufferSize, 4096), alignment: 64)
        self.maxLineBytes = maxLineBytes
    }

    deinit {
        buffer.deallocate()
        pendingExcerpt?.deallocate()
    }

    /// The next line, or nil at the end. Read errors are thrown after every complete line
    /// before them was returned.
    public func next() throws(ReadError) -> Line? {
        if let lender { return try nextLent(lender) }
        var searchFrom = start
        while true {
            if searchFrom < end,
                let hit = memchr(buffer.baseAddress! + searchFrom, 0x0A, end - searchFrom)
            {
                let nl = buffer.baseAddress!.distance(to: hit)
                return take(upTo: nl, skip: 1)
            }
            searchFrom = end
            if eof {
                if start < end {
                    if heldBack || stillBeingWritten?() == true {
                        heldBack = true
                        return nil
                    }
                    return take(upTo: end, skip: 0)
                }
                return nil
            }
            if end - start >= maxLineBytes {
                return try overlong()
            }
            // Bytes already searched stay searched when the tail moves to the front.
            let searched = end - start
            try refill()
            searchFrom = start + searched
        }
    }

    private func take(upTo nl: Int, skip: Int) -> Line {
        var stop = nl
        if stop > start, buffer[stop - 1] == 0x0D { stop -= 1 }
        lineNumber += 1
        let line = Line(
            bytes: UnsafeRawBufferPointer(rebasing: buffer[start..<stop]), number: lineNumber, offset: consumed,
            overlong: false)
        consumed += Int64(nl + skip - start)
        start = nl + skip
        return line
    }

    /// Moves the unread tail to the front (growing the buffer if the tail fills it) and reads more.
    private func refill() throws(ReadError) {
        let (n, _) = try source.refill(&buffer, start: &start, end: &end)
        if n == 0 { eof = true }
    }

    /// A line over `maxLineBytes`: hand out its first part marked overlong, skip the rest.
    private func overlong() throws(ReadError) -> Line {
        lineNumber += 1
        let number = lineNumber
        let offset = consumed
        let keep = min(4096, end - start)
        let excerpt = UnsafeMutableRawBufferPointer.allocate(byteCount: keep, alignment: 1)
        excerpt.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[start..<start + keep]))
        pendingExcerpt?.deallocate()
        pendingExcerpt = excerpt
        // Skip to the end of this line.
        while true {
            if let hit = memchr(buffer.baseAddress! + start, 0x0A, end - start) {
                let nl = buffer.baseAddress!.distance(to: hit)
                consumed += Int64(nl + 1 - start)
                start = nl + 1
                break
            }
            consumed += Int64(end - start)
            start = 0
            end = 0
            if eof { break }
            let n = try source.read(into: buffer)
            if n == 0 { eof = true }
            end = n
        }
        return Line(bytes: UnsafeRawBufferPointer(excerpt), number: number, offset: offset, overlong: true)
    }

    private var pendingExcerpt: UnsafeMutableRawBufferPointer?

    // MARK: Reading lent buffers

    private let lender: LendingByteSource?
    /// The buffer lent by the source, and where the unread bytes in it start.
    private var loan = UnsafeRawBufferPointer(start: nil, count: 0)
    private var loanPosition = 0
    /// The line handed out last was put together in `buffer[0..<end]`.
    private var handedOutJoined = false
    // In this mode `buffer[0..<end]` holds the start of a line that straddles lent buffers
    // (`start` stays 0).

    private func nextLent(_ lender: LendingByteSource) throws(ReadError) -> Line? {
        if handedOutJoined {
            handedOutJoined = false
            end = 0
        }
        while true {
            let rest = loan.count - loanPosition
            if rest > 0 {
                let from = loan.baseAddress! + loanPosition
                if let hit = memchr(from, 0x0A, rest) {
                    let k = from.distance(to: UnsafeRawPointer(hit))
                    loanPosition += k + 1
                    if end == 0 { return lentLine(UnsafeRawBufferPointer(start: from, count: k), skip: 1) }
                    // The end of a line that began in an earlier buffer.
                    hold(from, k)
                    handedOutJoined = true
                    return lentLine(UnsafeRawBufferPointer(rebasing: buffer[0..<end]), skip: 1)
                }
                // No line end in the rest of this buffer: keep it, the line goes on in the next.
                hold(from, rest)
                loanPosition = loan.count
            }
            if eof {
                guard end > 0 else { return nil }
                if heldBack || stillBeingWritten?() == true {
                    heldBack = true
                    return nil
                }
                handedOutJoined = true
                return lentLine(UnsafeRawBufferPointer(rebasing: buffer[0..<end]), skip: 0)
            }
            if end >= maxLineBytes { return try lentOverlong(lender) }
            // The previous buffer goes back to the source: every line in it was handed out
            // (and is done with, as `next()` was called again) and its unfinished tail is held.
            loan = try lender.lend()
            loanPosition = 0
            if loan.count == 0 { eof = true }
        }
    }

    /// A line (its bytes up to the line end) in lent-buffer mode.
    private func lentLine(_ bytes: UnsafeRawBufferPointer, skip: Int) -> Line {
        var b = bytes
        if b.count > 0, b[b.count - 1] == 0x0D { b = UnsafeRawBufferPointer(rebasing: b[0..<b.count - 1]) }
        lineNumber += 1
        let line = Line(bytes: b, number: lineNumber, offset: consumed, overlong: false)
        consumed += Int64(bytes.count + skip)
        return line
    }

    /// Appends bytes of a straddling line to `buffer[0..<end]`, growing it when needed.
    private func hold(_ from: UnsafeRawPointer, _ count: Int) {
        if end + count > buffer.count {
            var size = buffer.count * 2
            while size < end + count { size *= 2 }
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
            bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
            buffer.deallocate()
            buffer = bigger
        }
        (buffer.baseAddress! + end).copyMemory(from: from, byteCount: count)
        end += count
    }

    /// A line over `maxLineBytes` in lent-buffer mode: its first part marked overlong, the rest skipped.
    private func lentOverlong(_ lender: LendingByteSource) throws(ReadError) -> Line {
        lineNumber += 1
        let number = lineNumber
        let offset = consumed
        let keep = min(4096, end)
        let excerpt = UnsafeMutableRawBufferPointer.allocate(byteCount: keep, alignment: 1)
        excerpt.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<keep]))
        pendingExcerpt?.deallocate()
        pendingExcerpt = excerpt
        consumed += Int64(end)
        end = 0
        // Skip to the end of this line.
        while !eof {
            let rest = loan.count - loanPosition
            if rest > 0, let hit = memchr(loan.baseAddress! + loanPosition, 0x0A, rest) {
                let k = (loan.baseAddress! + loanPosition).distance(to: UnsafeRawPointer(hit))
                consumed += Int64(k + 1)
                loanPosition += k + 1
                break
            }
            consumed += Int64(rest)
            loanPosition = loan.count
            loan = try lender.lend()
            loanPosition = 0
            if loan.count == 0 { eof = true }
        }
        return Line(bytes: UnsafeRawBufferPointer(excerpt), number: number, offset: offset, overlong: true)
    }
}
