import Foundation

/// The HTTP calls Azure Resource Manager needs: GET, PUT (create or update), POST (an action).
public protocol ARMTransport: HTTPTransport {
    func put(url: URL, headers: [(String, String)], body: Data, timeout: Double) async throws(TransportError)
        -> HTTPResponse
}

extension SocketHTTPTransport: ARMTransport {}
extension URLSessionTransport: ARMTransport {}

/// Creates or updates a `ProvisioningPlan`'s table and data collection rule through Azure
/// Resource Manager (`logship dcr --apply`), as docs/service-facts.md ("Provisioning") says ARM
/// behaves: GET the table first (its columns and types), PUT it with the existing columns plus
/// the new ones (a PUT replaces the column list), PUT the rule, then GET it until it reports
/// its immutable id and logs ingestion endpoint. Every call is idempotent: running it again
/// with the same plan changes nothing.
public struct ARMProvisioner: Sendable {
    /// What went wrong, said so a person can act on it.
    public struct Failure: Error, CustomStringConvertible {
        public enum Kind: Sendable {
            /// logship refused before changing anything (a type change, a classic table).
            case conflict
            /// Azure Resource Manager or the token service refused a call.
            case refused
            /// No answer, or the resource not ready in time.
            case unanswered
        }
        public var description: String
        public var kind: Kind
    }

    /// What `apply` did and what the pipeline needs.
    public struct Outcome: Sendable {
        public var immutableId: String
        public var logsIngestionEndpoint: String
        public var ruleResourceId: String
        /// Columns the table did not have before (all of them for a new table).
        public var addedColumns: [String]
        public var tableCreated: Bool
        public var migrated: Bool
    }

    let base: URL
    let tokens: TokenProvider
    let transport: ARMTransport
    let timeout: Double
    /// How long to wait for a resource to finish provisioning, and between two looks.
    let waitSeconds: Double
    let pollSeconds: Double
    let progress: @Sendable (String) -> Void
    let sleep: @Sendable (Double) async -> Void

    public init(
        base: URL, tokens: TokenProvider, transport: ARMTransport, timeout: Double = 60, waitSeconds: Double = 300,
        pollSeconds: Double = 5, progress: @escaping @Sendable (String) -> Void,
        sleep: @escaping @Sendable (Double) async -> Void = { s in try? await Task.sleep(nanoseconds: UInt64(s * 1e9)) }
    ) {
        self.base = base
        self.tokens = tokens
        self.transport = transport
        self.timeout = timeout
        self.waitSeconds = waitSeconds
        self.pollSeconds = pollSeconds
        self.progress = progress
        self.sleep = sleep
    }

    /// Azure Resource Manager of a named cloud (docs/service-facts.md).
    public static func managementEndpoint(cloud: String) -> URL? { AzureCloud.named(cloud)?.managementEndpoint }

    /// What is wrong with an `--arm-endpoint` URL (https, or http to loopback); nil when fine.
    public static func endpointProblem(_ url: String) -> String? { Context.endpointProblem(url) }

    /// The token scope for ARM in a named cloud.
    public static func scope(cloud: String) -> String? {
        managementEndpoint(cloud: cloud).map { $0.absoluteString + "/.default" }
    }

    /// The migrate action's api-version (docs/service-facts.md).
    public static let migrateAPIVersion = "2021-12-01-preview"

    // MARK: Applying

    /// The workspace's region (a DCR goes into its workspace's region).
    public func workspaceLocation(_ scope: ProvisioningPlan.Scope) async throws(Failure) -> String {
        progress("GET workspace \(scope.workspace) (its region)")
        let r = try await call(
            "GET", scope.workspaceResourceId, version: ProvisioningPlan.tableAPIVersion, accept: [200])
        guard let location = r.object["location"] as? String, !location.isEmpty else {
            throw Failure(description: "the workspace \(scope.workspace) reported no location", kind: .refused)
        }
        return location
    }

    /// - Parameter migrate: the table was made by the Data Collector API: it must exist, and is
    ///   moved to DCR-based ingestion (its migrate action) before the rule writes into it.
    public func apply(_ plan: ProvisioningPlan, _ scope: ProvisioningPlan.Scope, migrate: Bool = false)
        async throws(Failure)
        -> Outcome
    {
        let tablePath = plan.tablePath(scope)
        progress("GET table \(plan.table) in workspace \(scope.workspace)")
        let existing = try await call("GET", tablePath, version: ProvisioningPlan.tableAPIVersion, accept: [200, 404])
        var columns: [[String: Any]] = []
        var known: [String: String] = [:]  // lowercased name → type
        var migrated = false
        if existing.status == 200 {
            let schema = ((existing.object["properties"] as? [String: Any])?["schema"] as? [String: Any]) ?? [:]
            columns = (schema["columns"] as? [[String: Any]]) ?? []
            for c in columns + ((schema["standardColumns"] as? [[String: Any]]) ?? []) {
                if let n = c["name"] as? String, let t = c["type"] as? String { known[n.lowercased()] = t }
            }
            // A type change is refused before anything is changed: Log Analytics keeps a column's
            // type for its life (docs/service-facts.md).
            var conflicts: [String] = []
            for c in plan.tableColumns {
                if let t = known[c.name.lowercased()], t.lowercased() != c.tableType.lowercased() {
                    conflicts.append("\(c.name) is \(t) in the table but \(c.tableType) in the plan (from \(c.origin))")
                }
            }
            if !conflicts.isEmpty {
                throw Failure(
                    description:
                        "the table \(plan.table) exists with other column types: \(conflicts.joined(separator: "; ")). "
                        + "Log Analytics does not change a column's type: map the field with the table's type, or to a "
                        + "new column name (fields.map), or delete the column in Azure first. Nothing was changed.",
                    kind: .conflict)
            }
            let subType = schema["tableSubType"] as? String
            if migrate && subType?.lowercased() == "classic" {
                progress("POST \(plan.table)/migrate: moving the Data Collector table to DCR-based ingestion")
                _ = try await call(
                    "POST", tablePath + "/migrate", version: Self.migrateAPIVersion, accept: [200, 202, 204])
                migrated = true
            } else if !migrate && subType?.lowercased() == "classic" {
                throw Failure(
                    description:
                        "the table \(plan.table) was made by the Data Collector API (a classic table): migrate it "
                        + "with `logship dcr PIPELINE --from-data-collector --apply …`, which keeps its suffixed "
                        + "column "
                        + "names (level_s) for old queries, or pick another target.stream. Nothing was changed.",
                    kind: .conflict)
            }
        } else if migrate {
            throw Failure(
                description:
                    "--from-data-collector: the table \(plan.table) does not exist in workspace \(scope.workspace) "
                    + "(resource group \(scope.resourceGroup)); there is nothing to migrate. Check --workspace and the "
                    + "pipeline's table, or leave out --from-data-collector to create a new table. "
                    + "Nothing was changed.",
                kind: .conflict)
        }
        let added = plan.tableColumns.filter { known[$0.name.lowercased()] == nil }
        // The existing column list plus the new columns: a PUT replaces the list, and a column
        // left out would be removed with its data.
        var body = plan.tableBody()
        if existing.status == 200 {
            var props = (body["properties"] as? [String: Any]) ?? [:]
            var schema = (props["schema"] as? [String: Any]) ?? [:]
            schema["columns"] = columns + added.map { ["name": $0.name, "type": $0.tableType] }
            props["schema"] = schema
            body["properties"] = props
        }
        if existing.status == 200 && added.isEmpty && !migrated {
            progress("table \(plan.table) has every column already")
        } else {
            let what =
                existing.status == 200
                ? "adding \(added.map(\.name).joined(separator: ", "))" : "\(added.count) columns"
            progress("PUT table \(plan.table) (\(what))")
            let put = try await call(
                "PUT", tablePath, version: ProvisioningPlan.tableAPIVersion, body: body, accept: [200, 201, 202])
            if put.status == 202 || state(put.object) != "succeeded" {
                try await waitFor("table \(plan.table)", path: tablePath, version: ProvisioningPlan.tableAPIVersion) {
                    o in
                    state(o) == "succeeded"
                }
            }
        }

        let rulePath = plan.rulePath(scope)
        progress("PUT data collection rule \(plan.ruleName) (kind Direct, stream \(plan.stream))")
        let ruleBody = plan.ruleBody(scope)
        let put = try await call(
            "PUT", rulePath, version: ProvisioningPlan.dcrAPIVersion, body: ruleBody, accept: [200, 201, 202])
        var rule = put.object
        if Self.ids(rule) == nil {
            rule = try await waitFor(
                "data collection rule \(plan.ruleName) to report its immutableId and endpoints.logsIngestion",
                path: rulePath,
                version: ProvisioningPlan.dcrAPIVersion
            ) { o in Self.ids(o) != nil }
        }
        guard let (immutableId, endpoint) = Self.ids(rule) else {
            throw Failure(
                description: "the data collection rule \(plan.ruleName) reported no immutableId", kind: .refused)
        }
        return Outcome(
            immutableId: immutableId, logsIngestionEndpoint: endpoint, ruleResourceId: rulePath,
            addedColumns: existing.status == 200 ? added.map(\.name) : [], tableCreated: existing.status != 200,
            migrated: migrated)
    }

    /// `properties.immutableId` and `properties.endpoints.logsIngestion` of a rule, when both are there.
    static func ids(_ rule: [String: Any]) -> (String, String)? {
        let props = rule["properties"] as? [String: Any]
        guard let id = props?["immutableId"] as? String, !id.isEmpty,
            let e = (props?["endpoints"] as? [String: Any])?["logsIngestion"] as? String, !e.isEmpty
        else { return nil }
        return (id, e)
    }

    /// `properties.provisioningState`, lowercased ("succeeded" when absent: ARM omits it for
    /// resources that are provisioned synchronously).
    func state(_ o: [String: Any]) -> String {
        ((o["properties"] as? [String: Any])?["provisioningState"] as? String)?.lowercased() ?? "succeeded"
    }

    /// GETs `path` until `done` holds: every `pollSeconds`, at most `waitSeconds`, saying so each time.
    @discardableResult
    func waitFor(_ what: String, path: String, version: String, done: ([String: Any]) -> Bool) async throws(Failure)
        -> [String: Any]
    {
        let tries = max(1, Int((waitSeconds / max(pollSeconds, 0.001)).rounded(.up)))
        for k in 1...tries {
            let r = try await call("GET", path, version: version, accept: [200])
            if done(r.object) { return r.object }
            let s = state(r.object)
            if s == "failed" || s == "canceled" {
                throw Failure(description: "\(what): provisioningState is \(s)", kind: .refused)
            }
            progress("waiting for \(what) (\(Int(Double(k) * pollSeconds)) s of at most \(Int(waitSeconds)) s)")
            await sleep(pollSeconds)
        }
        throw Failure(
            description:
                "\(what): not there after \(Int(waitSeconds)) s; run the same command again later "
                + "(it changes nothing twice)",
            kind: .unanswered)
    }

    // MARK: HTTP

    struct Answer {
        var status: Int
        var object: [String: Any]
    }

    func call(_ method: String, _ path: String, version: String, body: [String: Any]? = nil, accept: Set<Int>)
        async throws(Failure) -> Answer
    {
        guard let url = URL(string: base.absoluteString + path + "?api-version=" + version) else {
            throw Failure(description: "not a URL: \(base.absoluteString)\(path)", kind: .refused)
        }
        let token: TokenProvider.AccessToken
        do {
            token = try await tokens.token()
        } catch {
            throw Failure(
                description: "no token for Azure Resource Manager (\(tokens.scope)): \(error)", kind: .refused)
        }
        let headers = [("Authorization", "Bearer \(token.value.value)"), ("Content-Type", "application/json")]
        let payload = body.map { ProvisioningPlan.json($0, pretty: false) }.map { Data($0.utf8) } ?? Data()
        let response: HTTPResponse
        do {
            switch method {
            case "GET": response = try await transport.get(url: url, headers: headers, timeout: timeout)
            case "PUT": response = try await transport.put(url: url, headers: headers, body: payload, timeout: timeout)
            default: response = try await transport.post(url: url, headers: headers, body: payload, timeout: timeout)
            }
        } catch {
            throw Failure(description: "\(method) \(url.absoluteString): no answer (\(error))", kind: .unanswered)
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        guard accept.contains(response.status) else {
            let e = object["error"] as? [String: Any]
            let text = [e?["code"] as? String, e?["message"] as? String].compactMap { $0 }.joined(separator: ": ")
            var hint = ""
            switch response.status {
            case 401: hint = " (the token was refused: check the tenant and the credentials)"
            case 403:
                hint =
                    " (the identity needs Contributor rights, or Log Analytics Contributor and Monitoring Contributor, "
                    + "on the resource group and the workspace)"
            case 404: hint = " (check --subscription, --resource-group and --workspace)"
            default: break
            }
            throw Failure(
                description:
                    "\(method) \(path): HTTP \(response.status) \(text.isEmpty ? response.bodyText : text)\(hint)",
                kind: .refused)
        }
        return Answer(status: response.status, object: object)
    }
}
