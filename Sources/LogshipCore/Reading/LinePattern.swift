import Foundation

/// `source.lines.pattern`: a preset with a byte-level parser, or a user regex with named groups.
public enum LinePattern {
    /// Why `pattern` cannot be used as a regular expression with named groups, or nil.
    public static func regexProblem(_ pattern: String) -> String? {
        do {
            _ = try NSRegularExpression(pattern: pattern)
        } catch {
            return "\"\(pattern)\" is neither a preset nor a valid regular expression"
        }
        let names = groupNames(pattern)
        if names.isEmpty { return "the regular expression has no named groups (?<name>…); nothing would become a field" }
        return nil
    }

    /// The names of `(?<name>…)` groups, in order.
    public static func groupNames(_ pattern: String) -> [String] {
        var names: [String] = []
        let u = Array(pattern.utf8)
        var i = 0
        while i + 3 < u.count {
            if u[i] == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            if u[i] == UInt8(ascii: "("), u[i + 1] == UInt8(ascii: "?"), u[i + 2] == UInt8(ascii: "<") || u[i + 2] == UInt8(ascii: "P"),
                let start = Optional(u[i + 2] == UInt8(ascii: "P") ? i + 4 : i + 3), start < u.count,
                u[i + 2] == UInt8(ascii: "<") || u[i + 3] == UInt8(ascii: "<"),
                let end = u[start...].firstIndex(of: UInt8(ascii: ">"))
            {
                let name = String(decoding: u[start..<end], as: UTF8.self)
                if !name.isEmpty, name.first != "=", name.first != "!" { names.append(name) }
                i = end
            }
            i += 1
        }
        return names
    }
}
