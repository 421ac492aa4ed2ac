import Foundation
import LogshipSupport

// MARK: - Reading with key paths

struct Context {
    let file: String
    let environment: [String: String]
    var problems: [PipelineProblem] = []
    /// Key paths an unknown key was taken for a typo of: their "missing" error would only repeat it.
    var typoTargets: Set<String> = []
    /// `target.api` as written (peeked before `fields`, whose column rules depend on it).
    var api: TargetAPI = .dataCollector

    mutating func error(_ node: JSONNode?, _ path: String, _ message: String) {
        problems.append(.init(.error, file: file, line: node?.line, column: node?.column, path: path, message: message))
    }

    mutating func warning(_ node: JSONNode?, _ path: String, _ message: String) {
        problems.append(
            .init(.warning, file: file, line: node?.line, column: node?.column, path: path, message: message))
    }

    /// The members of an object node, after reporting keys that are not in `allowed`.
    mutating func members(_ node: JSONNode, _ path: String, allowed: [String]) -> [String: JSONNode]? {
        guard case .object(let m) = node.value else {
            error(node, path, "expected an object, found \(node.typeName)")
            return nil
        }
        var out: [String: JSONNode] = [:]
        for (k, v) in m {
            if allowed.contains(k) {
                out[k] = v
            } else {
                let where_ = Self.join(path, k)
                if let near = Self.nearest(k, allowed) { typoTargets.insert(Self.join(path, near)) }
                error(
                    v, where_,
                    "unknown key \"\(k)\"\(Self.hint(k, allowed)); allowed here: \(allowed.joined(separator: ", "))")
            }
        }
        return out
    }

    /// A required key is absent: reported unless an unknown key already looked like a typo of it.
    mutating func missing(_ node: JSONNode?, _ path: String, _ message: String) {
        if typoTargets.contains(path) { return }
        error(node, path, message)
    }

    /// Words people write for a value that has another name here (`"integer"` for `"int"`).
    static let aliases: [String: [String]] = [
        "integer": ["int"], "int32": ["int"], "int64": ["long"], "number": ["double"], "float": ["double"],
        "real": ["double"], "decimal": ["double"], "boolean": ["bool"], "date": ["datetime"], "time": ["datetime"],
        "timestamp": ["datetime"], "uuid": ["guid"], "text": ["string", "lines"], "str": ["string"],
        "object": ["json"], "dynamic": ["json"], "jsonl": ["ndjson"], "jsonlines": ["ndjson"],
        "log": ["lines"], "tsv": ["csv"], "gz": ["gzip"], "azure": ["public"], "azurecloud": ["public"],
    ]

    /// The candidate `word` most likely stands for (`NearestName`'s rule, with the aliases above).
    static func nearest(_ word: String, _ candidates: [String]) -> String? {
        NearestName.nearest(word, in: candidates, aliases: aliases)
    }

    /// ` (did you mean "x"?)` or nothing.
    static func hint(_ word: String, _ candidates: [String]) -> String {
        nearest(word, candidates).map { " (did you mean \"\($0)\"?)" } ?? ""
    }

    /// The node of `key` inside an object node, for messages that should point at it.
    static func child(_ node: JSONNode?, _ key: String) -> JSONNode? {
        guard let node, case .object(let m) = node.value else { return nil }
        return m.first { $0.key == key }?.node
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// A string, with `${VAR}` replaced. Unset variables are errors (credential keys: see `configValue`).
    mutating func string(_ node: JSONNode?, _ path: String) -> String? {
        guard let node else { return nil }
        guard case .string(let s) = node.value else {
            error(node, path, "expected a string, found \(node.typeName)")
            return nil
        }
        switch interpolate(s) {
        case .success(let v): return v
        case .failure(let missing):
            error(
                node, path,
                "environment variable \(missing.name) is not set (referenced as ${\(missing.name)}); set it, or write the value itself (a literal $ is written $$)"
            )
            return nil
        }
    }

    /// A credential-like string: an unset `${VAR}` is kept as a reference for later resolution.
    mutating func configValue(_ node: JSONNode?, _ path: String) -> ConfigValue? {
        guard let node else { return nil }
        guard case .string(let s) = node.value else {
            error(node, path, "expected a string, found \(node.typeName)")
            return nil
        }
        switch interpolate(s) {
        case .success(let v): return .value(v)
        case .failure(let missing): return .unsetVariable(missing.name)
        }
    }

    struct MissingVariable: Error { let name: String }

    /// `${NAME}` → the environment's value; `$$` → `$`.
    func interpolate(_ s: String) -> Swift.Result<String, MissingVariable> {
        guard s.contains("$") else { return .success(s) }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == "$" {
                let next = s.index(after: i)
                if next < s.endIndex, s[next] == "$" {
                    out.append("$")
                    i = s.index(after: next)
                    continue
                }
                if next < s.endIndex, s[next] == "{", let close = s[next...].firstIndex(of: "}") {
                    let name = String(s[s.index(after: next)..<close])
                    guard let v = environment[name] else { return .failure(MissingVariable(name: name)) }
                    out += v
                    i = s.index(after: close)
                    continue
                }
            }
            out.append(c)
            i = s.index(after: i)
        }
        return .success(out)
    }

    mutating func bool(_ node: JSONNode?, _ path: String) -> Bool? {
        guard let node else { return nil }
        guard case .bool(let b) = node.value else {
            error(node, path, "expected true or false, found \(node.typeName)")
            return nil
        }
        return b
    }

    mutating func integer(_ node: JSONNode?, _ path: String, _ range: ClosedRange<Int>) -> Int? {
        guard let node else { return nil }
        guard case .number(let d) = node.value, d.isFinite, d == d.rounded(), abs(d) < 1e15 else {
            error(
                node, path,
                "expected a whole number between \(range.lowerBound) and \(range.upperBound), found \(Self.found(node))"
            )
            return nil
        }
        guard range.contains(Int(d)) else {
            error(node, path, "\(Int(d)) is out of range; allowed: \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return Int(d)
    }

    mutating func number(_ node: JSONNode?, _ path: String, _ range: ClosedRange<Double>) -> Double? {
        guard let node else { return nil }
        guard case .number(let d) = node.value, d.isFinite else {
            error(
                node, path,
                "expected a number between \(Self.show(range.lowerBound)) and \(Self.show(range.upperBound)), found \(Self.found(node))"
            )
            return nil
        }
        guard range.contains(d) else {
            error(
                node, path,
                "\(Self.show(d)) is out of range; allowed: \(Self.show(range.lowerBound)) to \(Self.show(range.upperBound))"
            )
            return nil
        }
        return d
    }

    /// `30000000` as `30,000,000`, for service limits in messages.
    static func grouped(_ n: Int) -> String {
        var head = String(n), tail = ""
        while head.count > 3 {
            tail = "," + head.suffix(3) + tail
            head.removeLast(3)
        }
        return head + tail
    }

    /// `120`, not `120.0`.
    static func show(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }

    /// What a number-valued key found instead: a fraction is shown, a quoted number gets a hint.
    static func found(_ node: JSONNode) -> String {
        switch node.value {
        case .number(let d) where d.isFinite: return show(d)
        case .string(let s) where Double(s.trimmingCharacters(in: .whitespaces)) != nil && s.count <= 20:
            return "a string; write the number without quotes: \(s.trimmingCharacters(in: .whitespaces))"
        default: return node.typeName
        }
    }

    mutating func choice<E: RawRepresentable & CaseIterable>(_ node: JSONNode?, _ path: String, _ type: E.Type) -> E?
    where E.RawValue == String {
        guard let node, let s = string(node, path) else { return nil }
        if let v = E(rawValue: s) { return v }
        let allowed = E.allCases.map(\.rawValue)
        error(
            node, path, "\"\(s)\" is not allowed\(Self.hint(s, allowed)); allowed: \(allowed.joined(separator: ", "))")
        return nil
    }

    mutating func stringArray(_ node: JSONNode?, _ path: String, allowSingle: Bool = false) -> [String]? {
        guard let node else { return nil }
        if allowSingle, case .string = node.value { return string(node, path).map { [$0] } }
        guard case .array(let items) = node.value else {
            error(node, path, "expected an array of strings, found \(node.typeName)")
            return nil
        }
        var out: [String] = []
        for (k, item) in items.enumerated() {
            if let s = string(item, "\(path)[\(k)]") { out.append(s) }
        }
        return out
    }

    /// A single character (delimiter, quote) as one byte.
    mutating func character(_ node: JSONNode?, _ path: String) -> UInt8? {
        guard let node, let s = string(node, path) else { return nil }
        guard s.utf8.count == 1, let b = s.utf8.first, b != 0x0A, b != 0x0D else {
            error(node, path, "expected a single ASCII character other than a line break, found \"\(s)\"")
            return nil
        }
        return b
    }
}
