import Foundation
import LogshipSupport
import LogshipCore
import LogshipEmulator

/// Where a command sends: the target, a description of the destination for the manifest,
/// and the in-process emulator when `--local`.
struct TargetSetup {
    var target: DeliveryTarget
    var destination: String
    var emulator: Emulator?
    var emulatorDataDir: URL?

    /// - Parameters:
    ///   - local: start an emulator with a throw-away key and send there.
    ///   - placeholderCredentials: a dry run may go without credentials.
    static func make(_ pipeline: PipelineSpec, endpoint: String?, local: Bool, localDataDir: URL?, placeholderCredentials: Bool) throws -> TargetSetup {
        switch pipeline.target.api {
        case .logsIngestion:
            return try logsIngestion(pipeline, endpoint: endpoint, local: local, localDataDir: localDataDir, placeholderCredentials: placeholderCredentials)
        case .dataCollector:
            var emulator: Emulator? = nil
            let creds: CredentialResolver.DataCollector
            let env = ProcessInfo.processInfo.environment
            if local {
                let workspace = UUID().uuidString.lowercased()
                var keyBytes = [UInt8](repeating: 0, count: 64)
                for i in keyBytes.indices { keyBytes[i] = UInt8.random(in: 0...255) }
                let key = Secret(Data(keyBytes).base64EncodedString())
                var config = EmulatorConfig(workspaceId: workspace, sharedKey: key)
                config.dataDir = localDataDir
                config.timeGeneratedClockOffset = try ReferenceClock.offset()
                let e = try Emulator(config: config)
                let url = try e.start()
                emulator = e
                Console.error("logship: local emulator listening on \(url.absoluteString) (throw-away key; tables in \(localDataDir.map(relativeToCWD) ?? "memory"))")
                creds = CredentialResolver.DataCollector(workspaceId: workspace, sharedKey: key, baseURL: url)
            } else {
                do {
                    creds = try CredentialResolver.dataCollector(pipeline, endpointFlag: endpoint, environment: env)
                    for w in creds.warnings { Console.error("logship: warning: \(w)") }
                } catch {
                    guard placeholderCredentials else { throw UsageError(description: error.description) }
                    creds = CredentialResolver.DataCollector(
                        workspaceId: "00000000-0000-0000-0000-000000000000", sharedKey: Secret("AAAA"), baseURL: URL(string: "http://127.0.0.1:9")!)
                }
            }
            let signer = try SharedKeySigner(workspaceId: creds.workspaceId, sharedKey: creds.sharedKey)
            let transport = Transports.for(creds.baseURL, concurrency: pipeline.upload.concurrency)
            var destination = local ? "local emulator" : "data-collector \(creds.workspaceId) \(pipeline.target.logType)_CL"
            if !local && (endpoint != nil || env["LOGSHIP_ENDPOINT"] != nil || pipeline.target.endpoint != nil) {
                destination += " at \(creds.baseURL.absoluteString)"
            }
            let target = DataCollectorTarget(
                baseURL: creds.baseURL, logType: pipeline.target.logType, timeGeneratedField: pipeline.target.timeGeneratedField,
                azureResourceId: pipeline.target.resourceId, signer: signer, transport: transport,
                maxBodyBytes: pipeline.limits.maxBodyBytes, timeoutSeconds: pipeline.upload.timeoutSeconds)
            return TargetSetup(target: target, destination: destination, emulator: emulator, emulatorDataDir: localDataDir)
        }
    }

    /// The DCR declaration named by `target.dcr`, resolved against the pipeline's folder.
    static func dcrDeclaration(_ pipeline: PipelineSpec) throws -> DCRDeclaration? {
        guard let path = pipeline.target.dcr else { return nil }
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : pipeline.baseDirectory.appendingPathComponent(path)
        do {
            return try DCRDeclaration.load(url)
        } catch {
            throw UsageError(description: "target.dcr: \(error.description)")
        }
    }

    /// Without a `target.dcr` file, a local run provisions its emulator with the stream that
    /// `logship dcr` would create for this pipeline (typed mappings, sampled passthrough), so any
    /// logs-ingestion pipeline tries out with `--local` alone.
    static func plannedDeclaration(_ pipeline: PipelineSpec, dcrImmutableId: String) throws -> DCRDeclaration? {
        let plan: ProvisioningPlan
        do {
            plan = try ProvisioningPlan.make(pipeline, sampled: try DcrCommand.sample(pipeline))
        } catch let e as ProvisioningPlan.Failure {
            throw UsageError(description: "--local: cannot plan the DCR for \(pipeline.file.lastPathComponent): \(e.description)")
        }
        var columns: [DCRDeclaration.Column] = []
        for c in plan.columns {
            guard let type = DCRDeclaration.ColumnType(rawValue: c.dcrType) else { continue }
            columns.append(DCRDeclaration.Column(name: c.name, type: type))
        }
        return DCRDeclaration(dcrImmutableId: dcrImmutableId, streams: [DCRDeclaration.Stream(name: plan.stream, columns: columns)])
    }

    static func logsIngestion(_ pipeline: PipelineSpec, endpoint: String?, local: Bool, localDataDir: URL?, placeholderCredentials: Bool) throws -> TargetSetup {
        let t = pipeline.target
        let env = ProcessInfo.processInfo.environment
        guard let dcr = t.dcrImmutableId, let stream = t.stream, let scope = TokenProvider.scope(cloud: t.cloud) else {
            throw UsageError(description: "target: dcrImmutableId, stream and a known cloud are required for api \"logs-ingestion\"")
        }
        var emulator: Emulator? = nil
        let creds: CredentialResolver.LogsIngestion
        if local {
            // Throw-away identities: the emulator serves the token endpoint and the ingestion
            // endpoint on one loopback port, and nothing here is valid anywhere else.
            var keyBytes = [UInt8](repeating: 0, count: 64)
            for i in keyBytes.indices { keyBytes[i] = UInt8.random(in: 0...255) }
            var config = EmulatorConfig(workspaceId: UUID().uuidString.lowercased(), sharedKey: Secret(Data(keyBytes).base64EncodedString()))
            config.dataDir = localDataDir
            config.timeGeneratedClockOffset = try ReferenceClock.offset()
            config.acceptedScopes = [scope]
            config.dcr = try dcrDeclaration(pipeline) ?? plannedDeclaration(pipeline, dcrImmutableId: dcr)
            config.log = { Console.error("logship: local emulator: \($0)") }
            let e = try Emulator(config: config)
            let url = try e.start()
            emulator = e
            Console.error("logship: local emulator listening on \(url.absoluteString) (token endpoint and ingestion; throw-away credentials; streams in \(localDataDir.map(relativeToCWD) ?? "memory"))")
            creds = CredentialResolver.LogsIngestion(
                endpoint: url, dcrImmutableId: dcr, stream: stream, tenantId: config.tenantId, clientId: config.clientId,
                credential: .clientSecret(config.clientSecret), authorityHost: url, scope: scope)
        } else {
            do {
                creds = try CredentialResolver.logsIngestion(pipeline, endpointFlag: endpoint, environment: env)
                for w in creds.warnings { Console.error("logship: warning: \(w)") }
            } catch {
                guard placeholderCredentials else { throw UsageError(description: error.description) }
                // A dry run never asks for a token or sends; these only fill the types.
                let nowhere = URL(string: "http://127.0.0.1:9")!
                creds = CredentialResolver.LogsIngestion(
                    endpoint: nowhere, dcrImmutableId: dcr, stream: stream, tenantId: "00000000-0000-0000-0000-000000000000",
                    clientId: "00000000-0000-0000-0000-000000000000", credential: .clientSecret(Secret("")), authorityHost: nowhere, scope: scope)
            }
        }
        let tokens = TokenProvider(
            authorityHost: creds.authorityHost, tenantId: creds.tenantId, clientId: creds.clientId, credential: creds.credential,
            scope: creds.scope, transport: Transports.for(creds.authorityHost, concurrency: 1), timeout: min(60, pipeline.upload.timeoutSeconds))
        // Several DCRs of the same stream and table: one target each, chunks spread over them.
        let transport = Transports.for(creds.endpoint, concurrency: pipeline.upload.concurrency)
        let ids = pipeline.target.dcrImmutableIds.count > 1 ? pipeline.target.dcrImmutableIds : [creds.dcrImmutableId]
        let members: [any DeliveryTarget] = ids.map { id in
            LogsIngestionTarget(
                endpoint: creds.endpoint, dcrImmutableId: id, stream: creds.stream, tokens: tokens,
                transport: transport, compress: pipeline.upload.compress,
                maxBodyBytes: pipeline.limits.maxBodyBytes, timeoutSeconds: pipeline.upload.timeoutSeconds)
        }
        let target: any DeliveryTarget = members.count == 1 ? members[0] : SpreadTarget(members)
        let destination = local ? "local emulator" : "logs-ingestion \(creds.endpoint.host ?? creds.endpoint.absoluteString) \(creds.dcrImmutableId) \(creds.stream)"
        return TargetSetup(target: target, destination: destination, emulator: emulator, emulatorDataDir: localDataDir)
    }
}
