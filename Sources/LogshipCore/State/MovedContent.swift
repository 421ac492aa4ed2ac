import Foundation
import LogshipSupport

/// Content delivered under one path that is now under another: logrotate's `access.log` →
/// `access.log.1` → `access.log.2.gz`, or `access.log` → `access.log-20261123.gz`, perhaps
/// grown between the delivery and the rotation.
///
/// Only content that has left its path is looked for: the path is no longer among the run's
/// files, or holds something else now (neither the same content nor a grown version of it). A
/// file is that content when its decoded bytes begin with exactly what was delivered: the same
/// sample (size, first and last 64 KB at that size) as the manifest's `done` entry. Then it is
/// not sent again, or, when it goes on past that size, only its further records are sent.
public enum MovedContent {
    public struct Match: Sendable {
        /// The path the content was delivered under.
        public var from: String
        /// Its `done` entry; nil for content a stopped run delivered in part.
        public var entry: ManifestEntry?
        /// The file goes on past the delivered content.
        public var grown: Bool
        /// For content delivered in part: the ordinal ranges that were.
        public var partRanges: [Range<Int64>]? = nil
    }

    /// Content a stopped run delivered in part, with the size it had.
    struct Partial: Sendable {
        var path: String
        var sample: String
        var size: Int64
        var ranges: [Range<Int64>]
    }

    /// Delivered content that has left its path (`done` entries, and versions a stopped run
    /// delivered in part), looked up by content. Built once per run;
    /// each lookup is a dictionary access (a backfill can have many thousands of each).
    public struct Index: Sendable {
        /// By sample: the same bytes under another name.
        private var bySample: [String: ManifestEntry] = [:]
        /// By head, for content of 64 KB or more (a longer file may begin with it), largest first.
        private var byHead: [String: [ManifestEntry]] = [:]
        /// By head, for content under 64 KB (whose head is all of it): found only whole.
        private var smallByHead: [String: ManifestEntry] = [:]
        /// Content delivered in part that left its path (few: the files a stopped run was in).
        private var partials: [Partial] = []
        private var count = 0

        public init(_ state: ManifestState, files: [InputFile], fingerprints: [FileFingerprint?]) {
            var now: [String: FileFingerprint] = [:]
            for f in files { if let fp = fingerprints[f.index] { now[f.relativePath] = fp } }
            for e in state.doneFiles.values {
                guard let path = e.path, let sample = e.sample, let size = e.size, size > 0, let head = e.head,
                    e.ordinals != nil
                else { continue }
                if let current = now[path] {
                    if current.sample == sample { continue }
                    if current.head == head && current.size > size { continue }
                }
                count += 1
                bySample[sample] = e
                if size >= 65_536 { byHead[head, default: []].append(e) } else { smallByHead[head] = e }
            }
            for k in byHead.keys { byHead[k]!.sort { ($0.size ?? 0) > ($1.size ?? 0) } }
            var paths: [String: String] = [:]
            for f in files { paths[f.relativePath] = f.path }
            for (key, size) in state.sizes where state.doneFiles[key] == nil {
                guard let hash = key.lastIndex(of: "#"), let ranges = state.ranges[key] else { continue }
                let path = String(key[..<hash]), sample = String(key[key.index(after: hash)...])
                if let current = now[path], let absolute = paths[path] {
                    if current.sample == sample { continue }
                    if current.size > size && FileFingerprint.sample(path: absolute, size: size) == sample { continue }
                }
                partials.append(Partial(path: path, sample: sample, size: size, ranges: ManifestState.merge(ranges)))
                count += 1
            }
            partials.sort { $0.size > $1.size }
        }

        /// The delivered content with the most records that `file` begins with, if any (a file
        /// rotated twice begins with each of its delivered versions; the latest holds the most).
        public func match(_ file: InputFile, _ fp: FileFingerprint, compression: Compression) -> Match? {
            guard count > 0 else { return nil }
            // The same bytes under another name (a plain file renamed, or a compressed one:
            // access.log.2.gz → access.log.3.gz).
            if let e = bySample[fp.sample], e.size == fp.size, e.path != file.relativePath {
                return Match(from: e.path!, entry: e, grown: false)
            }
            guard let source = try? ByteSources.open(path: file.path, compression: compression) else { return nil }
            if !(source is GzipByteSource) {
                // Plain bytes: the fingerprint says it, reading 64 KB more at most per candidate.
                for e in byHead[fp.head] ?? [] where e.path != file.relativePath {
                    guard let size = e.size, size < fp.size,
                        FileFingerprint.sample(path: file.path, size: size) == e.sample
                    else { continue }
                    return Match(from: e.path!, entry: e, grown: true)
                }
                for p in partials where p.path != file.relativePath && p.size <= fp.size {
                    let same =
                        p.size == fp.size
                        ? p.sample == fp.sample : FileFingerprint.sample(path: file.path, size: p.size) == p.sample
                    if same { return Match(from: p.path, entry: nil, grown: p.size < fp.size, partRanges: p.ranges) }
                }
                return nil
            }
            // Compressed: the first 64 KB decoded pick the candidates; one that fits is read to
            // its delivered size (a whole decode only for a file that really is a moved one).
            guard let head = try? readPrefix(source, 65_536) else { return nil }
            let hash = Crypto.sha256(head).hexString
            if head.count < 65_536 {
                guard let e = smallByHead[hash], e.size == Int64(head.count), e.path != file.relativePath else {
                    return nil
                }
                return Match(from: e.path!, entry: e, grown: false)
            }
            for e in byHead[hash] ?? [] where e.path != file.relativePath {
                guard let size = e.size, let again = try? ByteSources.open(path: file.path, compression: compression),
                    let (s, longer) = try? prefixSample(again, size: size), s == e.sample
                else { continue }
                return Match(from: e.path!, entry: e, grown: longer)
            }
            return nil
        }
    }

    /// Up to `count` bytes from the start of `source`.
    static func readPrefix(_ source: ByteSource, _ count: Int) throws(ReadError) -> [UInt8] {
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
        defer { buf.deallocate() }
        var got = 0
        while got < count {
            let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buf[got...]))
            if n == 0 { break }
            got += n
        }
        return Array(buf[0..<got])
    }

    /// The sample `FileFingerprint` computes, of the first `size` bytes `source` gives, and
    /// whether it gives more; nil when it gives fewer.
    static func prefixSample(_ source: ByteSource, size: Int64) throws(ReadError) -> (String, Bool)? {
        let window: Int64 = 65_536
        let headEnd = min(window, size)
        let tailStart = max(window, size - window)
        var head = [UInt8]()
        var tail = [UInt8]()
        head.reserveCapacity(Int(headEnd))
        var offset: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
        defer { buffer.deallocate() }
        var longer = false
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            let start = offset
            offset += Int64(n)
            // The parts of this read that fall in the head and the tail windows.
            if start < headEnd { head += buffer[0..<Int(min(Int64(n), headEnd - start))] }
            if size > window, offset > tailStart, start < size {
                let from = Int(max(tailStart, start) - start), to = Int(min(size, offset) - start)
                if from < to { tail += buffer[from..<to] }
            }
            if offset > size {
                longer = true
                break
            }
        }
        guard offset >= size else { return nil }
        let hasher = SHA256Hasher()
        head.withUnsafeBytes { hasher.update($0) }
        tail.withUnsafeBytes { hasher.update($0) }
        hasher.update("\(size)")
        return (hasher.finalize().hexString, longer)
    }
}
