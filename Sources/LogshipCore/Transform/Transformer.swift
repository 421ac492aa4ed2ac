import Foundation

/// Turns decoded records into the JSON objects that are sent: mapping, renaming, typing,
/// dropping, passthrough, the record id, and the service's limits (value size, column names,
/// column count). Works on bytes; one instance per reading thread.
public final class Transformer {
    /// What the transformer changed or refused, for the run summary.
    public struct Stats: Sendable, Equatable {
        public var records = 0
        public var truncatedValues = 0
        public var replacedUTF8 = 0
        public var packedRecords = 0
        public var tooManyFieldsRecords = 0
        public var renamedFields = 0
        public var nulledConversions = 0
        public init() {}
    }

    struct Mapping {
        var output: String
        var key: [UInt8]  // `"Name":`
        var path: [[UInt8]]  // input path components (empty for constants)
        var constant: [UInt8]?  // rendered JSON for { value }
        var type: FieldType?
        var dateFormat: DateTimeFormat
        var defaultValue: [UInt8]?  // rendered JSON
        var onError: ConversionFailure
        var boundIndex = -1  // column index for named decoders (CSV, lines)
    }

    public private(set) var stats = Stats()
    private var mappings: [Mapping]
    private let passthrough: Bool
    private var consumed: [[UInt8]]  // input names used by mappings (top level)
    private var dropped: [[UInt8]]
    private var mappedOutputs: Set<[UInt8]>
    private let recordIdKey: [UInt8]?
    private let maxValueBytes: Int
    private let oversized: OversizedValuePolicy
    private let invalidUTF8: JSONWriter.InvalidUTF8
    private let maxFields: Int
    private let tooMany: TooManyFieldsPolicy
    private let packKey: [UInt8]
    private var fileKey: UInt64 = 0
    /// Names of passthrough columns for named decoders: rendered `"Name":` or nil when dropped.
    private var boundPassthrough: [[UInt8]?] = []
    private var bound = false
    private let scratch = ByteBuffer(capacity: 1 << 12)
    private let packBuffer = ByteBuffer(capacity: 1 << 12)
    /// Sanitized names by input name (NDJSON passthrough of names that are not valid columns).
    private var sanitized: [[UInt8]: [UInt8]] = [:]
    /// Whether the record can be copied as it is (NDJSON with nothing to change).
    private let identityPossible: Bool

    public init(spec: PipelineSpec) {
        let f = spec.fields
        passthrough = f.passthrough
        maxValueBytes = spec.limits.maxValueBytes
        oversized = spec.limits.oversizedValue
        invalidUTF8 = spec.source.invalidUTF8 == .reject ? .reject : .replace
        maxFields = spec.limits.maxFields
        tooMany = spec.limits.tooManyFields
        packKey = Array("\"\(spec.limits.packField)\":".utf8)
        recordIdKey = f.recordId.map { Array("\"\($0)\":".utf8) }
        dropped = f.drop.map { Array($0.utf8) }
        var ms: [Mapping] = []
        var consumed: [[UInt8]] = []
        var outputs = Set<[UInt8]>()
        for m in f.map {
            var mapping = Mapping(
                output: m.output, key: Array("\"\(m.output)\":".utf8), path: [], constant: nil, type: m.type,
                dateFormat: m.format.flatMap(DateTimeFormat.parse) ?? .iso8601, defaultValue: nil, onError: m.onError)
            switch m.source {
            case .input(let from):
                mapping.path = from.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) }
                if from.contains(".") && !from.hasPrefix(".") && !from.hasSuffix(".") {
                    // "a.b" reaches into nested objects; a field literally named "a.b" also matches.
                    consumed.append(Array(from.utf8))
                }
                consumed.append(mapping.path[0])
            case .constant(let node):
                mapping.constant = Transformer.renderConstant(node, type: m.type, format: mapping.dateFormat)
            }
            if let d = m.defaultValue {
                mapping.defaultValue = Transformer.renderConstant(d, type: m.type, format: mapping.dateFormat)
            }
            ms.append(mapping)
            outputs.insert(Array(m.output.lowercased().utf8))
        }
        if let r = f.recordId { outputs.insert(Array(r.lowercased().utf8)) }
        mappings = ms
        self.consumed = consumed
        mappedOutputs = outputs
        identityPossible = passthrough && ms.isEmpty && f.drop.isEmpty && f.recordId == nil
    }

    /// Renders a constant (or default) as JSON, converted to `type` when given.
    static func renderConstant(_ node: JSONNode, type: FieldType?, format: DateTimeFormat) -> [UInt8]? {
        let out = ByteBuffer(capacity: 256)
        switch node.value {
        case .null: return nil
        case .bool(let b): out.append(b ? "true" : "false")
        case .number(let d):
            guard d.isFinite else { return nil }
            if d == d.rounded(), abs(d) < 1e15 { out.append(String(Int64(d))) } else { out.append("\(d)") }
        case .string(let s):
            guard let t = type, t != .string else {
                var s = s
                _ = s.withUTF8 { JSONWriter.writeString(UnsafeRawBufferPointer($0), to: out, maxBytes: Int.max, invalidUTF8: .replace) }
                return out.toArray()
            }
            let tmp = Transformer(constantFor: t)
            var s2 = s
            let ok = s2.withUTF8 { p -> Bool in
                tmp.convert(UnsafeRawBufferPointer(p), kind: .text, escaped: false, type: t, format: format, to: out)
            }
            if !ok { return nil }
        case .array, .object:
            // Constants that are objects or arrays are written as compact JSON.
            guard let data = try? JSONSerialization.data(withJSONObject: Transformer.foundationValue(node), options: [.sortedKeys]) else { return nil }
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

    /// A bare transformer used only to convert constants at load time.
    private init(constantFor type: FieldType) {
        passthrough = false
        maxValueBytes = Int.max
        oversized = .truncate
        invalidUTF8 = .replace
        maxFields = 500
        tooMany = .warn
        packKey = []
        recordIdKey = nil
        dropped = []
        mappings = []
        consumed = []
        mappedOutputs = []
        identityPossible = false
    }

    // MARK: Per file

    /// Prepares for a new file: its id key (for `recordId`) and, for CSV and lines, its column names.
    public func beginFile(fileKey: UInt64, names: NameTable?) {
        self.fileKey = fileKey
        bound = false
        boundPassthrough = []
        guard let names else { return }
        bound = true
        var index: [[UInt8]: Int] = [:]
        for i in 0..<names.count { index[Array(names[i])] = index[Array(names[i])] ?? i }
        for k in mappings.indices {
            mappings[k].boundIndex = mappings[k].path.count == 1 || mappings[k].constant == nil
                ? (index[mappings[k].path.first ?? []] ?? -1) : -1
            if mappings[k].path.count > 1 {
                // A dotted name in a CSV header is a plain column name.
                let whole = Array(mappings[k].path.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".").utf8)
                mappings[k].boundIndex = index[whole] ?? -1
            }
        }
        for i in 0..<names.count {
            let n = Array(names[i])
            if !passthrough || consumed.contains(n) || dropped.contains(n) {
                boundPassthrough.append(nil)
                continue
            }
            let name = outputName(n)
            boundPassthrough.append(mappedOutputs.contains(Array(String(decoding: name, as: UTF8.self).lowercased().utf8)) ? nil : Array("\"".utf8) + name + Array("\":".utf8))
        }
    }

    /// The column name for an input name: itself when valid, otherwise sanitized.
    private func outputName(_ raw: [UInt8]) -> [UInt8] {
        if let s = sanitized[raw] { return s }
        let name = String(decoding: raw, as: UTF8.self)
        let out: [UInt8] = FieldNames.problem(name) == nil ? raw : Array(FieldNames.sanitize(name).utf8)
        sanitized[raw] = out
        return out
    }

    // MARK: Per record

    /// Writes the record's JSON object to `out` (appending). On a refusal nothing is appended
    /// and the reason is returned.
    public func transform(_ v: RecordView, to out: ByteBuffer) -> RecordError? {
        let mark = out.count
        if identityPossible, v.names.count == 0, let fast = identityCopy(v, to: out) {
            stats.records += 1
            return fast
        }
        let before = stats
        let (fields, error) = emit(v, to: out, packAfter: nil)
        if let error { return error }
        if fields > maxFields {
            switch tooMany {
            case .fail:
                out.truncate(to: mark)
                stats.tooManyFieldsRecords += 1
                return RecordError("the record has \(fields) fields; limits.maxFields is \(maxFields) (set limits.tooManyFields to \"pack\" or \"warn\", or drop fields)")
            case .warn:
                stats.tooManyFieldsRecords += 1
            case .pack:
                // Again, knowing the count: the first maxFields-1 columns stay, the rest go into one.
                out.truncate(to: mark)
                stats = before
                let (_, again) = emit(v, to: out, packAfter: maxFields - 1)
                if let again { return again }
                stats.packedRecords += 1
            }
        }
        stats.records += 1
        return nil
    }

    /// Writes the record; fields after the first `packAfter` go into the pack column.
    /// Returns the number of fields and a refusal, if any (then nothing is written).
    private func emit(_ v: RecordView, to out: ByteBuffer, packAfter: Int?) -> (Int, RecordError?) {
        let mark = out.count
        out.append(0x7B)
        var fields = 0
        var packing = false
        packBuffer.removeAll()

        func beginField(_ key: UnsafeRawBufferPointer) -> ByteBuffer {
            fields += 1
            if let p = packAfter, fields > p {
                packing = true
                if packBuffer.count > 0 { packBuffer.append(0x2C) } else { packBuffer.append(0x7B) }
                packBuffer.append(key)
                return packBuffer
            }
            if out.count > mark + 1 { out.append(0x2C) }
            out.append(key)
            return out
        }

        // Mapped fields, in the order written.
        for k in mappings.indices {
            let m = mappings[k]
            if let c = m.constant {
                let dst = c.withUnsafeBytes { beginField($0) }
                dst.append(c)
                continue
            }
            var found = false
            var slot = FieldSlot(nameIndex: 0, valueStart: 0, valueCount: 0, kind: .null)
            var nestedBytes: UnsafeRawBufferPointer? = nil
            if bound {
                if m.boundIndex >= 0 {
                    for f in v.fields where Int(f.nameIndex) == m.boundIndex {
                        slot = f
                        found = true
                        break
                    }
                }
            } else {
                (found, slot, nestedBytes) = lookup(v, m.path)
            }
            let raw: UnsafeRawBufferPointer
            if found {
                raw = nestedBytes ?? v.value(slot)
            } else {
                raw = UnsafeRawBufferPointer(start: nil, count: 0)
            }
            let missing = !found || slot.kind == .null || (raw.count == 0 && slot.kind == .text && m.type != nil && m.type != .string)
            if missing {
                if let d = m.defaultValue {
                    let dst = m.key.withUnsafeBytes { beginField($0) }
                    dst.append(d)
                }
                continue
            }
            // Saved so that a value that cannot be converted leaves no trace.
            let (outBefore, packBefore, fieldsBefore, packingBefore) = (out.count, packBuffer.count, fields, packing)
            let dst = m.key.withUnsafeBytes { beginField($0) }
            let ok: Bool
            if let t = m.type {
                ok = convert(raw, kind: slot.kind, escaped: slot.valueEscaped, type: t, format: m.dateFormat, to: dst)
            } else {
                ok = copyValue(raw, kind: slot.kind, escaped: slot.valueEscaped, to: dst)
            }
            if !ok {
                if invalidUTF8Hit || oversizedHit {
                    out.truncate(to: mark)
                    return (0, passthroughRefusal("fields.map.\(m.output)"))
                }
                if m.onError == .null {
                    out.truncate(to: outBefore)
                    packBuffer.truncate(to: packBefore)
                    fields = fieldsBefore
                    packing = packingBefore
                    stats.nulledConversions += 1
                    if let d = m.defaultValue {
                        let again = m.key.withUnsafeBytes { beginField($0) }
                        again.append(d)
                    }
                    continue
                }
                out.truncate(to: mark)
                let shown = String(decoding: raw.prefix(80), as: UTF8.self)
                return (0, RecordError("fields.map.\(m.output): cannot convert \"\(shown)\" to \(m.type?.rawValue ?? "a value")\(m.type == .datetime ? " with format \(formatName(m.dateFormat))" : "")"))
            }
        }

        if let rk = recordIdKey {
            let dst = rk.withUnsafeBytes { beginField($0) }
            writeRecordId(v.provenance.ordinal, to: dst)
        }

        // Passthrough of the fields nothing consumed.
        if passthrough {
            for f in v.fields {
                if bound {
                    guard Int(f.nameIndex) < boundPassthrough.count, let key = boundPassthrough[Int(f.nameIndex)] else { continue }
                    if f.kind == .null { continue }
                    let dst = key.withUnsafeBytes { beginField($0) }
                    if !copyValue(v.value(f), kind: f.kind, escaped: f.valueEscaped, to: dst) {
                        out.truncate(to: mark)
                        return (0, passthroughRefusal(String(decoding: v.names[Int(f.nameIndex)], as: UTF8.self)))
                    }
                    continue
                }
                let name = v.nameBytes(f)
                if isConsumedOrDropped(name, escaped: f.nameEscaped) { continue }
                let key = passthroughKey(name, escaped: f.nameEscaped)
                if key.isEmpty { continue }
                let dst = key.withUnsafeBytes { beginField($0) }
                if !copyValue(v.value(f), kind: f.kind, escaped: f.valueEscaped, to: dst) {
                    out.truncate(to: mark)
                    return (0, passthroughRefusal(String(decoding: name, as: UTF8.self)))
                }
            }
        }

        if packing {
            packBuffer.append(0x7D)
            if out.count > mark + 1 { out.append(0x2C) }
            out.append(packKey)
            if packBuffer.count <= maxValueBytes {
                out.append(packBuffer.bytes)
            } else {
                let r = JSONWriter.writeString(packBuffer.bytes, to: out, maxBytes: maxValueBytes, invalidUTF8: .replace)
                if r.truncated { stats.truncatedValues += 1 }
            }
        }
        out.append(0x7D)
        return (fields, nil)
    }

    /// The refusal for a value that hit a `reject` policy (invalid UTF-8 or over the size limit).
    private func passthroughRefusal(_ field: String) -> RecordError {
        let what = field.hasPrefix("fields.map.") ? field : "field \"\(field)\""
        if invalidUTF8Hit {
            invalidUTF8Hit = false
            oversizedHit = false
            return RecordError("\(what): the value is not valid UTF-8 (source.invalidUTF8 is \"reject\")")
        }
        oversizedHit = false
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

    /// NDJSON records with nothing to change are copied byte for byte.
    private func identityCopy(_ v: RecordView, to out: ByteBuffer) -> RecordError?? {
        if v.fields.count > maxFields { return nil }
        for f in v.fields {
            if f.nameEscaped { return nil }
            if !isPlainColumnName(v.nameBytes(f)) { return nil }
            if f.valueCount > Int32(maxValueBytes) && (f.kind == .jsonString || f.kind == .nested) { return nil }
        }
        out.append(v.base)
        return .some(nil)
    }

    @inline(__always)
    private func isPlainColumnName(_ n: UnsafeRawBufferPointer) -> Bool {
        guard n.count > 0, n.count <= FieldNames.maxLength, FieldNames.isLetter(n[0]) else { return false }
        for c in n where !(FieldNames.isLetter(c) || FieldNames.isDigit(c) || c == 0x5F) { return false }
        if n.count == 4 || n.count == 6 || n.count == 7 || n.count == 13 {
            return !FieldNames.isReserved(String(decoding: n, as: UTF8.self))
        }
        return true
    }

    private func isConsumedOrDropped(_ name: UnsafeRawBufferPointer, escaped: Bool) -> Bool {
        for c in consumed where c.count == name.count && c.withUnsafeBytes({ memcmp($0.baseAddress!, name.baseAddress!, c.count) == 0 }) {
            return true
        }
        for d in dropped where d.count == name.count && d.withUnsafeBytes({ memcmp($0.baseAddress!, name.baseAddress!, d.count) == 0 }) {
            return true
        }
        return false
    }

    private var passthroughKeys: [[UInt8]: [UInt8]] = [:]

    /// `"Name":` for a passthrough field; empty when a mapped column already has the name.
    private func passthroughKey(_ name: UnsafeRawBufferPointer, escaped: Bool) -> [UInt8] {
        let raw = Array(name)
        if let k = passthroughKeys[raw] { return k }
        var plain = raw
        if escaped {
            scratch.removeAll()
            Transformer.unescape(name, to: scratch)
            plain = scratch.toArray()
        }
        let outName = outputName(plain)
        if outName != plain { stats.renamedFields += 1 }
        let lower = Array(String(decoding: outName, as: UTF8.self).lowercased().utf8)
        let key: [UInt8] = mappedOutputs.contains(lower) ? [] : Array("\"".utf8) + outName + Array("\":".utf8)
        if passthroughKeys.count < 100_000 { passthroughKeys[raw] = key }
        return key
    }

    /// Finds an input field by path in an NDJSON record (a dotted path reaches into nested objects).
    private func lookup(_ v: RecordView, _ path: [[UInt8]]) -> (Bool, FieldSlot, UnsafeRawBufferPointer?) {
        let none = FieldSlot(nameIndex: 0, valueStart: 0, valueCount: 0, kind: .null)
        if path.count > 1 {
            let whole = Array(path.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".").utf8)
            if let s = findTop(v, whole) { return (true, s, nil) }
        }
        guard let top = findTop(v, path[0]) else { return (false, none, nil) }
        if path.count == 1 { return (true, top, nil) }
        guard top.kind == .nested else { return (false, none, nil) }
        var bytes = v.value(top)
        var kind = ValueKind.nested
        var escaped = false
        for comp in path.dropFirst() {
            guard kind == .nested, let (r, k, e) = NestedLookup.member(comp, in: bytes) else { return (false, none, nil) }
            bytes = r
            kind = k
            escaped = e
        }
        var s = none
        s.kind = kind
        s.valueEscaped = escaped
        return (true, s, bytes)
    }

    private func findTop(_ v: RecordView, _ name: [UInt8]) -> FieldSlot? {
        for f in v.fields where Int(f.nameCount) == name.count {
            let n = v.nameBytes(f)
            if name.withUnsafeBytes({ memcmp($0.baseAddress!, n.baseAddress!, name.count) == 0 }) { return f }
        }
        return nil
    }

    private var invalidUTF8Hit = false
    private var oversizedHit = false

    /// Writes a value as it came (no type given), applying the value limit.
    private func copyValue(_ raw: UnsafeRawBufferPointer, kind: ValueKind, escaped: Bool, to out: ByteBuffer) -> Bool {
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
    func convert(_ raw0: UnsafeRawBufferPointer, kind: ValueKind, escaped: Bool, type: FieldType, format: DateTimeFormat, to out: ByteBuffer) -> Bool {
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
            case .text, .jsonString, .nested: return copyValue(raw, kind: kind == .nested ? .text : kind, escaped: escaped, to: out)
            case .number, .bool:
                out.append(0x22)
                out.append(raw)
                out.append(0x22)
                return true
            case .null: return false
            }
        case .int, .long:
            if kind == .bool || kind == .nested { return false }
            guard let v = ValueParsers.parseInt64(raw) ?? integralDouble(raw, kind) else { return false }
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
            guard let ms = DateTimeParser.parse(raw, format: format) else { return false }
            out.reserve(32)
            out.append(0x22)
            out.count += DateTimeParser.writeISO(ms, to: out.base + out.count)
            out.append(0x22)
            return true
        case .guid:
            guard kind == .text || kind == .jsonString else { return false }
            out.reserve(40)
            out.append(0x22)
            guard ValueParsers.normalizeGUID(raw, to: out.base + out.count) else {
                out.count -= 1
                return false
            }
            out.count += 36
            out.append(0x22)
            return true
        case .json:
            switch kind {
            case .nested, .number, .bool:
                return copyValue(raw, kind: kind, escaped: escaped, to: out)
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

    private func integralDouble(_ raw: UnsafeRawBufferPointer, _ kind: ValueKind) -> Int64? {
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
        var bytes = [UInt8](repeating: 0, count: 16)
        for k in 0..<8 { bytes[k] = UInt8(truncatingIfNeeded: fileKey >> (56 - 8 * k)) }
        let o = UInt64(bitPattern: ordinal)
        for k in 0..<8 { bytes[8 + k] = UInt8(truncatingIfNeeded: o >> (56 - 8 * k)) }
        for (k, b) in bytes.enumerated() {
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
        var fields: [FieldSlot] = []
        guard (try? s.object(into: &fields)) != nil else { return nil }
        for f in fields where Int(f.nameCount) == name.count {
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
