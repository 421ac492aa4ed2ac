import Foundation

/// Turns decoded records into the JSON objects that are sent: mapping, renaming, typing,
/// dropping, passthrough, the record id, and the service's limits (value size, column names,
/// column count). Works on bytes; one instance per reading thread.
///
/// Everything the per-record path needs is compiled once into flat tables (`Plan`s over one
/// byte arena), so a record costs no allocation, no hashing and no reference counting.
public final class Transformer {
    /// What the transformer changed or refused, for the run summary.
    public struct Stats: Sendable, Equatable {
        public var records = 0
        public var truncatedValues = 0
        public var replacedUTF8 = 0
        public var packedRecords = 0
        public var tooManyFieldsRecords = 0
        public var renamedFields = 0
        /// Passed-through fields sent under a numbered name (`my_field_2`) because another field
        /// of the same record already had their column name (README "Field names").
        public var collidingNames = 0
        public var nulledConversions = 0
        /// Time-generated values more than two days before the run started (the service
        /// replaces them with the ingestion time).
        public var timeGeneratedTooOld = 0
        /// Time-generated values more than a day after the run started (replaced too).
        public var timeGeneratedInFuture = 0
        /// Records `fields.where` left out (not sent, not rejected).
        public var filtered = 0
        /// Datetime values without an offset, read in a `timezone`, that fell in a DST gap (moved
        /// forward by the gap) or in a repeated hour (the earlier instant taken).
        public var timezoneGapValues = 0
        public var timezoneRepeatedValues = 0
        public init() {}
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
        enum Action: UInt8 { case constant, convert, copy, recordId }
        /// In `programArena`: `,"Name":` (no comma for the first op), followed by the value
        /// for constants.
        var key: Span
        var action: Action
        var type: FieldType
        var isTimeGenerated: Bool
        var column: Int32
        var format: Int
    }

    public private(set) var stats = Stats()
    /// `fields.where`, or nil when every record passes.
    private let filter: RecordFilter?

    private let arena: UnsafeMutableRawBufferPointer
    private let plans: UnsafeMutableBufferPointer<Plan>
    private let outputs: [String]
    private let formats: [DateTimeFormat]
    /// Per entry of `formats`: the zone values without an offset are read in (nil: UTC).
    private let zones: [ZoneTable?]
    private let paths: [[[UInt8]]]
    private let consumed: [Span]
    private let dropped: [Span]
    /// Lower-cased names passthrough never uses as they are: mapped columns, the record id and,
    /// with `pack`, the pack columns. A passed-through field with such a name gets a numbered one.
    private let reservedNames: Set<[UInt8]>
    private let recordIdKey: Span
    /// `"Name":` of the pack columns: `packField`, then `packField2`, `packField3`, …
    private let packKeys: [[UInt8]]
    private let passthrough: Bool
    private let maxValueBytes: Int
    private let oversized: OversizedValuePolicy
    private let invalidUTF8: JSONWriter.InvalidUTF8
    private let maxFields: Int
    private let tooMany: TooManyFieldsPolicy
    /// The window the service keeps time-generated values in, from when the run started.
    private let oldestTimeGenerated: Int64
    private let newestTimeGenerated: Int64
    /// NDJSON records with nothing to change may be copied as they are.
    private let identityPossible: Bool
    /// Logs Ingestion API: an input field named `TimeGenerated` passes through under its name.
    private let allowTimeGenerated: Bool

    // Per file.
    private var fileKey: UInt64 = 0
    /// Columns of the current bound file whose passthrough name is numbered.
    private var fileNumbered = 0
    private var bound = false
    private var columns = 0
    /// Per record (bound decoders): the slot holding each column, or -1.
    private var columnSlot = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private var columnSlotCapacity = 1
    /// Per column: `"Name":` of its passthrough (in `fileArena`), or absent.
    private var passKeys = UnsafeMutablePointer<Span>.allocate(capacity: 1)
    private let fileArena = ByteBuffer(capacity: 4096)
    /// The compiled program of the current bound file, and whether records may take it.
    private var program = UnsafeMutablePointer<Op>.allocate(capacity: 1)
    private var programCapacity = 1
    private var programCount = 0
    private var programReady = false
    private let programArena = ByteBuffer(capacity: 4096)
    /// Records that took the program and records it bailed out on (general path instead).
    private(set) var programTries = 0
    private(set) var programMisses = 0
    /// Tests turn the program off to compare it with the general path.
    var programAllowed = true

    private let scratch = ByteBuffer(capacity: 1 << 12)
    /// Packed members (`"name":value`, no separators) and where each starts.
    private let packBuffer = ByteBuffer(capacity: 1 << 12)
    private var packStarts: [Int] = []

    // NDJSON names: one entry per distinct name as written, found by an open-addressing table.
    private let nameArena = ByteBuffer(capacity: 1 << 14)
    private var nameEntries = UnsafeMutablePointer<NameEntry>.allocate(capacity: 64)
    private var nameCount = 0
    private var nameCapacity = 64
    private var nameSlots = UnsafeMutablePointer<Int32>.allocate(capacity: 128)
    private var slotMask = 127
    private var groupOf: [[UInt8]: Int32] = [:]
    /// Per group, the record that last claimed it: a second claim in one record is a collision.
    private var groupStamps = UnsafeMutablePointer<UInt32>.allocate(capacity: 64)
    private var groupCapacity = 64
    private var recordStamp: UInt32 = 0
    /// Beyond this many distinct names (keys that are ids), names are decided per record.
    static let maxCachedNames = 100_000
    /// Per field of the record being written: its name entry, or -1 when not passed through.
    private var fieldNames = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
    /// Per field position: the entry the previous record had there. Records of one producer
    /// mostly repeat their names in order, so one comparison usually stands in for the hash.
    private var lastNames = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
    /// Per field, when the record's names collide: `"name":` in `recordKeys`, or absent.
    private var resolvedKeys = UnsafeMutablePointer<Span>.allocate(capacity: 64)
    private var fieldCapacity = 64
    private let recordKeys = ByteBuffer(capacity: 1024)
    private var useResolved = false
    /// The names of colliding records by shape (each field's entry, and whether it is null): a
    /// producer that always writes `my field` and `my_field` pays for the rule once, not per record.
    private var shapes: [[Int32]: (keys: [UInt8], spans: [Span], numbered: Int)] = [:]
    static let maxCachedShapes = 10_000
    /// Per column of the current bound file: whether its passthrough name is numbered.
    private var passNumbered = UnsafeMutablePointer<Bool>.allocate(capacity: 1)
    /// The first few numbered names, `"my field" → my_field_2`, for preview.
    public private(set) var collisionExamples: [String] = []
    // Set when a value hits a "reject" policy; read and cleared by the caller of the writer.
    private var invalidUTF8Hit = false
    private var oversizedHit = false

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
        var taken = Set<[UInt8]>()
        for m in f.map {
            formats.append(m.format.flatMap(DateTimeFormat.parse) ?? .iso8601)
            zones.append(m.type == .datetime ? table(m.timezone ?? spec.source.timezone) : nil)
            var p = Plan(
                key: span(key(m.output)), from: .none, first: .none, dotted: false, constant: .none, fallback: .none, type: m.type,
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
            }
            if let d = m.defaultValue { p.fallback = span(Transformer.render(d, type: m.type, format: formats.last!, zone: zones.last!)) }
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
    }

    /// The `k`-th pack column's name (k >= 2): `Extra2`, cut to stay within 45 characters.
    static func packColumnName(_ base: String, _ k: Int) -> String {
        let digits = String(k)
        return String(base.prefix(FieldNames.maxLength - digits.count)) + digits
    }

    @inline(__always)
    private func bytes(_ s: Span) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: arena.baseAddress! + Int(s.start), count: Int(s.count))
    }

    @inline(__always)
    private func equal(_ s: Span, _ b: UnsafeRawBufferPointer) -> Bool {
        Int(s.count) == b.count && (b.count == 0 || memcmp(arena.baseAddress! + Int(s.start), b.baseAddress!, b.count) == 0)
    }

    // MARK: Constants

    /// A constant (or default) as JSON, converted to `type` when given; nil when it cannot be.
    static func render(_ node: JSONNode, type: FieldType?, format: DateTimeFormat, zone: ZoneTable? = nil) -> [UInt8]? {
        let out = ByteBuffer(capacity: 256)
        switch node.value {
        case .null: return nil
        case .bool(let b): out.append(b ? "true" : "false")
        case .number(let d):
            guard d.isFinite else { return nil }
            if d == d.rounded(), abs(d) < 1e15 { out.append(String(Int64(d))) } else { out.append("\(d)") }
        case .string(var s):
            let converter = Transformer(constantsOnly: ())
            let ok = s.withUTF8 { p -> Bool in
                let raw = UnsafeRawBufferPointer(p)
                guard let t = type, t != .string else {
                    _ = JSONWriter.writeString(raw, to: out, maxBytes: Int.max, invalidUTF8: .replace)
                    return true
                }
                return converter.convert(raw, kind: .text, escaped: false, type: t, format: format, zone: zone, to: out)
            }
            if !ok { return nil }
        case .array, .object:
            guard let data = try? JSONSerialization.data(withJSONObject: Transformer.foundationValue(node), options: [.sortedKeys]) else {
                return nil
            }
            out.append([UInt8](data))
        }
        return out.toArray()
    }

    static func foundationValue(_ n: JSONNode) -> Any {
        switch n.value {
        case .null: return NSNull()
        case .bool(let b): return b
        case .number(let d): return d
        case .string(let s): return s
        case .array(let a): return a.map(foundationValue)
        case .object(let o): return Dictionary(o.map { ($0.key, foundationValue($0.node)) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// A bare instance that only converts constants at load time.
    private init(constantsOnly: Void) {
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
    }

    // MARK: Per file

    /// Prepares for a new file: its id key (for `recordId`) and, for CSV and lines, its column names.
    public func beginFile(fileKey: UInt64, names: NameTable?) {
        self.fileKey = fileKey
        bound = names != nil
        filter?.beginFile(names: names)
        programReady = false
        guard let names else { return }
        columns = names.count
        if columnSlotCapacity < columns {
            columnSlot.deallocate()
            passKeys.deallocate()
            passNumbered.deallocate()
            columnSlotCapacity = columns
            columnSlot = .allocate(capacity: columns)
            passKeys = .allocate(capacity: columns)
            passNumbered = .allocate(capacity: columns)
        }
        for k in 0..<outputs.count {
            var column: Int32 = -1
            let p = plans[k]
            if p.from.present {
                for c in 0..<names.count where equal(p.from, names[c]) {
                    column = Int32(c)
                    break
                }
            }
            plans[k].column = column
        }
        fileArena.removeAll()
        // The names are the file's: decided once here, with the same rule as for NDJSON records.
        var candidates: [(out: [UInt8], plain: Bool)?] = []
        for c in 0..<names.count {
            let n = names[c]
            if !passthrough || consumed.contains(where: { equal($0, n) }) || dropped.contains(where: { equal($0, n) }) {
                candidates.append(nil)
                continue
            }
            let raw = Array(n)
            let out = columnName(raw)
            candidates.append((out, out == raw))
        }
        let assigned = assignNames(candidates)
        fileNumbered = 0
        for c in 0..<names.count {
            passKeys[c] = .none
            passNumbered[c] = false
            guard let a = assigned[c] else { continue }
            let start = Int32(fileArena.count)
            fileArena.append(0x22)
            fileArena.append(a.name)
            fileArena.append("\":")
            passKeys[c] = Span(start: start, count: Int32(fileArena.count) - start)
            if a.numbered {
                passNumbered[c] = true
                fileNumbered += 1
                noteCollision(Array(names[c]), a.name)
            }
        }
        compileProgram()
    }

    /// Compiles the current bound file's output: the same fields, in the same order, with the
    /// same bytes as `emit` writes for a record whose every column is present and converts.
    private func compileProgram() {
        programArena.removeAll()
        var ops: [Op] = []
        func add(_ action: Op.Action, _ parts: [UnsafeRawBufferPointer], column: Int32 = -1, type: FieldType = .string,
                 timeGenerated: Bool = false, format: Int = 0) {
            let start = Int32(programArena.count)
            if !ops.isEmpty { programArena.append(UInt8(ascii: ",")) }
            for p in parts { programArena.append(p) }
            ops.append(Op(key: Span(start: start, count: Int32(programArena.count) - start), action: action, type: type,
                          isTimeGenerated: timeGenerated, column: column, format: format))
        }
        for k in 0..<outputs.count {
            let p = plans[k]
            if p.constant.present {
                add(.constant, [bytes(p.key), bytes(p.constant)])
            } else if p.column >= 0 {
                if let t = p.type {
                    add(.convert, [bytes(p.key)], column: p.column, type: t, timeGenerated: p.isTimeGenerated, format: p.format)
                } else {
                    add(.copy, [bytes(p.key)], column: p.column)
                }
            } else if p.fallback.present {
                // Not a column of this file: always missing, so always the default.
                add(.constant, [bytes(p.key), bytes(p.fallback)])
            }
        }
        if recordIdKey.present { add(.recordId, [bytes(recordIdKey)]) }
        if passthrough {
            for c in 0..<columns where passKeys[c].present {
                let s = passKeys[c]
                add(.copy, [UnsafeRawBufferPointer(start: fileArena.base + Int(s.start), count: Int(s.count))], column: Int32(c))
            }
        }
        // More fields than a record may have: the general path applies limits.tooManyFields.
        guard ops.count <= maxFields else { return }
        if programCapacity < ops.count {
            program.deallocate()
            programCapacity = ops.count
            program = .allocate(capacity: ops.count)
        }
        for (k, op) in ops.enumerated() { program[k] = op }
        programCount = ops.count
        programTries = 0
        programMisses = 0
        programReady = programAllowed
    }

    /// Writes the record with the file's program; false (leaving partial output for the caller
    /// to cut) when the record needs the general path.
    @inline(__always)
    private func runProgram(_ v: RecordView, to out: ByteBuffer) -> Bool {
        let fields = v.fields
        // Every column present, in column order, none null: what the program assumes.
        guard fields.count == columns else { return false }
        for i in 0..<fields.count {
            let f = fields[i]
            if f.nameIndex != Int32(i) || f.kind == .null { return false }
        }
        out.append(UInt8(ascii: "{"))
        let keys = programArena.base
        for k in 0..<programCount {
            let op = program[k]
            let key = UnsafeRawBufferPointer(start: keys + Int(op.key.start), count: Int(op.key.count))
            switch op.action {
            case .constant:
                out.append(key)
            case .convert:
                let f = fields[Int(op.column)]
                let raw = v.value(f)
                // An empty text value is missing for a typed field: defaults are the general path's.
                if raw.count == 0 && f.kind == .text && op.type != .string { return false }
                out.append(key)
                let format: DateTimeFormat = op.type == .datetime ? formats[op.format] : .iso8601
                let zone = op.type == .datetime ? zones[op.format] : nil
                guard convert(raw, kind: f.kind, escaped: f.valueEscaped, type: op.type, format: format, zone: zone, to: out) else { return false }
                if op.isTimeGenerated && op.type == .datetime { checkTimeGenerated() }
            case .copy:
                let f = fields[Int(op.column)]
                out.append(key)
                guard copyValue(v.value(f), kind: f.kind, to: out) else { return false }
            case .recordId:
                out.append(key)
                writeRecordId(v.provenance.ordinal, to: out)
            }
        }
        out.append(UInt8(ascii: "}"))
        return true
    }

    /// The column name for an input name: itself when valid, otherwise sanitized.
    private func columnName(_ raw: [UInt8]) -> [UInt8] {
        let s = String(decoding: raw, as: UTF8.self)
        if FieldNames.problem(s, allowTimeGenerated: allowTimeGenerated) == nil { return raw }
        return Array(FieldNames.sanitize(s).utf8)
    }

    @inline(__always)
    static func lowered(_ name: [UInt8]) -> [UInt8] { name.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 } }

    /// Names for passed-through fields, given each one's sanitised name and whether it is valid
    /// as written (nil: not passed through). The rule (README "Field names"): first every name
    /// valid as written keeps it, in input order, unless a reserved name or an earlier field
    /// has it (in any letter case); then the others, in input order, take their sanitised name
    /// if free, else the first free `name_2`, `name_3`, … (cut to stay within 45 characters).
    /// Valid names go first so that a well-named field keeps its column whatever else the record
    /// holds; `_` and digits can never read as a Data Collector type suffix (`_s`, `_d`, …).
    private func assignNames(_ c: [(out: [UInt8], plain: Bool)?]) -> [(name: [UInt8], numbered: Bool)?] {
        var used = Set<[UInt8]>()
        var result = [(name: [UInt8], numbered: Bool)?](repeating: nil, count: c.count)
        func claim(_ name: [UInt8]) -> Bool {
            let l = Transformer.lowered(name)
            return !reservedNames.contains(l) && used.insert(l).inserted
        }
        for (i, x) in c.enumerated() {
            if let x, x.plain, claim(x.out) { result[i] = (x.out, false) }
        }
        for (i, x) in c.enumerated() {
            guard let x, result[i] == nil else { continue }
            if !x.plain, claim(x.out) {
                result[i] = (x.out, false)
                continue
            }
            // Ends: `used` and `reservedNames` are finite and every k gives another name.
            var k = 2
            while true {
                let suffix = Array("_\(k)".utf8)
                let name = Array(x.out.prefix(FieldNames.maxLength - suffix.count)) + suffix
                if claim(name) {
                    result[i] = (name, true)
                    break
                }
                k += 1
            }
        }
        return result
    }

    private func noteCollision(_ raw: [UInt8], _ name: [UInt8]) {
        guard collisionExamples.count < 3 else { return }
        let example = "\"\(String(decoding: raw, as: UTF8.self))\" → \(String(decoding: name, as: UTF8.self))"
        if !collisionExamples.contains(example) { collisionExamples.append(example) }
    }

    // MARK: NDJSON names

    /// The entry of an NDJSON name as written; -1 when the cache is full (decided per record then).
    @inline(__always)
    private func nameEntry(_ n: UnsafeRawBufferPointer, escaped: Bool) -> Int32 {
        // Eight bytes at a time, then mixed so that the low bits (the slot) depend on every byte.
        let c = n.count
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(c)
        var i = 0
        while i + 8 <= c {
            h = (h ^ n.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        if i < c {
            var t: UInt64 = 0
            var k: UInt64 = 0
            while i < c {
                t |= UInt64(n[i]) << k
                k += 8
                i += 1
            }
            h = (h ^ t) &* 0x94D0_49BB_1331_11EB
        }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        var s = Int(truncatingIfNeeded: h) & slotMask
        while true {
            let e = nameSlots[s]
            if e < 0 { break }
            let entry = nameEntries[Int(e)]
            if entry.hash == h && Int(entry.raw.count) == n.count
                && (n.count == 0 || memcmp(nameArena.base + Int(entry.raw.start), n.baseAddress!, n.count) == 0)
            {
                return e
            }
            s = (s + 1) & slotMask
        }
        return addName(n, escaped: escaped, hash: h, slot: s)
    }

    private func addName(_ n: UnsafeRawBufferPointer, escaped: Bool, hash: UInt64, slot: Int) -> Int32 {
        guard nameCount < Transformer.maxCachedNames else { return -1 }
        let skip = consumed.contains { equal($0, n) } || dropped.contains { equal($0, n) }
        let (out, plain) = outputName(n, escaped: escaped)
        if !plain && !skip { stats.renamedFields += 1 }
        let lower = Transformer.lowered(out)
        let group: Int32
        if let g = groupOf[lower] {
            group = g
        } else {
            group = Int32(groupOf.count)
            groupOf[lower] = group
            if Int(group) >= groupCapacity {
                let bigger = UnsafeMutablePointer<UInt32>.allocate(capacity: groupCapacity * 2)
                bigger.initialize(repeating: 0, count: groupCapacity * 2)
                bigger.update(from: groupStamps, count: groupCapacity)
                groupStamps.deallocate()
                groupStamps = bigger
                groupCapacity *= 2
            }
        }
        let rawStart = Int32(nameArena.count)
        nameArena.append(n)
        let keyStart = Int32(nameArena.count)
        nameArena.append(0x22)
        nameArena.append(out)
        nameArena.append("\":")
        let entry = NameEntry(
            raw: Span(start: rawStart, count: Int32(n.count)), key: Span(start: keyStart, count: Int32(nameArena.count) - keyStart),
            hash: hash, group: group, skip: skip, plain: plain, reserved: reservedNames.contains(lower))
        if nameCount == nameCapacity {
            let bigger = UnsafeMutablePointer<NameEntry>.allocate(capacity: nameCapacity * 2)
            bigger.moveInitialize(from: nameEntries, count: nameCount)
            nameEntries.deallocate()
            nameEntries = bigger
            nameCapacity *= 2
        }
        nameEntries[nameCount] = entry
        nameSlots[slot] = Int32(nameCount)
        nameCount += 1
        if nameCount * 2 > slotMask + 1 { growSlots() }
        return Int32(nameCount - 1)
    }

    private func growSlots() {
        let size = (slotMask + 1) * 2
        nameSlots.deallocate()
        nameSlots = .allocate(capacity: size)
        nameSlots.initialize(repeating: -1, count: size)
        slotMask = size - 1
        for e in 0..<nameCount {
            var s = Int(truncatingIfNeeded: nameEntries[e].hash) & slotMask
            while nameSlots[s] >= 0 { s = (s + 1) & slotMask }
            nameSlots[s] = Int32(e)
        }
    }

    /// The column name of an NDJSON name, and whether it is the name as written (unescaped).
    private func outputName(_ n: UnsafeRawBufferPointer, escaped: Bool) -> ([UInt8], Bool) {
        var plain = Array(n)
        if escaped {
            scratch.removeAll()
            Transformer.unescape(n, to: scratch)
            plain = scratch.toArray()
        }
        let out = columnName(plain)
        return (out, out == plain)
    }

    /// Decides the names of the record's passed-through fields (NDJSON); true when every one
    /// takes its own name. Two fields collide only when they claim one group in one record,
    /// which the per-group stamp shows without comparing names.
    @inline(__always)
    private func claimNames(_ v: RecordView) -> Bool {
        let fields = v.fields
        if fieldCapacity < fields.count {
            fieldNames.deallocate()
            lastNames.deallocate()
            resolvedKeys.deallocate()
            fieldCapacity = max(fields.count, fieldCapacity * 2)
            fieldNames = .allocate(capacity: fieldCapacity)
            lastNames = .allocate(capacity: fieldCapacity)
            lastNames.initialize(repeating: -1, count: fieldCapacity)
            resolvedKeys = .allocate(capacity: fieldCapacity)
        }
        recordStamp &+= 1
        if recordStamp == 0 {
            groupStamps.update(repeating: 0, count: groupCapacity)
            recordStamp = 1
        }
        // Locals, not properties, in the loop: no exclusivity check per access. A new name may
        // move the entries, stamps and arena, so they are read again after one is added.
        let stamp = recordStamp
        let chosen = fieldNames, last = lastNames
        var entries = nameEntries, stamps = groupStamps
        var arena = nameArena.base
        var clean = true
        for i in 0..<fields.count {
            let f = fields[i]
            let n = v.nameBytes(f)
            var e = last[i]
            if e < 0 || Int(entries[Int(e)].raw.count) != n.count
                || (n.count > 0 && memcmp(arena + Int(entries[Int(e)].raw.start), n.baseAddress!, n.count) != 0)
            {
                e = nameEntry(n, escaped: f.nameEscaped)
                entries = nameEntries
                stamps = groupStamps
                arena = nameArena.base
            }
            last[i] = e
            chosen[i] = e
            if e < 0 {
                clean = false
                continue
            }
            let entry = entries[Int(e)]
            if entry.skip {
                chosen[i] = -1
                continue
            }
            // A null is not written by `emit`, but the identity path copies it: it claims too.
            if entry.reserved || stamps[Int(entry.group)] == stamp { clean = false } else { stamps[Int(entry.group)] = stamp }
            if f.kind == .null { chosen[i] = -1 }
        }
        return clean
    }

    /// `resolveNames`, remembered per shape of record.
    private func resolveNamesByShape(_ v: RecordView) -> Int {
        let fields = v.fields
        var shape: [Int32] = []
        shape.reserveCapacity(fields.count)
        for i in 0..<fields.count {
            let e = lastNames[i]
            // A name past the cache has no entry: decided for this record alone.
            if e < 0 { return resolveNames(v) }
            shape.append(e &* 2 | (fields[i].kind == .null ? 1 : 0))
        }
        if let known = shapes[shape] {
            recordKeys.removeAll()
            recordKeys.append(known.keys)
            for i in 0..<fields.count { resolvedKeys[i] = known.spans[i] }
            useResolved = true
            return known.numbered
        }
        let numbered = resolveNames(v)
        if shapes.count < Transformer.maxCachedShapes {
            shapes[shape] = (recordKeys.toArray(), (0..<fields.count).map { resolvedKeys[$0] }, numbered)
        }
        return numbered
    }

    /// The names of a record whose passed-through names collide (rare): decided with
    /// `assignNames` into `recordKeys`. Returns how many are numbered.
    private func resolveNames(_ v: RecordView) -> Int {
        let fields = v.fields
        var candidates: [(out: [UInt8], plain: Bool)?] = []
        var raws: [[UInt8]] = []
        for i in 0..<fields.count {
            let f = fields[i]
            let n = v.nameBytes(f)
            raws.append(Array(n))
            if f.kind == .null || consumed.contains(where: { equal($0, n) }) || dropped.contains(where: { equal($0, n) }) {
                candidates.append(nil)
                continue
            }
            let (out, plain) = outputName(n, escaped: f.nameEscaped)
            candidates.append((out, plain))
        }
        let assigned = assignNames(candidates)
        recordKeys.removeAll()
        var numbered = 0
        for i in 0..<fields.count {
            resolvedKeys[i] = .none
            guard let a = assigned[i] else { continue }
            let start = Int32(recordKeys.count)
            recordKeys.append(0x22)
            recordKeys.append(a.name)
            recordKeys.append("\":")
            resolvedKeys[i] = Span(start: start, count: Int32(recordKeys.count) - start)
            if a.numbered {
                numbered += 1
                noteCollision(raws[i], a.name)
            }
        }
        useResolved = true
        return numbered
    }

    // MARK: Per record

    /// Whether the input record passes `fields.where` (counted in `stats.filtered` when not).
    /// Asked before `transform`; a record that does not pass is neither sent nor rejected.
    @inline(__always)
    public func passes(_ v: RecordView) -> Bool {
        guard let filter else { return true }
        if filter.passes(v) { return true }
        stats.filtered += 1
        return false
    }

    /// Writes the record's JSON object to `out` (appending). On a refusal nothing is appended
    /// and the reason is returned.
    public func transform(_ v: RecordView, to out: ByteBuffer) -> RecordError? {
        useResolved = false
        // NDJSON: every passed-through name decided before anything is written; a record whose
        // names collide gets its names worked out (rare), the others cost a probe per field.
        let namesOwn = bound || !passthrough || claimNames(v)
        if identityPossible, !bound, v.allNamesPlain, namesOwn, v.fields.count <= maxFields, v.longestValue <= maxValueBytes {
            out.append(v.base)
            stats.records += 1
            return nil
        }
        let numbered = namesOwn ? 0 : resolveNamesByShape(v)
        let mark = out.count
        let before = stats
        if programReady {
            programTries += 1
            if runProgram(v, to: out) {
                stats.records += 1
                // The program runs only when every column is present, so every numbered name is sent.
                stats.collidingNames += fileNumbered
                return nil
            }
            // Undo the partial record and take the general path, which decides.
            out.truncate(to: mark)
            stats = before
            invalidUTF8Hit = false
            oversizedHit = false
            programMisses += 1
            if programMisses >= 256 && programMisses * 2 > programTries {
                // Most records here need the general path: stop trying the program first.
                programReady = false
            }
        }
        var st = EmitState()
        if let e = emit(v, to: out, &st) { return e }
        if st.fields > maxFields {
            switch tooMany {
            case .fail:
                out.truncate(to: mark)
                stats = before
                stats.tooManyFieldsRecords += 1
                return RecordError("the record has \(st.fields) fields; limits.maxFields is \(maxFields) (set limits.tooManyFields to \"pack\" or \"warn\", or drop fields)")
            case .warn:
                stats.tooManyFieldsRecords += 1
            case .pack:
                if let e = emitPacked(v, to: out, mark: mark, before: before) { return e }
                stats.packedRecords += 1
            }
        }
        out.append(UInt8(ascii: "}"))
        stats.collidingNames += numbered
        stats.records += 1
        return nil
    }

    /// Writes the record again, knowing its field count, with its last fields packed as JSON
    /// text into as few pack columns as hold them whole, each at most maxValueBytes (the service
    /// would cut a longer one into invalid JSON): `Extra`, `Extra2`, … The record keeps at most
    /// maxFields columns, so each further pack column moves one more field into the pack; the
    /// count only grows, so this ends within maxFields rounds. Leaves the object open.
    private func emitPacked(_ v: RecordView, to out: ByteBuffer, mark: Int, before: Stats) -> RecordError? {
        var columns = 1
        while true {
            out.truncate(to: mark)
            stats = before
            var st = EmitState()
            st.packAfter = maxFields - columns
            if let e = emit(v, to: out, &st) { return e }
            var needed = 0
            var size = 0
            for i in 0..<packStarts.count {
                let length = packEnd(i) - packStarts[i]
                if 2 + length > maxValueBytes {
                    out.truncate(to: mark)
                    stats = before
                    let name = packedName(i)
                    return RecordError("field \"\(name)\" does not fit in a pack column: packed, it is \(length) bytes of JSON text and a pack column (limits.packField) holds at most \(maxValueBytes); map it to a column of its own, drop it (fields.drop), or raise limits.maxFields")
                }
                if needed == 0 || size + 1 + length > maxValueBytes {
                    needed += 1
                    size = 2 + length
                } else {
                    size += 1 + length
                }
            }
            if needed <= columns {
                writePack(to: out, mark: mark)
                return nil
            }
            if needed > maxFields {
                out.truncate(to: mark)
                stats = before
                return RecordError("the record's packed fields need \(needed) pack columns of at most \(maxValueBytes) bytes; limits.maxFields is \(maxFields) (raise it, or drop fields)")
            }
            columns = needed
        }
    }

    @inline(__always)
    private func packEnd(_ i: Int) -> Int { i + 1 < packStarts.count ? packStarts[i + 1] : packBuffer.count }

    /// The name of packed member `i` (its key, without quotes: column names need no escapes).
    private func packedName(_ i: Int) -> String {
        let member = UnsafeRawBufferPointer(rebasing: packBuffer.bytes[packStarts[i]..<packEnd(i)])
        let body = member.dropFirst()
        return String(decoding: body.prefix { $0 != 0x22 }, as: UTF8.self)
    }

    /// Appends the pack columns: members in order, a new column when the next would not fit.
    private func writePack(to out: ByteBuffer, mark: Int) {
        var column = -1
        var size = 0
        for i in 0..<packStarts.count {
            let member = UnsafeRawBufferPointer(rebasing: packBuffer.bytes[packStarts[i]..<packEnd(i)])
            if column < 0 || size + 1 + member.count > maxValueBytes {
                if column >= 0 { out.append(UInt8(ascii: "}")) }
                column += 1
                if out.count > mark + 1 { out.append(UInt8(ascii: ",")) }
                out.append(packKeys[column])
                out.append(UInt8(ascii: "{"))
                size = 2 + member.count
            } else {
                out.append(UInt8(ascii: ","))
                size += 1 + member.count
            }
            out.append(member)
        }
        if column >= 0 { out.append(UInt8(ascii: "}")) }
    }

    /// Opens a field: the separator and `key`, into `out` or, past `packAfter`, the pack column.
    /// Returns whether the value goes to the pack column.
    @inline(__always)
    private func open(_ key: UnsafeRawBufferPointer, _ st: inout EmitState, _ out: ByteBuffer, _ mark: Int) -> Bool {
        st.fields += 1
        if st.fields > st.packAfter {
            packStarts.append(packBuffer.count)
            packBuffer.append(key)
            st.packed += 1
            return true
        }
        if out.count > mark + 1 { out.append(UInt8(ascii: ",")) }
        out.append(key)
        return false
    }

    /// Writes the record, leaving the object open; fields after `st.packAfter` go into
    /// `packBuffer`. On a refusal nothing is written and the reason is returned.
    private func emit(_ v: RecordView, to out: ByteBuffer, _ st: inout EmitState) -> RecordError? {
        let mark = out.count
        out.append(UInt8(ascii: "{"))
        packBuffer.removeAll()
        packStarts.removeAll(keepingCapacity: true)
        let fields = v.fields
        if bound {
            for c in 0..<columns { columnSlot[c] = -1 }
            for (s, f) in fields.enumerated() where Int(f.nameIndex) < columns { columnSlot[Int(f.nameIndex)] = Int32(s) }
        }

        // Mapped fields, in the order written.
        for k in 0..<outputs.count {
            let p = plans[k]
            if p.constant.present {
                if open(bytes(p.key), &st, out, mark) { packBuffer.append(bytes(p.constant)) } else { out.append(bytes(p.constant)) }
                continue
            }
            var found = false
            var kind = ValueKind.null
            var escaped = false
            var raw = UnsafeRawBufferPointer(start: nil, count: 0)
            if bound {
                if p.column >= 0 {
                    let s = columnSlot[Int(p.column)]
                    if s >= 0 {
                        let f = fields[Int(s)]
                        found = true
                        kind = f.kind
                        raw = v.value(f)
                    }
                }
            } else if let f = find(fields, v, p.from) ?? (p.dotted ? nil : find(fields, v, p.first)) {
                found = true
                kind = f.kind
                escaped = f.valueEscaped
                raw = v.value(f)
            } else if p.dotted, let f = find(fields, v, p.first), f.kind == .nested {
                (found, raw, kind, escaped) = nestedLookup(v.value(f), paths[k])
            }
            let missing = !found || kind == .null || (raw.count == 0 && kind == .text && p.type != nil && p.type != .string)
            if missing {
                if p.fallback.present {
                    if open(bytes(p.key), &st, out, mark) { packBuffer.append(bytes(p.fallback)) } else { out.append(bytes(p.fallback)) }
                }
                continue
            }
            // Saved so that a value that cannot be converted leaves no trace.
            let saved = (out.count, packBuffer.count, st)
            // Values go to `out` unless past the pack limit; no `cond ? a : b` of buffers here,
            // which would cost a retain per field.
            let toPack = open(bytes(p.key), &st, out, mark)
            let ok: Bool
            if let t = p.type {
                let format: DateTimeFormat = t == .datetime ? formats[p.format] : .iso8601
                let zone = t == .datetime ? zones[p.format] : nil
                ok = toPack ? convert(raw, kind: kind, escaped: escaped, type: t, format: format, zone: zone, to: packBuffer)
                    : convert(raw, kind: kind, escaped: escaped, type: t, format: format, zone: zone, to: out)
                if ok && p.isTimeGenerated && t == .datetime { checkTimeGenerated() }
            } else {
                ok = toPack ? copyValue(raw, kind: kind, to: packBuffer) : copyValue(raw, kind: kind, to: out)
            }
            if !ok {
                if invalidUTF8Hit || oversizedHit {
                    out.truncate(to: mark)
                    return policyRefusal("fields.map.\(outputs[k])")
                }
                out.truncate(to: saved.0)
                packBuffer.truncate(to: saved.1)
                st = saved.2
                if packStarts.count > st.packed { packStarts.removeSubrange(st.packed...) }
                if p.nullOnError {
                    stats.nulledConversions += 1
                    if p.fallback.present {
                        if open(bytes(p.key), &st, out, mark) { packBuffer.append(bytes(p.fallback)) } else { out.append(bytes(p.fallback)) }
                    }
                    continue
                }
                out.truncate(to: mark)
                let shown = String(decoding: raw.prefix(80), as: UTF8.self)
                var why = "fields.map.\(outputs[k]): cannot convert \"\(shown)\" to \(p.type?.rawValue ?? "a value")"
                if p.type == .datetime { why += " with format \(formatName(formats[p.format]))" }
                return RecordError(why)
            }
        }

        if recordIdKey.present {
            if open(bytes(recordIdKey), &st, out, mark) {
                writeRecordId(v.provenance.ordinal, to: packBuffer)
            } else {
                writeRecordId(v.provenance.ordinal, to: out)
            }
        }

        // Passthrough of the fields nothing consumed, under the names decided for the file or record.
        if passthrough {
            for i in 0..<fields.count {
                let f = fields[i]
                if f.kind == .null { continue }
                let name: UnsafeRawBufferPointer
                if bound {
                    let c = Int(f.nameIndex)
                    guard c < columns, passKeys[c].present else { continue }
                    let s = passKeys[c]
                    name = UnsafeRawBufferPointer(start: fileArena.base + Int(s.start), count: Int(s.count))
                    if passNumbered[c] { stats.collidingNames += 1 }
                } else if useResolved {
                    let s = resolvedKeys[i]
                    guard s.present else { continue }
                    name = UnsafeRawBufferPointer(start: recordKeys.base + Int(s.start), count: Int(s.count))
                } else {
                    let e = fieldNames[i]
                    guard e >= 0 else { continue }
                    let s = nameEntries[Int(e)].key
                    name = UnsafeRawBufferPointer(start: nameArena.base + Int(s.start), count: Int(s.count))
                }
                let toPack = open(name, &st, out, mark)
                if !(toPack ? copyValue(v.value(f), kind: f.kind, to: packBuffer) : copyValue(v.value(f), kind: f.kind, to: out)) {
                    out.truncate(to: mark)
                    return policyRefusal(String(decoding: v.nameBytes(f), as: UTF8.self))
                }
            }
        }
        return nil
    }

    /// The top-level field named `name` (NDJSON).
    @inline(__always)
    private func find(_ fields: UnsafeBufferPointer<FieldSlot>, _ v: RecordView, _ name: Span) -> FieldSlot? {
        for f in fields where f.nameCount == name.count && equal(name, v.nameBytes(f)) { return f }
        return nil
    }

    private func nestedLookup(_ object: UnsafeRawBufferPointer, _ path: [[UInt8]]) -> (Bool, UnsafeRawBufferPointer, ValueKind, Bool) {
        var bytes = object
        var kind = ValueKind.nested
        var escaped = false
        for comp in path.dropFirst() {
            guard kind == .nested, let (r, k, e) = NestedLookup.member(comp, in: bytes) else {
                return (false, UnsafeRawBufferPointer(start: nil, count: 0), .null, false)
            }
            bytes = r
            kind = k
            escaped = e
        }
        return (true, bytes, kind, escaped)
    }

    /// The refusal for a value that hit a `reject` policy (invalid UTF-8 or over the size limit).
    private func policyRefusal(_ field: String) -> RecordError {
        let what = field.hasPrefix("fields.map.") ? field : "field \"\(field)\""
        defer {
            invalidUTF8Hit = false
            oversizedHit = false
        }
        if invalidUTF8Hit { return RecordError("\(what): the value is not valid UTF-8 (source.invalidUTF8 is \"reject\")") }
        return RecordError("\(what): the value is longer than \(maxValueBytes) bytes (limits.oversizedValue is \"reject\")")
    }

    private func formatName(_ f: DateTimeFormat) -> String {
        switch f {
        case .iso8601: return "iso8601"
        case .epochSeconds: return "epoch"
        case .epochMillis: return "epoch-ms"
        case .pattern: return "pattern"
        }
    }

    // MARK: Values

    /// Writes a value as it came (no type given), applying the value limit.
    @inline(__always)
    private func copyValue(_ raw: UnsafeRawBufferPointer, kind: ValueKind, to out: ByteBuffer) -> Bool {
        switch kind {
        case .text:
            return writeText(raw, to: out)
        case .jsonString:
            if raw.count <= maxValueBytes {
                out.append(0x22)
                out.append(raw)
                out.append(0x22)
                return true
            }
            scratch.removeAll()
            Transformer.unescape(raw, to: scratch)
            return writeText(scratch.bytes, to: out)
        case .number, .bool, .null:
            out.append(raw)
            return true
        case .nested:
            if raw.count <= maxValueBytes {
                out.append(raw)
                return true
            }
            // Too long to keep as JSON: the service would cut its text anyway.
            return writeText(raw, to: out)
        }
    }

    @inline(__always)
    private func writeText(_ raw: UnsafeRawBufferPointer, to out: ByteBuffer) -> Bool {
        let mark = out.count
        let r = JSONWriter.writeString(raw, to: out, maxBytes: maxValueBytes, invalidUTF8: invalidUTF8)
        if r.invalid && invalidUTF8 == .reject {
            out.truncate(to: mark)
            invalidUTF8Hit = true
            return false
        }
        if r.replaced { stats.replacedUTF8 += 1 }
        if r.truncated {
            if oversized == .reject {
                out.truncate(to: mark)
                oversizedHit = true
                return false
            }
            stats.truncatedValues += 1
        }
        return true
    }

    /// Converts a value to `type` and writes it; false when it cannot be converted.
    func convert(_ raw0: UnsafeRawBufferPointer, kind: ValueKind, escaped: Bool, type: FieldType, format: DateTimeFormat, zone: ZoneTable? = nil, to out: ByteBuffer) -> Bool {
        var raw = raw0
        if kind == .jsonString && escaped && type != .string {
            scratch.removeAll()
            Transformer.unescape(raw0, to: scratch)
            raw = scratch.bytes
        }
        if (kind == .text || kind == .jsonString) && type != .string && type != .json {
            raw = Transformer.trimmed(raw)
        }
        switch type {
        case .string:
            switch kind {
            case .text, .jsonString: return copyValue(raw, kind: kind, to: out)
            case .nested: return writeText(raw, to: out)
            case .number, .bool:
                out.append(0x22)
                out.append(raw)
                out.append(0x22)
                return true
            case .null: return false
            }
        case .int, .long:
            if kind == .bool || kind == .nested { return false }
            if let v = ValueParsers.parseInt64(raw) {
                if type == .int && (v < Int64(Int32.min) || v > Int64(Int32.max)) { return false }
                // Digits as JSON writes them (no sign '+', no leading zero): copied as they are.
                let lead = raw[0] == UInt8(ascii: "-") ? 1 : 0
                if raw[0] != UInt8(ascii: "+") && (raw[lead] != UInt8(ascii: "0") || raw.count == 1) {
                    out.append(raw)
                    return true
                }
                out.reserve(24)
                out.count += ValueParsers.writeInt64(v, to: out.base + out.count)
                return true
            }
            guard let v = integralDouble(raw) else { return false }
            if type == .int && (v < Int64(Int32.min) || v > Int64(Int32.max)) { return false }
            out.reserve(24)
            out.count += ValueParsers.writeInt64(v, to: out.base + out.count)
            return true
        case .double:
            if kind == .bool || kind == .nested { return false }
            if ValueParsers.isJSONNumber(raw) {
                out.append(raw)
                return true
            }
            guard let d = ValueParsers.parseDouble(raw) else { return false }
            out.reserve(40)
            out.count += ValueParsers.writeDouble(d, to: out.base + out.count)
            return true
        case .bool:
            if kind == .bool {
                out.append(raw)
                return true
            }
            guard kind != .nested, let b = ValueParsers.parseBool(raw) else { return false }
            out.append(b ? "true" : "false")
            return true
        case .datetime:
            if kind == .nested || kind == .bool { return false }
            let ms: Int64
            if let zone {
                guard let (v, how) = DateTimeParser.parse(raw, format: format, zone: zone) else { return false }
                ms = v
                switch how {
                case .exact: break
                case .gap: stats.timezoneGapValues += 1
                case .repeated: stats.timezoneRepeatedValues += 1
                }
            } else {
                guard let v = DateTimeParser.parse(raw, format: format) else { return false }
                ms = v
            }
            lastDateTime = ms
            // A canonical value ends in Z: it keeps its own offset whatever the zone.
            if case .iso8601 = format, DateTimeParser.isCanonicalISO(raw) {
                out.append(0x22)
                out.append(raw)
                out.append(0x22)
                return true
            }
            out.reserve(32)
            out.append(0x22)
            out.count += DateTimeParser.writeISO(ms, to: out.base + out.count)
            out.append(0x22)
            return true
        case .guid:
            guard kind == .text || kind == .jsonString else { return false }
            out.reserve(40)
            guard ValueParsers.normalizeGUID(raw, to: out.base + out.count + 1) else { return false }
            out.append(0x22)
            out.count += 36
            out.append(0x22)
            return true
        case .json:
            switch kind {
            case .nested, .number, .bool:
                return copyValue(raw, kind: kind, to: out)
            case .null: return false
            case .text, .jsonString:
                var t = raw
                if kind == .jsonString && escaped {
                    scratch.removeAll()
                    Transformer.unescape(raw, to: scratch)
                    t = scratch.bytes
                }
                t = Transformer.trimmed(t)
                guard NestedLookup.isJSONValue(t) else { return false }
                if t.count > maxValueBytes { return writeText(t, to: out) }
                out.append(t)
                return true
            }
        }
    }

    /// The last datetime written: checked against the window the service keeps.
    private var lastDateTime: Int64 = 0

    @inline(__always)
    private func checkTimeGenerated() {
        if lastDateTime < oldestTimeGenerated { stats.timeGeneratedTooOld += 1 }
        else if lastDateTime > newestTimeGenerated { stats.timeGeneratedInFuture += 1 }
    }

    private func integralDouble(_ raw: UnsafeRawBufferPointer) -> Int64? {
        guard let d = ValueParsers.parseDouble(raw), d == d.rounded(), abs(d) < 9.2e18 else { return nil }
        return Int64(d)
    }

    static func trimmed(_ b: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var s = 0
        var e = b.count
        while s < e, b[s] == 0x20 || b[s] == 0x09 { s += 1 }
        while e > s, b[e - 1] == 0x20 || b[e - 1] == 0x09 { e -= 1 }
        return UnsafeRawBufferPointer(rebasing: b[s..<e])
    }

    /// Decodes JSON string escapes (the input is already validated).
    static func unescape(_ raw: UnsafeRawBufferPointer, to out: ByteBuffer) {
        var i = 0
        let n = raw.count
        func hex4(_ at: Int) -> UInt32 {
            var v: UInt32 = 0
            for k in 0..<4 {
                let c = raw[at + k]
                let d: UInt32 = c <= 0x39 ? UInt32(c - 0x30) : UInt32((c | 0x20) - 0x61 + 10)
                v = v << 4 | d
            }
            return v
        }
        while i < n {
            let c = raw[i]
            if c != 0x5C {
                out.append(c)
                i += 1
                continue
            }
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var v = hex4(i)
                i += 4
                if (0xD800..<0xDC00).contains(v), i + 6 <= n, raw[i] == 0x5C, raw[i + 1] == UInt8(ascii: "u") {
                    let lo = hex4(i + 2)
                    if (0xDC00..<0xE000).contains(lo) {
                        v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                        i += 6
                    }
                }
                let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
                for b in String(Character(scalar)).utf8 { out.append(b) }
            default: out.append(e)
            }
        }
    }

    /// A GUID-formatted id from the file's key and the record's ordinal: unique per record,
    /// the same on every run over the same file.
    @inline(__always)
    private func writeRecordId(_ ordinal: Int64, to out: ByteBuffer) {
        let hex: StaticString = "0123456789abcdef"
        out.reserve(40)
        out.append(0x22)
        let o = UInt64(bitPattern: ordinal)
        for k in 0..<16 {
            let b = k < 8 ? UInt8(truncatingIfNeeded: fileKey >> (56 - 8 * k)) : UInt8(truncatingIfNeeded: o >> (56 - 8 * (k - 8)))
            if k == 4 || k == 6 || k == 8 || k == 10 { out.append(0x2D) }
            out.append(hex.utf8Start[Int(b >> 4)])
            out.append(hex.utf8Start[Int(b & 15)])
        }
        out.append(0x22)
    }
}

/// Looks inside nested NDJSON values (dotted `from` paths) and validates JSON text.
enum NestedLookup {
    /// The value of member `name` in the JSON object `bytes`: its bytes (string contents
    /// without quotes), kind, and whether a string has escapes.
    static func member(_ name: [UInt8], in bytes: UnsafeRawBufferPointer) -> (UnsafeRawBufferPointer, ValueKind, Bool)? {
        var s = NDJSONScanner(bytes)
        let fields = SlotBuffer(capacity: 16)
        guard (try? s.object(into: fields)) != nil else { return nil }
        for f in fields.view where Int(f.nameCount) == name.count {
            let n = UnsafeRawBufferPointer(rebasing: bytes[Int(f.nameStart)..<Int(f.nameStart + f.nameCount)])
            if name.elementsEqual(n) {
                return (UnsafeRawBufferPointer(rebasing: bytes[Int(f.valueStart)..<Int(f.valueStart + f.valueCount)]), f.kind, f.valueEscaped)
            }
        }
        return nil
    }

    /// Whether `bytes` is one complete JSON value.
    static func isJSONValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count > 0 else { return false }
        var s = NDJSONScanner(bytes)
        do {
            switch bytes[0] {
            case 0x22: _ = try s.string()
            case UInt8(ascii: "{"), UInt8(ascii: "["): try s.nested(depth: 1)
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"): _ = try s.literal()
            default: try s.number()
            }
        } catch { return false }
        return s.i == bytes.count
    }
}
