import Foundation

/// Replaces string values of `target` in a pipeline file's text, leaving every other byte as
/// written (comments, order, quotes, spacing): `logship dcr --apply --write`. It refuses rather
/// than guess: a key that is missing, not a plain string literal, or an environment reference.
/// The edited text is parsed again and must differ from the original only in those values.
public enum PipelineFileEdit {
    public struct Refusal: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// The text with `target.<key>` set to each value. Values hold no quote or backslash.
    public static func settingTarget(_ values: [(key: String, value: String)], in text: String, file: String)
        throws(Refusal)
        -> String
    {
        let bytes = Array(text.utf8)
        let root: JSONNode
        do {
            root = try JSON5Reader.parse(Data(bytes))
        } catch {
            throw Refusal(description: "\(file): \(error.description); fix the file first")
        }
        guard case .object(let top) = root.value, let target = top.first(where: { $0.key == "target" })?.node,
            case .object(let members) = target.value
        else { throw Refusal(description: "\(file): no target object to edit") }
        var edits: [(range: Range<Int>, text: [UInt8])] = []
        for (key, value) in values {
            guard value.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x27 && $0 != 0x5C }) else {
                throw Refusal(description: "\(file): the value for target.\(key) cannot be written safely: \(value)")
            }
            let found = members.filter { $0.key == key }
            guard found.count == 1, let node = found.first?.node else {
                throw Refusal(
                    description: "\(file): target.\(key) is \(found.isEmpty ? "not written" : "written twice"); add "
                        + "`\(key): \"\(value)\",` to the target yourself")
            }
            guard case .string(let old) = node.value else {
                throw Refusal(
                    description:
                        "\(file):\(node.line):\(node.column): target.\(key) is \(node.typeName), not a string; "
                        + "set it to \"\(value)\" yourself")
            }
            if old.contains("${") {
                throw Refusal(
                    description: "\(file):\(node.line):\(node.column): target.\(key) is \"\(old)\", an environment "
                        + "reference; left as it is: set the variable to \(value) instead")
            }
            guard let start = offset(bytes, line: node.line, column: node.column), start < bytes.count,
                bytes[start] == 0x22 || bytes[start] == 0x27, let end = literalEnd(bytes, from: start)
            else {
                throw Refusal(
                    description:
                        "\(file):\(node.line):\(node.column): target.\(key) is not a plain string literal; "
                        + "set it yourself"
                )
            }
            let quote = bytes[start]
            edits.append((start..<end, [quote] + Array(value.utf8) + [quote]))
        }
        var out = bytes
        for e in edits.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) {
            out.replaceSubrange(e.range, with: e.text)
        }
        // Read back: the new values are there, and nothing else moved.
        let edited: JSONNode
        do {
            edited = try JSON5Reader.parse(Data(out))
        } catch {
            throw Refusal(description: "\(file): the edit would not parse (\(error.description)); nothing was written")
        }
        var expected = root
        for (key, value) in values { expected = replacing(expected, key: key, with: value) }
        guard expected.canonical == edited.canonical else {
            throw Refusal(description: "\(file): the edit would change more than target's values; nothing was written")
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func replacing(_ root: JSONNode, key: String, with value: String) -> JSONNode {
        guard case .object(var top) = root.value, let i = top.firstIndex(where: { $0.key == "target" }),
            case .object(var t) = top[i].node.value, let j = t.firstIndex(where: { $0.key == key })
        else { return root }
        t[j].node.value = .string(value)
        top[i].node.value = .object(t)
        var r = root
        r.value = .object(top)
        return r
    }

    /// The byte offset of a 1-based line and column (columns count characters, as the reader's
    /// positions do; a byte order mark is not one).
    static func offset(_ bytes: [UInt8], line: Int, column: Int) -> Int? {
        var l = 1
        var c = 1
        var k = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while k < bytes.count {
            if l == line && c == column { return k }
            if bytes[k] == 0x0A {
                l += 1
                c = 1
            } else if bytes[k] & 0xC0 != 0x80 {
                c += 1
            }
            k += 1
            // Continuation bytes belong to the character before them.
            while k < bytes.count && bytes[k] & 0xC0 == 0x80 { k += 1 }
        }
        return nil
    }

    /// The offset after the closing quote of the literal opening at `start`; nil when it spans lines.
    static func literalEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        let quote = bytes[start]
        var k = start + 1
        while k < bytes.count {
            switch bytes[k] {
            case quote: return k + 1
            case 0x5C: k += 2
            case 0x0A, 0x0D: return nil
            default: k += 1
            }
        }
        return nil
    }
}
