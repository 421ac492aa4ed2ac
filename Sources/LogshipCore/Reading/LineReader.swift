import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Splits a byte source into lines through one fixed buffer (grown only for a line longer
/// than it). A line's bytes are valid until the next call to `next()`.
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
}
