/// Column-name rules of Log Analytics (docs/service-facts.md): letters, digits and
/// underscore, at most 45 characters, not a reserved name.
public enum FieldNames {
    public static let maxLength = ServiceLimits.DataCollector.maxFieldNameLength
    public static let reserved: Set<String> = ["timegenerated", "tenant", "rawdata", "type"]

    public static func isReserved(_ name: String) -> Bool { reserved.contains(name.lowercased()) }

    /// Whether `name` is `TimeGenerated` as a DCR stream spells it: the Logs Ingestion API
    /// needs the records to carry it, where the Data Collector API reserves it.
    public static func isTimeGenerated(_ name: String) -> Bool { name == "TimeGenerated" }

    /// Why `name` cannot be a column, or nil when it can.
    /// - Parameter allowTimeGenerated: true for the Logs Ingestion API, whose records carry `TimeGenerated`.
    public static func problem(_ name: String, allowTimeGenerated: Bool = false) -> String? {
        if name.isEmpty { return "a column name cannot be empty" }
        if allowTimeGenerated && isTimeGenerated(name) { return nil }
        if isReserved(name) {
            return "\"\(name)\" is reserved by Log Analytics (TimeGenerated, tenant, RawData, Type); "
                + "choose another name"
        }
        if name.utf8.count > maxLength {
            return "\"\(name)\" is \(name.utf8.count) characters; column names are limited to \(maxLength)"
        }
        let u = Array(name.utf8)
        // The sanitized name is what passthrough would use: offering it makes the fix one edit.
        if !isLetter(u[0]) { return "\"\(name)\" must start with a letter; e.g. \"\(sanitize(name))\"" }
        if !u.allSatisfy({ isLetter($0) || isDigit($0) || $0 == 0x5F }) {
            return "\"\(name)\" may contain only letters, digits and underscore; e.g. \"\(sanitize(name))\""
        }
        return nil
    }

    /// A valid column name made from any input field name: invalid bytes become `_`, a leading
    /// non-letter gets an `f` prefix, reserved names get a `_` suffix, the length is capped.
    public static func sanitize(_ name: String) -> String {
        var u = Array(name.utf8).map { isLetter($0) || isDigit($0) || $0 == 0x5F ? $0 : 0x5F }
        if u.isEmpty || !isLetter(u[0]) { u.insert(UInt8(ascii: "f"), at: 0) }
        if u.count > maxLength { u.removeSubrange(maxLength...) }
        var s = String(decoding: u, as: UTF8.self)
        if isReserved(s) {
            if s.utf8.count >= maxLength { s.removeLast() }
            s += "_"
        }
        return s
    }

    @inline(__always) static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// Log-Type: letters, digits and underscore, starting with a letter, at most 100 characters.
    public static func logTypeProblem(_ t: String) -> String? {
        let u = Array(t.utf8)
        if u.isEmpty { return "the Log-Type cannot be empty" }
        let most = ServiceLimits.DataCollector.maxLogTypeLength
        if u.count > most { return "\"\(t)\" is \(u.count) characters; a Log-Type is at most \(most)" }
        if !isLetter(u[0]) { return "\"\(t)\" must start with a letter" }
        if !u.allSatisfy({ isLetter($0) || isDigit($0) || $0 == 0x5F }) {
            return "\"\(t)\" may contain only letters, digits and underscore (the service answers 400 InvalidLogType)"
        }
        if t.hasSuffix("_CL") { return "\"\(t)\": leave out the _CL suffix; the service appends it" }
        return nil
    }
}
