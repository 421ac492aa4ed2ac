import Foundation
import LogshipSupport

/// Builds the delivery target a pipeline sends to: settles the credential chain
/// (`CredentialResolver`: flags, environment, secret files, managed identity, the Azure CLI), then
/// the signer or token provider, the transports and the target. The CLI passes its options and
/// prints; `run --local` passes the credentials of the emulator it started instead.
public enum TargetFactory {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Where a target sends and with what: resolved from the chain, or given (the local emulator's).
    public enum Credentials: Sendable {
        case dataCollector(CredentialResolver.DataCollector)
        case logsIngestion(CredentialResolver.LogsIngestion)
    }

    /// The transport for an endpoint and a connection count; by default `Transports.for`.
    public typealias TransportChoice = @Sendable (URL, Int) -> HTTPTransport
    public static let defaultTransport: TransportChoice = { Transports.for($0, concurrency: $1) }

    public struct Built: Sendable {
        public var target: any DeliveryTarget
        /// How the manifest and the summary name the destination.
        public var destination: String
        /// The credentials the target uses (what the chain chose, or the placeholders of a dry run).
        public var credentials: Credentials
        /// Said once at start (a secret file readable by others); the run goes on.
        public var warnings: [String]
    }

    /// - Parameters:
    ///   - endpoint: `--endpoint`, before the environment and the pipeline file.
    ///   - environment: the process's environment (tests pass their own).
    ///   - placeholderCredentials: a dry run may go without credentials (it never asks for a
    ///     token nor sends).
    ///   - local: credentials of an emulator the caller started; nothing is resolved.
    ///   - scope: the token scope; by default the cloud's Azure Monitor one.
    public static func make(
        _ pipeline: PipelineSpec, endpoint: String?, environment: [String: String], placeholderCredentials: Bool,
        local: Credentials? = nil, scope: String? = nil, transport: TransportChoice = defaultTransport
    ) throws(Failure) -> Built {
        switch pipeline.target.api {
        case .dataCollector:
            return try dataCollector(
                pipeline, endpoint: endpoint, environment: environment, placeholderCredentials: placeholderCredentials,
                local: local, transport: transport)
        case .logsIngestion:
            return try logsIngestion(
                pipeline, endpoint: endpoint, environment: environment, placeholderCredentials: placeholderCredentials,
                local: local, scope: scope, transport: transport)
        }
    }

    /// The Logs Ingestion token scope of the pipeline's cloud, with the check every
    /// logs-ingestion target needs; `run --local` asks before it starts its emulator.
    public static func logsIngestionScope(_ pipeline: PipelineSpec) throws(Failure) -> String {
        let t = pipeline.target
        guard t.dcrImmutableId != nil, t.stream != nil, let scope = TokenProvider.scope(cloud: t.cloud) else {
            throw Failure(
                description: "target: dcrImmutableId, stream and a known cloud are required for api \"logs-ingestion\"")
        }
        return scope
    }

    /// The credential chain's choice for the pipeline (flags, environment, secret files, managed
    /// identity, the Azure CLI): what `run` sends with (`make`) and what `validate` reports
    /// (`checkCredentials`). No network call.
    public static func resolve(
        _ pipeline: PipelineSpec, endpoint: String?, environment: [String: String], scope: String? = nil
    ) throws(Failure) -> Credentials {
        switch pipeline.target.api {
        case .dataCollector:
            return .dataCollector(try dataCollectorCredentials(pipeline, endpoint: endpoint, environment: environment))
        case .logsIngestion:
            return .logsIngestion(
                try logsIngestionCredentials(pipeline, endpoint: endpoint, environment: environment, scope: scope))
        }
    }

    /// What `validate` says of the credentials here, before anything is sent.
    public struct CredentialCheck: Sendable, Equatable {
        /// One line: the identity the chain chose, where it sends and where tokens come from; or
        /// why it chose none.
        public var summary: String
        /// The chain's warnings (a secret file readable by others), to print once.
        public var warnings: [String]
    }

    /// The chain's choice as `validate` reports it; credentials missing here are not an error
    /// (another machine, or `run --local`, may do without them).
    public static func checkCredentials(_ pipeline: PipelineSpec, environment: [String: String]) -> CredentialCheck {
        do {
            let c = try resolve(pipeline, endpoint: nil, environment: environment)
            return CredentialCheck(summary: c.summary, warnings: c.warnings)
        } catch {
            return CredentialCheck(
                summary: "credentials not set here (\(error.description)); `run --local` needs none", warnings: [])
        }
    }

    static func dataCollectorCredentials(
        _ pipeline: PipelineSpec, endpoint: String?, environment: [String: String]
    ) throws(Failure) -> CredentialResolver.DataCollector {
        do {
            return try CredentialResolver.dataCollector(pipeline, endpointFlag: endpoint, environment: environment)
        } catch {
            throw Failure(description: error.description)
        }
    }

    static func logsIngestionCredentials(
        _ pipeline: PipelineSpec, endpoint: String?, environment: [String: String], scope: String?
    ) throws(Failure) -> CredentialResolver.LogsIngestion {
        do {
            return try CredentialResolver.logsIngestion(
                pipeline, endpointFlag: endpoint, environment: environment, scope: scope)
        } catch {
            throw Failure(description: error.description)
        }
    }

    /// The pipeline's Entra ID credential chain for another service: `logship dcr --apply` asks
    /// Azure Resource Manager at `endpoint` with its scope.
    public static func tokens(
        _ pipeline: PipelineSpec, endpoint: String, environment: [String: String], scope: String, timeout: Double = 60,
        transport: TransportChoice = defaultTransport
    ) throws(Failure) -> (provider: TokenProvider, credentials: CredentialResolver.LogsIngestion) {
        let creds = try logsIngestionCredentials(pipeline, endpoint: endpoint, environment: environment, scope: scope)
        return (tokenProvider(creds, timeout: timeout, transport: transport), creds)
    }

    static func tokenProvider(
        _ creds: CredentialResolver.LogsIngestion, timeout: Double, transport: TransportChoice
    ) -> TokenProvider {
        TokenProvider(
            authorityHost: creds.authorityHost, tenantId: creds.tenantId, clientId: creds.clientId,
            credential: creds.credential, scope: creds.scope, transport: transport(creds.authorityHost, 1),
            timeout: timeout)
    }

    static func dataCollector(
        _ pipeline: PipelineSpec, endpoint: String?, environment env: [String: String], placeholderCredentials: Bool,
        local: Credentials?, transport: TransportChoice
    ) throws(Failure) -> Built {
        let creds: CredentialResolver.DataCollector
        if case .dataCollector(let c)? = local {
            creds = c
        } else {
            do {
                creds = try dataCollectorCredentials(pipeline, endpoint: endpoint, environment: env)
            } catch {
                guard placeholderCredentials else { throw error }
                creds = CredentialResolver.DataCollector(
                    workspaceId: "00000000-0000-0000-0000-000000000000", sharedKey: Secret("AAAA"),
                    baseURL: URL(string: "http://127.0.0.1:9")!)
            }
        }
        let signer: SharedKeySigner
        do {
            signer = try SharedKeySigner(workspaceId: creds.workspaceId, sharedKey: creds.sharedKey)
        } catch {
            // The chain checks the key's base64 and the placeholders are valid: not reached in practice.
            throw Failure(description: "\(error)")
        }
        let isLocal = local != nil
        var destination =
            isLocal ? "local emulator" : "data-collector \(creds.workspaceId) \(pipeline.target.logType)_CL"
        if !isLocal && (endpoint != nil || env["LOGSHIP_ENDPOINT"] != nil || pipeline.target.endpoint != nil) {
            destination += " at \(creds.baseURL.absoluteString)"
        }
        let target = DataCollectorTarget(
            baseURL: creds.baseURL, logType: pipeline.target.logType,
            timeGeneratedField: pipeline.target.timeGeneratedField, azureResourceId: pipeline.target.resourceId,
            signer: signer, transport: transport(creds.baseURL, pipeline.upload.concurrency),
            maxBodyBytes: pipeline.limits.maxBodyBytes, timeoutSeconds: pipeline.upload.timeoutSeconds)
        return Built(
            target: target, destination: destination, credentials: .dataCollector(creds), warnings: creds.warnings)
    }

    static func logsIngestion(
        _ pipeline: PipelineSpec, endpoint: String?, environment env: [String: String], placeholderCredentials: Bool,
        local: Credentials?, scope: String?, transport: TransportChoice
    ) throws(Failure) -> Built {
        let cloudScope = try logsIngestionScope(pipeline)
        let tokenScope = scope ?? cloudScope
        // logsIngestionScope checked both.
        let dcr = pipeline.target.dcrImmutableId ?? ""
        let stream = pipeline.target.stream ?? ""
        let creds: CredentialResolver.LogsIngestion
        if case .logsIngestion(let c)? = local {
            creds = c
        } else {
            do {
                creds = try logsIngestionCredentials(pipeline, endpoint: endpoint, environment: env, scope: scope)
            } catch {
                guard placeholderCredentials else { throw error }
                // A dry run never asks for a token or sends; these only fill the types.
                let nowhere = URL(string: "http://127.0.0.1:9")!
                creds = CredentialResolver.LogsIngestion(
                    endpoint: nowhere, dcrImmutableId: dcr, stream: stream,
                    tenantId: "00000000-0000-0000-0000-000000000000", clientId: "00000000-0000-0000-0000-000000000000",
                    credential: .clientSecret(Secret("")), authorityHost: nowhere, scope: tokenScope)
            }
        }
        let tokens = tokenProvider(creds, timeout: min(60, pipeline.upload.timeoutSeconds), transport: transport)
        // Several DCRs of the same stream and table: one target each, chunks spread over them.
        let sender = transport(creds.endpoint, pipeline.upload.concurrency)
        let ids = pipeline.target.dcrImmutableIds.count > 1 ? pipeline.target.dcrImmutableIds : [creds.dcrImmutableId]
        let members: [any DeliveryTarget] = ids.map { id in
            LogsIngestionTarget(
                endpoint: creds.endpoint, dcrImmutableId: id, stream: creds.stream, tokens: tokens,
                transport: sender, compress: pipeline.upload.compress, encoder: pipeline.upload.compression,
                maxBodyBytes: pipeline.limits.maxBodyBytes, timeoutSeconds: pipeline.upload.timeoutSeconds)
        }
        let target: any DeliveryTarget = members.count == 1 ? members[0] : SpreadTarget(members)
        let host = creds.endpoint.host ?? creds.endpoint.absoluteString
        let destination =
            local != nil ? "local emulator" : "logs-ingestion \(host) \(creds.dcrImmutableId) \(creds.stream)"
        return Built(
            target: target, destination: destination, credentials: .logsIngestion(creds), warnings: creds.warnings)
    }
}

extension TargetFactory.Credentials {
    /// The chain's warnings (a secret file readable by others).
    public var warnings: [String] {
        switch self {
        case .dataCollector(let c): return c.warnings
        case .logsIngestion(let c): return c.warnings
        }
    }

    /// One line naming the identity, the endpoint and where tokens come from (no secret).
    public var summary: String {
        switch self {
        case .dataCollector(let c):
            return "workspace \(c.workspaceId), endpoint \(c.baseURL.absoluteString)"
        case .logsIngestion(let c):
            let endpoint = c.endpoint.absoluteString
            let tokens = "tokens from \(c.authorityHost.absoluteString)"
            switch c.credential {
            case .clientSecret:
                return "tenant \(c.tenantId), client \(c.clientId) (client secret), endpoint \(endpoint), \(tokens)"
            case .federatedTokenFile(let f):
                return "tenant \(c.tenantId), client \(c.clientId) (federated token \(f.path)), "
                    + "endpoint \(endpoint), \(tokens)"
            case .azureCLI(let az):
                return "the Azure CLI's sign-in (\(az.executable) account get-access-token), endpoint \(endpoint)"
            case .managedIdentity(let mi):
                let who =
                    mi.clientId.map { "user-assigned managed identity \($0)" } ?? "system-assigned managed identity"
                let from: String
                switch mi.endpoint {
                case .imds(let host): from = "the instance metadata service \(host.absoluteString)"
                case .appService(let url, _): from = "IDENTITY_ENDPOINT \(url.absoluteString)"
                case .arc(let url, _): from = "the Azure Arc agent \(url.absoluteString)"
                }
                return "\(who), endpoint \(endpoint), tokens from \(from)"
            }
        }
    }
}
