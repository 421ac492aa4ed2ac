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
    public var body: [UInt8]
    public var records: Int
    public var segments: [Segment]
    /// Position of the chunk in the run's cut order (0-based).
    public var sequence: Int
}

/// Packs serialized records into JSON array bodies of at most `maxBodyBytes` (and at most
/// `maxRecords` records). Where a body ends depends only on the records, so the same input
/// and pipeline always give the same chunks.
public final class Chunker {
    public let maxBodyBytes: Int
    public let maxRecords: Int
    private let body: ByteBuffer
    private var records = 0
    private var segments: [Segment] = []
    /// Per file: the ordinal where the next chunk's segment starts.
    private var cursor: [Int: Int64] = [:]
    private var sequence = 0
    private let idPrefix: [UInt8]
    private let fileIdentity: (Int) -> String

    /// - Parameters:
    ///   - specHash: part of every chunk id.
    ///   - fileIdentity: a stable identity per file index (relative path and fingerprint).
    public init(maxBodyBytes: Int, maxRecords: Int?, specHash: String, fileIdentity: @escaping (Int) -> String) {
        self.maxBodyBytes = maxBodyBytes
        self.maxRecords = maxRecords ?? Int.max
        self.body = ByteBuffer(capacity: min(maxBodyBytes + 64, 1 << 20))
        self.idPrefix = Array(specHash.utf8)
        self.fileIdentity = fileIdentity
    }

    /// Sets where file `file`'s next segment starts (a resumed run skips acknowledged ordinals).
    public func setCursor(file: Int, ordinal: Int64) { cursor[file] = ordinal }

    /// Whether a record of `size` bytes can ever fit in a body.
    public func fits(_ size: Int) -> Bool { size + 2 <= maxBodyBytes }

    /// Adds one record; returns the chunk it closed when it did not fit in the current one.
    public func add(_ record: UnsafeRawBufferPointer, _ p: Provenance) -> Chunk? {
        var closed: Chunk? = nil
        if records > 0 && (body.count + 1 + record.count + 1 > maxBodyBytes || records >= maxRecords) {
            closed = close()
        }
        if records == 0 {
            body.removeAll()
            body.append(0x5B)
        } else {
            body.append(0x2C)
        }
        body.append(record)
        records += 1
        if let last = segments.last, last.file == p.fileIndex {
            segments[segments.count - 1].end = p.ordinal + 1
        } else {
            let start = min(cursor[p.fileIndex] ?? 0, p.ordinal)
            segments.append(Segment(file: p.fileIndex, start: start, end: p.ordinal + 1))
        }
        return closed
    }

    /// Closes the current chunk, if it holds any record.
    public func flush() -> Chunk? { records > 0 ? close() : nil }

    /// Bytes in the body being filled.
    public var pendingBytes: Int { records > 0 ? body.count + 1 : 0 }

    private func close() -> Chunk {
        body.append(0x5D)
        let hasher = SHA256Hasher()
        hasher.update(idPrefix)
        for s in segments {
            hasher.update("|\(fileIdentity(s.file))|\(s.start)|\(s.end)")
            cursor[s.file] = s.end
        }
        let id = "c" + String(hasher.finalize().hexString.prefix(20))
        let chunk = Chunk(id: id, body: body.toArray(), records: records, segments: segments, sequence: sequence)
        sequence += 1
        records = 0
        segments = []
        body.removeAll()
        return chunk
    }
}
