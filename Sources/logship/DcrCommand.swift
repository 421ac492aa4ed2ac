import Foundation
import LogshipCore

/// `logship dcr PIPELINE`: the custom table and data collection rule a logs-ingestion pipeline
/// needs, as the ARM request bodies that create them. Nothing is sent.
enum DcrCommand {
    static let spec = CommandSpec(
        name: "dcr",
        summary:
            "Print the custom table and the data collection rule (kind Direct) a logs-ingestion pipeline needs, as ARM request bodies, with the az commands that create them. Nothing is sent.",
        usage:
            "logship dcr PIPELINE [--json] [--subscription S] [--resource-group G] [--workspace W] [--location L] [--apply [--write] [--arm-endpoint URL] [--wait S]] [--from-data-collector]",
        options: [
            OptionSpec(
                name: "--json", value: nil,
                help: "One JSON document on stdout: {table, dataCollectionRule}, the PUT bodies as ARM takes them"),
            OptionSpec(
                name: "--subscription", value: "S",
                help: "Subscription id in the resource ids (default: a <SUBSCRIPTION_ID> placeholder)"),
            OptionSpec(
                name: "--resource-group", value: "G",
                help: "Resource group of the workspace and the DCR (default: <RESOURCE_GROUP>)"),
            OptionSpec(
                name: "--workspace", value: "W", help: "Log Analytics workspace name (default: <WORKSPACE_NAME>)"),
            OptionSpec(
                name: "--location", value: "L",
                help: "The DCR's region, the workspace's (default: <WORKSPACE_LOCATION>)"),
            OptionSpec(
                name: "--apply", value: nil,
                help:
                    "Create or update the table and the DCR through Azure Resource Manager (needs --subscription, --resource-group, --workspace)"
            ),
            OptionSpec(
                name: "--write", value: nil,
                help: "With --apply: set target.endpoint and target.dcrImmutableId in the pipeline file (comments kept)"
            ),
            OptionSpec(
                name: "--arm-endpoint", value: "URL",
                help: "Azure Resource Manager's URL (default: target.cloud's; LOGSHIP_ARM_ENDPOINT), e.g. an emulator's"
            ),
            OptionSpec(
                name: "--wait", value: "S",
                help: "With --apply: wait at most S seconds for the DCR's immutableId and endpoint (default 300)"),
            OptionSpec(
                name: "--from-data-collector", value: nil,
                help:
                    "Keep a Data Collector table's suffixed column names (level_s) and migrate the table (needs target.columnSuffixes: \"data-collector\")"
            ),
        ] + LogOptions.specs,
        details: """
            Columns come from fields.map (string→string, int→int, long→long, double→real, bool→boolean,
            datetime→datetime (table: dateTime), guid→string (table: guid), json→dynamic) and
            fields.recordId; with passthrough on, the other columns are typed from a sample of the records,
            as `logship preview` reads them. The table always has TimeGenerated; records without one get the
            ingestion time from the DCR's transformation. --apply uses the target's credentials with the token
            scope of Azure Resource Manager. Exit 0 when the plan is printed (or applied); 2 on usage or
            pipeline errors, a data-collector pipeline, or a column type change --apply refuses; 3 when Azure
            Resource Manager refuses a call; 1 when it does not answer or the DCR is not ready in time.
            """)

    static let sampleRecords = 1000

    static func main(_ args: [String]) async throws -> Int32 {
        let p = try ArgumentParser.parse(args, spec)
        if p.has("--help") {
            Console.out(spec.helpText)
            return 0
        }
        let apply = p.has("--apply")
        if !apply {
            for flag in ["--write", "--arm-endpoint", "--wait"] where p.has(flag) {
                throw UsageError(description: "logship dcr: \(flag) goes with --apply")
            }
        } else {
            for flag in ["--subscription", "--resource-group", "--workspace"] where p.value(flag) == nil {
                throw UsageError(
                    description: "logship dcr --apply: \(flag) is required (where the table and the DCR go)")
            }
        }
        let fromDataCollector = p.has("--from-data-collector")
        let path = try pipelineArgument(p, spec)
        guard let (pipeline, _) = loadPipeline(path, command: "dcr") else { return ExitCode.usage }
        if pipeline.target.api == .dataCollector && fromDataCollector {
            throw UsageError(description: DcrApply.switchTargetAdvice(pipeline, path: path))
        }
        if pipeline.target.api == .dataCollector {
            throw UsageError(
                description:
                    "logship dcr: \(path) targets the Data Collector API (Log-Type \(pipeline.target.logType)); the DCR and table are planned for a pipeline with target.api \"logs-ingestion\" and a target.stream \"Custom-<Name>\" (see docs/migration.md, Migrating from the Data Collector API)"
            )
        }
        let scope = ProvisioningPlan.Scope(
            subscription: p.value("--subscription") ?? ProvisioningPlan.Scope.placeholders.subscription,
            resourceGroup: p.value("--resource-group") ?? ProvisioningPlan.Scope.placeholders.resourceGroup,
            workspace: p.value("--workspace") ?? ProvisioningPlan.Scope.placeholders.workspace,
            location: p.value("--location") ?? ProvisioningPlan.Scope.placeholders.location)

        let plan: ProvisioningPlan
        do {
            plan = try ProvisioningPlan.make(
                pipeline, sampled: try sample(pipeline), fromDataCollector: fromDataCollector)
        } catch let e as ProvisioningPlan.Failure {
            Console.fail("logship dcr: \(pipeline.file.lastPathComponent): \(e.description)")
            return ExitCode.usage
        }
        if apply {
            return await DcrApply.apply(
                p, pipeline: pipeline, path: path, plan: plan, scope: scope, migrate: fromDataCollector)
        }
        if p.has("--json") {
            Console.out(ProvisioningPlan.json(["table": plan.tableBody(), "dataCollectionRule": plan.ruleBody(scope)]))
        } else {
            Console.out(human(plan, scope, host: managementHost(pipeline.target.cloud), migrate: fromDataCollector))
        }
        return 0
    }

    /// The sampled columns, read only when something is left to the data (passthrough, or a
    /// mapping without a type); nil when nothing was read.
    static func sample(_ pipeline: PipelineSpec) throws -> [ProvisioningPlan.SampledColumn]? {
        let untyped = pipeline.fields.map.contains { m in
            if case .input = m.source { return m.type == nil }
            return false
        }
        guard pipeline.fields.passthrough || untyped else { return nil }
        let now = try ReferenceClock.now()
        let read = PreviewReader.read(pipeline, records: 1, sample: sampleRecords, now: now)
        for e in read.errors { Console.fail("logship dcr: \(pipeline.file.lastPathComponent): \(e)") }
        guard read.errors.isEmpty, !read.sample.isEmpty else { return nil }
        return SchemaInference.dcrColumns(read.sample)
    }

    /// Azure Resource Manager of the pipeline's cloud (docs/service-facts.md).
    static func managementHost(_ cloud: String) -> String {
        ARMProvisioner.managementEndpoint(cloud: cloud)?.absoluteString ?? "https://management.azure.com"
    }

    static func human(_ plan: ProvisioningPlan, _ scope: ProvisioningPlan.Scope, host: String, migrate: Bool = false)
        -> String
    {
        var out =
            "Table \(plan.table) and data collection rule \(plan.ruleName) (kind Direct), stream \(plan.stream):\n\n"
        var rows = [["Column", "Stream", "Table", "From"]]
        for c in plan.tableColumns {
            let stream = plan.columns.first { $0.name == c.name }
            rows.append([c.name, stream?.dcrType ?? "(transform)", c.tableType, stream?.origin ?? "ingestion time"])
        }
        let widths = (0..<3).map { k in rows.map { $0[k].count }.max() ?? 0 }
        for r in rows {
            out +=
                "  " + (0..<3).map { r[$0].padding(toLength: widths[$0] + 2, withPad: " ", startingAt: 0) }.joined()
                + r[3] + "\n"
        }
        out += "\ntransformKql: \(plan.transformKql)\noutputStream: \(plan.outputStream)\n"
        if !plan.notes.isEmpty {
            out += "\nNotes:\n"
            for n in plan.notes { out += "  - \(n)\n" }
        }
        // Single quotes keep the shell off the JSON; names and types hold no quote.
        out += "\nCreate them (needs Contributor rights on the resource group and the workspace):\n\n"
        if migrate {
            out += "  # the Data Collector table first moves to DCR-based ingestion (its columns and data stay)\n"
            out +=
                "  az rest --method post --url '\(host)\(plan.tablePath(scope))/migrate?api-version=\(ARMProvisioner.migrateAPIVersion)'\n\n"
        }
        out +=
            "  az rest --method put --url '\(host)\(plan.tablePath(scope))?api-version=\(ProvisioningPlan.tableAPIVersion)' \\\n"
        out += "    --body '\(ProvisioningPlan.json(plan.tableBody(), pretty: false))'\n\n"
        out +=
            "  az rest --method put --url '\(host)\(plan.rulePath(scope))?api-version=\(ProvisioningPlan.dcrAPIVersion)' \\\n"
        out += "    --body '\(ProvisioningPlan.json(plan.ruleBody(scope), pretty: false))'\n\n"
        out += "Then set target.dcrImmutableId to the rule's properties.immutableId and target.endpoint to its\n"
        out += "properties.endpoints.logsIngestion, and give the sender Monitoring Metrics Publisher on the rule."
        return out
    }
}
