import Foundation
import LogshipSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `rejects.ndjson`: one line per record that could not be decoded or converted, with
/// where it was, why, and a bounded excerpt. Opened on the first reject only.
///
/// Each record's reject is written once, however often a resumed run reads it again. A run
/// that stops (SIGINT, SIGKILL, power loss) re-reads the records of every chunk whose
/// acknowledgement it had not recorded, and finds their rejects again. Those are skipped by
/// location: the file (its path and content), line and byte offset, read back from this
/// file when the run starts. Why de-duplicating, rather than writing a chunk's rejects with
/// its acknowledgement: two files (rejects and manifest) cannot be written atomically
/// together, so a kill between the two writes would lose or repeat rejects either way.
/// Checking the file itself stays right after a kill at any moment: a line is either whole
/// on disk (and skipped next time) or torn (cut off before the next line is appended, and
/// written again when its record is read again). Lines name the file's content
/// (`fileSample`, `fileSize`) so that a new file at a delivered file's path is not mistaken
/// for it, while a file that only grew still is.
public final class RejectsWriter: @unchecked Sendable {
    // Used from the reading thread only; `count` is read after reading has finished.
    public let url: URL?
    private var handle: FileHandle?
    private let buffer = ByteBuffer(capacity: 8192)
    public private(set) var count = 0
    /// Rejects found again that an earlier run had written already (counted, not written).
    public private(set) var alreadyWritten = 0
    /// Locations already in the file, for the content they are read from now.
    private var known: Set<Location> = []
    /// The length of the file up to its last whole line (nil: not looked at; keep it all).
    private var wholeLength: UInt64?
    /// Lines written since the last `synchronize()`.
    private var unsynced = false

    /// Where a reject is: the file (path and content sample), line and offset.
    struct Location: Hashable {
        var file: String
        var sample: String
        var line: Int
        var offset: Int64
    }

    /// A file a run reads, whose rejects written by earlier runs are not written again.
    public struct ResumedFile: Sendable {
        /// The path relative to the pipeline file (as in `file` of a reject).
        public var relativePath: String
        /// The absolute path, to check whether it is an earlier version grown.
        public var path: String
        public var fingerprint: FileFingerprint
        public init(relativePath: String, path: String, fingerprint: FileFingerprint) {
            self.relativePath = relativePath
            self.path = path
            self.fingerprint = fingerprint
        }
    }

    /// `url` nil counts rejects without writing them (preview, validate).
    public init(url: URL?) { self.url = url }

    /// Reads the rejects `url` holds for `files` (those this run may read again), so that
    /// they are not written twice, and notes a torn last line to cut off.
    public convenience init(url: URL, resuming files: [ResumedFile]) {
        self.init(url: url)
        load(files)
    }

    /// The fields of a reject line that place it.
    private struct Placed: Decodable {
        var file: String
        var line: Int
        var offset: Int64
        var fileSample: String?
        var fileSize: Int64?
    }

    private func load(_ files: [ResumedFile]) {
        guard let url, let h = try? FileHandle(forReadingFrom: url) else { return }
        defer { try? h.close() }
        var byPath: [String: [ResumedFile]] = [:]
        for f in files { byPath[f.relativePath, default: []].append(f) }
        // Whether content `sample` of `size` bytes is (the beginning of) each file, by (path, sample).
        var versions: [String: [String: String]] = [:]
        func current(_ p: Placed) -> String? {
            guard let sample = p.fileSample, let candidates = byPath[p.file] else { return nil }
            if let hit = versions[p.file]?[sample] { return hit.isEmpty ? nil : hit }
            var match = ""
            for f in candidates {
                if f.fingerprint.sample == sample {
                    match = sample
                    break
                }
                // The file grew since: its first `size` bytes are that content.
                if let size = p.fileSize, size < f.fingerprint.size,
                    FileFingerprint.sample(path: f.path, size: size) == sample
                {
                    match = f.fingerprint.sample
                    break
                }
            }
            versions[p.file, default: [:]][sample] = match
            return match.isEmpty ? nil : match
        }
        let decoder = JSONDecoder()
        let prefix = Array("{\"file\":\"".utf8)
        var carry: [UInt8] = []
        var length: UInt64 = 0
        func take(_ line: ArraySlice<UInt8>) {
            length += UInt64(line.count) + 1
            // Lines of files this run does not read again are skipped unparsed.
            if line.starts(with: prefix) {
                let rest = line.dropFirst(prefix.count)
                if let q = rest.firstIndex(of: UInt8(ascii: "\"")), !rest[..<q].contains(UInt8(ascii: "\\")),
                    byPath[String(decoding: rest[..<q], as: UTF8.self)] == nil
                {
                    return
                }
            }
            guard let p = try? decoder.decode(Placed.self, from: Data(line)), let sample = current(p) else { return }
            known.insert(Location(file: p.file, sample: sample, line: p.line, offset: p.offset))
        }
        while true {
            guard let block = try? h.read(upToCount: 1 << 20), !block.isEmpty else { break }
            carry.append(contentsOf: block)
            var start = 0
            while let nl = carry[start...].firstIndex(of: UInt8(ascii: "\n")) {
                take(carry[start..<nl])
                start = nl + 1
            }
            carry.removeFirst(start)
        }
        // What follows the last line end was cut short by a crash mid-write.
        wholeLength = length
    }

    /// - Parameter content: the sample and size of the file's content (nil for stdin, or a
    ///   file that could not be read): rejects with it are written once per location.
    public func write(
        file: String, line: Int, offset: Int64, reason: String, excerpt: [UInt8],
        content: (sample: String, size: Int64)? = nil
    ) {
        count += 1
        if let content {
            guard known.insert(Location(file: file, sample: content.sample, line: line, offset: offset)).inserted else {
                alreadyWritten += 1
                return
            }
        }
        guard let url else { return }
        buffer.removeAll()
        buffer.append("{\"file\":")
        field(file)
        buffer.append(",\"line\":")
        buffer.append(String(line))
        buffer.append(",\"offset\":")
        buffer.append(String(offset))
        if let content {
            buffer.append(",\"fileSample\":")
            field(content.sample)
            buffer.append(",\"fileSize\":")
            buffer.append(String(content.size))
        }
        buffer.append(",\"reason\":")
        field(reason)
        buffer.append(",\"excerpt\":")
        excerpt.prefix(4096).withUnsafeBytes {
            _ = JSONWriter.writeString($0, to: buffer, maxBytes: 4096, invalidUTF8: .replace)
        }
        buffer.append(",\"time\":")
        field(HTTPDate.iso8601(Date()))
        buffer.append("}\n")
        do {
            if handle == nil {
                // Rejects hold excerpts of records: 0600 in a 0700 folder (PrivateFiles).
                let fd = try PrivateFiles.open(url, flags: O_WRONLY | O_APPEND)
                handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
                // A torn last line is cut so the next line starts on a line of its own.
                if let whole = wholeLength, let end = try handle?.seekToEnd(), end > whole {
                    try handle?.truncate(atOffset: whole)
                }
                try handle?.seekToEnd()
            }
            // One write per line: a kill leaves whole lines, or a torn last one cut above.
            try handle?.write(contentsOf: Data(buffer.bytes))
            unsynced = true
        } catch {
            Logger.shared.log(.error, "logship: cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    /// Flushes the lines written so far to disk. Called before the chunk or file they belong
    /// to can be recorded as delivered, so that a power loss cannot keep the acknowledgement
    /// and lose the rejects (which the next run would then not find again).
    public func synchronize() {
        guard unsynced else { return }
        unsynced = false
        try? handle?.synchronize()
    }

    private func field(_ s: String) {
        var s = s
        s.withUTF8 {
            _ = JSONWriter.writeString(UnsafeRawBufferPointer($0), to: buffer, maxBytes: Int.max, invalidUTF8: .replace)
        }
    }

    public func close() {
        try? handle?.synchronize()
        try? handle?.close()
        handle = nil
    }
}
