import Foundation
import LogshipSupport

/// A parsed JSON5 value that remembers where it was written and the order of its keys, so
/// that pipeline errors can say `file:line:column` and mapped columns keep their order.
public struct JSONNode: Sendable {
    public indirect enum Value: Sendable {
        case null
        case bool(Bool)
        case number(Double)
        case string(String)
        case array([JSONNode])
        case object([(key: String, node: JSONNode)])
    }

    public var value: Value
    public var line: Int
    public var column: Int

    public var typeName: String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// Reads pipeline files. Foundation's `JSONDecoder` in JSON5 mode decides what is valid
/// (the contract); this reader adds positions and key order, and locates syntax errors.
public enum JSON5Reader {
    public struct SyntaxError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var column: Int
        public var message: String
        public var description: String { "\(line):\(column): \(message)" }
    }

    /// Parses `data`; on invalid input the error carries the line and column of the problem.
    public static func parse(_ data: Data) throws(SyntaxError) -> JSONNode {
        let bytes = [UInt8](data)
        // Foundation's JSON5 reader ends the process on bytes that are not UTF-8: check first.
        if let bad = UTF8Validation.firstInvalidByte(bytes) { throw invalidUTF8(bytes, at: bad) }
        // Our reader first: it locates errors, and Foundation only sees text it accepted.
        var p = Parser(bytes: bytes)
        let node = try p.document()
        let foundationAccepts: Bool
        do {
            let d = JSONDecoder()
            d.allowsJSON5 = true
            _ = try d.decode(AnyDecodable.self, from: data)
            foundationAccepts = true
        } catch {
            foundationAccepts = false
        }
        // When Foundation refuses what our reader took, say so plainly.
        if !foundationAccepts {
            throw SyntaxError(line: 1, column: 1, message: "not valid JSON5 (Foundation's JSON5 reader refused it)")
        }
        return node
    }

    /// Where byte `offset` is (line, and column in characters as elsewhere) and what it is.
    static func invalidUTF8(_ bytes: [UInt8], at offset: Int) -> SyntaxError {
        var line = 1, column = 1
        // A byte order mark is not a column, as for the parser.
        let first = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        for k in first..<offset {
            if bytes[k] == 0x0A {
                line += 1
                column = 1
            } else if bytes[k] & 0xC0 != 0x80 {
                column += 1
            }
        }
        let hex = "0x" + String(bytes[offset], radix: 16, uppercase: true)
        return SyntaxError(
            line: line, column: column,
            message:
                "not UTF-8: the byte at offset \(offset) (\(hex)) does not begin a valid character; save the file as UTF-8"
        )
    }

    /// Accepts any JSON value; used only to ask Foundation whether the text is valid.
    private struct AnyDecodable: Decodable {
        init(from decoder: Decoder) throws {
            if var a = try? decoder.unkeyedContainer() {
                while !a.isAtEnd { _ = try a.decode(AnyDecodable.self) }
                return
            }
            if let o = try? decoder.container(keyedBy: Key.self) {
                for k in o.allKeys { _ = try o.decode(AnyDecodable.self, forKey: k) }
                return
            }
            _ = try decoder.singleValueContainer()
        }
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0
        var line = 1
        var lineStart = 0
        var depth = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3; lineStart = 3 }
        }

        var column: Int {
            // Columns count characters, not bytes.
            var c = 1
            var k = lineStart
            while k < i {
                if bytes[k] & 0xC0 != 0x80 { c += 1 }
                k += 1
            }
            return c
        }

        func error(_ message: String) -> SyntaxError { SyntaxError(line: line, column: column, message: message) }

        var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

        mutating func advance() {
            if bytes[i] == 0x0A {
                line += 1
                lineStart = i + 1
            }
            i += 1
        }

        mutating func skipSpace() throws(SyntaxError) {
            while let c = peek {
                switch c {
                case 0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C: advance()
                case 0xC2 where i + 1 < bytes.count && bytes[i + 1] == 0xA0: i += 2
                case 0xE2
                where i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                    i += 3
                case 0xEF where i + 2 < bytes.count && bytes[i + 1] == 0xBB && bytes[i + 2] == 0xBF: i += 3
                case 0x2F:  // comment
                    guard i + 1 < bytes.count else { throw error("unexpected '/'") }
                    if bytes[i + 1] == 0x2F {
                        while let d = peek, d != 0x0A { i += 1 }
                    } else if bytes[i + 1] == 0x2A {
                        let (l, c) = (line, column)
                        i += 2
                        var closed = false
                        while i + 1 < bytes.count {
                            if bytes[i] == 0x2A && bytes[i + 1] == 0x2F {
                                i += 2
                                closed = true
                                break
                            }
                            advance()
                        }
                        if !closed { throw SyntaxError(line: l, column: c, message: "unterminated /* comment") }
                    } else {
                        throw error("unexpected '/'")
                    }
                default: return
                }
            }
        }

        mutating func document() throws(SyntaxError) -> JSONNode {
            try skipSpace()
            guard peek != nil else { throw error("the file is empty") }
            let v = try value()
            try skipSpace()
            if peek != nil { throw error("unexpected text after the end of the top-level value") }
            return v
        }

        mutating func value() throws(SyntaxError) -> JSONNode {
            try skipSpace()
            let (l, c) = (line, column)
            guard let ch = peek else { throw error("unexpected end of file; a value was expected") }
            func node(_ v: JSONNode.Value) -> JSONNode { JSONNode(value: v, line: l, column: c) }
            switch ch {
            case UInt8(ascii: "{"): return node(try object())
            case UInt8(ascii: "["): return node(try array())
            case UInt8(ascii: "\""), UInt8(ascii: "'"): return node(.string(try string()))
            default:
                if let word = identifierLike() {
                    switch word {
                    case "true": return node(.bool(true))
                    case "false": return node(.bool(false))
                    case "null": return node(.null)
                    case "Infinity": return node(.number(.infinity))
                    case "NaN": return node(.number(.nan))
                    default:
                        i -= word.utf8.count
                        throw error("unexpected word '\(word)'; strings need quotes")
                    }
                }
                return node(.number(try number()))
            }
        }

        mutating func identifierLike() -> String? {
            let start = i
            while let c = peek, isIdentifierByte(c, first: i == start) { i += 1 }
            return i > start ? String(decoding: bytes[start..<i], as: UTF8.self) : nil
        }

        func isIdentifierByte(_ c: UInt8, first: Bool) -> Bool {
            if (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x24 || c >= 0x80 {
                return true
            }
            return !first && c >= 0x30 && c <= 0x39
        }

        mutating func object() throws(SyntaxError) -> JSONNode.Value {
            depth += 1
            defer { depth -= 1 }
            guard depth < 200 else { throw error("nesting too deep") }
            i += 1
            var members: [(key: String, node: JSONNode)] = []
            var seen = Set<String>()
            while true {
                try skipSpace()
                guard let c = peek else { throw error("unterminated object: '}' expected") }
                if c == UInt8(ascii: "}") {
                    i += 1
                    return .object(members)
                }
                let (kl, kc) = (line, column)
                let key: String
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    key = try string()
                } else if let w = identifierLike() {
                    key = w
                } else {
                    throw error("a key was expected (a name or a quoted string)")
                }
                try skipSpace()
                guard peek == UInt8(ascii: ":") else { throw error("':' expected after the key '\(key)'") }
                i += 1
                let v = try value()
                if seen.contains(key) {
                    throw SyntaxError(line: kl, column: kc, message: "the key '\(key)' appears twice")
                }
                seen.insert(key)
                members.append((key, v))
                try skipSpace()
                guard let d = peek else { throw error("unterminated object: '}' expected") }
                if d == UInt8(ascii: ",") {
                    i += 1
                } else if d != UInt8(ascii: "}") {
                    throw error("',' or '}' expected")
                }
            }
        }

        mutating func array() throws(SyntaxError) -> JSONNode.Value {
            depth += 1
            defer { depth -= 1 }
            guard depth < 200 else { throw error("nesting too deep") }
            i += 1
            var items: [JSONNode] = []
            while true {
                try skipSpace()
                guard let c = peek else { throw error("unterminated array: ']' expected") }
                if c == UInt8(ascii: "]") {
                    i += 1
                    return .array(items)
                }
                items.append(try value())
                try skipSpace()
                guard let d = peek else { throw error("unterminated array: ']' expected") }
                if d == UInt8(ascii: ",") {
                    i += 1
                } else if d != UInt8(ascii: "]") {
                    throw error("',' or ']' expected")
                }
            }
        }

        mutating func string() throws(SyntaxError) -> String {
            let quote = bytes[i]
            let (l, c) = (line, column)
            i += 1
            var out: [UInt8] = []
            while true {
                guard let ch = peek else { throw SyntaxError(line: l, column: c, message: "unterminated string") }
                if ch == quote {
                    i += 1
                    return String(decoding: out, as: UTF8.self)
                }
                if ch == 0x0A || ch == 0x0D { throw error("line break inside a string (use \\n)") }
                if ch != 0x5C {
                    out.append(ch)
                    i += 1
                    continue
                }
                i += 1
                guard let e = peek else { throw error("unterminated escape") }
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A); i += 1
                case UInt8(ascii: "t"): out.append(0x09); i += 1
                case UInt8(ascii: "r"): out.append(0x0D); i += 1
                case UInt8(ascii: "b"): out.append(0x08); i += 1
                case UInt8(ascii: "f"): out.append(0x0C); i += 1
                case UInt8(ascii: "v"): out.append(0x0B); i += 1
                case UInt8(ascii: "0"): out.append(0x00); i += 1
                case 0x0A: advance()  // line continuation
                case 0x0D:
                    i += 1
                    if peek == 0x0A { advance() }
                case UInt8(ascii: "x"), UInt8(ascii: "u"):
                    let n = e == UInt8(ascii: "x") ? 2 : 4
                    i += 1
                    guard i + n <= bytes.count,
                        let v = UInt32(String(decoding: bytes[i..<i + n], as: UTF8.self), radix: 16)
                    else { throw error("invalid \\\(Character(Unicode.Scalar(e))) escape") }
                    i += n
                    var scalar = v
                    if (0xD800..<0xDC00).contains(v), i + 6 <= bytes.count, bytes[i] == 0x5C,
                        bytes[i + 1] == UInt8(ascii: "u"),
                        let lo = UInt32(String(decoding: bytes[i + 2..<i + 6], as: UTF8.self), radix: 16),
                        (0xDC00..<0xE000).contains(lo)
                    {
                        scalar = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                        i += 6
                    }
                    out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8))
                default:
                    out.append(e)
                    i += 1
                }
            }
        }

        mutating func number() throws(SyntaxError) -> Double {
            let start = i
            var sign = 1.0
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") {
                if peek == UInt8(ascii: "-") { sign = -1 }
                i += 1
                if let w = identifierLike() {
                    if w == "Infinity" { return sign * .infinity }
                    if w == "NaN" { return .nan }
                    i = start
                    throw error("invalid number")
                }
            }
            if peek == UInt8(ascii: "0"), i + 1 < bytes.count, bytes[i + 1] | 0x20 == UInt8(ascii: "x") {
                i += 2
                let hs = i
                while let c = peek, (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x66) { i += 1 }
                guard i > hs, let v = UInt64(String(decoding: bytes[hs..<i], as: UTF8.self), radix: 16) else {
                    throw error("invalid hexadecimal number")
                }
                return sign * Double(v)
            }
            let ds = i
            while let c = peek,
                (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x65 || c == 0x45 || c == 0x2B || c == 0x2D
            {
                i += 1
            }
            var text = String(decoding: bytes[ds..<i], as: UTF8.self)
            if text.hasPrefix(".") { text = "0" + text }
            if text.hasSuffix(".") { text += "0" }
            guard !text.isEmpty, let v = Double(text) else {
                i = start
                if let c = peek, c >= 0x20, c < 0x7F {
                    throw error("unexpected character '\(Character(Unicode.Scalar(c)))'")
                }
                throw error("a value was expected")
            }
            return sign * v
        }
    }
}
