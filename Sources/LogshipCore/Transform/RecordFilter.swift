import Foundation

/// `fields.where`, compiled once: conditions on the input record (before mapping), tested on
/// the record's bytes.
///
/// - A field is looked up like a mapping's `from`: a top-level name, else a dotted path into
///   nested NDJSON/JSON objects. Absent and null (JSON `null`, a CSV null token) are the same.
/// - `equals` / `in` with a string compare the value's text byte for byte (JSON strings after
///   unescaping; numbers, `true` and `false` as written); with a number, the value is read as a
///   number (`"200"`, `200` and `200.0` all equal 200); with `true`/`false`, the text `true` /
///   `false`; with `null`, the field is absent or null.
/// - `gt` `gte` `lt` `lte` with a number compare numerically (a value that is not a number
///   fails); with a string, byte for byte (so ISO 8601 times in one format compare by time).
/// - `matches`: an ICU regular expression searched in the text (NSRegularExpression, compiled
///   once; the only test that leaves bytes for a String).
/// - `exists: true`: present and not null; `exists: false`: absent or null.
/// - Every test but `exists` and `equals: null` fails on an absent field.
final class RecordFilter {
    enum Operand {
        case text([UInt8])
        case number(Double)
        case null
    }

    enum Test {
        case equals([Operand])
        case matches(NSRegularExpression)
        case compare(FilterComparison, Operand)
        case exists(Bool)
    }

    indirect enum Node {
        /// The index into `fields`, and tests that must all hold.
        case field(Int, [Test])
        case any([Node])
    }

    struct Field {
        var name: [UInt8]
        var path: [[UInt8]]
        var dotted: Bool
        /// The column in the current bound file (CSV, lines), or -1.
        var column: Int
    }

    private let nodes: [Node]
    private var fields: [Field] = []
    private var bound = false
    private let scratch = ByteBuffer(capacity: 256)

    init(_ conditions: [FilterCondition]) {
        var fields: [Field] = []
        var index: [String: Int] = [:]
        func fieldIndex(_ name: String) -> Int {
            if let k = index[name] { return k }
            let comps = name.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) }
            fields.append(Field(name: Array(name.utf8), path: comps, dotted: comps.count > 1 && comps.allSatisfy { !$0.isEmpty }, column: -1))
            index[name] = fields.count - 1
            return fields.count - 1
        }
        func operand(_ v: FilterValue) -> Operand {
            switch v {
            case .string(let s): return .text(Array(s.utf8))
            case .number(let d): return .number(d)
            case .bool(let b): return .text(Array((b ? "true" : "false").utf8))
            case .null: return .null
            }
        }
        func compile(_ c: FilterCondition) -> Node {
            switch c {
            case .any(let list): return .any(list.map(compile))
            case .field(let name, let tests):
                let k = fieldIndex(name)
                return .field(k, tests.compactMap { t -> Test? in
                    switch t {
                    case .equals(let v): return .equals([operand(v)])
                    case .oneOf(let vs): return .equals(vs.map(operand))
                    // The loader compiled it already: a pattern that fails here cannot pass.
                    case .matches(let re): return (try? NSRegularExpression(pattern: re)).map { .matches($0) } ?? .equals([])
                    case .compare(let c, let v): return .compare(c, operand(v))
                    case .exists(let b): return .exists(b)
                    }
                })
            }
        }
        nodes = conditions.map(compile)
        self.fields = fields
    }

    /// Binds field names to the columns of a CSV or lines file (nil: NDJSON/JSON, by name).
    func beginFile(names: NameTable?) {
        bound = names != nil
        for k in fields.indices {
            fields[k].column = -1
            guard let names else { continue }
            for c in 0..<names.count where fields[k].name.elementsEqual(names[c]) {
                fields[k].column = c
                break
            }
        }
    }

    /// Whether every condition holds for the record.
    func passes(_ v: RecordView) -> Bool {
        for n in nodes where !holds(n, v) { return false }
        return true
    }

    private func holds(_ n: Node, _ v: RecordView) -> Bool {
        switch n {
        case .any(let list):
            for c in list where holds(c, v) { return true }
            return false
        case .field(let k, let tests):
            let (raw, kind, escaped) = lookup(k, v)
            var text = raw
            if kind == .jsonString && escaped {
                scratch.removeAll()
                Transformer.unescape(raw, to: scratch)
                text = scratch.bytes
            }
            let absent = kind == .null
            for t in tests where !check(t, text, absent: absent) { return false }
            return true
        }
    }

    @inline(__always)
    private func check(_ t: Test, _ text: UnsafeRawBufferPointer, absent: Bool) -> Bool {
        switch t {
        case .exists(let want):
            return absent != want
        case .equals(let operands):
            for o in operands {
                switch o {
                case .null: if absent { return true }
                case .text(let b): if !absent && Self.same(b, text) { return true }
                case .number(let d): if !absent, let x = ValueParsers.parseDouble(Transformer.trimmed(text)), x == d { return true }
                }
            }
            return false
        case .matches(let re):
            if absent { return false }
            let s = String(decoding: text, as: UTF8.self)
            return re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
        case .compare(let c, let o):
            if absent { return false }
            let order: Int
            switch o {
            case .null: return false
            case .number(let d):
                guard let x = ValueParsers.parseDouble(Transformer.trimmed(text)) else { return false }
                order = x < d ? -1 : (x > d ? 1 : 0)
            case .text(let b):
                order = Self.compareBytes(text, b)
            }
            switch c {
            case .gt: return order > 0
            case .gte: return order >= 0
            case .lt: return order < 0
            case .lte: return order <= 0
            }
        }
    }

    /// The field's value bytes and kind (`.null` when absent), and whether a string is escaped.
    private func lookup(_ k: Int, _ v: RecordView) -> (UnsafeRawBufferPointer, ValueKind, Bool) {
        let none = (UnsafeRawBufferPointer(start: nil, count: 0), ValueKind.null, false)
        let f = fields[k]
        let slots = v.fields
        if bound {
            guard f.column >= 0 else { return none }
            // Decoders write columns in order; a slot elsewhere is searched for.
            if f.column < slots.count, slots[f.column].nameIndex == Int32(f.column) {
                return (v.value(slots[f.column]), slots[f.column].kind, false)
            }
            for s in slots where s.nameIndex == Int32(f.column) { return (v.value(s), s.kind, false) }
            return none
        }
        for s in slots where Int(s.nameCount) == f.name.count && Self.same(f.name, v.nameBytes(s)) {
            return (v.value(s), s.kind, s.valueEscaped)
        }
        guard f.dotted else { return none }
        let first = f.path[0]
        for s in slots where s.kind == .nested && Int(s.nameCount) == first.count && Self.same(first, v.nameBytes(s)) {
            var bytes = v.value(s)
            var kind = ValueKind.nested
            var escaped = false
            for comp in f.path.dropFirst() {
                guard kind == .nested, let (r, k2, e) = NestedLookup.member(comp, in: bytes) else { return none }
                bytes = r
                kind = k2
                escaped = e
            }
            return (bytes, kind, escaped)
        }
        return none
    }

    @inline(__always)
    private static func same(_ a: [UInt8], _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (b.count == 0 || a.withUnsafeBytes { memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 })
    }

    private static func compareBytes(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Int {
        let n = min(a.count, b.count)
        let r = n == 0 ? 0 : b.withUnsafeBytes { memcmp(a.baseAddress!, $0.baseAddress!, n) }
        if r != 0 { return r < 0 ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }
}
