/// The client's GUID check: 8-4-4-4-12 hexadecimal digits, nothing around them. (The emulator
/// has its own, `EmulatorInference.isGUID`, so a mistake here cannot pass its own judge.)
public enum GUIDText {
    public static func isValid(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 36 else { return false }
        for (k, c) in u.enumerated() {
            if k == 8 || k == 13 || k == 18 || k == 23 {
                guard c == UInt8(ascii: "-") else { return false }
            } else {
                let l = c | 0x20
                guard (c >= 0x30 && c <= 0x39) || (l >= 0x61 && l <= 0x66) else { return false }
            }
        }
        return true
    }
}
