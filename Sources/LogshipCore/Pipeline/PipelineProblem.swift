import Foundation

/// Something wrong (or worth a warning) in a pipeline file, located by file, line, column
/// and key path: `nginx.json5:14:15: fields.map.Status.type: …`.
public struct PipelineProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }
    public var severity: Severity
    public var file: String
    public var line: Int?
    public var column: Int?
    public var path: String
    public var message: String

    public init(_ severity: Severity, file: String, line: Int?, column: Int?, path: String, message: String) {
        self.severity = severity
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    public var description: String {
        var s = file
        if let l = line { s += ":\(l)" + (column.map { ":\($0)" } ?? "") }
        s += ": "
        if severity == .warning { s += "warning: " }
        if !path.isEmpty { s += "\(path): " }
        return s + message
    }
}

/// Everything wrong with a pipeline file, in file order.
public struct PipelineErrors: Error, Sendable, CustomStringConvertible {
    public var problems: [PipelineProblem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

enum Suggest {
    /// The candidate closest to `word` if it is close enough to be a likely typo.
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        var best: (String, Int)? = nil
        for c in candidates {
            let d = distance(word.lowercased(), c.lowercased())
            if best == nil || d < best!.1 { best = (c, d) }
        }
        guard let (c, d) = best else { return nil }
        return d <= max(1, min(3, word.count / 3)) ? c : nil
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var prev = Array(0...y.count)
        var cur = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            cur[0] = i
            for j in 1...y.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[y.count]
    }

    /// ` (did you mean "x"?)` or nothing.
    static func hint(_ word: String, _ candidates: [String]) -> String {
        nearest(word, in: candidates).map { " (did you mean \"\($0)\"?)" } ?? ""
    }
}
