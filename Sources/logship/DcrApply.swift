import Foundation
import LogshipCore
import LogshipSupport

/// `logship dcr PIPELINE --apply`: creates or updates the plan's table and rule through Azure
/// Resource Manager with the target's credentials (token scope: ARM's), then prints the
/// target block, or writes it into the pipeline file with `--write`.
enum DcrApply {
    static func apply(
        _ p: ParsedArguments, pipeline: PipelineSpec, path: String, plan: ProvisioningPlan,
        scope: ProvisioningPlan.Scope,
        migrate: Bool
    ) async -> Int32 {
        let env = ProcessInfo.processInfo.environment
        let cloud = pipeline.target.cloud
        guard let armScope = ARMProvisioner.scope(cloud: cloud),
            let cloudARM = ARMProvisioner.managementEndpoint(cloud: cloud)
        else {
            Console.fail("logship dcr: target.cloud \"\(cloud)\" is unknown")
            return ExitCode.usage
        }
        var base = cloudARM
        if let text = p.value("--arm-endpoint") ?? env["LOGSHIP_ARM_ENDPOINT"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let name = p.value("--arm-endpoint") != nil ? "--arm-endpoint" : "LOGSHIP_ARM_ENDPOINT"
            if let problem = ARMProvisioner.endpointProblem(text) {
                Console.fail("logship dcr: \(name): \(problem)")
                return ExitCode.usage
            }
            guard let u = URL(string: text.hasSuffix("/") ? String(text.dropLast()) : text) else {
                return ExitCode.usage
            }
            base = u
        }
        var wait = 300.0
        if let w = p.value("--wait") {
            guard let d = Double(w), d >= 0, d <= 3600 else {
                Console.fail("logship dcr: --wait \(w): seconds from 0 to 3600")
                return ExitCode.usage
            }
            wait = d
        }
        // The target's own credential chain; the endpoint is ARM's for this command (the
        // pipeline's ingestion endpoint is what is being created).
        let tokens: TokenProvider
        let creds: CredentialResolver.LogsIngestion
        do {
            let chain = try TargetFactory.tokens(
                pipeline, endpoint: base.absoluteString, environment: env, scope: armScope, timeout: 60)
            (tokens, creds) = (chain.provider, chain.credentials)
            for w in creds.warnings { Console.error("logship: warning: \(w)") }
        } catch {
            Console.fail("logship dcr: \(error.description)")
            return ExitCode.usage
        }
        let transport: ARMTransport =
            base.scheme?.lowercased() == "http" ? SocketHTTPTransport() : URLSessionTransport(maxConnections: 1)
        let provisioner = ARMProvisioner(
            base: base, tokens: tokens, transport: transport, waitSeconds: wait,
            pollSeconds: min(5, max(wait / 60, 0.5)),
            progress: { Console.info("logship dcr: \($0)") })
        var scope = scope
        if p.value("--location") == nil {
            do {
                scope.location = try await provisioner.workspaceLocation(scope)
                Console.info("logship dcr: the workspace is in \(scope.location); the DCR goes there too")
            } catch {
                Console.fail("logship dcr: \(error.description) (or give --location)")
                return error.kind == .unanswered ? ExitCode.partial : ExitCode.refused
            }
        }
        let outcome: ARMProvisioner.Outcome
        do {
            outcome = try await provisioner.apply(plan, scope, migrate: migrate)
        } catch {
            Console.fail("logship dcr: \(error.description)")
            switch error.kind {
            case .conflict: return ExitCode.usage
            case .refused: return ExitCode.refused
            case .unanswered: return ExitCode.partial
            }
        }
        var summary = outcome.tableCreated ? "created table \(plan.table)" : "table \(plan.table)"
        if outcome.migrated { summary += " (migrated to DCR-based ingestion)" }
        if !outcome.tableCreated {
            summary +=
                outcome.addedColumns.isEmpty ? " unchanged" : ", added \(outcome.addedColumns.joined(separator: ", "))"
        }
        Console.summary(
            "logship dcr: \(summary); rule \(plan.ruleName): \(outcome.immutableId) at \(outcome.logsIngestionEndpoint)"
        )

        let principal = creds.clientId.isEmpty ? "<the sender's principal id>" : creds.clientId
        let role =
            "az role assignment create --assignee \(principal) --role \"Monitoring Metrics Publisher\" "
            + "--scope \(outcome.ruleResourceId)"
        if p.has("--write") {
            let url = URL(fileURLWithPath: path)
            do {
                let text = try String(contentsOf: url, encoding: .utf8)
                let edited = try PipelineFileEdit.settingTarget(
                    [("endpoint", outcome.logsIngestionEndpoint), ("dcrImmutableId", outcome.immutableId)], in: text,
                    file: url.lastPathComponent)
                if edited != text {
                    // Beside the file, then renamed over it: a crash leaves the old file or the new one.
                    let temp = url.deletingLastPathComponent().appendingPathComponent(
                        ".\(url.lastPathComponent).logship-edit")
                    try Data(edited.utf8).write(to: temp)
                    let attrs = try FileManager.default.attributesOfItem(atPath: url.path)
                    if let perms = attrs[.posixPermissions] {
                        try FileManager.default.setAttributes([.posixPermissions: perms], ofItemAtPath: temp.path)
                    }
                    guard rename(temp.path, url.path) == 0 else {
                        try? FileManager.default.removeItem(at: temp)
                        throw PipelineFileEdit.Refusal(
                            description: "\(path): cannot replace it (\(String(cString: strerror(errno))))")
                    }
                }
                Console.info("logship dcr: wrote target.endpoint and target.dcrImmutableId into \(path)")
            } catch let e as PipelineFileEdit.Refusal {
                Console.fail("logship dcr: --write: \(e.description); the DCR is created: set them yourself (below)")
                Console.out(targetBlock(pipeline, outcome))
                Console.out("\nGive the sender the role on the rule (not done by logship):\n  \(role)")
                return ExitCode.usage
            } catch {
                Console.fail("logship dcr: --write: \(path): \(error.localizedDescription); set them yourself (below)")
                Console.out(targetBlock(pipeline, outcome))
                return ExitCode.usage
            }
        } else {
            Console.out(targetBlock(pipeline, outcome))
        }
        Console.out(
            "\nGive the sender the role on the rule (not done by logship; it can take minutes to apply):\n  \(role)")
        return ExitCode.success
    }

    /// The keys to put into the pipeline's target.
    static func targetBlock(_ pipeline: PipelineSpec, _ o: ARMProvisioner.Outcome) -> String {
        var s = "  target: {\n    api: \"logs-ingestion\",\n"
        s += "    endpoint: \"\(o.logsIngestionEndpoint)\",\n"
        s += "    dcrImmutableId: \"\(o.immutableId)\",\n"
        s += "    stream: \"\(pipeline.target.stream ?? "")\",\n"
        if pipeline.target.dataCollectorSuffixes { s += "    columnSuffixes: \"data-collector\",\n" }
        s += "    // and the credential keys the pipeline has (tenantId, clientId, clientSecret, …)\n  },"
        return s
    }

    /// For `--from-data-collector` on a data-collector pipeline: the target to switch to.
    static func switchTargetAdvice(_ pipeline: PipelineSpec, path: String) -> String {
        let t = pipeline.target.logType
        return """
            logship dcr: \(path) targets the Data Collector API; --from-data-collector plans from a copy of it \
            switched \
            to the Logs Ingestion API that keeps the old column names. Give the copy this target, map every field with \
            a type (fields.passthrough: false), then run `logship dcr COPY --from-data-collector --apply …`:
              target: {
                api: "logs-ingestion",
                endpoint: "https://placeholder.invalid",        // --apply --write fills it in
                dcrImmutableId: "dcr-00000000000000000000000000000000",
                stream: "Custom-\(t)",                        // the table \(t)_CL
                columnSuffixes: "data-collector",               // Level → Level_s, as the old table has it
                tenantId: "${LOGSHIP_TENANT_ID}", clientId: "${LOGSHIP_CLIENT_ID}",
                clientSecret: "${LOGSHIP_CLIENT_SECRET}",
              },
            """
    }
}
