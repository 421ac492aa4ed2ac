import Foundation
import LogshipSupport

// The pipeline schema: `target`, the DCR declaration, `limits`, `upload`, and checks across them.
extension Context {
    mutating func targetSpec(_ node: JSONNode) -> TargetSpec? {
        let common = ["api", "timeGeneratedField", "cloud", "endpoint"]
        let dc = ["logType", "workspaceId", "sharedKey", "sharedKeyFile", "resourceId"]
        let li = [
            "dcrImmutableId", "stream", "tenantId", "clientId", "clientSecret", "clientSecretFile",
            "federatedTokenFile", "managedIdentity", "authorityHost", "dcr", "columnSuffixes",
        ]
        guard case .object(let raw) = node.value else {
            error(node, "target", "expected an object, found \(node.typeName)")
            return nil
        }
        var t = TargetSpec()
        if let apiNode = raw.first(where: { $0.key == "api" })?.node,
            let api = choice(apiNode, "target.api", TargetAPI.self)
        {
            t.api = api
        }
        let own = t.api == .dataCollector ? dc : li
        let other = t.api == .dataCollector ? li : dc
        // Keys of the other API get a message of their own rather than "unknown key".
        var filtered: [(key: String, node: JSONNode)] = []
        for (k, v) in raw {
            if other.contains(k) {
                error(
                    v, "target.\(k)",
                    "belongs to api \"\(t.api == .dataCollector ? "logs-ingestion" : "data-collector")\"; this target's api is \"\(t.api.rawValue)\""
                )
            } else {
                filtered.append((k, v))
            }
        }
        guard
            let m = members(
                JSONNode(value: .object(filtered), line: node.line, column: node.column), "target",
                allowed: common + own)
        else { return nil }
        if let c = m["cloud"], let s = string(c, "target.cloud") {
            let clouds = AzureCloud.names
            if clouds.contains(s) {
                t.cloud = s
            } else {
                error(
                    c, "target.cloud",
                    "\"\(s)\" is not allowed\(Self.hint(s, clouds)); allowed: \(clouds.joined(separator: ", ")); or endpoint: \"https://…\""
                )
            }
        }
        if let e = m["endpoint"] {
            t.endpoint = configValue(e, "target.endpoint")
            if case .value(let s)? = t.endpoint, let problem = Self.endpointProblem(s) {
                error(e, "target.endpoint", problem)
            }
        }
        if let f = m["timeGeneratedField"], let s = string(f, "target.timeGeneratedField") { t.timeGeneratedField = s }
        switch t.api {
        case .dataCollector:
            if let lt = m["logType"], let s = string(lt, "target.logType") {
                if let problem = FieldNames.logTypeProblem(s) { error(lt, "target.logType", problem) }
                t.logType = s
            } else if m["logType"] == nil {
                missing(node, "target.logType", "missing; the custom log's name (the table is <logType>_CL)")
            }
            t.workspaceId = configValue(m["workspaceId"], "target.workspaceId")
            // Only a literal: a ${VAR} is checked where credentials are resolved, naming the variable.
            if case .value(let w)? = t.workspaceId, let n = m["workspaceId"], case .string(let raw) = n.value,
                !raw.contains("${"),
                !GUIDText.isValid(w)
            {
                error(
                    n, "target.workspaceId",
                    "\"\(w)\" is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx); copy it from the workspace's Agents page"
                )
            }
            t.sharedKey = configValue(m["sharedKey"], "target.sharedKey")
            if case .value(let k)? = t.sharedKey, let node = m["sharedKey"], case .string(let raw) = node.value,
                !raw.contains("${")
            {
                _ = k
                warning(
                    node, "target.sharedKey",
                    "a literal key is written in the pipeline file; prefer \"${LOGSHIP_SHARED_KEY}\" and keep the key out of files"
                )
            }
            t.sharedKeyFile = configValue(m["sharedKeyFile"], "target.sharedKeyFile")
            secretAndFile(m, "sharedKey", "sharedKeyFile")
            if let r = m["resourceId"], let s = string(r, "target.resourceId") {
                if !s.hasPrefix("/subscriptions/") {
                    error(r, "target.resourceId", "an Azure resource ID starts with /subscriptions/")
                }
                t.resourceId = s
            }
        case .logsIngestion:
            // One id, or a list of DCRs of the same stream and table (each has its own quota).
            var ids: [(String, JSONNode)] = []
            if let node = m["dcrImmutableId"], case .array(let items) = node.value {
                if items.isEmpty {
                    error(node, "target.dcrImmutableId", "an empty list; give one DCR immutable id or several")
                }
                for (k, item) in items.enumerated() {
                    if let id = string(item, "target.dcrImmutableId[\(k)]") { ids.append((id, item)) }
                }
            } else if let node = m["dcrImmutableId"], let id = string(node, "target.dcrImmutableId") {
                ids.append((id, node))
            }
            var seen: Set<String> = []
            for (id, node) in ids {
                if id.isEmpty
                    || !id.utf8.allSatisfy({
                        FieldNames.isLetter($0) || FieldNames.isDigit($0) || $0 == 0x2D || $0 == 0x5F
                    })
                {
                    error(
                        node, "target.dcrImmutableId",
                        "\"\(id)\" is not an immutable id (dcr- and 32 hexadecimal digits, as the DCR's JSON view shows it)"
                    )
                } else if !seen.insert(id).inserted {
                    error(node, "target.dcrImmutableId", "\"\(id)\" is listed twice; list each DCR once")
                }
            }
            t.dcrImmutableIds = ids.map(\.0)
            t.dcrImmutableId = ids.first?.0
            if m["dcrImmutableId"] == nil {
                missing(node, "target.dcrImmutableId", "missing; the data collection rule's immutable id (dcr-…)")
            }
            t.stream = string(m["stream"], "target.stream")
            if m["stream"] == nil { missing(node, "target.stream", "missing; the DCR stream name (Custom-…)") }
            if m["endpoint"] == nil {
                missing(
                    node, "target.endpoint", "missing; the data collection endpoint or the DCR's ingestion endpoint URL"
                )
            }
            t.tenantId = configValue(m["tenantId"], "target.tenantId")
            t.clientId = configValue(m["clientId"], "target.clientId")
            t.clientSecret = configValue(m["clientSecret"], "target.clientSecret")
            t.clientSecretFile = configValue(m["clientSecretFile"], "target.clientSecretFile")
            secretAndFile(m, "clientSecret", "clientSecretFile")
            t.federatedTokenFile = configValue(m["federatedTokenFile"], "target.federatedTokenFile")
            if let node = m["managedIdentity"], let on = bool(node, "target.managedIdentity") {
                t.managedIdentity = on
                if on {
                    let others = ["clientSecret", "clientSecretFile", "federatedTokenFile"].filter { m[$0] != nil }
                    if !others.isEmpty {
                        error(
                            node, "target.managedIdentity",
                            "true together with \(others.map { "target.\($0)" }.joined(separator: " and ")); choose one credential"
                        )
                    }
                    for k in ["tenantId", "authorityHost"] where m[k] != nil {
                        warning(
                            m[k]!, "target.\(k)",
                            "not used with a managed identity (its tokens come from the Azure host)")
                    }
                }
            }
            if let a = m["authorityHost"], let s = string(a, "target.authorityHost") {
                if let problem = Self.endpointProblem(s) { error(a, "target.authorityHost", problem) }
                t.authorityHost = s
            }
            t.dcr = string(m["dcr"], "target.dcr")
            if let c = m["columnSuffixes"], let v = string(c, "target.columnSuffixes") {
                let allowed = ["none", "data-collector"]
                if allowed.contains(v) {
                    t.dataCollectorSuffixes = v == "data-collector"
                } else {
                    error(
                        c, "target.columnSuffixes",
                        "\"\(v)\" is not allowed; allowed: \(allowed.joined(separator: ", "))")
                }
            }
            if let name = t.stream, !name.hasPrefix("Custom-"), !name.hasPrefix("Microsoft-") {
                error(
                    m["stream"], "target.stream",
                    "\"\(name)\": stream names start with Custom- (or Microsoft- for built-in tables)")
            }
            if let name = t.stream { t.logType = name }
        }
        return t
    }

    /// A secret and the file holding it in one target: which one was meant is a guess, and a guess
    /// could send with a stale key, so neither wins (docs/commands.md "Credentials").
    mutating func secretAndFile(_ m: [String: JSONNode], _ key: String, _ fileKey: String) {
        guard m[key] != nil, let node = m[fileKey] else { return }
        error(
            node, "target.\(fileKey)",
            "target.\(key) and target.\(fileKey) are both set; keep one (the file keeps the secret out of the pipeline)"
        )
    }

    /// `fields.where` (or an `any` inside it): a list of conditions, each checked with its key path.

    mutating func checkDCR(_ t: TargetSpec, m: [String: JSONNode], base: URL) {
        guard let path = t.dcr, let node = Self.child(m["target"], "dcr") else { return }
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
        let decl: DCRDeclaration
        do {
            decl = try DCRDeclaration.load(url)
        } catch {
            self.error(node, "target.dcr", "\(error.path.isEmpty ? "" : "\(error.path): ")\(error.message) (\(path))")
            return
        }
        if let s = t.stream, decl.stream(s) == nil {
            self.error(
                Self.child(m["target"], "stream") ?? node, "target.stream",
                "\"\(s)\" is not declared in \(path); declared: \(decl.streams.map(\.name).joined(separator: ", "))")
        }
        if let want = t.dcrImmutableId, let have = decl.dcrImmutableId, want != have {
            warning(node, "target.dcr", "\(path) describes \(have), not target.dcrImmutableId \(want)")
        }
    }

    static func endpointProblem(_ s: String) -> String? {
        guard let u = URL(string: s), let scheme = u.scheme?.lowercased(), u.host != nil else {
            return "\"\(s)\" is not a URL (expected https://host or http://127.0.0.1:PORT)"
        }
        if scheme == "https" { return nil }
        if scheme == "http" {
            let h = u.host!.lowercased()
            if h == "127.0.0.1" || h == "localhost" || h == "::1" || h == "[::1]" { return nil }
            return "plain http is allowed only to a loopback address (an emulator); use https"
        }
        return "the scheme \"\(scheme)\" is not supported; use https (or http to loopback)"
    }

    mutating func limitsSpec(_ node: JSONNode) -> LimitsSpec {
        var l = LimitsSpec()
        guard
            let m = members(
                node, "limits",
                allowed: [
                    "maxBodyBytes", "maxRecordsPerChunk", "oversizedValue", "maxValueBytes", "maxFields",
                    "tooManyFields", "packField",
                ])
        else {
            return l
        }
        // The widest of the two APIs' limits (docs/service-facts.md); a Logs Ingestion pipeline
        // is held to its own in `pipelineSpec`.
        let maxBody = ServiceLimits.DataCollector.maxBodyBytes
        if let b = m["maxBodyBytes"] {
            if case .number(let d) = b.value, d > Double(maxBody) {
                error(
                    b, "limits.maxBodyBytes",
                    "\(Self.show(d)) is above the service's limit of \(Self.grouped(maxBody)) bytes per request; "
                        + "allowed: 1000 to \(maxBody)")
            } else if let n = integer(b, "limits.maxBodyBytes", 1000...maxBody) {
                l.maxBodyBytes = n
            }
        }
        if let n = integer(m["maxRecordsPerChunk"], "limits.maxRecordsPerChunk", 1...10_000_000) {
            l.maxRecordsPerChunk = n
        }
        if let o = choice(m["oversizedValue"], "limits.oversizedValue", OversizedValuePolicy.self) {
            l.oversizedValue = o
        }
        // As for the body: the widest of the two APIs' limits.
        if let n = integer(m["maxValueBytes"], "limits.maxValueBytes", 16...ServiceLimits.LogsIngestion.maxValueBytes) {
            l.maxValueBytes = n
        }
        if let n = integer(m["maxFields"], "limits.maxFields", 1...ServiceLimits.DataCollector.maxFields) {
            l.maxFields = n
            l.maxFieldsDefaulted = false
        }
        if let t = choice(m["tooManyFields"], "limits.tooManyFields", TooManyFieldsPolicy.self) { l.tooManyFields = t }
        if let p = m["packField"], let s = string(p, "limits.packField") {
            if let problem = FieldNames.problem(s) { error(p, "limits.packField", problem) } else { l.packField = s }
        }
        return l
    }

    mutating func uploadSpec(_ node: JSONNode) -> UploadSpec {
        var u = UploadSpec()
        guard
            let m = members(
                node, "upload",
                allowed: [
                    "concurrency", "maxAttempts", "timeoutSeconds", "unreachableAfter", "compress", "compression",
                ])
        else { return u }
        if let c = m["concurrency"] {
            if case .string(let s) = c.value, s == "auto" {
                u.adaptive = true
            } else if case .number = c.value, let n = integer(c, "upload.concurrency", 1...64) {
                u.concurrency = n
                u.adaptive = false
            } else if case .number = c.value {
            } else {
                error(
                    c, "upload.concurrency",
                    "expected \"auto\" (the default: adapts between 1 and 64) or a whole number from 1 to 64, found \(Self.found(c))"
                )
            }
        }
        if let n = integer(m["maxAttempts"], "upload.maxAttempts", 1...100) { u.maxAttempts = n }
        if let d = number(m["timeoutSeconds"], "upload.timeoutSeconds", 1...3600) { u.timeoutSeconds = d }
        if let d = number(m["unreachableAfter"], "upload.unreachableAfter", 1...604_800) { u.unreachableAfter = d }
        if let b = bool(m["compress"], "upload.compress") { u.compress = b }
        if let e = choice(m["compression"], "upload.compression", Gzip.Encoder.self) { u.compression = e }
        return u
    }

    /// Checks that need more than one section.
    mutating func crossChecks(
        root: JSONNode, m: [String: JSONNode], source: SourceSpec, fields: FieldsSpec, target: TargetSpec,
        limits: LimitsSpec
    ) {
        let mapNode = Self.child(m["fields"], "map")
        var outputs: [String: String] = [:]
        for f in fields.map {
            if let first = outputs[f.output.lowercased()] {
                error(
                    Self.child(mapNode, f.output) ?? mapNode, "fields.map.\(f.output)",
                    "\"\(f.output)\" and \"\(first)\" differ only in letter case; column names are case-insensitive, so rename one"
                )
            } else {
                outputs[f.output.lowercased()] = f.output
            }
        }
        if let r = fields.recordId, outputs[r.lowercased()] != nil {
            error(
                Self.child(m["fields"], "recordId"), "fields.recordId",
                "\"\(r)\" is also a mapped field; choose another name for the id column")
        }
        if let tf = target.timeGeneratedField {
            let tfNode = Self.child(m["target"], "timeGeneratedField")
            if let f = fields.map.first(where: { $0.output == tf }) {
                if let t = f.type, t != .datetime {
                    error(
                        tfNode, "target.timeGeneratedField",
                        "\"\(tf)\" is mapped with type \"\(t.rawValue)\"; the time-generated field must be type \"datetime\""
                    )
                } else if f.type == nil, case .input = f.source {
                    warning(
                        tfNode, "target.timeGeneratedField",
                        "\"\(tf)\" is passed through as it is; give it type \"datetime\" so values are normalised to ISO 8601 UTC"
                    )
                }
            } else if !fields.passthrough {
                error(
                    tfNode, "target.timeGeneratedField",
                    "\"\(tf)\" is not a mapped field and passthrough is off; map it with type \"datetime\"")
            }
        }
        if !fields.passthrough, fields.map.isEmpty {
            error(
                Self.child(m["fields"], "passthrough") ?? m["fields"], "fields.passthrough",
                "passthrough is off and nothing is mapped: every record would be empty; map fields (fields.map) or turn passthrough on"
            )
        }
        if limits.tooManyFields == .pack {
            // The pack columns (packField, packField2, …) would hold the same key twice.
            let pack = limits.packField.lowercased()
            for name in fields.map.map(\.output) + (fields.recordId.map { [$0] } ?? []) {
                let l = name.lowercased()
                guard l.hasPrefix(pack),
                    l == pack || Int(l.dropFirst(pack.count)).map({ $0 >= 2 && $0 <= limits.maxFields }) == true
                else { continue }
                error(
                    Self.child(mapNode, name) ?? m["fields"],
                    fields.map.contains { $0.output == name } ? "fields.map.\(name)" : "fields.recordId",
                    "\"\(name)\" is also a pack column (limits.packField is \"\(limits.packField)\"); choose another name or another limits.packField"
                )
            }
        }
        let mapped = fields.map.count + (fields.recordId == nil ? 0 : 1)
        if mapped > limits.maxFields, limits.tooManyFields == .fail {
            error(
                mapNode ?? m["fields"], "fields.map",
                "\(mapped) columns are mapped; limits.maxFields is \(limits.maxFields) (raise it, or set limits.tooManyFields to \"warn\" or \"pack\")"
            )
        }
        if source.format == .csv, !source.csv.header, source.csv.columns == nil {
            error(
                Self.child(m["source"], "csv") ?? m["source"], "source.csv.columns",
                "with header: false, name the columns (source.csv.columns)")
        }
    }
}
