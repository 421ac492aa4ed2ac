import Foundation

/// Looks inside nested NDJSON values (dotted `from` paths) and validates JSON text.
enum NestedLookup {
    /// The value of member `name` in the JSON object `bytes`: its bytes (string contents
    /// without quotes), kind, and whether a string has escapes.
    static func member(_ name: [UInt8], in bytes: UnsafeRawBufferPointer) -> (UnsafeRawBufferPointer, ValueKind, Bool)?
    {
        name.withUnsafeBytes { member($0, in: bytes, slots: SlotBuffer(capacity: 16)) }
    }

    /// The same, with the caller's name bytes and slot storage, so a caller that looks up
    /// per record (`fields.where`) allocates nothing. The result points into `bytes`, not into
    /// `slots`, so `slots` may be reused for the next component at once.
    static func member(_ name: UnsafeRawBufferPointer, in bytes: UnsafeRawBufferPointer, slots fields: SlotBuffer) -> (
        UnsafeRawBufferPointer, ValueKind, Bool
    )? {
        var s = NDJSONScanner(bytes)
        guard (try? s.object(into: fields)) != nil else { return nil }
        for f in fields.view where Int(f.nameCount) == name.count {
            let n = UnsafeRawBufferPointer(rebasing: bytes[Int(f.nameStart)..<Int(f.nameStart + f.nameCount)])
            if name.count == 0 || memcmp(name.baseAddress!, n.baseAddress!, name.count) == 0 {
                return (
                    UnsafeRawBufferPointer(rebasing: bytes[Int(f.valueStart)..<Int(f.valueStart + f.valueCount)]),
                    f.kind, f.valueEscaped
                )
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
