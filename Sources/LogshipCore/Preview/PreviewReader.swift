import Foundation

/// Reads the first records of a pipeline exactly as `run` would turn them into request bodies
/// (file order, decoder, transformer, record ids), sending nothing. Whatever the input format,
/// `DecoderFactory` picks the decoder.
public enum PreviewReader {
    /// A record the decoder or the transformer refused; the preview goes on.
    public struct Rejected: Sendable, Equatable, Codable {
        public var file: String
        public var line: Int
        public var reason: String
    }

    /// What a preview read, and what it could not.
    public struct Result: Sendable {
        /// The first `records` transformed records.
        public var shown: [PreviewRecord]
        /// Every accepted record read for the schema (the shown ones first).
        public var sample: [PreviewRecord]
        /// At most `maxListedRejects`; `rejectedCount` has them all.
        public var rejected: [Rejected]
        public var rejectedCount: Int
        /// Input files matched by `source.files`.
        public var files: [InputFile]
        /// Files opened before the sample was full.
        public var filesRead: Int
        /// True when every matched file was read to its end.
        public var exhausted: Bool
        /// What the transformer changed while reading the sample.
        public var stats: Transformer.Stats
        /// The first record with a value cut to `limits.maxValueBytes`.
        public var firstTruncated: String?
        /// The first few passed-through names sent numbered, `"my field" → my_field_2`.
        public var collisionExamples: [String] = []
        /// Notes for the warnings list: patterns that matched nothing, files that could not be read.
        public var notes: [String]
        /// Problems that make the preview impossible (a folder that does not exist).
        public var errors: [String]
    }

    public static let maxListedRejects = 100

    /// Reads until `records` are shown and `sample` (at least `records`) are in hand, or the input ends.
    /// `now` is the time TimeGenerated ages are measured from.
    public static func read(_ spec: PipelineSpec, records: Int = 10, sample: Int = 1000, now: Date = Date()) -> Result {
        let wanted = max(records, sample)
        let discovery = FileDiscovery.expand(
            spec.source.files, relativeTo: spec.baseDirectory, followSymlinks: spec.source.followSymlinks)
        var result = Result(
            shown: [], sample: [], rejected: [], rejectedCount: 0, files: discovery.files, filesRead: 0,
            exhausted: true,
            stats: Transformer.Stats(), firstTruncated: nil,
            notes: discovery.unmatched.map { "source.files: \"\($0)\" matches no file" }
                + discovery.warnings.map { "source.files: \($0)" },
            errors: discovery.errors.map { "source.files: \($0)" })
        guard discovery.errors.isEmpty else { return result }

        func reject(_ file: InputFile, _ line: Int, _ reason: String) {
            result.rejectedCount += 1
            if result.rejected.count < maxListedRejects {
                result.rejected.append(Rejected(file: file.relativePath, line: line, reason: reason))
            }
        }

        let transformer = Transformer(spec: spec, now: now)
        // Datetime mappings read in a zone, with their tables (built once, as the transformer does).
        var tables: [String: ZoneTable] = [:]
        let zoned: [(FieldMapping, ZoneTable)] = spec.fields.map.compactMap { m in
            guard m.type == .datetime, case .input = m.source, let name = m.timezone ?? spec.source.timezone else {
                return nil
            }
            if tables[name] == nil { tables[name] = ZoneTable(identifier: name) }
            return tables[name].map { (m, $0) }
        }
        // The transformer counts a value it cut even when it then refuses the record (too many
        // fields); the preview's counts are about the records it shows.
        var uncounted = Transformer.Stats()
        let out = ByteBuffer(capacity: 1 << 16)
        files: for file in discovery.files {
            if result.sample.count >= wanted {
                result.exhausted = false
                break
            }
            result.filesRead += 1
            let decoder: RecordDecoder
            do {
                let (d, names) = try DecoderFactory.open(file, spec: spec.source)
                decoder = d
                // The same key as `run`, so the record ids shown are the ones that will be sent.
                transformer.beginFile(
                    fileKey: FileFingerprint.of(file)?.key ?? UInt64(file.index), names: names, path: file.relativePath)
            } catch {
                // A file-level problem, not a record's: it goes with the warnings.
                result.notes.append("\(file.relativePath): cannot read the file: \(error.message)")
                continue
            }
            var lastLine = 0
            while true {
                if result.sample.count >= wanted {
                    result.exhausted = false
                    break files
                }
                let next: DecodeResult?
                do {
                    next = try decoder.next()
                } catch {
                    result.notes.append(
                        "\(file.relativePath): reading stopped after line \(lastLine): \(error.message)")
                    break
                }
                guard let next else { break }
                switch next {
                case .rejected(let prov, let err, _):
                    lastLine = prov.line
                    reject(file, prov.line, err.reason)
                case .record(let view):
                    lastLine = view.provenance.line
                    // Left out by fields.where: counted (stats[.filtered]), not part of the sample.
                    if !transformer.passes(view) { continue }
                    out.removeAll()
                    // Two figures, not a copy of the counters (which the transform would then copy again).
                    let truncatedBefore = transformer.stats[.truncatedValues]
                    let replacedBefore = transformer.stats[.replacedUTF8]
                    if let err = transformer.transform(view, to: out) {
                        uncounted[.truncatedValues] += transformer.stats[.truncatedValues] - truncatedBefore
                        uncounted[.replacedUTF8] += transformer.stats[.replacedUTF8] - replacedBefore
                        reject(file, view.provenance.line, err.reason)
                        continue
                    }
                    var r = PreviewRecord(json: out.toArray(), location: "\(file.relativePath):\(view.provenance.line)")
                    if result.shown.count < records { r.timezoneNotes = timezoneNotes(view, zoned) }
                    if result.firstTruncated == nil, transformer.stats[.truncatedValues] > truncatedBefore {
                        result.firstTruncated = r.location
                    }
                    if result.shown.count < records { result.shown.append(r) }
                    result.sample.append(r)
                }
            }
        }
        result.stats = transformer.stats
        result.collisionExamples = transformer.collisionExamples
        result.stats[.truncatedValues] -= uncounted[.truncatedValues]
        result.stats[.replacedUTF8] -= uncounted[.replacedUTF8]
        return result
    }

    /// For each zoned datetime mapping the record has a value for: the raw value, the zone and the
    /// UTC value it becomes (the preview shows the conversion, not only its result).
    static func timezoneNotes(_ view: RecordView, _ zoned: [(FieldMapping, ZoneTable)]) -> [String] {
        var notes: [String] = []
        for (m, zone) in zoned {
            guard case .input(let from) = m.source else { continue }
            let want = Array(from.utf8)
            guard
                let slot = view.fields.first(where: { f in
                    let n = view.nameBytes(f)
                    return n.count == want.count && zip(n, want).allSatisfy { $0 == $1 }
                })
            else { continue }
            let raw = Transformer.trimmed(view.value(slot))
            let text = String(decoding: raw, as: UTF8.self)
            let format = m.format.flatMap(DateTimeFormat.parse) ?? .iso8601
            guard let (ms, how) = DateTimeParser.parse(raw, format: format, zone: zone) else {
                notes.append("\(m.output): \"\(text)\" is not a datetime in the field's format")
                continue
            }
            var iso = [UInt8](repeating: 0, count: 24)
            iso.withUnsafeMutableBytes { _ = DateTimeParser.writeISO(ms, to: $0.baseAddress!) }
            let note: String
            switch how {
            case .exact: note = ""
            case .gap: note = " (in a DST gap: moved forward by the gap)"
            case .repeated: note = " (a repeated hour: the earlier instant)"
            }
            notes.append(
                "\(m.output): \"\(text)\" in \(zone.identifier) → \(String(decoding: iso, as: UTF8.self))\(note)")
        }
        return notes
    }

    /// The reader's own warnings (what the transformer changed), in the schema's warning form.
    public static func warnings(_ r: Result, spec: PipelineSpec) -> [SchemaWarning] {
        var out = r.notes.map { SchemaWarning(kind: .reading, field: nil, records: 0, message: $0) }
        let s = r.stats
        func add(_ kind: SchemaWarning.Kind, _ records: Int, field: String? = nil, _ message: String) {
            out.append(SchemaWarning(kind: kind, field: field, records: records, message: message))
        }
        if s[.extractMisses] > 0 {
            add(
                .reading, s[.extractMisses],
                "\(s[.extractMisses]) value(s) did not match their fields.map extract: the field was left out "
                    + "(or got its default)")
        }
        if s[.timezoneGapValues] + s[.timezoneRepeatedValues] > 0 {
            add(
                .reading, s[.timezoneGapValues] + s[.timezoneRepeatedValues],
                "\(s[.timezoneGapValues]) datetime value(s) fell in a DST gap (moved forward by the gap) and "
                    + "\(s[.timezoneRepeatedValues]) in a repeated hour (the earlier instant taken); see "
                    + "docs/pipeline.md \"Time zones\"")
        }
        if s[.truncatedValues] > 0 {
            add(
                .oversizedValue, s[.truncatedValues],
                "\(s[.truncatedValues]) value(s) were cut to \(spec.limits.maxValueBytes) bytes"
                    + "\(r.firstTruncated.map { " (first \($0))" } ?? ""); "
                    + "limits.oversizedValue is \"truncate\" (\"reject\" sends such records to rejects.ndjson instead)")
        }
        if s[.tooManyFieldsRecords] > 0, spec.limits.tooManyFields == .warn {
            add(
                .tooManyColumns, s[.tooManyFieldsRecords],
                "\(s[.tooManyFieldsRecords]) record(s) have more than limits.maxFields (\(spec.limits.maxFields)) "
                    + "fields and are sent as they are (limits.tooManyFields is \"warn\")")
        }
        if s[.packedRecords] > 0 {
            add(
                .tooManyColumns, s[.packedRecords], field: spec.limits.packField,
                "\(s[.packedRecords]) record(s) have more than limits.maxFields (\(spec.limits.maxFields)) fields; "
                    + "the extra ones are packed into \(spec.limits.packField) as JSON text")
        }
        if s[.renamedFields] > 0 {
            add(
                .reading, 0,
                "\(s[.renamedFields]) input field name(s) are not valid column names and were renamed (letters, "
                    + "digits and underscore, at most 45 characters, not reserved); map them to choose the names")
        }
        if s[.collidingNames] > 0 {
            let examples = r.collisionExamples.isEmpty ? "" : " (\(r.collisionExamples.joined(separator: ", ")))"
            add(
                .reading, s[.collidingNames],
                "\(s[.collidingNames]) passed-through field(s) share a column name with another field of the same "
                    + "record once made valid, and are sent under a numbered name\(examples); map them to choose "
                    + "the names")
        }
        if s[.replacedUTF8] > 0 {
            add(
                .reading, s[.replacedUTF8],
                "\(s[.replacedUTF8]) value(s) held invalid UTF-8, replaced with U+FFFD "
                    + "(source.invalidUTF8 is \"replace\")")
        }
        return out
    }
}
