import Foundation
import LogshipSupport

#if canImport(Glibc)
    import Glibc
#endif

/// One line of `manifest.jsonl`. The manifest is append-only: a chunk counts as delivered
/// only once its line is on disk (fsync), so a crash can lose at most the chunks in flight.
///
/// Format versions: each run's header carries `v`, the format it was written in. A manifest
/// whose headers carry none was written before versions were recorded, in version 1 (the same
/// lines). A version newer than `formatVersion` is refused rather than misread.
public struct ManifestEntry: Codable, Sendable, Equatable {
    /// What a line records; written as `t`.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// The header of each run: its pipeline (spec hash), destination, start and format version.
        case run
        /// A chunk (or a part of one) the service acknowledged.
        case ack
        /// A chunk (or a part of one) dead-lettered.
        case dead
        /// A file fully handled: every record delivered, rejected or dead-lettered.
        case done
    }

    /// The manifest format this code writes, and the newest it reads.
    public static let formatVersion = 1

    public var kind: Kind
    // run
    /// The format version (headers only; nil in manifests written before versions were recorded: 1).
    public var v: Int? = nil
    public var spec: String? = nil
    public var destination: String? = nil
    public var at: String? = nil
    /// `PipelineSpec.specTargetHash` / `specReadingHash`: what `run --adopt` checks is unchanged.
    public var specTarget: String? = nil
    public var specReading: String? = nil
    /// `run --adopt`: the spec hash this run took over from; its records stay as delivered.
    public var adopted: String? = nil
    // ack / dead
    public var id: String? = nil
    public var seg: [ManifestSegment]? = nil
    public var records: Int? = nil
    public var bytes: Int? = nil
    /// Records `part[0] ..< part[1]` of the chunk, when it was split and only that part is meant.
    public var part: [Int]? = nil
    /// Records in the whole chunk (with `part`).
    public var total: Int? = nil
    public var reason: String? = nil
    /// The chunk's answer came back after a resend following a lost answer.
    public var dup: Bool? = nil
    /// The DCR that acknowledged the chunk (Logs Ingestion API).
    public var dcr: String? = nil
    // done
    public var path: String? = nil
    public var size: Int64? = nil
    public var sample: String? = nil
    public var head: String? = nil
    public var ordinals: Int64? = nil

    public init(_ kind: Kind) { self.kind = kind }

    /// The kind as written in the file.
    public var t: String { kind.rawValue }

    enum CodingKeys: String, CodingKey {
        case kind = "t"
        case v, spec, destination, at, specTarget, specReading, adopted
        case id, seg, records, bytes, part, total, reason, dup, dcr
        case path, size, sample, head, ordinals
    }
}

/// The two fields every line is checked by before it is read as an entry: its kind and format version.
private struct ManifestLineProbe: Decodable {
    var t: String?
    var v: Int?
}

/// A file's ordinals `start ..< end` inside a chunk, by the file's path relative to the pipeline.
public struct ManifestSegment: Codable, Sendable, Equatable {
    public var path: String
    public var sample: String
    public var start: Int64
    public var end: Int64
    /// The file's size when it was read (so a later, grown version can be checked against it).
    public var size: Int64? = nil
}

/// What the state directory says was delivered before.
public struct ManifestState: Sendable {
    /// The spec hash of the latest run (`--adopt` changes it; otherwise every run has the first's).
    public var spec: String?
    public var specTarget: String?
    public var specReading: String?
    /// Per spec hash in the order taken up: what its runs delivered (`status`).
    public var specUses: [SpecUse] = []
    public var destination: String?
    public var runs = 0
    /// Fully acknowledged (or dead-lettered) chunk ids, with their parts when split.
    public var chunkParts: [String: [Range<Int>]] = [:]
    public var chunkRecords: [String: Int] = [:]
    /// Ordinal ranges handled per file (path + content sample).
    public var ranges: [String: [Range<Int64>]] = [:]
    public var doneFiles: [String: ManifestEntry] = [:]
    /// Per file key with ranges: the file's size when they were delivered, where recorded.
    public var sizes: [String: Int64] = [:]
    /// Chunks acknowledged: whole, or split with every record handled (acknowledged or
    /// dead-lettered) and some part acknowledged; each chunk once, however many entries it has.
    public var ackedChunks = 0
    private var ackedChunkIds: Set<String> = []
    public var deadChunks = 0
    public var ackedRecords = 0
    public var deadRecords = 0
    public var possibleDuplicateChunks = 0
    public var bytesSent: Int64 = 0
    /// A torn last line was found (and will be cut off before appending).
    public var tornTail = false
    /// Dead-lettered chunks (or parts) not replayed since, with their record counts.
    public var deadKeys: [String: Int] = [:]
    /// Acknowledged parts per chunk id (`0..<Int.max` for a whole chunk): a replay stopped while
    /// isolating a letter's refused records resumes without resending what it delivered.
    public var ackedParts: [String: [Range<Int>]] = [:]

    static func fileKey(_ path: String, _ sample: String) -> String { path + "#" + sample }

    /// Reads `url`; a missing file is an empty state. A torn last line is ignored.
    public static func load(_ url: URL) throws -> ManifestState {
        var s = ManifestState()
        guard let data = try? Data(contentsOf: url) else { return s }
        let dec = JSONDecoder()
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if let last = lines.last, !last.isEmpty {
            // No newline at the end: the last write was cut short.
            s.tornTail = true
            lines.removeLast()
        }
        for (n, line) in lines.enumerated() where !line.isEmpty {
            let place = "\(url.path):\(n + 1)"
            let probe = try? dec.decode(ManifestLineProbe.self, from: Data(line))
            if let v = probe?.v, v > ManifestEntry.formatVersion {
                throw ManifestError(
                    description: "\(place): written in manifest format version \(v) by a newer logship; this one reads "
                        + "version \(ManifestEntry.formatVersion) and older: use that newer logship with this state "
                        + "directory (or give a new --state-dir)")
            }
            guard let e = try? dec.decode(ManifestEntry.self, from: Data(line)) else {
                if let t = probe?.t, ManifestEntry.Kind(rawValue: t) == nil {
                    let known = ManifestEntry.Kind.allCases.map(\.rawValue).joined(separator: ", ")
                    throw ManifestError(
                        description: "\(place): unknown manifest entry \"\(t)\" (this logship knows \(known)): the "
                            + "state directory was written by a newer logship, or is damaged (move it away, or run "
                            + "with --restart)")
                }
                throw ManifestError(
                    description:
                        "\(place): not a manifest entry; the state directory is damaged (move it away, or run with --restart)"
                )
            }
            s.apply(e)
        }
        for k in s.ranges.keys { s.ranges[k] = merge(s.ranges[k]!) }
        return s
    }

    mutating func apply(_ e: ManifestEntry) {
        switch e.kind {
        case .run:
            runs += 1
            if let s = e.spec {
                if s != spec || specUses.isEmpty {
                    specUses.append(SpecUse(spec: s, since: e.at ?? "", adopted: e.adopted))
                }
                spec = s
                specTarget = e.specTarget
                specReading = e.specReading
            }
            if destination == nil { destination = e.destination }
        case .ack, .dead:
            guard let id = e.id else { return }
            let records = e.records ?? 0
            let key = e.part.map { "\(id)/\($0[0])-\($0.last ?? 0)" } ?? id
            if let p = e.part, p.count == 2, deadKeys[key] == nil {
                supersedeDead(id, part: p[0]..<p[1], records: records)
            }
            if e.kind == .ack, !specUses.isEmpty {
                specUses[specUses.count - 1].records += records
                for s in e.seg ?? [] { specUses[specUses.count - 1].files.insert(s.path) }
            }
            if e.kind == .ack {
                ackedParts[id, default: []].append(
                    e.part.flatMap { $0.count == 2 ? $0[0]..<$0[1] : nil } ?? 0..<Int.max)
                ackedRecords += records
                bytesSent += Int64(e.bytes ?? 0)
                if e.dup == true { possibleDuplicateChunks += 1 }
                // A replayed dead letter is no longer dead.
                if let r = deadKeys.removeValue(forKey: key) {
                    deadChunks -= 1
                    deadRecords -= r
                }
            } else {
                deadChunks += 1
                deadRecords += records
                deadKeys[key] = records
            }
            if let p = e.part, p.count == 2 {
                // A split chunk counts as handled once its parts cover all its records.
                chunkParts[id, default: []].append(p[0]..<p[1])
                if let t = e.total { chunkRecords[id] = t }
                if coversAll(id) { addRanges(e) }
            } else {
                chunkParts[id] = [0..<Int.max]
                addRanges(e)
            }
            if ackedParts[id] != nil, e.part == nil || coversAll(id), ackedChunkIds.insert(id).inserted {
                ackedChunks += 1
            }
        case .done:
            if let p = e.path, let sample = e.sample { doneFiles[Self.fileKey(p, sample)] = e }
        }
    }

    /// A replay that isolates the refused records of a dead letter records its delivered parts
    /// and its still-refused pieces, each inside the letter's range: they take that many records
    /// off the letter's count, and the letter is gone once all of its records are accounted for.
    private mutating func supersedeDead(_ id: String, part: Range<Int>, records: Int) {
        for (key, left) in deadKeys where key == id || key.hasPrefix(id + "/") {
            if key != id {
                let bounds = key.dropFirst(id.count + 1).split(separator: "-").compactMap { Int($0) }
                guard bounds.count == 2, bounds[0] <= part.lowerBound, part.upperBound <= bounds[1] else { continue }
            }
            let taken = min(left, records)
            deadRecords -= taken
            if left - taken <= 0 {
                deadKeys[key] = nil
                deadChunks -= 1
            } else {
                deadKeys[key] = left - taken
            }
            return
        }
    }

    private func coversAll(_ id: String) -> Bool {
        guard let total = chunkRecords[id], let handled = chunkParts[id] else { return false }
        let parts = Self.merge(handled.map { Int64($0.lowerBound)..<Int64($0.upperBound) })
        return parts.count == 1 && parts[0].lowerBound == 0 && parts[0].upperBound >= Int64(total)
    }

    private mutating func addRanges(_ e: ManifestEntry) {
        for s in e.seg ?? [] {
            let key = Self.fileKey(s.path, s.sample)
            ranges[key, default: []].append(s.start..<s.end)
            if let size = s.size { sizes[key] = size }
        }
    }

    static func merge(_ r: [Range<Int64>]) -> [Range<Int64>] {
        let sorted = r.sorted { $0.lowerBound < $1.lowerBound }
        var out: [Range<Int64>] = []
        for x in sorted {
            if let last = out.last, x.lowerBound <= last.upperBound {
                out[out.count - 1] = last.lowerBound..<max(last.upperBound, x.upperBound)
            } else {
                out.append(x)
            }
        }
        return out
    }

    /// Chunks split while isolating refused records whose parts do not cover them yet: their
    /// records are known only by the chunk's id, which a changed spec does not cut again.
    public var partlyHandledChunks: [String] {
        chunkParts.keys.filter { id in !(chunkParts[id] ?? []).contains(0..<Int.max) && !coversAll(id) }.sorted()
    }

    /// Parts of chunk `id` already handled (nil when none; `0..<Int.max` when all).
    public func handledParts(_ id: String) -> [Range<Int>]? { chunkParts[id] }
}

/// One spec hash's share of a state directory: from which run on it applied, and what it delivered.
public struct SpecUse: Sendable, Codable, Equatable {
    public var spec: String
    /// The `at` of the first run under it.
    public var since: String
    /// The spec it was adopted from (`run --adopt`), if any.
    public var adopted: String?
    public var records = 0
    /// Paths of files that had records delivered under it.
    public var files: Set<String> = []
}

public struct ManifestError: Error, CustomStringConvertible {
    public var description: String
}

/// Appends entries to `manifest.jsonl`, each flushed to disk before `append` returns.
public final class ManifestWriter: @unchecked Sendable {
    // Called from one task at a time (the engine's main loop, or replay).
    public let url: URL
    private let fd: Int32
    private let encoder = JSONEncoder()

    public init(url: URL) throws {
        self.url = url
        let fd: Int32
        do {
            fd = try PrivateFiles.open(url, flags: O_RDWR)
        } catch {
            throw ManifestError(description: "cannot open \(url.path): \(error)")
        }
        self.fd = fd
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Cut a torn last line so the next entry starts on a line of its own.
        var st = stat()
        fstat(fd, &st)
        var size = Int64(st.st_size)
        if size > 0 {
            var back = min(size, 1 << 20)
            while true {
                var buf = [UInt8](repeating: 0, count: Int(back))
                let n = pread(fd, &buf, Int(back), off_t(size - back))
                if n <= 0 { break }
                if let nl = buf[0..<n].lastIndex(of: UInt8(ascii: "\n")) {
                    let keep = size - back + Int64(nl) + 1
                    if keep != size {
                        _ = ftruncate(fd, off_t(keep))
                        size = keep
                    }
                    break
                }
                if back == size {
                    _ = ftruncate(fd, 0)
                    size = 0
                    break
                }
                back = min(size, back * 2)
            }
        }
        lseek(fd, 0, SEEK_END)
    }

    deinit { close(fd) }

    /// Writes the entries as lines and fsyncs; a failure is thrown (the chunk does not count).
    public func append(_ entries: [ManifestEntry]) throws {
        var data = Data()
        for e in entries {
            data.append(try encoder.encode(e))
            data.append(UInt8(ascii: "\n"))
        }
        try data.withUnsafeBytes { (p: UnsafeRawBufferPointer) in
            var off = 0
            while off < p.count {
                let n = write(fd, p.baseAddress! + off, p.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ManifestError(description: "cannot write \(url.path): \(String(cString: strerror(errno)))")
                }
                off += n
            }
        }
        guard fsync(fd) == 0 else {
            throw ManifestError(description: "cannot flush \(url.path): \(String(cString: strerror(errno)))")
        }
    }

    public func append(_ e: ManifestEntry) throws { try append([e]) }
}
