import Foundation
import LogshipSupport

/// Reads a pipeline file into a `PipelineSpec`, collecting every problem with its location
/// and key path instead of stopping at the first.
public struct PipelineLoader {
    public static let presets = [
        "nginx-combined", "apache-common", "apache-combined", "syslog-rfc3164", "syslog-rfc5424", "raw",
    ]
    /// Keys whose `${VAR}` may be left unset in the file: flags or LOGSHIP_* variables can supply them.
    static let credentialKeys: Set<String> = [
        "target.workspaceId", "target.sharedKey", "target.sharedKeyFile", "target.endpoint", "target.tenantId",
        "target.clientId",
        "target.clientSecret", "target.clientSecretFile", "target.federatedTokenFile",
    ]

    public let environment: [String: String]
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    public struct Result: Sendable {
        public var spec: PipelineSpec?
        /// Errors and warnings; `spec` is nil when any is an error.
        public var problems: [PipelineProblem]
        public var errors: [PipelineProblem] { problems.filter { $0.severity == .error } }
        public var warnings: [PipelineProblem] { problems.filter { $0.severity == .warning } }
    }

    /// Loads and checks `url`. Never throws: unreadable files become problems too.
    public func load(_ url: URL) -> Result {
        let display = url.lastPathComponent
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            return Result(
                spec: nil,
                problems: [
                    .init(
                        .error, file: url.path, line: nil, column: nil, path: "",
                        message: "cannot read the pipeline file: \(Self.reason(error))")
                ])
        }
        let root: JSONNode
        do {
            root = try JSON5Reader.parse(data)
        } catch {
            return Result(
                spec: nil,
                problems: [
                    .init(
                        .error, file: display, line: error.line, column: error.column, path: "",
                        message: "syntax error: \(error.message)")
                ])
        }
        var ctx = Context(file: display, environment: environment)
        let spec = ctx.pipeline(root, url: url.standardizedFileURL)
        let problems = ctx.problems
        return Result(spec: problems.contains { $0.severity == .error } ? nil : spec, problems: problems)
    }

    static func reason(_ error: Error) -> String {
        if let e = error as? CocoaError, let u = e.underlying as? POSIXError { return u.localizedDescription }
        if let e = error as NSError?, let u = e.userInfo[NSUnderlyingErrorKey] as? NSError {
            return u.localizedDescription
        }
        return error.localizedDescription
    }
}
