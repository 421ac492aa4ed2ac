import Foundation

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
