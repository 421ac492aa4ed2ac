import Foundation
import LogshipSupport

/// Turns decoded records into the JSON objects that are sent: mapping, renaming, typing,
/// dropping, passthrough, the record id, and the service's limits (value size, column names,
/// column count). Works on bytes; one instance per reading thread.
///
/// Everything the per-record path needs is compiled once into flat tables (`Plan`s over one
/// byte arena), so a record costs no allocation, no hashing and no reference counting.
public final class Transformer {
    /// What the transformer changed or refused, for the run summary: `stats[.truncatedValues]`.
    public typealias Stats = Counters<Counter>

    /// The figures `stats` keeps.
    public enum Counter: Int, CounterName {
        case records, truncatedValues, replacedUTF8, packedRecords, tooManyFieldsRecords, renamedFields
        /// Passed-through fields sent under a numbered name (`my_field_2`) because another field
        /// of the same record already had their column name (docs/pipeline.md "fields").
        case collidingNames
        case nulledConversions
        /// Time-generated values more than two days before the run started (the service
        /// replaces them with the ingestion time), and more than a day after it (replaced too).
        case timeGeneratedTooOld, timeGeneratedInFuture
        /// Records `fields.where` left out (not sent, not rejected).
        case filtered
        /// Datetime values without an offset, read in a `timezone`, that fell in a DST gap (moved
        /// forward by the gap) or in a repeated hour (the earlier instant taken).
        case timezoneGapValues, timezoneRepeatedValues
        /// Values a `fields.map.X.extract` found no match in (the field was absent, or its default).
        case extractMisses
    }

    /// Bytes in `arena`; `count < 0` means absent.
    struct Span {
        var start: Int32
        var count: Int32
        static let none = Span(start: 0, count: -1)
        var present: Bool { count >= 0 }
    }

    /// One `fields.map` entry, compiled. A plain value type: reading it costs nothing.
    struct Plan {
        var key: Span  // `"Name":`
        var from: Span  // the whole `from` text
        var first: Span  // its first dotted component
        var dotted: Bool
        var constant: Span  // rendered JSON of `value`
        var fallback: Span  // rendered JSON of `default`
        var type: FieldType?
        var nullOnError: Bool
        var isTimeGenerated: Bool  // the target's time-generated field
        var format: Int  // index into `formats`
        var column: Int32  // the bound column of the current file, or -1
        var derived: Derived = .none  // `from: "$…"`
        var extractor: Int32 = -1  // index into `extractors`, or -1
    }

    /// `from: "$…"`, compiled: per-file values live in `fileValues`, `$line` comes from the
    /// record's provenance.
    enum Derived: UInt8 {
        case none, file, line, host, pipeline
        init(_ d: DerivedValue) {
            switch d {
            case .file: self = .file
            case .line: self = .line
            case .host: self = .host
            case .pipeline: self = .pipeline
            }
        }
    }

    struct EmitState {
        var fields = 0
        var packAfter = Int.max
        var packed = 0
    }

    /// One distinct NDJSON field name as written, decided once: the per-record cost of a name
    /// is a hash and a probe (`nameEntry`), never string work.
    struct NameEntry {
        var raw: Span  // in `nameArena`: the name as written (escapes included)
        var key: Span  // in `nameArena`: `"name":` of the column it gets when nothing collides
        var hash: UInt64
        /// The same for names that land in one column (same output name in any letter case).
        var group: Int32
        /// Mapped (consumed) or dropped: never passed through.
        var skip: Bool
        /// Valid as written: claims its name before sanitised names do.
        var plain: Bool
        /// The output name is a mapped column, the record id or a pack column.
        var reserved: Bool
    }

    /// One step of a file's compiled program (bound decoders: CSV, lines). The program writes
    /// a whole record when every column is present and every value converts; it bails out to
    /// the general `emit` otherwise, which then decides defaults, `onError` and refusals.
    struct Op {
        enum Action: UInt8 { case constant, convert, copy, recordId, line }
        /// In `programArena`: `,"Name":` (no comma for the first op), followed by the value
        /// for constants.
        var key: Span
        var action: Action
        var type: FieldType
        var isTimeGenerated: Bool
        var column: Int32
        var format: Int
    }

    // Set here and in the Transformer+*.swift extensions only.
    public internal(set) var stats = Stats()
    /// The last datetime written: checked against the window the service keeps.
    var lastDateTime: Int64 = 0
    /// `fields.where`, or nil when every record passes.
    let filter: RecordFilter?

    let arena: UnsafeMutableRawBufferPointer
    let plans: UnsafeMutableBufferPointer<Plan>
    let outputs: [String]
    let formats: [DateTimeFormat]
    /// Per entry of `formats`: the zone values without an offset are read in (nil: UTC).
    let zones: [ZoneTable?]
    let paths: [[[UInt8]]]
    let consumed: [Span]
    let dropped: [Span]
    /// Lower-cased names passthrough never uses as they are: mapped columns, the record id and,
    /// with `pack`, the pack columns. A passed-through field with such a name gets a numbered one.
    let reservedNames: Set<[UInt8]>
    let recordIdKey: Span
    /// `"Name":` of the pack columns: `packField`, then `packField2`, `packField3`, …
    let packKeys: [[UInt8]]
    let passthrough: Bool
    let maxValueBytes: Int
    let oversized: OversizedValuePolicy
    let invalidUTF8: JSONWriter.InvalidUTF8
    let maxFields: Int
    let tooMany: TooManyFieldsPolicy
    /// The window the service keeps time-generated values in, from when the run started.
    let oldestTimeGenerated: Int64
    let newestTimeGenerated: Int64
    /// NDJSON records with nothing to change may be copied as they are.
    let identityPossible: Bool
    /// Logs Ingestion API: an input field named `TimeGenerated` passes through under its name.
    let allowTimeGenerated: Bool
    /// `fields.map.X.extract`, compiled once.
    let extractors: [ValueExtractor]
    /// `$pipeline`: the pipeline's name.
    let pipelineName: [UInt8]
    /// Per plan: the value of a per-file derived field (`$file`, `$host`, `$pipeline`, after its
    /// extract) in `derivedArena` for the current file; absent when its extract did not match.
    let fileValues: UnsafeMutablePointer<Span>
    let derivedArena = ByteBuffer(capacity: 1024)
    /// `$line`'s digits for the record being written.
    let lineText = UnsafeMutablePointer<UInt8>.allocate(capacity: 24)
    /// An escaped JSON string, unescaped for an extract.
    let extractScratch = ByteBuffer(capacity: 1024)

    // Per file.
    var fileKey: UInt64 = 0
    /// Columns of the current bound file whose passthrough name is numbered.
    var fileNumbered = 0
    var bound = false
    var columns = 0
    /// Per record (bound decoders): the slot holding each column, or -1.
    var columnSlot = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    var columnSlotCapacity = 1
    /// Per column: `"Name":` of its passthrough (in `fileArena`), or absent.
    var passKeys = UnsafeMutablePointer<Span>.allocate(capacity: 1)
    let fileArena = ByteBuffer(capacity: 4096)
    /// The compiled program of the current bound file, and whether records may take it.
    var program = UnsafeMutablePointer<Op>.allocate(capacity: 1)
    var programCapacity = 1
    var programCount = 0
    var programReady = false
    let programArena = ByteBuffer(capacity: 4096)
    /// Records that took the program and records it bailed out on (general path instead).
    var programTries = 0
    var programMisses = 0
    /// Tests turn the program off to compare it with the general path.
    var programAllowed = true

    let scratch = ByteBuffer(capacity: 1 << 12)
    /// Packed members (`"name":value`, no separators) and where each starts.
    let packBuffer = ByteBuffer(capacity: 1 << 12)
    var packStarts: [Int] = []

    // NDJSON names: one entry per distinct name as written, found by an open-addressing table.
    let nameArena = ByteBuffer(capacity: 1 << 14)
    var nameEntries = UnsafeMutablePointer<NameEntry>.allocate(capacity: 64)
    var nameCount = 0
    var nameCapacity = 64
    var nameSlots = UnsafeMutablePointer<Int32>.allocate(capacity: 128)
    var slotMask = 127
    var groupOf: [[UInt8]: Int32] = [:]
    /// Per group, the record that last claimed it: a second claim in one record is a collision.
    var groupStamps = UnsafeMutablePointer<UInt32>.allocate(capacity: 64)
    var groupCapacity = 64
    var recordStamp: UInt32 = 0
    /// Beyond this many distinct names (keys that are ids), names are decided per record.
    static let maxCachedNames = 100_000
    /// Per field of the record being written: its name entry, or -1 when not passed through.
    var fieldNames = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
    /// Per field position: the entry the previous record had there. Records of one producer
    /// mostly repeat their names in order, so one comparison usually stands in for the hash.
    var lastNames = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
    /// Per field, when the record's names collide: `"name":` in `recordKeys`, or absent.
    var resolvedKeys = UnsafeMutablePointer<Span>.allocate(capacity: 64)
    var fieldCapacity = 64
    /// The field count of the previous record when every one of its names had an entry (-1
    /// otherwise), and whether its names were its own (no collision).
    var lastShapeCount = -1
    var lastShapeClean = false
    let recordKeys = ByteBuffer(capacity: 1024)
    var useResolved = false
    /// The names of colliding records by shape (each field's entry, and whether it is null): a
    /// producer that always writes `my field` and `my_field` pays for the rule once, not per record.
    var shapes: [[Int32]: (keys: [UInt8], spans: [Span], numbered: Int)] = [:]
    static let maxCachedShapes = 10_000
    /// Per column of the current bound file: whether its passthrough name is numbered.
    var passNumbered = UnsafeMutablePointer<Bool>.allocate(capacity: 1)
    /// The first few numbered names, `"my field" → my_field_2`, for preview.
    public internal(set) var collisionExamples: [String] = []
    // Set when a value hits a "reject" policy; read and cleared by the caller of the writer.
    var invalidUTF8Hit = false
    var oversizedHit = false

    /// - Parameter now: the time TimeGenerated ages are measured from (the run's start; tests
    ///   and `LOGSHIP_NOW` set it).
    public init(spec: PipelineSpec, now: Date = Date()) {
        let f = spec.fields
        passthrough = f.passthrough
        allowTimeGenerated = spec.target.api == .logsIngestion
        maxValueBytes = spec.limits.maxValueBytes
        oversized = spec.limits.oversizedValue
        invalidUTF8 = spec.source.invalidUTF8 == .reject ? .reject : .replace
        maxFields = spec.limits.maxFields
        tooMany = spec.limits.tooManyFields
        let nowMillis = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        oldestTimeGenerated = nowMillis - 2 * 86_400_000
        newestTimeGenerated = nowMillis + 86_400_000

        var bytes: [UInt8] = []
        func span(_ b: [UInt8]?) -> Span {
            guard let b else { return .none }
            let s = Span(start: Int32(bytes.count), count: Int32(b.count))
            bytes += b
            return s
        }
        func key(_ name: String) -> [UInt8] { Array("\"\(name)\":".utf8) }

        var plans: [Plan] = []
        var formats: [DateTimeFormat] = []
        var zones: [ZoneTable?] = []
        // One table per zone name: built from the tz database once, here, never per record.
        var tables: [String: ZoneTable] = [:]
        func table(_ name: String?) -> ZoneTable? {
            guard let name else { return nil }
            if let t = tables[name] { return t }
            let t = ZoneTable(identifier: name)
            tables[name] = t
            return t
        }
        var paths: [[[UInt8]]] = []
        var consumed: [Span] = []
        var extractors: [ValueExtractor] = []
        var taken = Set<[UInt8]>()
        for m in f.map {
            formats.append(m.format.flatMap(DateTimeFormat.parse) ?? .iso8601)
            zones.append(m.type == .datetime ? table(m.timezone ?? spec.source.timezone) : nil)
            var p = Plan(
                key: span(key(m.output)), from: .none, first: .none, dotted: false, constant: .none, fallback: .none,
                type: m.type,
                nullOnError: m.onError == .null, isTimeGenerated: m.output == spec.target.timeGeneratedField,
                format: formats.count - 1, column: -1)
            switch m.source {
            case .input(let from):
                let comps = from.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) }
                p.from = span(Array(from.utf8))
                p.first = span(comps[0])
                p.dotted = comps.count > 1 && comps.allSatisfy { !$0.isEmpty }
                paths.append(comps)
                consumed.append(p.from)
                // "a.b" reaches into nested objects; a field literally named "a.b" also matches.
                if p.dotted { consumed.append(p.first) }
            case .constant(let node):
                paths.append([])
                p.constant = span(Transformer.render(node, type: m.type, format: formats.last!, zone: zones.last!))
            case .derived(let d):
                paths.append([])
                p.derived = Derived(d)
            }
            if let x = m.extract, let e = ValueExtractor(x) {
                extractors.append(e)
                p.extractor = Int32(extractors.count - 1)
            }
            if let d = m.defaultValue {
                p.fallback = span(Transformer.render(d, type: m.type, format: formats.last!, zone: zones.last!))
            }
            plans.append(p)
            taken.insert(Array(m.output.lowercased().utf8))
        }
        if let r = f.recordId { taken.insert(Array(r.lowercased().utf8)) }
        recordIdKey = f.recordId.map { span(key($0)) } ?? .none
        var packKeys = [key(spec.limits.packField)]
        if tooMany == .pack {
            // A record keeps at most maxFields columns, so at most that many pack columns.
            taken.insert(Array(spec.limits.packField.lowercased().utf8))
            for k in stride(from: 2, through: maxFields, by: 1) {
                let name = Transformer.packColumnName(spec.limits.packField, k)
                taken.insert(Array(name.lowercased().utf8))
                packKeys.append(key(name))
            }
        }
        self.packKeys = packKeys
        dropped = f.drop.map { span(Array($0.utf8)) }

        arena = .allocate(byteCount: max(bytes.count, 1), alignment: 16)
        for (k, b) in bytes.enumerated() { arena[k] = b }
        self.plans = .allocate(capacity: max(plans.count, 1))
        _ = self.plans.initialize(from: plans)
        self.outputs = f.map.map(\.output)
        self.formats = formats
        self.zones = zones
        self.paths = paths
        self.consumed = consumed
        self.reservedNames = taken
        nameSlots.initialize(repeating: -1, count: 128)
        groupStamps.initialize(repeating: 0, count: 64)
        lastNames.initialize(repeating: -1, count: 64)
        identityPossible = passthrough && plans.isEmpty && f.drop.isEmpty && f.recordId == nil
        filter = f.filter.isEmpty ? nil : RecordFilter(f.filter)
        self.extractors = extractors
        pipelineName = Array(spec.name.utf8)
        fileValues = .allocate(capacity: max(plans.count, 1))
        fileValues.initialize(repeating: .none, count: max(plans.count, 1))
    }

    deinit {
        arena.deallocate()
        plans.deallocate()
        columnSlot.deallocate()
        passKeys.deallocate()
        program.deallocate()
        nameEntries.deallocate()
        nameSlots.deallocate()
        groupStamps.deallocate()
        fieldNames.deallocate()
        lastNames.deallocate()
        resolvedKeys.deallocate()
        passNumbered.deallocate()
        fileValues.deallocate()
        lineText.deallocate()
    }

    /// The `k`-th pack column's name (k >= 2): `Extra2`, cut to stay within 45 characters.
    static func packColumnName(_ base: String, _ k: Int) -> String {
        let digits = String(k)
        return String(base.prefix(FieldNames.maxLength - digits.count)) + digits
    }

    @inline(__always)
    func bytes(_ s: Span) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: arena.baseAddress! + Int(s.start), count: Int(s.count))
    }

    @inline(__always)
    func equal(_ s: Span, _ b: UnsafeRawBufferPointer) -> Bool {
        Int(s.count) == b.count
            && (b.count == 0 || memcmp(arena.baseAddress! + Int(s.start), b.baseAddress!, b.count) == 0)
    }

    /// A bare instance that only converts constants at load time.
    init(constantsOnly: Void) {
        passthrough = false
        maxValueBytes = Int.max
        oversized = .truncate
        invalidUTF8 = .replace
        maxFields = 500
        tooMany = .warn
        oldestTimeGenerated = Int64.min
        newestTimeGenerated = Int64.max
        arena = .allocate(byteCount: 1, alignment: 16)
        plans = .allocate(capacity: 1)
        outputs = []
        formats = []
        zones = []
        paths = []
        consumed = []
        dropped = []
        reservedNames = []
        recordIdKey = .none
        packKeys = []
        identityPossible = false
        allowTimeGenerated = false
        filter = nil
        extractors = []
        pipelineName = []
        fileValues = .allocate(capacity: 1)
    }
}
