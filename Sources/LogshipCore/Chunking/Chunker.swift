import Foundation
import LogshipSupport

/// A run of one file's records inside a chunk: ordinals `start ..< end`. Consecutive chunks'
/// segments of a file tile its ordinals, so records rejected between two chunks belong to
/// the later one and are not reported again after a resume.
public struct Segment: Sendable, Equatable, Codable {
    public var file: Int
    public var start: Int64
    public var end: Int64
    public init(file: Int, start: Int64, end: Int64) {
        self.file = file
        self.start = start
        self.end = end
    }
}

/// A request body ready to send, and which records it holds.
public struct Chunk: Sendable {
    public var id: String
    public var body: Data
    public var records: Int
    public var segments: [Segment]
    /// Position of the chunk in the run's cut order (0-based).
    public var sequence: Int
}

/// Packs records into JSON array bodies of at most `maxBodyBytes` (and at most `maxRecords`
/// records). The transformer writes each record straight into `body`; where a body ends
/// depends only on the records, so the same input and pipeline always give the same chunks.
/// A closed body leaves as `Data` without being copied.
public final class Chunker {
    public enum Commit {
        /// The record is in; `closed` is the chunk it did not fit in, when that happened.
        case added(closed: Chunk?)
        /// The record alone is larger than a body may be; it was taken back out.
        case tooLarge(bytes: Int)
    }

    public let maxBodyBytes: Int
    public let maxRecords: Int
    /// The body being filled. Write a record between `beginRecord()` and `commitRecord`.
    public let body: ByteBuffer
    private var records = 0
    private var segments: [Segment] = []
    /// Per file: the ordinal where the next chunk's segment starts.
    private var cursor: [Int: Int64] = [:]
    private var sequence = 0
    private let idPrefix: [UInt8]
    private let fileIdentity: (Int) -> String
    private let capacity: Int
    /// Bodies come back here once sent, and are filled again; at most `bodies` exist at once.
    public let pool: BufferPool

    /// - Parameters:
    ///   - specHash: part of every chunk id.
    ///   - fileIdentity: a stable identity per file index (relative path and fingerprint).
    ///   - bodies: the most bodies alive at once (sent, queued and being filled); the chunker
    ///     waits for one to be released past that.
    public init(
        maxBodyBytes: Int, maxRecords: Int?, specHash: String, bodies: Int = 8, fileIdentity: @escaping (Int) -> String
    ) {
        self.pool = BufferPool(limit: bodies)
        self.maxBodyBytes = maxBodyBytes
        self.maxRecords = maxRecords ?? Int.max
        // Room for a full body and the record that overflows it; pages are touched only when written.
        self.capacity = min(maxBodyBytes + (1 << 20), 64 << 20)
        self.body = ByteBuffer(capacity: capacity, mapped: true)
        pool.adopt()
        self.idPrefix = Array(specHash.utf8)
        self.fileIdentity = fileIdentity
    }

    /// Sets where file `file`'s next segment starts (a resumed run skips acknowledged ordinals).
    public func setCursor(file: Int, ordinal: Int64) { cursor[file] = ordinal }

    /// Opens a record: writes the separator and returns the mark to commit or abandon.
    @inline(__always)
    public func beginRecord() -> Int {
        let mark = body.count
        body.append(records == 0 ? UInt8(ascii: "[") : UInt8(ascii: ","))
        return mark
    }

    /// Takes the record opened at `mark` back out (it was refused).
    @inline(__always)
    public func abandonRecord(_ mark: Int) { body.truncate(to: mark) }

    /// Closes the record opened at `mark`.
    public func commitRecord(_ mark: Int, _ p: Provenance) -> Commit {
        let start = mark + 1
        let size = body.count - start
        if size + 2 > maxBodyBytes {
            body.truncate(to: mark)
            return .tooLarge(bytes: size)
        }
        var closed: Chunk? = nil
        if records > 0 && (body.count + 1 > maxBodyBytes || records >= maxRecords) {
            // It does not fit: the chunk ends before it, and it opens the next one.
            let old = body.base
            body.truncate(to: mark)
            body.append(UInt8(ascii: "]"))
            let data = body.takeData(nextCapacity: capacity, pool: pool)
            closed = close(data)
            body.append(UInt8(ascii: "["))
            // `data` owns the old allocation, record bytes included, until it is released.
            body.append(UnsafeRawBufferPointer(start: old + start, count: size))
            withExtendedLifetime(data) {}
        }
        records += 1
        if let last = segments.last, last.file == p.fileIndex {
            segments[segments.count - 1].end = p.ordinal + 1
        } else {
            let from = min(cursor[p.fileIndex] ?? 0, p.ordinal)
            segments.append(Segment(file: p.fileIndex, start: from, end: p.ordinal + 1))
        }
        return .added(closed: closed)
    }

    /// Closes the current chunk, if it holds any record.
    public func flush() -> Chunk? {
        guard records > 0 else { return nil }
        body.append(UInt8(ascii: "]"))
        return close(body.takeData(nextCapacity: capacity, pool: pool))
    }

    /// Bytes in the body being filled.
    public var pendingBytes: Int { records > 0 ? body.count + 1 : 0 }

    private func close(_ data: Data) -> Chunk {
        let hasher = SHA256Hasher()
        hasher.update(idPrefix)
        for s in segments {
            hasher.update("|\(fileIdentity(s.file))|\(s.start)|\(s.end)")
            cursor[s.file] = s.end
        }
        let id = "c" + String(hasher.finalize().hexString.prefix(20))
        let chunk = Chunk(id: id, body: data, records: records, segments: segments, sequence: sequence)
        sequence += 1
        records = 0
        segments = []
        return chunk
    }
}
