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
///
/// Like `Transformer`'s `Plan`s, everything is compiled in `init` into flat tables of plain
/// structs (nodes, tests, operands, fields, path components) whose text lives in one byte
/// arena: the per-record path reads them through unsafe pointers, so a record costs no
/// reference counting and no allocation (enums with array payloads, `indirect` nodes and
/// struct-of-arrays copies each cost a retain/release per record, +35 % on a filter that every
/// record passes).
final class RecordFilter {
    /// Bytes in `arena`.
    struct Span {
        var start: Int32
        var count: Int32
    }

    enum OperandKind: UInt8 {
        case text, number, null
    }

    struct Operand {
        var kind: OperandKind
        var text: Span
        var number: Double
    }

    enum TestKind: UInt8 {
        case exists, equals, matches, compare
    }

    struct Test {
        var kind: TestKind
        /// `exists`: the wanted presence.
        var want: Bool
        /// `compare` only.
        var comparison: FilterComparison
        /// `equals`: any of `operands[first ..< first + count]`; `compare`: `operands[first]`;
        /// `matches`: `regexes[first]`.
        var first: Int32
        var count: Int32
    }

    struct Node {
        /// >= 0: every test in `tests[first ..< first + count]` holds on `fields[field]`.
        /// -1 (`any`): one of `nodes[first ..< first + count]` holds.
        var field: Int32
        var first: Int32
        var count: Int32
    }

    struct Field {
        var name: Span
        /// Components of a dotted name: `components[path ..< path + pathCount]`.
        var path: Int32
        var pathCount: Int32
        var dotted: Bool
        /// The column in the current bound file (CSV, lines), or -1.
        var column: Int32
    }

    private let arena: UnsafeMutableRawBufferPointer
    private let nodes: UnsafeMutableBufferPointer<Node>
    /// The top-level conditions are `nodes[0 ..< topCount]`.
    private let topCount: Int
    private let tests: UnsafeMutableBufferPointer<Test>
    private let operands: UnsafeMutableBufferPointer<Operand>
    private let fields: UnsafeMutableBufferPointer<Field>
    private let components: UnsafeMutableBufferPointer<Span>
    /// Read only by `matches` tests (the array access retains; `matches` builds a String anyway).
    private let regexes: [NSRegularExpression]
    private var bound = false
    /// Unescaped JSON strings.
    private let scratch = ByteBuffer(capacity: 256)
    /// Slots of nested objects walked by dotted names, reused.
    private let nestedSlots = SlotBuffer(capacity: 16)

    init(_ conditions: [FilterCondition]) {
        var bytes: [UInt8] = []
        var nodeList: [Node] = []
        var testList: [Test] = []
        var operandList: [Operand] = []
        var fieldList: [Field] = []
        var componentList: [Span] = []
        var regexList: [NSRegularExpression] = []
        var index: [String: Int] = [:]

        func span<S: Collection<UInt8>>(_ b: S) -> Span {
            let s = Span(start: Int32(bytes.count), count: Int32(b.count))
            bytes.append(contentsOf: b)
            return s
        }
        func fieldIndex(_ name: String) -> Int32 {
            if let k = index[name] { return Int32(k) }
            let comps = name.split(separator: ".", omittingEmptySubsequences: false)
            let path = Int32(componentList.count)
            for c in comps { componentList.append(span(c.utf8)) }
            fieldList.append(
                Field(
                    name: span(name.utf8), path: path, pathCount: Int32(comps.count),
                    dotted: comps.count > 1 && comps.allSatisfy { !$0.isEmpty }, column: -1))
            index[name] = fieldList.count - 1
            return Int32(fieldList.count - 1)
        }
        func operand(_ v: FilterValue) {
            let none = Span(start: 0, count: 0)
            switch v {
            case .string(let s): operandList.append(Operand(kind: .text, text: span(s.utf8), number: 0))
            case .number(let d): operandList.append(Operand(kind: .number, text: none, number: d))
            case .bool(let b):
                operandList.append(Operand(kind: .text, text: span((b ? "true" : "false").utf8), number: 0))
            case .null: operandList.append(Operand(kind: .null, text: none, number: 0))
            }
        }
        func test(_ t: FilterTest) -> Test {
            let first = Int32(operandList.count)
            switch t {
            case .equals(let v):
                operand(v)
                return Test(kind: .equals, want: false, comparison: .gt, first: first, count: 1)
            case .oneOf(let vs):
                vs.forEach(operand)
                return Test(kind: .equals, want: false, comparison: .gt, first: first, count: Int32(vs.count))
            case .matches(let re):
                // The loader compiled it already: a pattern that fails here cannot pass (an
                // `equals` with no operands).
                guard let r = try? NSRegularExpression(pattern: re) else {
                    return Test(kind: .equals, want: false, comparison: .gt, first: first, count: 0)
                }
                regexList.append(r)
                return Test(kind: .matches, want: false, comparison: .gt, first: Int32(regexList.count - 1), count: 1)
            case .compare(let c, let v):
                operand(v)
                return Test(kind: .compare, want: false, comparison: c, first: first, count: 1)
            case .exists(let b):
                return Test(kind: .exists, want: b, comparison: .gt, first: 0, count: 0)
            }
        }
        /// Places `list` in consecutive nodes (an `any`'s children must be a range), then
        /// fills them in, placing nested lists after; returns the first node.
        func place(_ list: [FilterCondition]) -> Int32 {
            let first = nodeList.count
            nodeList.append(contentsOf: repeatElement(Node(field: -1, first: 0, count: 0), count: list.count))
            for (i, c) in list.enumerated() {
                switch c {
                case .any(let sub):
                    let f = place(sub)
                    nodeList[first + i] = Node(field: -1, first: f, count: Int32(sub.count))
                case .field(let name, let ts):
                    let k = fieldIndex(name)
                    let compiled = ts.map(test)
                    nodeList[first + i] = Node(field: k, first: Int32(testList.count), count: Int32(compiled.count))
                    testList.append(contentsOf: compiled)
                }
            }
            return Int32(first)
        }
        _ = place(conditions)
        topCount = conditions.count

        func table<T>(_ a: [T]) -> UnsafeMutableBufferPointer<T> {
            let t = UnsafeMutableBufferPointer<T>.allocate(capacity: max(a.count, 1))
            _ = t.initialize(from: a)
            return UnsafeMutableBufferPointer(rebasing: t[0..<a.count])
        }
        arena = .allocate(byteCount: max(bytes.count, 1), alignment: 16)
        arena.copyBytes(from: bytes)
        nodes = table(nodeList)
        tests = table(testList)
        operands = table(operandList)
        fields = table(fieldList)
        components = table(componentList)
        regexes = regexList
    }

    deinit {
        // Plain structs: nothing to deinitialize. Each table is a rebased view of its own
        // allocation, starting at it.
        arena.deallocate()
        nodes.deallocate()
        tests.deallocate()
        operands.deallocate()
        fields.deallocate()
        components.deallocate()
    }

    @inline(__always)
    private func bytes(_ s: Span) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: arena.baseAddress! + Int(s.start), count: Int(s.count))
    }

    /// Binds field names to the columns of a CSV or lines file (nil: NDJSON/JSON, by name).
    func beginFile(names: NameTable?) {
        bound = names != nil
        for k in fields.indices {
            fields[k].column = -1
            guard let names else { continue }
            let name = bytes(fields[k].name)
            for c in 0..<names.count where name.elementsEqual(names[c]) {
                fields[k].column = Int32(c)
                break
            }
        }
    }

    /// Whether every condition holds for the record.
    func passes(_ v: RecordView) -> Bool {
        for i in 0..<topCount where !holds(i, v) { return false }
        return true
    }

    private func holds(_ i: Int, _ v: RecordView) -> Bool {
        let n = nodes[i]
        let first = Int(n.first)
        let end = first + Int(n.count)
        guard n.field >= 0 else {
            for c in first..<end where holds(c, v) { return true }
            return false
        }
        let (raw, kind, escaped) = lookup(Int(n.field), v)
        var text = raw
        if kind == .jsonString && escaped { text = unescaped(raw) }
        let absent = kind == .null
        // The value read as a number, once per field for all its numeric operands.
        var number = NumberCache()
        for t in first..<end where !check(tests[t], text, absent: absent, &number) { return false }
        return true
    }

    /// A JSON string's text without escapes, in `scratch` (valid until the next call).
    @inline(never)
    private func unescaped(_ raw: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        scratch.removeAll()
        Transformer.unescape(raw, to: scratch)
        return scratch.bytes
    }

    private struct NumberCache {
        var read = false
        var value: Double? = nil

        @inline(__always)
        mutating func get(_ text: UnsafeRawBufferPointer) -> Double? {
            if !read {
                value = ValueParsers.parseDouble(Transformer.trimmed(text))
                read = true
            }
            return value
        }
    }

    @inline(__always)
    private func check(_ t: Test, _ text: UnsafeRawBufferPointer, absent: Bool, _ number: inout NumberCache) -> Bool {
        switch t.kind {
        case .exists:
            return absent != t.want
        case .equals:
            let first = Int(t.first)
            for k in first..<(first + Int(t.count)) {
                let o = operands[k]
                switch o.kind {
                case .null: if absent { return true }
                case .text: if !absent && Self.same(bytes(o.text), text) { return true }
                case .number: if !absent, let x = number.get(text), x == o.number { return true }
                }
            }
            return false
        case .matches:
            return !absent && search(Int(t.first), text)
        case .compare:
            if absent { return false }
            let o = operands[Int(t.first)]
            let order: Int
            switch o.kind {
            case .null: return false
            case .number:
                guard let x = number.get(text) else { return false }
                order = x < o.number ? -1 : (x > o.number ? 1 : 0)
            case .text:
                order = Self.compareBytes(text, bytes(o.text))
            }
            switch t.comparison {
            case .gt: return order > 0
            case .gte: return order >= 0
            case .lt: return order < 0
            case .lte: return order <= 0
            }
        }
    }

    /// Out of line: the array access and the String retain and release, which the other
    /// tests must not pay for.
    @inline(never)
    private func search(_ k: Int, _ text: UnsafeRawBufferPointer) -> Bool {
        let s = String(decoding: text, as: UTF8.self)
        return regexes[k].firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }

    /// The field's value bytes and kind (`.null` when absent), and whether a string is escaped.
    private func lookup(_ k: Int, _ v: RecordView) -> (UnsafeRawBufferPointer, ValueKind, Bool) {
        let none = (UnsafeRawBufferPointer(start: nil, count: 0), ValueKind.null, false)
        let f = fields[k]
        let slots = v.fields
        if bound {
            guard f.column >= 0 else { return none }
            // Decoders write columns in order; a slot elsewhere is searched for.
            let c = Int(f.column)
            if c < slots.count, slots[c].nameIndex == f.column {
                return (v.value(slots[c]), slots[c].kind, false)
            }
            for s in slots where s.nameIndex == f.column { return (v.value(s), s.kind, false) }
            return none
        }
        let name = bytes(f.name)
        for s in slots where Int(s.nameCount) == name.count && Self.same(name, v.nameBytes(s)) {
            return (v.value(s), s.kind, s.valueEscaped)
        }
        guard f.dotted else { return none }
        let path = Int(f.path)
        let head = bytes(components[path])
        for s in slots where s.kind == .nested && Int(s.nameCount) == head.count && Self.same(head, v.nameBytes(s)) {
            var bytes = v.value(s)
            var kind = ValueKind.nested
            var escaped = false
            for c in (path + 1)..<(path + Int(f.pathCount)) {
                guard kind == .nested,
                    let (r, k2, e) = NestedLookup.member(self.bytes(components[c]), in: bytes, slots: nestedSlots)
                else { return none }
                bytes = r
                kind = k2
                escaped = e
            }
            return (bytes, kind, escaped)
        }
        return none
    }

    @inline(__always)
    private static func same(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (b.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, b.count) == 0)
    }

    private static func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        let r = n == 0 ? 0 : memcmp(a.baseAddress!, b.baseAddress!, n)
        if r != 0 { return r < 0 ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }
}
