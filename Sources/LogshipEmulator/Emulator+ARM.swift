import Foundation
import LogshipSupport

// Over 500 lines on purpose: the ARM resources (tables, rules, workspaces) and the requests
// that create and read them are one emulated service; each route is short.

/// What the emulator keeps of ARM resources: custom tables per workspace and data collection
/// rules, so that `logship dcr`'s bodies are judged as the service judges them and a run can
/// go into the rule they create. Guarded by the emulator's lock.
struct ARMResources {
    struct Table {
        var name: String
        /// In declaration order, types as given (`dateTime`).
        var columns: [(name: String, type: String)]
        var body: [String: Any]
    }

    struct Rule {
        var name: String
        var immutableId: String
        var body: [String: Any]
        var declaration: DCRDeclaration
    }

    /// By lowercased `<workspace resource id>/tables/<name>`: ARM ids ignore case.
    var tables: [String: Table] = [:]
    /// By lowercased rule resource id.
    var rules: [String: Rule] = [:]
    /// Provisioned rules by immutable id, for the ingestion endpoint.
    var declarations: [String: DCRDeclaration] = [:]
}

/// The ARM API the emulator plays (written from docs/service-facts.md, not read from the client).
enum ARMVersions {
    static let tables = "2022-10-01"
    static let dataCollectionRules = "2023-03-11"
    /// Types a table column may have.
    static let tableTypes = ["string", "int", "long", "real", "boolean", "dateTime", "guid", "dynamic"]
    /// Types a stream declaration's column may have.
    static let streamTypes = ["string", "int", "long", "real", "boolean", "dynamic", "datetime"]
    static let audience = "https://management.azure.com/"
    /// `POST …/tables/{name}/migrate`: a Data Collector table moves to DCR-based ingestion.
    static let migrate = "2021-12-01-preview"
    /// The region of the emulator's workspaces; a rule writing into one must be there too.
    static let workspaceLocation = "westeurope"
}

extension Emulator {
    /// `{"error":{"code","message"}}` with ARM's 400 code for a body it refuses.
    func invalidPayload(_ message: String) -> ServerReply { ingestionError(400, "InvalidPayload", message) }

    /// Routes `/subscriptions/{s}/resourceGroups/{g}/providers/…`; nil when the path is not one
    /// of the resources played here.
    func arm(_ req: ServerRequest, parts: [String]) -> ServerReply? {
        let lower = parts.map { $0.lowercased() }
        guard parts.count >= 9, lower[1] == "subscriptions", lower[3] == "resourcegroups", lower[5] == "providers"
        else { return nil }
        let isWorkspace = parts.count == 9 && lower[6] == "microsoft.operationalinsights" && lower[7] == "workspaces"
        let isTable =
            parts.count == 11 && lower[6] == "microsoft.operationalinsights" && lower[7] == "workspaces"
            && lower[9] == "tables"
        let isMigrate =
            parts.count == 12 && lower[6] == "microsoft.operationalinsights" && lower[7] == "workspaces"
            && lower[9] == "tables"
            && lower[11] == "migrate"
        let isRule = parts.count == 9 && lower[6] == "microsoft.insights" && lower[7] == "datacollectionrules"
        guard isWorkspace || isTable || isMigrate || isRule else { return nil }
        let allowed = isMigrate ? ["POST"] : isWorkspace ? ["GET"] : ["PUT", "GET"]
        guard allowed.contains(req.method) else {
            return ingestionError(
                405, "MethodNotAllowed", "The emulator plays \(allowed.joined(separator: " and ")) on this resource.")
        }
        let expected = isMigrate ? ARMVersions.migrate : isRule ? ARMVersions.dataCollectionRules : ARMVersions.tables
        guard let version = req.query["api-version"] else {
            return ingestionError(
                400, "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.")
        }
        guard version == expected else {
            return ingestionError(
                400, "InvalidApiVersionParameter",
                "The api-version '\(version)' is invalid. The emulator supports '\(expected)' for this resource type.")
        }
        if let refusal = checkBearer(req, audience: ARMVersions.audience) { return refusal }
        let id = parts.joined(separator: "/")
        if isWorkspace { return workspace(id: id, name: parts[8]) }
        if isMigrate { return migrateTable(id: parts[0..<11].joined(separator: "/"), name: parts[10]) }
        if isTable {
            return req.method == "GET" ? getTable(id: id, name: parts[10]) : putTable(req, id: id, name: parts[10])
        }
        return req.method == "GET" ? getRule(id: id) : putRule(req, id: id, name: parts[8])
    }

    private func notFound(_ kind: String, _ id: String) -> ServerReply {
        ingestionError(404, "ResourceNotFound", "The \(kind) '\(id)' was not found.")
    }

    private func resourceReply(_ status: Int, _ object: [String: Any]) -> ServerReply {
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data()
        return .respond(
            status: status, headers: [("Content-Type", "application/json; charset=utf-8")], body: [UInt8](data))
    }

    private func getTable(id: String, name: String) -> ServerReply {
        if let t = lock.withLock({ arm.tables[id.lowercased()] }) {
            return resourceReply(200, tableResource(id: id, t))
        }
        if let classic = classicTable(name) { return resourceReply(200, tableResource(id: id, classic)) }
        return notFound("table", id)
    }

    /// Every workspace path names the emulator's one workspace, in `ARMVersions.workspaceLocation`.
    private func workspace(id: String, name: String) -> ServerReply {
        resourceReply(
            200,
            [
                "id": id, "name": name, "type": "Microsoft.OperationalInsights/workspaces",
                "location": ARMVersions.workspaceLocation,
                "properties": ["customerId": config.workspaceId, "provisioningState": "Succeeded"],
            ])
    }

    /// A table the Data Collector API made in this emulator (records sent to `/api/logs`), as
    /// ARM shows such a table: subtype `Classic`, its columns with their suffixed names. nil
    /// when there is none, or when it was migrated (then it is in `arm.tables`).
    func classicTable(_ name: String) -> ARMResources.Table? {
        let stored = columns(table: name)
        guard !stored.isEmpty else { return nil }
        var cols: [(name: String, type: String)] = [("TimeGenerated", "dateTime")]
        for c in stored {
            let t: String
            switch c.type {
            case .string: t = "string"
            case .double: t = "real"
            case .bool: t = "boolean"
            case .dateTime: t = "dateTime"
            case .guid: t = "guid"
            }
            cols.append((c.name, t))
        }
        let body: [String: Any] = [
            "properties": [
                "schema": [
                    "name": name, "tableSubType": "Classic",
                    "columns": cols.map { ["name": $0.name, "type": $0.type] },
                ]
            ]
        ]
        return ARMResources.Table(name: name, columns: cols, body: body)
    }

    /// The migrate action: the classic table becomes a DCR-based one with the same columns.
    private func migrateTable(id: String, name: String) -> ServerReply {
        if lock.withLock({ arm.tables[id.lowercased()] }) != nil {
            return ingestionError(
                400, "InvalidOperation",
                "The table '\(name)' is not a classic table; it takes DCR-based ingestion already.")
        }
        guard var t = classicTable(name) else { return notFound("table", id) }
        var props = (t.body["properties"] as? [String: Any]) ?? [:]
        var schema = (props["schema"] as? [String: Any]) ?? [:]
        schema["tableSubType"] = "DataCollectionRuleBased"
        props["schema"] = schema
        t.body["properties"] = props
        let table = t
        lock.withLock { arm.tables[id.lowercased()] = table }
        return .respond(status: 204, headers: [], body: [])
    }

    private func getRule(id: String) -> ServerReply {
        guard let r = lock.withLock({ arm.rules[id.lowercased()] }) else { return notFound("data collection rule", id) }
        return resourceReply(200, r.body)
    }

    private func tableResource(id: String, _ t: ARMResources.Table) -> [String: Any] {
        var props = (t.body["properties"] as? [String: Any]) ?? [:]
        props["provisioningState"] = "Succeeded"
        return [
            "id": id, "name": t.name, "type": "Microsoft.OperationalInsights/workspaces/tables", "properties": props,
        ]
    }

    /// The body as a JSON object; nil when it is not one.
    private func object(_ body: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    // MARK: Tables

    /// Letters, digits and `_`, starting with a letter; at most `max` characters.
    static func isValidColumnName(_ s: String, max: Int = 45) -> Bool {
        let u = Array(s.utf8)
        guard (1...max).contains(u.count), let f = u.first, (f | 0x20) >= 0x61 && (f | 0x20) <= 0x7A else {
            return false
        }
        return u.allSatisfy { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    /// The `[{name, type}]` list at `path`, checked: valid unique names, types in `allowed`.
    static func columns(_ node: Any?, path: String, allowed: [String]) -> Result<
        [(name: String, type: String)], ARMError
    > {
        guard let list = node as? [Any], !list.isEmpty else {
            return .failure(ARMError("\(path) must be a non-empty list of columns { name, type }."))
        }
        var out: [(name: String, type: String)] = []
        var seen = Set<String>()
        for (k, c) in list.enumerated() {
            guard let o = c as? [String: Any], let name = o["name"] as? String else {
                return .failure(ARMError("\(path)[\(k)].name is missing."))
            }
            guard isValidColumnName(name) else {
                return .failure(
                    ARMError(
                        "\(path)[\(k)].name '\(name)' is not a valid column name: letters, digits and underscore, starting with a letter, at most 45 characters."
                    ))
            }
            guard seen.insert(name.lowercased()).inserted else {
                return .failure(ARMError("\(path)[\(k)].name '\(name)' is declared twice (column names ignore case)."))
            }
            // ARM takes enum values in any case; the canonical spelling is kept.
            guard let t = o["type"] as? String, let type = allowed.first(where: { $0.lowercased() == t.lowercased() })
            else {
                let given = (o["type"] as? String).map { "'\($0)'" } ?? "missing"
                return .failure(
                    ARMError("\(path)[\(k)].type is \(given); allowed: \(allowed.joined(separator: ", "))."))
            }
            out.append((name, type))
        }
        return .success(out)
    }

    private func putTable(_ req: ServerRequest, id: String, name: String) -> ServerReply {
        guard name.hasSuffix("_CL"), Self.isValidColumnName(String(name.dropLast(3)), max: 60) else {
            return invalidPayload(
                "The table name '\(name)' is invalid: a custom table's name is letters, digits and underscore, starting with a letter, and ends with _CL."
            )
        }
        guard let body = object(req.body) else { return invalidPayload("The request body must be a JSON object.") }
        guard let schema = (body["properties"] as? [String: Any])?["schema"] as? [String: Any] else {
            return invalidPayload("properties.schema is required: { name, columns: [{ name, type }] }.")
        }
        if let n = schema["name"], (n as? String) != name {
            return invalidPayload("properties.schema.name '\(n)' must be the table's name '\(name)'.")
        }
        let columns: [(name: String, type: String)]
        switch Self.columns(schema["columns"], path: "properties.schema.columns", allowed: ARMVersions.tableTypes) {
        case .failure(let e): return invalidPayload(e.message)
        case .success(let c): columns = c
        }
        guard let tg = columns.first(where: { $0.name == "TimeGenerated" }) else {
            return invalidPayload(
                "properties.schema.columns must include TimeGenerated (dateTime): every Log Analytics table has it.")
        }
        guard tg.type == "dateTime" else {
            return invalidPayload("properties.schema.columns: TimeGenerated must be of type dateTime, not \(tg.type).")
        }
        if classicTable(name) != nil, lock.withLock({ arm.tables[id.lowercased()] }) == nil {
            return invalidPayload(
                "The table '\(name)' was created by the Data Collector API (a classic table); migrate it first: POST \(id)/migrate?api-version=\(ARMVersions.migrate)."
            )
        }
        // A custom column keeps its type for its life: the service refuses a change.
        if let old = lock.withLock({ arm.tables[id.lowercased()] }) {
            for c in columns {
                if let was = old.columns.first(where: { $0.name.lowercased() == c.name.lowercased() }),
                    was.type != c.type
                {
                    return invalidPayload(
                        "Changing the type of column '\(c.name)' from \(was.type) to \(c.type) is not supported.")
                }
            }
        }
        var stored = body
        if var props = stored["properties"] as? [String: Any], var schema = props["schema"] as? [String: Any] {
            // The subtype is the service's to say; a PUT makes a DCR-based table.
            schema["tableSubType"] = "DataCollectionRuleBased"
            props["schema"] = schema
            stored["properties"] = props
        }
        let table = ARMResources.Table(name: name, columns: columns, body: stored)
        let existed = lock.withLock { () -> Bool in
            let key = id.lowercased()
            let existed = arm.tables[key] != nil
            arm.tables[key] = table
            return existed
        }
        return resourceReply(existed ? 200 : 201, tableResource(id: id, table))
    }

    // MARK: Data collection rules

    /// `/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.OperationalInsights/workspaces/{w}`.
    static func isWorkspaceResourceId(_ s: String) -> Bool {
        let p = s.split(separator: "/", omittingEmptySubsequences: false).map { $0.lowercased() }
        return p.count == 9 && p[0].isEmpty && p[1] == "subscriptions" && !p[2].isEmpty && p[3] == "resourcegroups"
            && !p[4].isEmpty
            && p[5] == "providers" && p[6] == "microsoft.operationalinsights" && p[7] == "workspaces" && !p[8].isEmpty
    }

    /// Whether a stream column's type can fill a table column's: the same type (`datetime` is
    /// `dateTime`), or a string into a guid (streams have no guid type; docs/service-facts.md).
    static func fits(stream: String, table: String) -> Bool {
        stream.lowercased() == table.lowercased() || (stream == "string" && table == "guid")
    }

    private func putRule(_ req: ServerRequest, id: String, name: String) -> ServerReply {
        guard let body = object(req.body) else { return invalidPayload("The request body must be a JSON object.") }
        switch validateRule(body) {
        case .failure(let e): return invalidPayload(e.message)
        case .success(let streams):
            let (status, resource) = lock.withLock { () -> (Int, [String: Any]) in
                let key = id.lowercased()
                let previous = arm.rules[key]
                // A rule keeps its immutable id across updates, as ARM's does.
                let immutableId = previous?.immutableId ?? Self.newImmutableId()
                var props = (body["properties"] as? [String: Any]) ?? [:]
                props["immutableId"] = immutableId
                props["endpoints"] = ["logsIngestion": "http://127.0.0.1:\(port)"]
                props["provisioningState"] = "Succeeded"
                var resource = body
                resource["properties"] = props
                resource["id"] = id
                resource["name"] = name
                resource["type"] = "Microsoft.Insights/dataCollectionRules"
                let declaration = DCRDeclaration(dcrImmutableId: immutableId, streams: streams)
                arm.rules[key] = ARMResources.Rule(
                    name: name, immutableId: immutableId, body: resource, declaration: declaration)
                arm.declarations[immutableId] = declaration
                return (previous == nil ? 201 : 200, resource)
            }
            return resourceReply(status, resource)
        }
    }

    static func newImmutableId() -> String {
        var random = SystemRandomNumberGenerator()
        return "dcr-" + (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &random)) }.joined()
    }

    /// The checks the service makes on a `Direct` rule's body, in its order; the streams declared.
    func validateRule(_ body: [String: Any]) -> Result<[DCRDeclaration.Stream], ARMError> {
        guard let location = body["location"] as? String, !location.isEmpty else {
            return .failure(ARMError("location is required."))
        }
        let region = location.lowercased().replacingOccurrences(of: " ", with: "")
        guard region == ARMVersions.workspaceLocation else {
            return .failure(
                ARMError(
                    "location '\(location)': a rule sending to a Log Analytics workspace must be in the workspace's region ('\(ARMVersions.workspaceLocation)')."
                ))
        }
        // Only kind Direct gives the rule its own ingestion endpoint, which is what the emulator serves.
        guard (body["kind"] as? String)?.lowercased() == "direct" else {
            return .failure(
                ARMError(
                    "kind must be 'Direct' (a rule with its own logs ingestion endpoint); the emulator plays no data collection endpoints."
                ))
        }
        guard let props = body["properties"] as? [String: Any] else {
            return .failure(ARMError("properties is required."))
        }
        guard let declarations = props["streamDeclarations"] as? [String: Any], !declarations.isEmpty else {
            return .failure(ARMError("properties.streamDeclarations must declare at least one stream."))
        }
        var streams: [String: [(name: String, type: String)]] = [:]
        for (stream, node) in declarations.sorted(by: { $0.key < $1.key }) {
            let path = "properties.streamDeclarations.\(stream)"
            guard stream.hasPrefix("Custom-"), stream.count > 7, EmulatorStreams.isValidName(stream) else {
                return .failure(
                    ARMError(
                        "\(path): a declared stream's name must begin with 'Custom-' followed by letters, digits, '-' or '_'."
                    ))
            }
            switch Self.columns(
                (node as? [String: Any])?["columns"], path: "\(path).columns", allowed: ARMVersions.streamTypes)
            {
            case .failure(let e): return .failure(e)
            case .success(let c): streams[stream] = c
            }
        }
        guard let destinations = (props["destinations"] as? [String: Any])?["logAnalytics"] as? [Any],
            !destinations.isEmpty
        else {
            return .failure(
                ARMError(
                    "properties.destinations.logAnalytics must name at least one workspace { workspaceResourceId, name }."
                ))
        }
        var workspaces: [String: String] = [:]
        for (k, d) in destinations.enumerated() {
            let path = "properties.destinations.logAnalytics[\(k)]"
            guard let o = d as? [String: Any], let name = o["name"] as? String, EmulatorStreams.isValidName(name) else {
                return .failure(ARMError("\(path).name is missing or invalid."))
            }
            guard let ws = o["workspaceResourceId"] as? String, Self.isWorkspaceResourceId(ws) else {
                return .failure(
                    ARMError(
                        "\(path).workspaceResourceId must be a workspace's resource id (/subscriptions/…/resourceGroups/…/providers/Microsoft.OperationalInsights/workspaces/…)."
                    ))
            }
            guard workspaces[name] == nil else { return .failure(ARMError("\(path).name '\(name)' is used twice.")) }
            workspaces[name] = ws
        }
        guard let flows = props["dataFlows"] as? [Any], !flows.isEmpty else {
            return .failure(ARMError("properties.dataFlows must hold at least one data flow."))
        }
        for (k, f) in flows.enumerated() {
            let path = "properties.dataFlows[\(k)]"
            guard let o = f as? [String: Any] else { return .failure(ARMError("\(path) must be an object.")) }
            guard let fs = o["streams"] as? [String], !fs.isEmpty else {
                return .failure(ARMError("\(path).streams must name at least one stream."))
            }
            for s in fs where streams[s] == nil {
                return .failure(ARMError("\(path).streams: '\(s)' is not declared in properties.streamDeclarations."))
            }
            guard let ds = o["destinations"] as? [String], !ds.isEmpty else {
                return .failure(ARMError("\(path).destinations must name at least one destination."))
            }
            for d in ds where workspaces[d] == nil {
                return .failure(
                    ARMError("\(path).destinations: '\(d)' is not a destination in properties.destinations."))
            }
            guard let output = o["outputStream"] as? String else {
                return .failure(ARMError("\(path).outputStream is required for a custom stream: 'Custom-<Table>_CL'."))
            }
            guard output.hasPrefix("Custom-"), output.hasSuffix("_CL") else {
                return .failure(
                    ARMError("\(path).outputStream '\(output)' must name a custom table: 'Custom-<Table>_CL'."))
            }
            let tableName = String(output.dropFirst("Custom-".count))
            // The transformation the emulator can run: the stream as is, or with the ingestion time added.
            let kql = ((o["transformKql"] as? String) ?? "source").split(whereSeparator: \.isWhitespace).joined(
                separator: " ")
            let addsTime: Bool
            switch kql {
            case "source": addsTime = false
            case "source | extend TimeGenerated = now()", "source | extend TimeGenerated=now()": addsTime = true
            default:
                return .failure(
                    ARMError(
                        "\(path).transformKql '\(kql)': the emulator runs only 'source' and 'source | extend TimeGenerated = now()'."
                    ))
            }
            for d in ds {
                let ws = workspaces[d]!
                if lock.withLock({ arm.tables["\(ws)/tables/\(tableName)".lowercased()] }) == nil,
                    classicTable(tableName) != nil
                {
                    return .failure(
                        ARMError(
                            "\(path).outputStream: the table '\(tableName)' was created by the Data Collector API; migrate it first (POST …/tables/\(tableName)/migrate)."
                        ))
                }
                guard let table = lock.withLock({ arm.tables["\(ws)/tables/\(tableName)".lowercased()] }) else {
                    return .failure(
                        ARMError(
                            "\(path).outputStream: the table '\(tableName)' does not exist in workspace '\(ws)'; create it first."
                        ))
                }
                for s in fs {
                    var produced = streams[s]!
                    if addsTime {
                        produced.removeAll { $0.name == "TimeGenerated" };
                        produced.append(("TimeGenerated", "datetime"))
                    }
                    guard produced.contains(where: { $0.name == "TimeGenerated" }) else {
                        return .failure(
                            ARMError(
                                "\(path): the output of '\(s)' has no TimeGenerated, which the table '\(tableName)' requires; declare it or add it in transformKql."
                            ))
                    }
                    for c in produced {
                        guard let target = table.columns.first(where: { $0.name == c.name }) else {
                            return .failure(
                                ARMError(
                                    "\(path): column '\(c.name)' of '\(s)' does not exist in the table '\(tableName)'.")
                            )
                        }
                        guard Self.fits(stream: c.type, table: target.type) else {
                            return .failure(
                                ARMError(
                                    "\(path): column '\(c.name)' is \(c.type) in '\(s)' but \(target.type) in the table '\(tableName)'."
                                ))
                        }
                    }
                }
            }
        }
        return .success(
            streams.map { name, cols in
                DCRDeclaration.Stream(
                    name: name,
                    columns: cols.map {
                        DCRDeclaration.Column(name: $0.name, type: DCRDeclaration.ColumnType(rawValue: $0.type)!)
                    })
            })
    }
}

/// What a refused ARM body gets wrong.
struct ARMError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
