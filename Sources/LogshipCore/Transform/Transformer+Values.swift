import Foundation

// Values: type conversion and the value limit, on bytes.
extension Transformer {
    // MARK: Values

    /// Writes a value as it came (no type given), applying the value limit.
    @inline(__always)
    func copyValue(_ raw: UnsafeRawBufferPointer, kind: ValueKind, to out: ByteBuffer) -> Bool {
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
    func writeText(_ raw: UnsafeRawBufferPointer, to out: ByteBuffer) -> Bool {
        let mark = out.count
        let r = JSONWriter.writeString(raw, to: out, maxBytes: maxValueBytes, invalidUTF8: invalidUTF8)
        if r.invalid && invalidUTF8 == .reject {
            out.truncate(to: mark)
            invalidUTF8Hit = true
            return false
        }
        if r.replaced { stats[.replacedUTF8] += 1 }
        if r.truncated {
            if oversized == .reject {
                out.truncate(to: mark)
                oversizedHit = true
                return false
            }
            stats[.truncatedValues] += 1
        }
        return true
    }

    /// Converts a value to `type` and writes it; false when it cannot be converted.
    func convert(
        _ raw0: UnsafeRawBufferPointer, kind: ValueKind, escaped: Bool, type: FieldType, format: DateTimeFormat,
        zone: ZoneTable? = nil, to out: ByteBuffer
    ) -> Bool {
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
                case .gap: stats[.timezoneGapValues] += 1
                case .repeated: stats[.timezoneRepeatedValues] += 1
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

    @inline(__always)
    func checkTimeGenerated() {
        if lastDateTime < oldestTimeGenerated {
            stats[.timeGeneratedTooOld] += 1
        } else if lastDateTime > newestTimeGenerated {
            stats[.timeGeneratedInFuture] += 1
        }
    }

    func integralDouble(_ raw: UnsafeRawBufferPointer) -> Int64? {
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
    func writeRecordId(_ ordinal: Int64, to out: ByteBuffer) {
        let hex: StaticString = "0123456789abcdef"
        out.reserve(40)
        out.append(0x22)
        let o = UInt64(bitPattern: ordinal)
        for k in 0..<16 {
            let b =
                k < 8
                ? UInt8(truncatingIfNeeded: fileKey >> (56 - 8 * k))
                : UInt8(truncatingIfNeeded: o >> (56 - 8 * (k - 8)))
            if k == 4 || k == 6 || k == 8 || k == 10 { out.append(0x2D) }
            out.append(hex.utf8Start[Int(b >> 4)])
            out.append(hex.utf8Start[Int(b & 15)])
        }
        out.append(0x22)
    }
}
