import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Which lines begin a multi-line record (`source.multiline.start`): the presets' rules and a
// regex's literal prefix run on bytes. `MultilineGrouper` asks them line by line.

/// Whether a line begins a record, per preset or `start` regex. Presets keep a little state
/// (inside a Python traceback, inside a Go panic) that a start line resets.
struct StartClassifier {
    private enum Kind {
        case java
        case python
        case go
        case regex(RegexLineMatcher, SlotBuffer, firstBytes: [Bool]?, exact: PrefixProgram?)
    }
    private let kind: Kind
    private var inTraceback = false
    private var inPanic = false

    init(_ start: MultilineSpec.Start) throws(ReadError) {
        switch start {
        case .preset(.java): kind = .java
        case .preset(.python): kind = .python
        case .preset(.go): kind = .go
        case .regex(let pattern):
            let regex: NSRegularExpression
            do {
                regex = try NSRegularExpression(pattern: pattern)
            } catch {
                throw ReadError(
                    message: "source.multiline.start is not a valid regular expression (ICU syntax)", offset: 0)
            }
            kind = .regex(
                RegexLineMatcher(regex: regex, groups: []), SlotBuffer(capacity: 8),
                firstBytes: Self.firstBytes(pattern),
                exact: PrefixProgram(pattern))
        }
    }

    /// `line` is not empty.
    @inline(__always)
    mutating func startsRecord(_ line: UnsafeRawBufferPointer) -> Bool {
        switch kind {
        case .java: return Self.javaStarts(line)
        case .python: return pythonStarts(line)
        case .go: return goStarts(line)
        case .regex(let matcher, let slots, let firstBytes, let exact):
            if let firstBytes, !firstBytes[Int(line[0])] { return false }
            // A timestamp-like start (`^\d{4}-\d\d-\d\d `) is decided on bytes outright.
            if let exact, let answer = exact.matches(line) { return answer }
            slots.removeAll()
            return matcher.match(line, into: slots)
        }
    }

    @inline(__always)
    static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

    static func hasPrefix(_ line: UnsafeRawBufferPointer, _ p: StaticString) -> Bool {
        let n = p.utf8CodeUnitCount
        guard line.count >= n else { return false }
        return memcmp(line.baseAddress!, p.utf8Start, n) == 0
    }

    /// Java/JVM: `\tat …`, `\t... 12 more`, `Caused by: …`, `Suppressed: …`, and the exception
    /// line after the log line (`java.lang.IllegalStateException: boom`) continue the record.
    static func javaStarts(_ line: UnsafeRawBufferPointer) -> Bool {
        let c = line[0]
        if isBlank(c) { return false }
        if c == UInt8(ascii: "C"), hasPrefix(line, "Caused by:") { return false }
        if c == UInt8(ascii: "S"), hasPrefix(line, "Suppressed:") { return false }
        if c == UInt8(ascii: "."), hasPrefix(line, "... ") { return false }
        return !isJavaExceptionLine(line)
    }

    /// A qualified class name (letters, digits, `_`, `$`, with at least one `.`) whose last part
    /// ends in Exception, Error or Throwable, alone or followed by `:`.
    static func isJavaExceptionLine(_ line: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        var dot = -1
        let n = line.count
        while i < n {
            let c = line[i]
            if c == UInt8(ascii: ":") { break }
            if c == UInt8(ascii: ".") {
                dot = i
            } else if !(FieldNames.isLetter(c) || FieldNames.isDigit(c) || c == UInt8(ascii: "_")
                || c == UInt8(ascii: "$"))
            {
                return false
            }
            i += 1
        }
        guard dot > 0, dot < i - 1 else { return false }
        let name = UnsafeRawBufferPointer(rebasing: line[(dot + 1)..<i])
        return endsWith(name, "Exception") || endsWith(name, "Error") || endsWith(name, "Throwable")
    }

    static func endsWith(_ b: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard b.count >= n else { return false }
        return memcmp(b.baseAddress! + (b.count - n), s.utf8Start, n) == 0
    }

    /// Python: `Traceback (most recent call last):`, indented frame lines, the chaining
    /// sentences, and, inside a traceback, the closing `SomeError: message` line.
    mutating func pythonStarts(_ line: UnsafeRawBufferPointer) -> Bool {
        let c = line[0]
        if Self.isBlank(c) { return false }
        if c == UInt8(ascii: "T"), Self.hasPrefix(line, "Traceback (most recent call last):") {
            inTraceback = true
            return false
        }
        if c == UInt8(ascii: "D"), Self.hasPrefix(line, "During handling of the above exception") { return false }
        if c == UInt8(ascii: "T"), Self.hasPrefix(line, "The above exception was the direct cause") { return false }
        if inTraceback, Self.isPythonExceptionLine(line) {
            inTraceback = false
            return false
        }
        inTraceback = false
        return true
    }

    /// `Name` or `dotted.Name: message` (an identifier path, then `:` or the end).
    static func isPythonExceptionLine(_ line: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = line.count
        while i < n, line[i] != UInt8(ascii: ":") {
            let c = line[i]
            guard FieldNames.isLetter(c) || FieldNames.isDigit(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
            else { return false }
            i += 1
        }
        return i > 0
    }

    /// Go: `panic: …` and `fatal error: …` begin a record; inside one, `goroutine N […]:`,
    /// frame lines (ending in `)`), indented file lines, `created by …`, `[signal …` and
    /// `exit status N` continue it.
    mutating func goStarts(_ line: UnsafeRawBufferPointer) -> Bool {
        let c = line[0]
        if c == UInt8(ascii: "p"), Self.hasPrefix(line, "panic: ") {
            inPanic = true
            return true
        }
        if c == UInt8(ascii: "f"), Self.hasPrefix(line, "fatal error: ") {
            inPanic = true
            return true
        }
        guard inPanic else { return true }
        if Self.isBlank(c) || line[line.count - 1] == UInt8(ascii: ")") { return false }
        if Self.hasPrefix(line, "goroutine ") || Self.hasPrefix(line, "created by ") || Self.hasPrefix(line, "[signal ")
            || Self.hasPrefix(line, "exit status ") || Self.hasPrefix(line, "...additional frames elided...")
        {
            return false
        }
        inPanic = false
        return true
    }

    /// The bytes a line can begin with for `pattern` to match it, when the pattern is anchored
    /// (`^`) and its first item is a plain character, `\d`, `\w`, `\s`-free escape or a simple
    /// class; nil when that cannot be told (then every line is asked of the regex).
    static func firstBytes(_ pattern: String) -> [Bool]? {
        let u = Array(pattern.utf8)
        guard u.count >= 2, u[0] == UInt8(ascii: "^") else { return nil }
        // Alternation at the top level or flags could make another first byte possible.
        var depth = 0
        var k = 0
        while k < u.count {
            switch u[k] {
            case UInt8(ascii: "\\"): k += 1
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"): depth -= 1
            case UInt8(ascii: "|") where depth == 0: return nil
            default: break
            }
            k += 1
        }
        var table = [Bool](repeating: false, count: 256)
        var i = 1
        let c = u[i]
        if c == UInt8(ascii: "\\") {
            guard i + 1 < u.count else { return nil }
            let e = u[i + 1]
            switch e {
            case UInt8(ascii: "d"): for b in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(b)] = true }
            case UInt8(ascii: "w"):
                for b in 0..<128 where FieldNames.isLetter(UInt8(b)) || FieldNames.isDigit(UInt8(b)) || b == 0x5F {
                    table[b] = true
                }
            default:
                // An escaped punctuation character stands for itself; letters are classes.
                guard e < 0x80, !FieldNames.isLetter(e), !FieldNames.isDigit(e) else { return nil }
                table[Int(e)] = true
            }
            i += 2
        } else if c == UInt8(ascii: "[") {
            guard i + 1 < u.count, u[i + 1] != UInt8(ascii: "^") else { return nil }
            var j = i + 1
            while j < u.count, u[j] != UInt8(ascii: "]") {
                let a = u[j]
                guard a < 0x80, a != UInt8(ascii: "\\"), a != UInt8(ascii: "[") else { return nil }
                if j + 2 < u.count, u[j + 1] == UInt8(ascii: "-"), u[j + 2] != UInt8(ascii: "]") {
                    let b = u[j + 2]
                    guard b < 0x80, a <= b else { return nil }
                    for x in a...b { table[Int(x)] = true }
                    j += 3
                } else {
                    table[Int(a)] = true
                    j += 1
                }
            }
            guard j < u.count else { return nil }
            i = j + 1
        } else if c < 0x80,
            FieldNames.isLetter(c) || FieldNames.isDigit(c) || c == 0x20 || c == UInt8(ascii: "<")
                || c == UInt8(ascii: "-")
                || c == UInt8(ascii: "=") || c == UInt8(ascii: "#") || c == UInt8(ascii: "/") || c == UInt8(ascii: ":")
                || c == UInt8(ascii: "@")
        {
            table[Int(c)] = true
            i += 1
        } else {
            return nil
        }
        // A quantifier that allows zero of the first item makes any first byte possible.
        if i < u.count, u[i] == UInt8(ascii: "?") || u[i] == UInt8(ascii: "*") { return nil }
        if i + 1 < u.count, u[i] == UInt8(ascii: "{"), u[i + 1] == UInt8(ascii: "0") { return nil }
        return table
    }
}

/// An anchored start regex made only of single characters, `\d`, `\w`, `\s`, escaped
/// punctuation and simple classes, each once or `{n}` times (`^\d{4}-\d\d-\d\d `,
/// `^\[\d{2}:\d{2}`), run on bytes: most start patterns, at byte speed. A non-ASCII byte
/// where the pattern checks one is left to the regex (ICU's `\d` and `\w` take other digits
/// and letters too), so the answer is always the regex's.
struct PrefixProgram {
    private var steps: [[Bool]] = []  // per byte position: the bytes allowed there
    private var wholeLine = false  // the pattern ends with `$`

    init?(_ pattern: String) {
        let u = Array(pattern.utf8)
        guard u.count >= 2, u[0] == UInt8(ascii: "^") else { return nil }
        var i = 1
        while i < u.count {
            var set = [Bool](repeating: false, count: 256)
            let c = u[i]
            if c == UInt8(ascii: "$"), i == u.count - 1 {
                wholeLine = true
                break
            }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < u.count else { return nil }
                let e = u[i + 1]
                switch e {
                case UInt8(ascii: "d"): for b in UInt8(ascii: "0")...UInt8(ascii: "9") { set[Int(b)] = true }
                case UInt8(ascii: "w"):
                    for b in 0..<128 where FieldNames.isLetter(UInt8(b)) || FieldNames.isDigit(UInt8(b)) || b == 0x5F {
                        set[b] = true
                    }
                case UInt8(ascii: "s"): for b: UInt8 in [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D] { set[Int(b)] = true }
                default:
                    guard e < 0x80, !FieldNames.isLetter(e), !FieldNames.isDigit(e) else { return nil }
                    set[Int(e)] = true
                }
                i += 2
            } else if c == UInt8(ascii: "[") {
                var j = i + 1
                guard j < u.count, u[j] != UInt8(ascii: "^") else { return nil }
                while j < u.count, u[j] != UInt8(ascii: "]") {
                    let a = u[j]
                    guard a < 0x80, a != UInt8(ascii: "\\"), a != UInt8(ascii: "[") else { return nil }
                    if j + 2 < u.count, u[j + 1] == UInt8(ascii: "-"), u[j + 2] != UInt8(ascii: "]") {
                        let b = u[j + 2]
                        guard b < 0x80, a <= b, !(a < 0x41 && b >= 0x61) else { return nil }
                        for x in a...b { set[Int(x)] = true }
                        j += 3
                    } else {
                        set[Int(a)] = true
                        j += 1
                    }
                }
                guard j < u.count else { return nil }
                i = j + 1
            } else if c < 0x80,
                FieldNames.isLetter(c) || FieldNames.isDigit(c) || c == 0x20 || c == UInt8(ascii: "-")
                    || c == UInt8(ascii: ":") || c == UInt8(ascii: "/") || c == UInt8(ascii: "<")
                    || c == UInt8(ascii: "=")
                    || c == UInt8(ascii: "#") || c == UInt8(ascii: "@") || c == UInt8(ascii: ",")
                    || c == UInt8(ascii: "_")
            {
                set[Int(c)] = true
                i += 1
            } else {
                return nil
            }
            var times = 1
            if i < u.count, u[i] == UInt8(ascii: "{") {
                guard let close = u[i...].firstIndex(of: UInt8(ascii: "}")), close > i + 1,
                    let n = Int(String(decoding: u[(i + 1)..<close], as: UTF8.self)), n >= 1, n <= 64
                else { return nil }
                times = n
                i = close + 1
            }
            if i < u.count, [UInt8(ascii: "?"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "{")].contains(u[i])
            {
                return nil
            }
            for _ in 0..<times { steps.append(set) }
        }
        if steps.isEmpty { return nil }
    }

    /// true or false as the regex would answer; nil when a non-ASCII byte makes it unsure.
    @inline(__always)
    func matches(_ line: UnsafeRawBufferPointer) -> Bool? {
        if line.count < steps.count { return false }
        for k in 0..<steps.count {
            let b = line[k]
            if !steps[k][Int(b)] { return b >= 0x80 ? nil : false }
        }
        if wholeLine, line.count != steps.count {
            // ICU's `$` also matches before a final line terminator such as a lone `\r`.
            let next = line[steps.count]
            return next >= 0x80 || next == 0x0D ? nil : false
        }
        return true
    }
}
