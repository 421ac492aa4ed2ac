import Foundation
import LogshipCore
import LogshipEmulator
import LogshipSupport

/// Where a command sends: the target, a description of the destination for the manifest,
/// and the in-process emulator when `--local`.
struct TargetSetup {
    var target: DeliveryTarget
    var destination: String
    var emulator: Emulator?
    var emulatorDataDir: URL?

    /// Starts the in-process emulator for `--local`, then lets the core's `TargetFactory` build
    /// the target (the credential chain lives there); prints its warnings.
    /// - Parameters:
    ///   - local: start an emulator with a throw-away key and send there.
    ///   - placeholderCredentials: a dry run may go without credentials.
    static func make(
        _ pipeline: PipelineSpec, endpoint: String?, local: Bool, localDataDir: URL?, placeholderCredentials: Bool
    ) throws -> TargetSetup {
        var emulator: Emulator? = nil
        var localCredentials: TargetFactory.Credentials? = nil
        if local { (emulator, localCredentials) = try startEmulator(pipeline, dataDir: localDataDir) }
        let built: TargetFactory.Built
        do {
            built = try TargetFactory.make(
                pipeline, endpoint: endpoint, environment: ProcessInfo.processInfo.environment,
                placeholderCredentials: placeholderCredentials, local: localCredentials)
        } catch {
            throw UsageError(description: error.description)
        }
        for w in built.warnings { Console.error("logship: warning: \(w)") }
        return TargetSetup(
            target: built.target, destination: built.destination, emulator: emulator, emulatorDataDir: localDataDir)
    }

    /// `--local`: an emulator on a loopback port with throw-away identities, and its credentials.
    static func startEmulator(
        _ pipeline: PipelineSpec, dataDir localDataDir: URL?
    ) throws -> (Emulator, TargetFactory.Credentials) {
        switch pipeline.target.api {
        case .dataCollector:
            let workspace = UUID().uuidString.lowercased()
            var keyBytes = [UInt8](repeating: 0, count: 64)
            for i in keyBytes.indices { keyBytes[i] = UInt8.random(in: 0...255) }
            let key = Secret(Data(keyBytes).base64EncodedString())
            var config = EmulatorConfig(workspaceId: workspace, sharedKey: key)
            config.dataDir = localDataDir
            config.timeGeneratedClockOffset = try ReferenceClock.offset()
            let e = try Emulator(config: config)
            let url = try e.start()
            Console.error(
                "logship: local emulator listening on \(url.absoluteString) (throw-away key; tables in \(localDataDir.map(relativeToCWD) ?? "memory"))"
            )
            let creds = CredentialResolver.DataCollector(workspaceId: workspace, sharedKey: key, baseURL: url)
            return (e, .dataCollector(creds))
        case .logsIngestion:
            let t = pipeline.target
            let scope: String
            do { scope = try TargetFactory.logsIngestionScope(pipeline) } catch {
                throw UsageError(description: error.description)
            }
            let dcr = t.dcrImmutableId ?? ""
            let stream = t.stream ?? ""
            // Throw-away identities: the emulator serves the token endpoint and the ingestion
            // endpoint on one loopback port, and nothing here is valid anywhere else.
            var keyBytes = [UInt8](repeating: 0, count: 64)
            for i in keyBytes.indices { keyBytes[i] = UInt8.random(in: 0...255) }
            var config = EmulatorConfig(
                workspaceId: UUID().uuidString.lowercased(), sharedKey: Secret(Data(keyBytes).base64EncodedString()))
            config.dataDir = localDataDir
            config.timeGeneratedClockOffset = try ReferenceClock.offset()
            config.acceptedScopes = [scope]
            config.dcr = try dcrDeclaration(pipeline) ?? plannedDeclaration(pipeline, dcrImmutableId: dcr)
            config.log = { Console.error("logship: local emulator: \($0)") }
            let e = try Emulator(config: config)
            let url = try e.start()
            Console.error(
                "logship: local emulator listening on \(url.absoluteString) (token endpoint and ingestion; throw-away credentials; streams in \(localDataDir.map(relativeToCWD) ?? "memory"))"
            )
            let creds = CredentialResolver.LogsIngestion(
                endpoint: url, dcrImmutableId: dcr, stream: stream, tenantId: config.tenantId,
                clientId: config.clientId,
                credential: .clientSecret(config.clientSecret), authorityHost: url, scope: scope)
            return (e, .logsIngestion(creds))
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
            throw UsageError(
                description: "--local: cannot plan the DCR for \(pipeline.file.lastPathComponent): \(e.description)")
        }
        var columns: [DCRDeclaration.Column] = []
        for c in plan.columns {
            guard let type = DCRDeclaration.ColumnType(rawValue: c.dcrType) else { continue }
            columns.append(DCRDeclaration.Column(name: c.name, type: type))
        }
        return DCRDeclaration(
            dcrImmutableId: dcrImmutableId, streams: [DCRDeclaration.Stream(name: plan.stream, columns: columns)])
    }
}
