import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

/// `ProvisioningPlan`: the table and DCR bodies `logship dcr` prints, from the pipeline's fields.
@Suite struct ProvisioningPlanTests {
    static let target =
        #"api: "logs-ingestion", endpoint: "https://x.westeurope-1.ingest.monitor.azure.com", dcrImmutableId: "dcr-0123456789abcdef0123456789abcdef", stream: "Custom-AppLogs""#

    func spec(_ fields: String, target: String = ProvisioningPlanTests.target) throws -> (PipelineSpec, TempDir) {
        let dir = TempDir("plan")
        let url = dir.write(
            "p.json5",
            #"{ version: 1, name: "app-logs", source: { files: ["*.ndjson"], format: "ndjson" }, fields: { \#(fields) }, target: { \#(target) } }"#
        )
        let r = PipelineLoader(environment: [:]).load(url)
        return (try #require(r.spec, "\(r.problems)"), dir)
    }

    func column(_ name: String, _ dcr: String) -> ProvisioningPlan.SampledColumn {
        ProvisioningPlan.SampledColumn(field: name, dcrType: dcr, tableType: dcr == "datetime" ? "dateTime" : dcr)
    }

    /// Every logship type in both type sets; guid is a string in the stream and a guid in the table.
    @Test func typedFieldsMapOntoStreamAndTableTypes() throws {
        let (s, dir) = try spec(
            #"""
            map: { TimeGenerated: { from: "t", type: "datetime" }, S: { from: "s", type: "string" }, I: { from: "i", type: "int" },
                   L: { from: "l", type: "long" }, D: { from: "d", type: "double" }, B: { from: "b", type: "bool" },
                   G: { from: "g", type: "guid" }, J: { from: "j", type: "json" }, W: { from: "w", type: "datetime" } },
            passthrough: false, recordId: "LogshipId"
            """#)
        defer { dir.cleanup() }
        let plan = try ProvisioningPlan.make(s, sampled: nil)
        #expect(
            plan.table == "AppLogs_CL" && plan.outputStream == "Custom-AppLogs_CL" && plan.stream == "Custom-AppLogs")
        #expect(
            plan.columns.map { "\($0.name):\($0.dcrType):\($0.tableType)" } == [
                "TimeGenerated:datetime:dateTime", "S:string:string", "I:int:int", "L:long:long", "D:real:real",
                "B:boolean:boolean",
                "G:string:guid", "J:dynamic:dynamic", "W:datetime:dateTime", "LogshipId:string:string",
            ])
        #expect(plan.transformKql == "source")
        #expect(plan.ruleName == "logship-app-logs")
        #expect(
            plan.tableColumns.first?.name == "TimeGenerated"
                && plan.tableColumns.filter { $0.name == "TimeGenerated" }.count == 1)

        let scope = ProvisioningPlan.Scope(
            subscription: "s", resourceGroup: "g", workspace: "w", location: "westeurope")
        let rule = plan.ruleBody(scope)
        #expect(rule["kind"] as? String == "Direct" && rule["location"] as? String == "westeurope")
        let props = try #require(rule["properties"] as? [String: Any])
        let la = try #require((props["destinations"] as? [String: Any])?["logAnalytics"] as? [[String: Any]])
        #expect(
            la.first?["workspaceResourceId"] as? String
                == "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w")
        let flow = try #require((props["dataFlows"] as? [[String: Any]])?.first)
        #expect(
            flow["streams"] as? [String] == ["Custom-AppLogs"]
                && flow["destinations"] as? [String] == [la.first?["name"] as? String ?? ""])
        #expect(plan.tablePath(scope).hasSuffix("/workspaces/w/tables/AppLogs_CL"))
    }

    /// Passthrough columns are typed from the sample; dropped and mapped ones are not repeated.
    @Test func passthroughColumnsComeFromTheSample() throws {
        let (s, dir) = try spec(#"map: { Status: { from: "status", type: "int" }, Level: "level" }, drop: ["secret"]"#)
        defer { dir.cleanup() }
        let sampled = [
            column("Status", "long"), column("Level", "string"), column("took", "real"), column("ok", "boolean"),
            column("secret", "string"), column("when", "datetime"),
        ]
        let plan = try ProvisioningPlan.make(s, sampled: sampled)
        #expect(
            plan.columns.map { "\($0.name):\($0.dcrType)" } == [
                "Status:int", "Level:string", "took:real", "ok:boolean", "when:datetime",
            ])
        #expect(!plan.timeGeneratedFromData)
        #expect(plan.transformKql == "source | extend TimeGenerated = now()")
        #expect(plan.notes.contains { $0.contains("ingestion time") })
    }

    @Test func aStreamNamedAfterItsTableKeepsOneSuffixAndOtherTargetsAreRefused() throws {
        let (s, dir) = try spec(
            #"map: { A: "a" }, passthrough: false"#,
            target: Self.target.replacingOccurrences(of: "Custom-AppLogs", with: "Custom-AppLogs_CL"))
        defer { dir.cleanup() }
        #expect(try ProvisioningPlan.make(s, sampled: nil).table == "AppLogs_CL")

        var dc = s
        dc.target.api = .dataCollector
        #expect(throws: ProvisioningPlan.Failure.self) { try ProvisioningPlan.make(dc, sampled: nil) }
        var notCustom = s
        notCustom.target.stream = "Microsoft-Syslog"
        #expect(throws: ProvisioningPlan.Failure.self) { try ProvisioningPlan.make(notCustom, sampled: nil) }
    }
}
