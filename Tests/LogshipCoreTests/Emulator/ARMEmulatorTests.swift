import Foundation
import LogshipSupport
import Testing

@testable import LogshipEmulator

/// The emulator's ARM side: custom tables and data collection rules, validated as the service
/// does (one test per refusal), and ingestion into the rules it created. The bodies here are
/// written by hand from docs/service-facts.md, not by logship's planner.
@Suite struct ARMEmulatorTests {
    static let workspace =
        "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.OperationalInsights/workspaces/ws-1"
    static let tablePath = workspace + "/tables/App_CL?api-version=2022-10-01"
    static let rulePath =
        "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Insights/dataCollectionRules/rule-1?api-version=2023-03-11"

    /// A started emulator (for its URL) and tokens for ARM and for ingestion; stopped by `close`.
    final class Fixture {
        let emulator: Emulator
        let url: URL
        let armToken: String
        let ingestToken: String

        init() throws {
            let config = EmulatorConfig(
                workspaceId: UUID().uuidString.lowercased(),
                sharedKey: Secret(Data(repeating: 7, count: 32).base64EncodedString()))
            emulator = try Emulator(config: config)
            url = try emulator.start()
            armToken = try Self.token(emulator, scope: "https://management.azure.com/.default")
            ingestToken = try Self.token(emulator, scope: "https://monitor.azure.com//.default")
        }

        func close() { emulator.stop() }

        static func token(_ e: Emulator, scope: String) throws -> String {
            var form = URLComponents()
            form.queryItems = [
                URLQueryItem(name: "grant_type", value: "client_credentials"),
                URLQueryItem(name: "client_id", value: e.config.clientId),
                URLQueryItem(name: "client_secret", value: e.config.clientSecret.value),
                URLQueryItem(name: "scope", value: scope),
            ]
            let body = (form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
            let req = ServerRequest(
                method: "POST", target: "/\(e.config.tenantId)/oauth2/v2.0/token",
                headers: [("content-type", "application/x-www-form-urlencoded")], body: Array(body.utf8))
            let (status, json) = reply(e.handle(req))
            guard status == 200, let t = json["access_token"] as? String else {
                throw ARMError("token: \(status) \(json)")
            }
            return t
        }

        static func reply(_ r: ServerReply) -> (Int, [String: Any]) {
            guard case .respond(let status, _, let body) = r else { return (0, [:]) }
            return (status, ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:])
        }

        /// A request with a JSON body; `token: nil` sends no Authorization header.
        func call(_ method: String, _ target: String, _ body: Any? = nil, token: String?) -> (Int, [String: Any]) {
            var headers: [(String, String)] = [("content-type", "application/json")]
            if let token { headers.append(("authorization", "Bearer \(token)")) }
            let data = body.map { (try? JSONSerialization.data(withJSONObject: $0)) ?? Data() } ?? Data()
            return Self.reply(
                emulator.handle(ServerRequest(method: method, target: target, headers: headers, body: [UInt8](data))))
        }

        func put(_ target: String, _ body: Any) -> (Int, [String: Any]) { call("PUT", target, body, token: armToken) }
    }

    static var columns: [[String: Any]] {
        [
            ["name": "TimeGenerated", "type": "dateTime"], ["name": "Message", "type": "string"],
            ["name": "Id", "type": "guid"], ["name": "N", "type": "int"],
        ]
    }

    static func table(_ columns: [[String: Any]] = columns, name: String = "App_CL") -> [String: Any] {
        ["properties": ["schema": ["name": name, "columns": columns]]]
    }

    static var streamColumns: [[String: Any]] {
        [
            ["name": "TimeGenerated", "type": "datetime"], ["name": "Message", "type": "string"],
            ["name": "Id", "type": "string"], ["name": "N", "type": "int"],
        ]
    }

    static func rule(
        stream: String = "Custom-App", columns: [[String: Any]] = streamColumns, flowStreams: [String] = ["Custom-App"],
        flowDestinations: [String] = ["ws"], output: String? = "Custom-App_CL", kql: String = "source",
        kind: String? = "Direct",
        workspaceId: String = workspace
    ) -> [String: Any] {
        var flow: [String: Any] = ["streams": flowStreams, "destinations": flowDestinations, "transformKql": kql]
        if let output { flow["outputStream"] = output }
        var body: [String: Any] = [
            "location": "westeurope",
            "properties": [
                "streamDeclarations": [stream: ["columns": columns]],
                "destinations": ["logAnalytics": [["workspaceResourceId": workspaceId, "name": "ws"]]],
                "dataFlows": [flow],
            ] as [String: Any],
        ]
        if let kind { body["kind"] = kind }
        return body
    }

    static func message(_ json: [String: Any]) -> String {
        ((json["error"] as? [String: Any])?["message"] as? String) ?? ""
    }
    static func code(_ json: [String: Any]) -> String { ((json["error"] as? [String: Any])?["code"] as? String) ?? "" }

    @Test func aTableAndARuleAreCreatedReadBackAndServeIngestion() throws {
        let f = try Fixture()
        defer { f.close() }
        let (ts, tj) = f.put(Self.tablePath, Self.table())
        #expect(ts == 201, "\(tj)")
        #expect(f.put(Self.tablePath, Self.table()).0 == 200, "a second PUT replaces")
        #expect(f.call("GET", Self.tablePath, token: f.armToken).0 == 200)

        let (rs, rj) = f.put(Self.rulePath, Self.rule())
        #expect(rs == 201, "\(rj)")
        let props = try #require(rj["properties"] as? [String: Any])
        let id = try #require(props["immutableId"] as? String)
        #expect(id.range(of: "^dcr-[0-9a-f]{32}$", options: .regularExpression) != nil, "\(id)")
        #expect((props["endpoints"] as? [String: Any])?["logsIngestion"] as? String == f.url.absoluteString)
        let (again, aj) = f.put(Self.rulePath, Self.rule())
        #expect(again == 200)
        #expect(
            (aj["properties"] as? [String: Any])?["immutableId"] as? String == id, "an update keeps the immutable id")
        let (gs, gj) = f.call("GET", Self.rulePath, token: f.armToken)
        #expect(gs == 200 && (gj["properties"] as? [String: Any])?["immutableId"] as? String == id)

        // Ingestion into the rule: its declared stream only, undeclared properties counted.
        let ingest = "/dataCollectionRules/\(id)/streams/Custom-App?api-version=2023-01-01"
        let records: [[String: Any]] = [
            ["TimeGenerated": "2026-01-01T00:00:00Z", "Message": "m", "N": 1], ["Message": "x", "Extra": true],
        ]
        #expect(f.call("POST", ingest, records, token: f.ingestToken).0 == 204)
        #expect(f.emulator.currentStats().undeclaredColumns == ["Extra": 1])
        let other = "/dataCollectionRules/\(id)/streams/Custom-Other?api-version=2023-01-01"
        #expect(f.call("POST", other, records, token: f.ingestToken).0 == 400, "a stream the rule does not declare")
    }

    @Test func tokensMustBeForARMAndARMTokensDoNotIngest() throws {
        let f = try Fixture()
        defer { f.close() }
        #expect(f.call("PUT", Self.tablePath, Self.table(), token: nil).0 == 401)
        #expect(
            f.call("PUT", Self.tablePath, Self.table(), token: f.ingestToken).0 == 401,
            "a monitor.azure.com token is not for ARM")
        #expect(f.call("PUT", Self.tablePath, Self.table(), token: "made-up").0 == 401)
        #expect(
            f.call(
                "POST", "/dataCollectionRules/dcr-x/streams/Custom-App?api-version=2023-01-01", [[String: Any]](),
                token: f.armToken
            ).0 == 401)
        #expect(f.call("GET", Self.tablePath, token: f.armToken).0 == 404)
    }

    @Test func apiVersionsAreChecked() throws {
        let f = try Fixture()
        defer { f.close() }
        let (s1, j1) = f.put(
            Self.tablePath.replacingOccurrences(of: "2022-10-01", with: "2021-12-01-preview"), Self.table())
        #expect(s1 == 400 && Self.code(j1) == "InvalidApiVersionParameter")
        let (s2, j2) = f.put(Self.rulePath.replacingOccurrences(of: "?api-version=2023-03-11", with: ""), Self.rule())
        #expect(s2 == 400 && Self.code(j2) == "MissingApiVersionParameter")
    }

    /// Each table refusal: 400 InvalidPayload naming what is wrong.
    @Test(arguments: [
        ("name without _CL", "ends with _CL"),
        ("unknown type", "allowed: string, int, long, real, boolean, dateTime, guid, dynamic"),
        ("invalid column name", "not a valid column name"),
        ("duplicate column", "declared twice"),
        ("no TimeGenerated", "must include TimeGenerated"),
        ("TimeGenerated not dateTime", "TimeGenerated must be of type dateTime"),
        ("no schema", "properties.schema is required"),
        ("not JSON", "must be a JSON object"),
    ])
    func tableRefusals(_ c: (String, String)) throws {
        let f = try Fixture()
        defer { f.close() }
        var path = Self.tablePath
        var body: Any = Self.table()
        var cols = Self.columns
        switch c.0 {
        case "name without _CL":
            path = path.replacingOccurrences(of: "App_CL", with: "App")
            body = Self.table(name: "App")
        case "unknown type": cols[1]["type"] = "text"; body = Self.table(cols)
        case "invalid column name": cols[1]["name"] = "bad-name"; body = Self.table(cols)
        case "duplicate column": cols[2]["name"] = "message"; body = Self.table(cols)
        case "no TimeGenerated": body = Self.table(Array(cols.dropFirst()))
        case "TimeGenerated not dateTime": cols[0]["type"] = "string"; body = Self.table(cols)
        case "no schema": body = ["properties": [String: Any]()]
        default: body = ["not an object"]
        }
        let (status, json) = f.put(path, body)
        #expect(status == 400 && Self.code(json) == "InvalidPayload", "\(c.0): \(status) \(json)")
        #expect(Self.message(json).contains(c.1), "\(c.0): \(Self.message(json))")
        #expect(f.call("GET", path, token: f.armToken).0 == 404, "nothing was created")
    }

    /// Each rule refusal, with the table in place: 400 InvalidPayload naming what is wrong.
    @Test(arguments: [
        ("stream not Custom-", "must begin with 'Custom-'"),
        ("guid in a stream", "allowed: string, int, long, real, boolean, dynamic, datetime"),
        ("invalid stream column name", "not a valid column name"),
        ("flow names an undeclared stream", "'Custom-Other' is not declared"),
        ("flow names an unknown destination", "'elsewhere' is not a destination"),
        ("no outputStream", "outputStream is required"),
        ("outputStream not a custom table", "must name a custom table"),
        ("output table does not exist", "does not exist in workspace"),
        ("column missing from the table", "column 'Level' of 'Custom-App' does not exist in the table"),
        ("column type differs", "column 'N' is long in 'Custom-App' but int"),
        ("no TimeGenerated out", "has no TimeGenerated"),
        ("kind not Direct", "kind must be 'Direct'"),
        ("bad workspace id", "workspaceResourceId must be a workspace's resource id"),
        ("unsupported transform", "the emulator runs only"),
        ("no location", "location is required"),
    ])
    func ruleRefusals(_ c: (String, String)) throws {
        let f = try Fixture()
        defer { f.close() }
        #expect(f.put(Self.tablePath, Self.table()).0 == 201)
        var cols = Self.streamColumns
        let body: [String: Any]
        switch c.0 {
        case "stream not Custom-": body = Self.rule(stream: "App", flowStreams: ["App"])
        case "guid in a stream": cols[2]["type"] = "guid"; body = Self.rule(columns: cols)
        case "invalid stream column name": cols[1]["name"] = "1st"; body = Self.rule(columns: cols)
        case "flow names an undeclared stream": body = Self.rule(flowStreams: ["Custom-Other"])
        case "flow names an unknown destination": body = Self.rule(flowDestinations: ["elsewhere"])
        case "no outputStream": body = Self.rule(output: nil)
        case "outputStream not a custom table": body = Self.rule(output: "Microsoft-Syslog")
        case "output table does not exist": body = Self.rule(output: "Custom-Missing_CL")
        case "column missing from the table":
            cols.append(["name": "Level", "type": "string"]); body = Self.rule(columns: cols)
        case "column type differs": cols[3]["type"] = "long"; body = Self.rule(columns: cols)
        case "no TimeGenerated out": body = Self.rule(columns: Array(cols.dropFirst()))
        case "kind not Direct": body = Self.rule(kind: nil)
        case "bad workspace id": body = Self.rule(workspaceId: "ws-1")
        case "unsupported transform": body = Self.rule(kql: "source | where N > 1")
        default:
            var b = Self.rule()
            b["location"] = nil
            body = b
        }
        let (status, json) = f.put(Self.rulePath, body)
        #expect(status == 400 && Self.code(json) == "InvalidPayload", "\(c.0): \(status) \(json)")
        #expect(Self.message(json).contains(c.1), "\(c.0): \(Self.message(json))")
        #expect(f.call("GET", Self.rulePath, token: f.armToken).0 == 404, "nothing was created")
    }

    /// A stream without TimeGenerated is accepted when the transformation adds it.
    @Test func theIngestionTimeTransformSuppliesTimeGenerated() throws {
        let f = try Fixture()
        defer { f.close() }
        #expect(f.put(Self.tablePath, Self.table()).0 == 201)
        let (status, json) = f.put(
            Self.rulePath,
            Self.rule(columns: Array(Self.streamColumns.dropFirst()), kql: "source | extend TimeGenerated = now()"))
        #expect(status == 201, "\(json)")
    }
}
