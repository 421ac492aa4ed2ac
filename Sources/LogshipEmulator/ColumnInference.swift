import LogshipSupport

/// How Log Analytics turns a property into a column: the emulator's own rules, written from
/// the reference ("Record type and properties"), not shared with the client's preview.
public enum ColumnType: String, Sendable, CaseIterable, Codable {
    case string = "s", double = "d", bool = "b", dateTime = "t", guid = "g"

    public var suffix: String { "_" + rawValue }
    public var name: String {
        switch self {
        case .string: return "string"
        case .double: return "real"
        case .bool: return "bool"
        case .dateTime: return "datetime"
        case .guid: return "guid"
        }
    }
}

enum EmulatorInference {
    /// The type a brand-new column gets for this value; nil for null (the property is left out).
    static func newColumnType(_ v: EmulatorJSON.Value) -> ColumnType? {
        switch v {
        case .null: return nil
        case .bool: return .bool
        case .number: return .double
        case .nested: return .string
        case .string(let s):
            if isGUID(s) { return .guid }
            if EmulatorTime.parseISO8601(s) != nil { return .dateTime }
            return .string
        }
    }

    /// Whether an existing column of type `t` can take this value (the service converts it).
    static func accepts(_ t: ColumnType, _ v: EmulatorJSON.Value) -> Bool {
        switch (t, v) {
        case (_, .null): return true
        case (.string, _): return true
        case (.double, .number): return true
        case (.double, .string(let s)): return Double(s) != nil && !s.isEmpty
        case (.bool, .bool): return true
        case (.bool, .string(let s)): return s.lowercased() == "true" || s.lowercased() == "false"
        case (.dateTime, .string(let s)): return EmulatorTime.parseISO8601(s) != nil
        case (.guid, .string(let s)): return isGUID(s)
        default: return false
        }
    }

    /// 8-4-4-4-12 hexadecimal digits.
    static func isGUID(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 36 else { return false }
        for (k, c) in u.enumerated() {
            if k == 8 || k == 13 || k == 18 || k == 23 {
                if c != UInt8(ascii: "-") { return false }
            } else if !((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)) {
                return false
            }
        }
        return true
    }
}

/// ISO 8601 date-times as the service reads them.
enum EmulatorTime {
    struct Parsed {
        var unixMillis: Int64
        var fractionDigits: Int
    }

    /// `YYYY-MM-DDThh:mm[:ss[.f…]][Z|±hh:mm|±hhmm]` (`t` and `z` in lower case too). A date
    /// alone or a space for the `T` is not read as a date-time: the service's documentation
    /// asks for `YYYY-MM-DDThh:mm:ssZ`, and users report such values stored as strings.
    static func parseISO8601(_ s: String) -> Parsed? {
        let u = Array(s.utf8)
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= u.count else { return nil }
            var v = 0
            for k in 0..<n {
                let d = Int(u[i + k]) - 48
                guard (0...9).contains(d) else { return nil }
                v = v * 10 + d
            }
            i += n
            return v
        }
        func expect(_ c: Character) -> Bool {
            guard i < u.count, u[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let y = digits(4), expect("-"), let mo = digits(2), expect("-"), let d = digits(2),
            (1...12).contains(mo), d >= 1, d <= CivilDate.daysInMonth(year: y, month: mo)
        else { return nil }
        var ms: Int64 = 0
        var secs = 0
        var fractionDigits = 0
        var offsetMinutes = 0
        do {
            guard i < u.count, u[i] == UInt8(ascii: "T") || u[i] == UInt8(ascii: "t") else { return nil }
            i += 1
            guard let h = digits(2), expect(":"), let mi = digits(2), h < 24, mi < 60 else { return nil }
            var sec = 0
            if expect(":") {
                guard let ss = digits(2), ss < 61 else { return nil }
                sec = ss
                if i < u.count, u[i] == UInt8(ascii: ".") || u[i] == UInt8(ascii: ",") {
                    i += 1
                    var scale: Int64 = 100
                    while i < u.count, (48...57).contains(u[i]) {
                        ms += Int64(u[i] - 48) * scale
                        scale /= 10
                        fractionDigits += 1
                        i += 1
                    }
                    guard fractionDigits > 0 else { return nil }
                }
            }
            secs = h * 3600 + mi * 60 + sec
            if i < u.count {
                if u[i] == UInt8(ascii: "Z") || u[i] == UInt8(ascii: "z") {
                    i += 1
                } else if u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") {
                    let sign = u[i] == UInt8(ascii: "-") ? -1 : 1
                    i += 1
                    guard let oh = digits(2) else { return nil }
                    _ = expect(":")
                    guard let om = digits(2), oh < 24, om < 60 else { return nil }
                    offsetMinutes = sign * (oh * 60 + om)
                } else {
                    return nil
                }
            }
        }
        guard i == u.count else { return nil }
        let days = CivilDate.toDays(year: y, month: mo, day: d)
        let unix = days * 86_400 + Int64(secs) - Int64(offsetMinutes * 60)
        return Parsed(unixMillis: unix * 1000 + ms, fractionDigits: fractionDigits)
    }

    /// `2026-11-23T13:09:43.123Z`
    static func format(unixMillis: Int64) -> String {
        let secs = floorDiv(unixMillis, 1000)
        let ms = Int(unixMillis - secs * 1000)
        let days = floorDiv(secs, 86_400)
        let sod = Int(secs - days * 86_400)
        let (y, m, d) = CivilDate.fromDays(days)
        func p(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return
            "\(p(y, 4))-\(p(m, 2))-\(p(d, 2))T\(p(sod / 3600, 2)):\(p(sod / 60 % 60, 2)):\(p(sod % 60, 2)).\(p(ms, 3))Z"
    }
}
