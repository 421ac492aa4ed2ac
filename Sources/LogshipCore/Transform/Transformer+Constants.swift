import Foundation

// Constants and defaults of the mapping, rendered once as JSON.
extension Transformer {
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
            guard
                let data = try? JSONSerialization.data(
                    withJSONObject: Transformer.foundationValue(node), options: [.sortedKeys])
            else {
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
        case .object(let o):
            return Dictionary(o.map { ($0.key, foundationValue($0.node)) }, uniquingKeysWith: { a, _ in a })
        }
    }

}
