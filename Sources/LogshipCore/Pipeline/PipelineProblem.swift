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
