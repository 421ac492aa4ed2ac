import Foundation
import LogshipCore

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
            throw UsageError(description: "target.api \"logs-ingestion\" is not available in this build yet")
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
                let e = try Emulator(config: config)
                let url = try e.start()
                emulator = e
                Console.error("logship: local emulator listening on \(url.absoluteString) (throw-away key; tables in \(localDataDir.map(relativeToCWD) ?? "memory"))")
                creds = CredentialResolver.DataCollector(workspaceId: workspace, sharedKey: key, baseURL: url)
            } else {
                do {
                    creds = try CredentialResolver.dataCollector(pipeline, endpointFlag: endpoint, environment: env)
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
}
