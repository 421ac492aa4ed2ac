import Foundation

/// What earlier runs delivered, applied to this run's files: which are done, which records of
/// the others are delivered already, and what to tell the user about it. `run` plans with it
/// and `status` reports with it, so both say the same.
public enum ResumePlanner {
    public struct Result: Sendable {
        public var plan = ChunkProducer.ResumePlan()
        /// Moved files found whole, to record as done under their new names.
        public var movedDone: [ManifestEntry] = []
        public var warnings: [String] = []
    }

    public static func plan(
        _ state: ManifestState, files: [InputFile], fingerprints: [FileFingerprint?], compression: Compression
    ) -> Result {
        var out = Result()
        // Delivered content no longer at its path: rotated files are looked for among the others.
        let moved = MovedContent.Index(state, files: files, fingerprints: fingerprints)
        var changed: [String] = []
        var movedFrom = Set<String>()
        // Looked up per file below; indexed once (a backfill can hold many thousands of files).
        var doneByPath: [String: [ManifestEntry]] = [:]
        for e in state.doneFiles.values { if let p = e.path { doneByPath[p, default: []].append(e) } }
        var deliveredPaths = Set(doneByPath.keys)
        // Versions of a path delivered in part (a run that stopped), with their size where known.
        var partialByPath: [String: [(sample: String, size: Int64)]] = [:]
        for k in state.ranges.keys {
            guard let hash = k.lastIndex(of: "#") else { continue }
            let path = String(k[..<hash])
            deliveredPaths.insert(path)
            if let size = state.sizes[k], state.doneFiles[k] == nil {
                partialByPath[path, default: []].append((String(k[k.index(after: hash)...]), size))
            }
        }
        for f in files {
            guard let fp = fingerprints[f.index] else { continue }
            let key = ManifestState.fileKey(f.relativePath, fp.sample)
            if state.doneFiles[key] != nil {
                out.plan.doneFiles.insert(f.index)
                continue
            }
            // This content's own deliveries (an earlier run that stopped part way), and what it
            // inherits from a delivered version of itself: both are kept.
            var acked = state.ranges[key] ?? []
            var grew = false
            if let (grown, reopened) = appendedRanges(f, fp, earlier: doneByPath[f.relativePath] ?? []) {
                acked += grown
                grew = true
                out.warnings.append("\(f.relativePath) grew since the last run; its earlier records are not sent again")
                if reopened {
                    out.warnings.append(
                        "\(f.relativePath): its last line had no line end when it was read, and the file went on from there: that line is sent again whole (the part sent before stays in the table)"
                    )
                }
            }
            // A shorter version a stopped run delivered in part (after a done one, or alone).
            if let earlier = partlyDelivered(f, fp, versions: partialByPath[f.relativePath] ?? []),
                let r = state.ranges[ManifestState.fileKey(f.relativePath, earlier)]
            {
                acked += r
                if !grew {
                    out.warnings.append(
                        "\(f.relativePath) grew since a run that stopped part way through it; the records that run delivered are not sent again"
                    )
                }
                grew = true
            }
            if !grew, let m = moved.match(f, fp, compression: compression) {
                movedFrom.insert(m.from)
                if let part = m.partRanges {
                    acked += part
                    out.warnings.append(
                        "\(f.relativePath) \(m.grown ? "begins with" : "holds") \(m.from) as a run that stopped part way delivered it (renamed since); the records that run delivered are not sent again"
                    )
                } else if m.grown, let entry = m.entry {
                    if let n = entry.ordinals, n > 0 { acked.append(0..<n) }
                    out.warnings.append(
                        "\(f.relativePath) begins with \(m.from) as it was delivered (renamed or compressed since, then grown); only the records after those are sent"
                    )
                } else {
                    out.plan.doneFiles.insert(f.index)
                    var e = ManifestEntry(.done)
                    e.path = f.relativePath
                    e.sample = fp.sample
                    e.head = fp.head
                    e.size = fp.size
                    e.ordinals = m.entry?.ordinals
                    out.movedDone.append(e)
                    out.warnings.append(
                        "\(f.relativePath) holds \(m.from) as it was delivered (renamed or compressed since); it is not sent again"
                    )
                    continue
                }
            } else if !grew, acked.isEmpty, deliveredPaths.contains(f.relativePath) {
                changed.append(f.relativePath)
            }
            if !acked.isEmpty { out.plan.acked[f.index] = ManifestState.merge(acked) }
        }
        // A path whose delivered content moved to another file holds a new file, not a changed one.
        for path in changed where !movedFrom.contains(path) {
            out.warnings.append(
                "\(path) changed since it was delivered (its content differs); it is sent again in full")
        }
        return out
    }

    /// The sample of the largest shorter version of this file that a stopped run delivered in
    /// part, when the file begins with it.
    static func partlyDelivered(_ f: InputFile, _ fp: FileFingerprint, versions: [(sample: String, size: Int64)])
        -> String?
    {
        for v in versions.filter({ $0.size < fp.size && $0.sample != fp.sample }).sorted(by: { $0.size > $1.size }) {
            if FileFingerprint.sample(path: f.path, size: v.size) == v.sample { return v.sample }
        }
        return nil
    }

    /// A file that only grew keeps what its latest delivered, shorter version held: all of
    /// that version's records (a `done` file's records were each delivered, rejected or
    /// dead-lettered). It is that version grown when its first bytes, up to that version's
    /// size, have that version's sample (first and last 64 KB at that size).
    /// If that version ended in the middle of a line that has gone on since (a plain file
    /// written to without a line end for longer than the run waits), its last record is not
    /// kept: it is read again whole (`reopened`). A line that was only given its line end
    /// later is the same record and stays delivered.
    /// - Parameter earlier: the `done` entries of this path.
    static func appendedRanges(_ f: InputFile, _ fp: FileFingerprint, earlier: [ManifestEntry]) -> (
        ranges: [Range<Int64>], reopened: Bool
    )? {
        let shorter = earlier.filter { e in
            guard let size = e.size, size < fp.size else { return false }
            // From 64 KB on, the head tells at once; below, the sample at that size does.
            return size < 65_536 || e.head == fp.head
        }.sorted { ($0.size ?? 0) > ($1.size ?? 0) }
        for e in shorter {
            guard let size = e.size, var ordinals = e.ordinals,
                FileFingerprint.sample(path: f.path, size: size) == e.sample
            else { continue }
            var reopened = false
            if ordinals > 0, FileFingerprint.lineContinues(path: f.path, at: size) {
                ordinals -= 1
                reopened = true
            }
            return (ordinals > 0 ? [0..<ordinals] : [], reopened)
        }
        return nil
    }

}
