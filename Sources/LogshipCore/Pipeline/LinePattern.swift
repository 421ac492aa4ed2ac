import Foundation

/// The pipeline file's regular expressions: `source.lines.pattern` (a preset, or a regex with
/// named groups) and `fields.map.X.extract`; checked here, run by Reading and Transform.
public enum LinePattern {
    /// Why `pattern` cannot be used as a regular expression with named groups, or nil.
    public static func regexProblem(_ pattern: String) -> String? {
        do {
            _ = try NSRegularExpression(pattern: icuPattern(pattern).pattern)
        } catch {
            return "\"\(pattern)\" is neither a preset nor a valid regular expression"
        }
        let names = groupNames(pattern)
        if names.isEmpty {
            return "the regular expression has no named groups (?<name>…); nothing would become a field"
        }
        return nil
    }

    /// Why `pattern` cannot be a `fields.map.X.extract` (a regular expression with a group to
    /// keep), or nil.
    public static func extractProblem(_ pattern: String) -> String? {
        let (icu, names) = icuPattern(pattern)
        guard let re = try? NSRegularExpression(pattern: icu) else {
            return "\"\(pattern)\" is not a valid regular expression (ICU syntax)"
        }
        if names.isEmpty && re.numberOfCaptureGroups == 0 {
            return "\"\(pattern)\" has no group; put the part to keep in (?<name>…) or (…)"
        }
        return nil
    }

    /// The names of `(?<name>…)` groups, in order.
    public static func groupNames(_ pattern: String) -> [String] { icuPattern(pattern).names }

    /// The pattern with every named group renamed `g0`, `g1`, … (ICU allows only letters and
    /// digits in group names; users write `remote_addr`), and the users' names in order.
    public static func icuPattern(_ pattern: String) -> (pattern: String, names: [String]) {
        var names: [String] = []
        var out: [UInt8] = []
        let u = Array(pattern.utf8)
        var i = 0
        var inClass = false
        func groupName(at start: Int) -> (String, Int)? {
            guard let end = u[start...].firstIndex(of: UInt8(ascii: ">")) else { return nil }
            let name = String(decoding: u[start..<end], as: UTF8.self)
            guard !name.isEmpty, name.first != "=", name.first != "!" else { return nil }
            return (name, end)
        }
        while i < u.count {
            let c = u[i]
            if c == UInt8(ascii: "\\"), i + 1 < u.count {
                // A named back-reference \k<name> follows the renaming.
                if u[i + 1] == UInt8(ascii: "k"), i + 2 < u.count, u[i + 2] == UInt8(ascii: "<"),
                    let (name, end) = groupName(at: i + 3),
                    let k = names.firstIndex(of: name)
                {
                    out += Array("\\k<g\(k)>".utf8)
                    i = end + 1
                    continue
                }
                out += [c, u[i + 1]]
                i += 2
                continue
            }
            if inClass {
                if c == UInt8(ascii: "]") { inClass = false }
                out.append(c)
                i += 1
                continue
            }
            if c == UInt8(ascii: "[") { inClass = true }
            if c == UInt8(ascii: "("), i + 2 < u.count, u[i + 1] == UInt8(ascii: "?") {
                var nameStart = -1
                if u[i + 2] == UInt8(ascii: "<") { nameStart = i + 3 }
                if u[i + 2] == UInt8(ascii: "P"), i + 3 < u.count, u[i + 3] == UInt8(ascii: "<") { nameStart = i + 4 }
                if nameStart > 0, let (name, end) = groupName(at: nameStart) {
                    out += Array("(?<g\(names.count)>".utf8)
                    names.append(name)
                    i = end + 1
                    continue
                }
            }
            out.append(c)
            i += 1
        }
        return (String(decoding: out, as: UTF8.self), names)
    }
}
