// Placeholder until the byte-level parsers land (branch `datetime`); replaced wholesale.
public enum ValueParsers {
    static func str(_ b: UnsafeRawBufferPointer) -> String { String(decoding: b, as: UTF8.self) }
    public static func parseInt64(_ b: UnsafeRawBufferPointer) -> Int64? { Int64(str(b)) }
    public static func parseDouble(_ b: UnsafeRawBufferPointer) -> Double? {
        guard let d = Double(str(b)), d.isFinite else { return nil }
        return d
    }
    public static func isJSONNumber(_ b: UnsafeRawBufferPointer) -> Bool {
        var s = NDJSONScanner(b)
        do { try s.number() } catch { return false }
        return s.i == b.count
    }
    public static func parseBool(_ b: UnsafeRawBufferPointer) -> Bool? {
        switch str(b).lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: return nil
        }
    }
    public static func normalizeGUID(_ b: UnsafeRawBufferPointer, to out: UnsafeMutableRawPointer) -> Bool {
        var s = str(b).lowercased()
        if s.hasPrefix("{") && s.hasSuffix("}") { s = String(s.dropFirst().dropLast()) }
        guard EmulatorInference.isGUID(s) else { return false }
        for (k, c) in s.utf8.enumerated() { out.storeBytes(of: c, toByteOffset: k, as: UInt8.self) }
        return true
    }
    public static func writeDouble(_ d: Double, to out: UnsafeMutableRawPointer) -> Int { write("\(d)", out) }
    public static func writeInt64(_ v: Int64, to out: UnsafeMutableRawPointer) -> Int { write("\(v)", out) }
    static func write(_ s: String, _ out: UnsafeMutableRawPointer) -> Int {
        let u = Array(s.utf8)
        for (k, c) in u.enumerated() { out.storeBytes(of: c, toByteOffset: k, as: UInt8.self) }
        return u.count
    }
}
