import Foundation
import LogshipSupport

/// Settles where a run sends and with which key: flags first, then environment variables
/// (LOGSHIP_*, and the Azure SDK's AZURE_* for the Logs Ingestion API; the value variables before
/// the `_FILE` ones), then systemd's `$CREDENTIALS_DIRECTORY`, then the pipeline file
/// (docs/commands.md "Credentials"). Errors never show a secret, nor a secret file's contents.
public enum CredentialResolver {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public struct DataCollector: Sendable {
        public var workspaceId: String
        public var sharedKey: Secret
        public var baseURL: URL
        /// Said once at start (a secret file readable by group or others); the run goes on.
        public var warnings: [String]
        public init(workspaceId: String, sharedKey: Secret, baseURL: URL, warnings: [String] = []) {
            self.workspaceId = workspaceId
            self.sharedKey = sharedKey
            self.baseURL = baseURL
            self.warnings = warnings
        }
    }

    public static func dataCollector(_ spec: PipelineSpec, endpointFlag: String?, environment: [String: String])
        throws(Failure) -> DataCollector
    {
        let t = spec.target
        func pick(_ envName: String, _ fileValue: ConfigValue?, _ key: String, what: String) throws(Failure) -> String {
            if let v = environment[envName], !v.isEmpty { return v }
            switch fileValue {
            case .value(let v)? where !v.isEmpty: return v
            case .unsetVariable(let name)?:
                throw Failure(
                    description:
                        "\(spec.file.lastPathComponent): target.\(key): environment variable \(name) is not set (nor is \(envName)); set one of them to the \(what)"
                )
            default:
                throw Failure(
                    description:
                        "no \(what): set \(envName) or target.\(key) in \(spec.file.lastPathComponent) (e.g. \"${\(envName)}\")"
                )
            }
        }
        let workspaceId = try pick("LOGSHIP_WORKSPACE_ID", t.workspaceId, "workspaceId", what: "workspace id")
        var warnings: [String] = []
        let found = try secret(
            variables: ["LOGSHIP_SHARED_KEY"], fileVariable: "LOGSHIP_SHARED_KEY_FILE",
            credential: "logship-shared-key",
            key: "sharedKey", value: t.sharedKey, fileKey: "sharedKeyFile", file: t.sharedKeyFile,
            spec: spec, environment: environment, warnings: &warnings)
        guard let (key, origin) = found else {
            let file = spec.file.lastPathComponent
            if case .unsetVariable(let name)? = t.sharedKey {
                throw Failure(
                    description:
                        "\(file): target.sharedKey: environment variable \(name) is not set (nor is LOGSHIP_SHARED_KEY); set one of them to the workspace shared key, or LOGSHIP_SHARED_KEY_FILE to a file holding it"
                )
            }
            if case .unsetVariable(let name)? = t.sharedKeyFile {
                throw Failure(
                    description:
                        "\(file): target.sharedKeyFile: environment variable \(name) is not set (nor is LOGSHIP_SHARED_KEY or LOGSHIP_SHARED_KEY_FILE); set it to the path of a file holding the workspace shared key"
                )
            }
            throw Failure(
                description:
                    "no workspace shared key: set LOGSHIP_SHARED_KEY or target.sharedKey in \(file) (e.g. \"${LOGSHIP_SHARED_KEY}\"), or keep the key in a file: LOGSHIP_SHARED_KEY_FILE, target.sharedKeyFile or the systemd credential logship-shared-key"
            )
        }
        guard GUIDText.isValid(workspaceId) else {
            throw Failure(
                description:
                    "the workspace id \"\(workspaceId)\" is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx); copy it from the workspace's Agents page"
            )
        }
        guard let decoded = Data(base64Encoded: key.value.trimmingCharacters(in: .whitespacesAndNewlines)),
            !decoded.isEmpty
        else {
            throw Failure(
                description:
                    "the shared key (from \(origin)) is not valid base64; copy the workspace's primary or secondary key"
            )
        }
        let base: URL
        if let e = try endpoint(
            flag: endpointFlag, environment: environment, file: t.endpoint, fileName: spec.file.lastPathComponent,
            what: "")
        {
            base = e
        } else {
            guard let u = DataCollectorTarget.baseURL(workspaceId: workspaceId, cloud: t.cloud) else {
                throw Failure(description: "target.cloud \"\(t.cloud)\" is unknown")
            }
            base = u
        }
        return DataCollector(workspaceId: workspaceId, sharedKey: key, baseURL: base, warnings: warnings)
    }

    /// One secret from the chain: the value variables, then the `_FILE` variable, then
    /// `$CREDENTIALS_DIRECTORY/<credential>` (systemd's LoadCredential=), then the pipeline's key or
    /// its file. Returns the secret and where it came from (for messages), or nil when nothing
    /// supplies it, for the caller to say what to set. A file is read here, once, at start.
    static func secret(
        variables: [String], fileVariable: String, credential: String,
        key: String, value: ConfigValue?, fileKey: String, file: ConfigValue?,
        spec: PipelineSpec, environment: [String: String], warnings: inout [String]
    ) throws(Failure) -> (Secret, String)? {
        func set(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func load(_ path: String, _ origin: String) throws(Failure) -> (Secret, String) {
            do {
                let loaded = try SecretFile.read(path, origin: origin)
                if let w = loaded.warning { warnings.append(w) }
                return (loaded.secret, origin)
            } catch {
                throw Failure(description: error.description)
            }
        }
        // A value and a file in one place: which was meant is a guess (the pipeline's pair is a
        // load error, PipelineSchema+Target).
        if let v = variables.first, set(v) != nil, set(fileVariable) != nil {
            throw Failure(description: "\(v) and \(fileVariable) are both set; unset one of them")
        }
        for name in variables { if let v = set(name) { return (Secret(v), name) } }
        // From the environment a relative path is the working directory's, as in any shell.
        if let path = set(fileVariable) { return try load(path, fileVariable) }
        if let dir = set("CREDENTIALS_DIRECTORY") {
            let path = URL(fileURLWithPath: dir).appendingPathComponent(credential).path
            // The directory holds only the credentials the unit loads; without this one, go on.
            if (try? FileManager.default.attributesOfItem(atPath: path)) != nil {
                return try load(path, "$CREDENTIALS_DIRECTORY/\(credential)")
            }
        }
        if case .value(let v)? = value, !v.isEmpty { return (Secret(v), "target.\(key)") }
        if case .value(let p)? = file, !p.isEmpty {
            // Relative to the pipeline's folder, like every path in it.
            let path = p.hasPrefix("/") ? p : spec.baseDirectory.appendingPathComponent(p).standardizedFileURL.path
            return try load(path, "target.\(fileKey)")
        }
        return nil
    }

    /// Everything a Logs Ingestion target needs; the secret stays a `Secret`.
    public struct LogsIngestion: Sendable {
        public var endpoint: URL
        public var dcrImmutableId: String
        public var stream: String
        public var tenantId: String
        public var clientId: String
        public var credential: TokenProvider.Credential
        public var authorityHost: URL
        public var scope: String
        /// Said once at start (a secret file readable by group or others); the run goes on.
        public var warnings: [String] = []
        public init(
            endpoint: URL, dcrImmutableId: String, stream: String, tenantId: String, clientId: String,
            credential: TokenProvider.Credential, authorityHost: URL, scope: String, warnings: [String] = []
        ) {
            self.warnings = warnings
            self.endpoint = endpoint
            self.dcrImmutableId = dcrImmutableId
            self.stream = stream
            self.tenantId = tenantId
            self.clientId = clientId
            self.credential = credential
            self.authorityHost = authorityHost
            self.scope = scope
        }
    }

    /// The Logs Ingestion API's endpoint and Entra ID credentials. Each value: the flag (only
    /// `--endpoint`), then the environment (LOGSHIP_* before the Azure SDK's AZURE_* names, which
    /// Kubernetes workload identity sets), then the pipeline file. A client secret, wherever it
    /// comes from, wins over a federated token file.
    ///
    /// Last in the chain, when none of those names a credential and `az` is on PATH: the Azure
    /// CLI's sign-in (tenant id optional, no client id). `scope`: the token's scope, by default
    /// the cloud's Azure Monitor one (`logship dcr --apply` asks for the ARM scope).
    public static func logsIngestion(
        _ spec: PipelineSpec, endpointFlag: String?, environment: [String: String], scope: String? = nil
    ) throws(Failure) -> LogsIngestion {
        let t = spec.target
        let file = spec.file.lastPathComponent
        /// The first non-empty value; nil when none is set. An unset `${VAR}` in the file is an error
        /// only when nothing else supplies the value, and then it names the variable.
        func pick(_ envNames: [String], _ fileValue: ConfigValue?, _ key: String, required what: String?)
            throws(Failure) -> (String, String)?
        {
            for n in envNames { if let v = environment[n], !v.isEmpty { return (v, n) } }
            switch fileValue {
            case .value(let v)? where !v.isEmpty: return (v, "target.\(key)")
            case .unsetVariable(let name)?:
                guard let what else { return nil }
                let others = envNames.filter { $0 != name }
                let nor = others.isEmpty ? "" : " (nor is \(others.joined(separator: " or ")))"
                throw Failure(
                    description:
                        "\(file): target.\(key): environment variable \(name) is not set\(nor); set \(others.isEmpty ? "it" : "one of them") to the \(what)"
                )
            default:
                guard let what else { return nil }
                throw Failure(
                    description:
                        "no \(what): set \(envNames.joined(separator: " or ")) or target.\(key) in \(file) (e.g. \"${\(envNames[0])}\")"
                )
            }
        }
        guard let dcr = t.dcrImmutableId, let stream = t.stream else {
            throw Failure(
                description: "\(file): target.dcrImmutableId and target.stream are required for api \"logs-ingestion\"")
        }
        if t.managedIdentity {
            var r = try managedIdentity(
                spec, dcr: dcr, stream: stream, endpointFlag: endpointFlag, environment: environment, pick: pick)
            if let scope { r.scope = scope }
            return r
        }
        if let az = try azureCLI(spec, environment: environment, pick: pick) {
            let endpointURL = try ingestionEndpoint(t, flag: endpointFlag, environment: environment, file: file)
            guard let s = scope ?? TokenProvider.scope(cloud: t.cloud) else {
                throw Failure(description: "target.cloud \"\(t.cloud)\" is unknown")
            }
            return LogsIngestion(
                endpoint: endpointURL, dcrImmutableId: dcr, stream: stream, tenantId: az.tenantId ?? "", clientId: "",
                credential: .azureCLI(az), authorityHost: endpointURL, scope: s)
        }
        let tenant =
            try pick(["LOGSHIP_TENANT_ID", "AZURE_TENANT_ID"], t.tenantId, "tenantId", required: "Entra ID tenant id")?
            .0 ?? ""
        let client =
            try pick(
                ["LOGSHIP_CLIENT_ID", "AZURE_CLIENT_ID"], t.clientId, "clientId", required: "application (client) id")?
            .0 ?? ""
        // The tenant goes into the token URL's path; a GUID or a domain name, nothing else.
        guard !tenant.isEmpty,
            tenant.utf8.allSatisfy({ FieldNames.isLetter($0) || FieldNames.isDigit($0) || $0 == 0x2D || $0 == 0x2E })
        else {
            throw Failure(
                description:
                    "the tenant id \"\(tenant)\" is neither a GUID nor a domain name (contoso.onmicrosoft.com); copy it from the Entra ID overview page"
            )
        }
        guard GUIDText.isValid(client) else {
            throw Failure(
                description:
                    "the client id \"\(client)\" is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx); copy the application (client) id of the app registration"
            )
        }

        let credential: TokenProvider.Credential
        var warnings: [String] = []
        let fileNames = ["AZURE_FEDERATED_TOKEN_FILE"]
        let found = try secret(
            variables: ["LOGSHIP_CLIENT_SECRET", "AZURE_CLIENT_SECRET"], fileVariable: "LOGSHIP_CLIENT_SECRET_FILE",
            credential: "logship-client-secret", key: "clientSecret", value: t.clientSecret,
            fileKey: "clientSecretFile",
            file: t.clientSecretFile, spec: spec, environment: environment, warnings: &warnings)
        if let (secret, _) = found {
            credential = .clientSecret(secret)
        } else if let (path, source) = try pick(fileNames, t.federatedTokenFile, "federatedTokenFile", required: nil) {
            // A path in the pipeline file is relative to it; one from the environment to the working directory.
            let url =
                source.hasPrefix("target.") && !path.hasPrefix("/")
                ? spec.baseDirectory.appendingPathComponent(path).standardizedFileURL : URL(fileURLWithPath: path)
            credential = .federatedTokenFile(url)
        } else {
            var unset: [String] = []
            if case .unsetVariable(let n)? = t.clientSecret { unset.append("target.clientSecret's ${\(n)}") }
            if case .unsetVariable(let n)? = t.clientSecretFile { unset.append("target.clientSecretFile's ${\(n)}") }
            if case .unsetVariable(let n)? = t.federatedTokenFile {
                unset.append("target.federatedTokenFile's ${\(n)}")
            }
            throw Failure(
                description: """
                    no client credential: set LOGSHIP_CLIENT_SECRET (or AZURE_CLIENT_SECRET) to the application's client secret \
                    (or LOGSHIP_CLIENT_SECRET_FILE to a file holding it, or the systemd credential logship-client-secret), \
                    or AZURE_FEDERATED_TOKEN_FILE for workload identity, or target.clientSecret / target.clientSecretFile / \
                    target.federatedTokenFile in \(file)\
                    \(unset.isEmpty ? "" : " (\(unset.joined(separator: " and ")) is not set)")
                    """)
        }

        let endpointURL = try ingestionEndpoint(t, flag: endpointFlag, environment: environment, file: file)

        var authority: URL
        if let a = environment["AZURE_AUTHORITY_HOST"], !a.isEmpty {
            if let problem = Context.endpointProblem(a) {
                throw Failure(description: "AZURE_AUTHORITY_HOST: \(problem)")
            }
            guard let u = URL(string: a) else { throw Failure(description: "AZURE_AUTHORITY_HOST: not a URL") }
            authority = u
        } else if let a = t.authorityHost, let u = URL(string: a) {
            authority = u
        } else if let u = TokenProvider.authorityHost(cloud: t.cloud) {
            authority = u
        } else {
            throw Failure(description: "target.cloud \"\(t.cloud)\" is unknown")
        }
        // Workload identity writes the host with a trailing slash; the token URL adds its own.
        if authority.absoluteString.hasSuffix("/"), let u = URL(string: String(authority.absoluteString.dropLast())) {
            authority = u
        }
        guard let scope = scope ?? TokenProvider.scope(cloud: t.cloud) else {
            throw Failure(description: "target.cloud \"\(t.cloud)\" is unknown")
        }
        return LogsIngestion(
            endpoint: endpointURL, dcrImmutableId: dcr, stream: stream, tenantId: tenant, clientId: client,
            credential: credential, authorityHost: authority, scope: scope, warnings: warnings)
    }

    /// The Azure CLI credential when nothing else is configured: no client secret (value, file or
    /// systemd credential), no federated token file; and `az` on PATH. nil otherwise.
    static func azureCLI(
        _ spec: PipelineSpec, environment: [String: String],
        pick: ([String], ConfigValue?, String, String?) throws(Failure) -> (String, String)?
    ) throws(Failure) -> AzureCLICredential? {
        let t = spec.target
        func set(_ n: String) -> Bool { !(environment[n] ?? "").isEmpty }
        if ["LOGSHIP_CLIENT_SECRET", "AZURE_CLIENT_SECRET", "LOGSHIP_CLIENT_SECRET_FILE", "AZURE_FEDERATED_TOKEN_FILE"]
            .contains(where: set)
        {
            return nil
        }
        if let dir = environment["CREDENTIALS_DIRECTORY"], !dir.isEmpty,
            FileManager.default.fileExists(
                atPath: URL(fileURLWithPath: dir).appendingPathComponent("logship-client-secret").path)
        {
            return nil
        }
        // Written in the pipeline (even as an unset ${VAR}): that credential is meant, and its error is the one to show.
        if t.clientSecret != nil || t.clientSecretFile != nil || t.federatedTokenFile != nil { return nil }
        guard let exe = AzureCLICredential.find(environment: environment) else { return nil }
        let tenant = (try? pick(["LOGSHIP_TENANT_ID", "AZURE_TENANT_ID"], t.tenantId, "tenantId", nil))??.0
        return AzureCLICredential(executable: exe, tenantId: tenant)
    }

    /// `target.managedIdentity: true`: the host's identity. App Service, Functions and Container
    /// Apps announce theirs with IDENTITY_ENDPOINT and IDENTITY_HEADER; otherwise the instance
    /// metadata service answers (AZURE_POD_IDENTITY_AUTHORITY_HOST moves it, as in the Azure SDKs).
    /// A client id (LOGSHIP_CLIENT_ID, AZURE_CLIENT_ID or target.clientId) picks a user-assigned identity.
    static func managedIdentity(
        _ spec: PipelineSpec, dcr: String, stream: String, endpointFlag: String?, environment: [String: String],
        pick: ([String], ConfigValue?, String, String?) throws(Failure) -> (String, String)?
    ) throws(Failure) -> LogsIngestion {
        let t = spec.target
        let file = spec.file.lastPathComponent
        if case .unsetVariable(let name)? = t.clientId, environment["LOGSHIP_CLIENT_ID"].map({ $0.isEmpty }) ?? true,
            environment["AZURE_CLIENT_ID"].map({ $0.isEmpty }) ?? true
        {
            throw Failure(
                description:
                    "\(file): target.clientId: environment variable \(name) is not set (nor is LOGSHIP_CLIENT_ID or AZURE_CLIENT_ID); set it to the user-assigned identity's client id, or remove target.clientId to use the system-assigned identity"
            )
        }
        let client = try pick(["LOGSHIP_CLIENT_ID", "AZURE_CLIENT_ID"], t.clientId, "clientId", nil)?.0
        if let client, !GUIDText.isValid(client) {
            throw Failure(
                description:
                    "the client id \"\(client)\" is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx); copy the user-assigned managed identity's client id"
            )
        }
        func hostURL(_ text: String, _ name: String) throws(Failure) -> URL {
            guard let u = URL(string: text), let scheme = u.scheme?.lowercased(), let host = u.host?.lowercased() else {
                throw Failure(description: "\(name): \"\(text)\" is not a URL")
            }
            // The host's own endpoints are plain http on loopback or link-local addresses.
            let local = host == "127.0.0.1" || host == "localhost" || host == "::1" || host.hasPrefix("169.254.")
            guard scheme == "https" || (scheme == "http" && local) else {
                throw Failure(
                    description:
                        "\(name): \"\(text)\": plain http is allowed only to a loopback or link-local (169.254.x.x) address; use https"
                )
            }
            return u
        }
        let mi: TokenProvider.ManagedIdentity
        let identityEndpoint = environment["IDENTITY_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
        let identityHeader = environment["IDENTITY_HEADER"].flatMap { $0.isEmpty ? nil : $0 }
        let imdsEndpoint = environment["IMDS_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
        if identityEndpoint != nil, identityHeader != nil,
            environment["IDENTITY_SERVER_THUMBPRINT"].map({ !$0.isEmpty }) ?? false
        {
            throw Failure(
                description:
                    "IDENTITY_SERVER_THUMBPRINT is set (a Service Fabric managed identity): logship does not take tokens from Service Fabric; use a client secret or workload identity there"
            )
        } else if let e = identityEndpoint, let h = identityHeader {
            mi = .init(endpoint: .appService(try hostURL(e, "IDENTITY_ENDPOINT"), header: Secret(h)), clientId: client)
        } else if let e = identityEndpoint, imdsEndpoint != nil {
            if let client {
                throw Failure(
                    description:
                        "an Azure Arc-enabled server has only its system-assigned identity; remove the client id \(client) (LOGSHIP_CLIENT_ID, AZURE_CLIENT_ID or target.clientId)"
                )
            }
            let dir =
                environment["LOGSHIP_ARC_KEY_DIR"].flatMap { $0.isEmpty ? nil : $0 }
                ?? TokenProvider.ManagedIdentity.arcKeyDirectory
            mi = .init(endpoint: .arc(try hostURL(e, "IDENTITY_ENDPOINT"), keyDirectory: dir), clientId: nil)
        } else if identityEndpoint != nil {
            throw Failure(
                description:
                    "IDENTITY_ENDPOINT is set without IDENTITY_HEADER or IMDS_ENDPOINT: not an identity endpoint logship knows (App Service sets IDENTITY_HEADER, Azure Arc IMDS_ENDPOINT)"
            )
        } else if let host = environment["AZURE_POD_IDENTITY_AUTHORITY_HOST"], !host.isEmpty {
            mi = .init(endpoint: .imds(try hostURL(host, "AZURE_POD_IDENTITY_AUTHORITY_HOST")), clientId: client)
        } else {
            mi = .init(endpoint: .imds(TokenProvider.ManagedIdentity.imdsHost), clientId: client)
        }
        let endpointURL = try ingestionEndpoint(t, flag: endpointFlag, environment: environment, file: file)
        guard let scope = TokenProvider.scope(cloud: t.cloud) else {
            throw Failure(description: "target.cloud \"\(t.cloud)\" is unknown")
        }
        let tokenHost: URL
        switch mi.endpoint {
        case .imds(let u): tokenHost = u
        case .appService(let u, _): tokenHost = u
        case .arc(let u, _): tokenHost = u
        }
        return LogsIngestion(
            endpoint: endpointURL, dcrImmutableId: dcr, stream: stream, tenantId: "", clientId: client ?? "",
            credential: .managedIdentity(mi), authorityHost: tokenHost, scope: scope)
    }

    /// The Logs Ingestion endpoint (a data collection endpoint) by `endpoint`'s order; required.
    static func ingestionEndpoint(
        _ t: TargetSpec, flag: String?, environment: [String: String], file: String
    ) throws(Failure) -> URL {
        let dce = "; set it to the data collection endpoint (https://<name>.<region>.ingest.monitor.azure.com)"
        guard let url = try endpoint(flag: flag, environment: environment, file: t.endpoint, fileName: file, what: dce)
        else {
            throw Failure(
                description:
                    "no endpoint: set target.endpoint in \(file) to the data collection endpoint (https://<name>.<region>.ingest.monitor.azure.com), or LOGSHIP_ENDPOINT"
            )
        }
        return url
    }

    /// The endpoint in the contract's order: `--endpoint`, then `LOGSHIP_ENDPOINT`, then
    /// `target.endpoint`; nil when none is given. `what` ends the unset-variable message.
    static func endpoint(
        flag: String?, environment: [String: String], file value: ConfigValue?, fileName: String, what: String
    ) throws(Failure) -> URL? {
        var text: String
        var source: String
        if let f = flag {
            (text, source) = (f, "--endpoint")
        } else if let e = environment["LOGSHIP_ENDPOINT"], !e.isEmpty {
            (text, source) = (e, "LOGSHIP_ENDPOINT")
        } else {
            switch value {
            case .value(let v)?: (text, source) = (v, "target.endpoint")
            case .unsetVariable(let name)?:
                throw Failure(
                    description:
                        "\(fileName): target.endpoint: environment variable \(name) is not set (nor is LOGSHIP_ENDPOINT)\(what)"
                )
            case nil: return nil
            }
        }
        if let problem = Context.endpointProblem(text) { throw Failure(description: "\(source): \(problem)") }
        guard let url = URL(string: text) else { throw Failure(description: "\(source): \"\(text)\" is not a URL") }
        return url
    }
}
