// Placeholder until the byte-level parser lands (branch `datetime`): ISO 8601 only, via the
// emulator-independent path below. Replaced wholesale by the real implementation.
public enum DateTimeParser {
    public static func parse(_ bytes: UnsafeRawBufferPointer, format: DateTimeFormat) -> Int64? {
        guard case .iso8601 = format else { return nil }
        return EmulatorTime.parseISO8601(String(decoding: bytes, as: UTF8.self))?.unixMillis
    }

    public static func writeISO(_ millis: Int64, to out: UnsafeMutableRawPointer) -> Int {
        let s = Array(EmulatorTime.format(unixMillis: millis).utf8)
        for (k, b) in s.enumerated() { out.storeBytes(of: b, toByteOffset: k, as: UInt8.self) }
        return s.count
    }
}
