import Foundation

/// Settles where a run sends and with which key: flags first, then LOGSHIP_* environment
/// variables, then the pipeline file (DESIGN.md "Credentials"). Errors never show a secret.
public enum CredentialResolver {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public struct DataCollector: Sendable {
        public var workspaceId: String
        public var sharedKey: Secret
        public var baseURL: URL
        public init(workspaceId: String, sharedKey: Secret, baseURL: URL) {
            self.workspaceId = workspaceId
            self.sharedKey = sharedKey
            self.baseURL = baseURL
        }
    }

    public static func dataCollector(_ spec: PipelineSpec, endpointFlag: String?, environment: [String: String]) throws(Failure) -> DataCollector {
        let t = spec.target
        func pick(_ envName: String, _ fileValue: ConfigValue?, _ key: String, what: String) throws(Failure) -> String {
            if let v = environment[envName], !v.isEmpty { return v }
            switch fileValue {
            case .value(let v)? where !v.isEmpty: return v
            case .unsetVariable(let name)?:
                throw Failure(description: "\(spec.file.lastPathComponent): target.\(key): environment variable \(name) is not set (nor is \(envName)); set one of them to the \(what)")
            default:
                throw Failure(description: "no \(what): set \(envName) or target.\(key) in \(spec.file.lastPathComponent) (e.g. \"${\(envName)}\")")
            }
        }
        let workspaceId = try pick("LOGSHIP_WORKSPACE_ID", t.workspaceId, "workspaceId", what: "workspace id")
        let key = try pick("LOGSHIP_SHARED_KEY", t.sharedKey, "sharedKey", what: "workspace shared key")
        guard EmulatorInference.isGUID(workspaceId) else {
            throw Failure(description: "the workspace id \"\(workspaceId)\" is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx); copy it from the workspace's Agents page")
        }
        guard let decoded = Data(base64Encoded: key.trimmingCharacters(in: .whitespacesAndNewlines)), !decoded.isEmpty else {
            throw Failure(description: "the shared key is not valid base64; copy the workspace's primary or secondary key")
        }
        var endpoint: String? = endpointFlag
        var source = "--endpoint"
        if endpoint == nil, let e = environment["LOGSHIP_ENDPOINT"], !e.isEmpty {
            endpoint = e
            source = "LOGSHIP_ENDPOINT"
        }
        if endpoint == nil {
            switch t.endpoint {
            case .value(let v)?:
                endpoint = v
                source = "target.endpoint"
            case .unsetVariable(let name)?:
                throw Failure(description: "\(spec.file.lastPathComponent): target.endpoint: environment variable \(name) is not set (nor is LOGSHIP_ENDPOINT)")
            case nil: break
            }
        }
        let base: URL
        if let e = endpoint {
            if let problem = Context.endpointProblem(e) { throw Failure(description: "\(source): \(problem)") }
            base = URL(string: e)!
        } else {
            guard let u = DataCollectorTarget.baseURL(workspaceId: workspaceId, cloud: t.cloud) else {
                throw Failure(description: "target.cloud \"\(t.cloud)\" is unknown")
            }
            base = u
        }
        return DataCollector(workspaceId: workspaceId, sharedKey: Secret(key), baseURL: base)
    }
}
