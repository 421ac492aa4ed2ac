import Foundation
import LogshipCore

/// `logship dcr PIPELINE`: the custom table and data collection rule a logs-ingestion pipeline
/// needs, as the ARM request bodies that create them. Nothing is sent.
enum DcrCommand {
    static let spec = CommandSpec(
        name: "dcr",
        summary: "Print the custom table and the data collection rule (kind Direct) a logs-ingestion pipeline needs, as ARM request bodies, with the az commands that create them. Nothing is sent.",
        usage: "logship dcr PIPELINE [--json] [--subscription S] [--resource-group G] [--workspace W] [--location L]",
        options: [
            OptionSpec(name: "--json", value: nil, help: "One JSON document on stdout: {table, dataCollectionRule}, the PUT bodies as ARM takes them"),
            OptionSpec(name: "--subscription", value: "S", help: "Subscription id in the resource ids (default: a <SUBSCRIPTION_ID> placeholder)"),
            OptionSpec(name: "--resource-group", value: "G", help: "Resource group of the workspace and the DCR (default: <RESOURCE_GROUP>)"),
            OptionSpec(name: "--workspace", value: "W", help: "Log Analytics workspace name (default: <WORKSPACE_NAME>)"),
            OptionSpec(name: "--location", value: "L", help: "The DCR's region, the workspace's (default: <WORKSPACE_LOCATION>)"),
            OptionSpec(name: "--apply", value: nil, help: "Not built yet (exit 2): create them through ARM"),
            OptionSpec(name: "--write", value: nil, help: "Not built yet (exit 2): with --apply, write the DCR's id into the pipeline"),
            OptionSpec(name: "--from-data-collector", value: nil, help: "Not built yet (exit 2): plan from a Data Collector table"),
        ] + LogOptions.specs,
        details: """
            Columns come from fields.map (string→string, int→int, long→long, double→real, bool→boolean,
            datetime→datetime (table: dateTime), guid→string (table: guid), json→dynamic) and
            fields.recordId; with passthrough on, the other columns are typed from a sample of the records,
            as `logship preview` reads them. The table always has TimeGenerated; records without one get the
            ingestion time from the DCR's transformation. Exit 0 when the plan is printed; 2 on usage or
            pipeline errors, or for a data-collector pipeline.
            """)

    static let sampleRecords = 1000

    static func main(_ args: [String]) throws -> Int32 {
        let p = try ArgumentParser.parse(args, spec)
        if p.has("--help") {
            Console.out(spec.helpText)
            return 0
        }
        // Planned, not built: say so rather than pretend (issue 13, items 2 and 3).
        for flag in ["--apply", "--write", "--from-data-collector"] where p.has(flag) {
            throw UsageError(description: "logship dcr: \(flag) is not built yet; print the bodies (with --json) and create them with the az commands shown")
        }
        let path = try pipelineArgument(p, spec)
        guard let (pipeline, _) = loadPipeline(path, command: "dcr") else { return ExitCode.usage }
        if pipeline.target.api == .dataCollector {
            throw UsageError(description: "logship dcr: \(path) targets the Data Collector API (Log-Type \(pipeline.target.logType)); the DCR and table are planned for a pipeline with target.api \"logs-ingestion\" and a target.stream \"Custom-<Name>\" (see README, Migrating from the Data Collector API)")
        }
        let scope = ProvisioningPlan.Scope(
            subscription: p.value("--subscription") ?? ProvisioningPlan.Scope.placeholders.subscription,
            resourceGroup: p.value("--resource-group") ?? ProvisioningPlan.Scope.placeholders.resourceGroup,
            workspace: p.value("--workspace") ?? ProvisioningPlan.Scope.placeholders.workspace,
            location: p.value("--location") ?? ProvisioningPlan.Scope.placeholders.location)

        let plan: ProvisioningPlan
        do {
            plan = try ProvisioningPlan.make(pipeline, sampled: try sample(pipeline))
        } catch let e as ProvisioningPlan.Failure {
            Console.fail("logship dcr: \(pipeline.file.lastPathComponent): \(e.description)")
            return ExitCode.usage
        }
        if p.has("--json") {
            Console.out(ProvisioningPlan.json(["table": plan.tableBody(), "dataCollectionRule": plan.ruleBody(scope)]))
        } else {
            Console.out(human(plan, scope, host: managementHost(pipeline.target.cloud)))
        }
        return 0
    }

    /// The sampled columns, read only when something is left to the data (passthrough, or a
    /// mapping without a type); nil when nothing was read.
    static func sample(_ pipeline: PipelineSpec) throws -> [InferredColumn]? {
        let untyped = pipeline.fields.map.contains { m in
            if case .input = m.source { return m.type == nil }
            return false
        }
        guard pipeline.fields.passthrough || untyped else { return nil }
        let now = try ReferenceClock.now()
        let read = PreviewReader.read(pipeline, records: 1, sample: sampleRecords, now: now)
        for e in read.errors { Console.fail("logship dcr: \(pipeline.file.lastPathComponent): \(e)") }
        guard read.errors.isEmpty, !read.sample.isEmpty else { return nil }
        return SchemaInference.infer(read.sample, options: SchemaInference.Options(spec: pipeline, now: now)).columns
    }

    /// Azure Resource Manager of the pipeline's cloud (docs/service-facts.md).
    static func managementHost(_ cloud: String) -> String {
        switch cloud {
        case "usgov": return "https://management.usgovcloudapi.net"
        case "china": return "https://management.chinacloudapi.cn"
        default: return "https://management.azure.com"
        }
    }

    static func human(_ plan: ProvisioningPlan, _ scope: ProvisioningPlan.Scope, host: String) -> String {
        var out = "Table \(plan.table) and data collection rule \(plan.ruleName) (kind Direct), stream \(plan.stream):\n\n"
        var rows = [["Column", "Stream", "Table", "From"]]
        for c in plan.tableColumns {
            let stream = plan.columns.first { $0.name == c.name }
            rows.append([c.name, stream?.dcrType ?? "(transform)", c.tableType, stream?.origin ?? "ingestion time"])
        }
        let widths = (0..<3).map { k in rows.map { $0[k].count }.max() ?? 0 }
        for r in rows {
            out += "  " + (0..<3).map { r[$0].padding(toLength: widths[$0] + 2, withPad: " ", startingAt: 0) }.joined() + r[3] + "\n"
        }
        out += "\ntransformKql: \(plan.transformKql)\noutputStream: \(plan.outputStream)\n"
        if !plan.notes.isEmpty {
            out += "\nNotes:\n"
            for n in plan.notes { out += "  - \(n)\n" }
        }
        // Single quotes keep the shell off the JSON; names and types hold no quote.
        out += "\nCreate them (needs Contributor rights on the resource group and the workspace):\n\n"
        out += "  az rest --method put --url '\(host)\(plan.tablePath(scope))?api-version=\(ProvisioningPlan.tableAPIVersion)' \\\n"
        out += "    --body '\(ProvisioningPlan.json(plan.tableBody(), pretty: false))'\n\n"
        out += "  az rest --method put --url '\(host)\(plan.rulePath(scope))?api-version=\(ProvisioningPlan.dcrAPIVersion)' \\\n"
        out += "    --body '\(ProvisioningPlan.json(plan.ruleBody(scope), pretty: false))'\n\n"
        out += "Then set target.dcrImmutableId to the rule's properties.immutableId and target.endpoint to its\n"
        out += "properties.endpoints.logsIngestion, and give the sender Monitoring Metrics Publisher on the rule."
        return out
    }
}
