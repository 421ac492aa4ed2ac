import Foundation
import LogshipSupport

// Over 500 lines on purpose: the token endpoint and the ingestion endpoint judge one exchange
// (the token one issues is the token the other checks), kept side by side.

/// The Logs Ingestion API and the Entra ID token endpoint, as `logship emulate` serves them
/// next to the Data Collector API.
extension Emulator {
    // MARK: Token endpoint

    /// `POST /{tenant}/oauth2/v2.0/token`: the client credentials grant, with a client secret or
    /// a client assertion. Errors look like Entra ID's (`error`, `error_description` with an
    /// AADSTS code), so the client's handling of real refusals is what gets tested.
    func tokenEndpoint(_ req: ServerRequest, tenant: String) -> ServerReply {
        lock.withLock { stats[.tokenRequests] += 1 }
        guard req.method == "POST" else {
            return tokenError(405, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.")
        }
        let mediaType = req.header("content-type")?.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard mediaType == "application/x-www-form-urlencoded" else {
            return tokenError(
                400, "invalid_request", "AADSTS900144: The request body must be application/x-www-form-urlencoded.")
        }
        let form = Self.parseForm(req.body)
        guard tenant.lowercased() == config.tenantId.lowercased() else {
            return tokenError(
                400, "invalid_request",
                "AADSTS90002: Tenant '\(tenant)' not found. Check to make sure you have the correct tenant ID.")
        }
        guard let grant = form["grant_type"] else {
            return tokenError(
                400, "invalid_request",
                "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
        }
        guard grant == "client_credentials" else {
            return tokenError(
                400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type '\(grant)'.")
        }
        guard let client = form["client_id"], !client.isEmpty else {
            return tokenError(
                400, "invalid_request",
                "AADSTS900144: The request body must contain the following parameter: 'client_id'.")
        }
        guard client.lowercased() == config.clientId.lowercased() else {
            return tokenError(
                400, "unauthorized_client",
                "AADSTS700016: Application with identifier '\(client)' was not found in the directory '\(config.tenantId)'."
            )
        }
        guard let scope = form["scope"], config.acceptedScopes.contains(scope) else {
            return tokenError(
                400, "invalid_scope",
                "AADSTS1002012: The provided value for scope \(form["scope"] ?? "(none)") is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            )
        }
        if let secret = form["client_secret"] {
            guard Crypto.constantTimeEquals(Array(secret.utf8), Array(config.clientSecret.value.utf8)) else {
                return tokenError(
                    401, "invalid_client",
                    "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(config.clientId)'."
                )
            }
        } else if let assertion = form["client_assertion"] {
            guard form["client_assertion_type"] == EmulatedAPI.jwtBearerAssertionType else {
                return tokenError(
                    400, "invalid_request",
                    "AADSTS90035: client_assertion_type must be \(EmulatedAPI.jwtBearerAssertionType).")
            }
            let accepted: Bool
            if let expected = config.federatedToken {
                accepted = Crypto.constantTimeEquals(Array(assertion.utf8), Array(expected.value.utf8))
            } else {
                accepted = Self.looksLikeJWT(assertion)
            }
            guard accepted else {
                return tokenError(
                    401, "invalid_client",
                    "AADSTS700213: No matching federated identity record found for presented assertion.")
            }
        } else {
            return tokenError(
                401, "invalid_client",
                "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type."
            )
        }

        let (token, lifetime, _) = issueToken(for: scope)
        let body =
            "{\"token_type\":\"Bearer\",\"expires_in\":\(lifetime),\"ext_expires_in\":\(lifetime),\"access_token\":\"\(token)\"}"
        return .respond(
            status: 200, headers: [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")],
            body: Array(body.utf8))
    }

    /// A new access token the ingestion endpoint will take until it expires: the token, its
    /// lifetime in seconds, and its expiry in Unix seconds.
    private func issueToken(for resource: String) -> (String, Int, Int) {
        var random = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &random) }
        // JWT-shaped, like the real thing, but opaque: only this emulator can check it.
        let token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.\(Self.base64url(bytes)).emulator"
        let lifetime = config.tokenLifetimeSeconds
        let issued = now()
        lock.withLock {
            // Tokens expired an hour ago can go: nobody will present them again.
            tokens = tokens.filter { $0.value > issued.addingTimeInterval(-3600) }
            tokenAudiences = tokenAudiences.filter { tokens[$0.key] != nil }
            tokens[token] = issued.addingTimeInterval(Double(lifetime))
            tokenAudiences[token] = Self.audience(resource)
            stats[.tokensIssued] += 1
        }
        return (token, lifetime, Int(issued.timeIntervalSince1970) + lifetime)
    }

    // MARK: Managed identity endpoints

    /// The resources a managed identity may ask tokens for: the accepted scopes without their
    /// `/.default` (`https://monitor.azure.com//.default` → `https://monitor.azure.com/`).
    private var acceptedResources: Set<String> {
        Set(config.acceptedScopes.map { $0.hasSuffix("/.default") ? String($0.dropLast(9)) : $0 })
    }

    /// Which identity a request names: the system-assigned one without `client_id`, else the
    /// user-assigned one with that client id; nil when the host has no such identity.
    private func identity(_ clientId: String?) -> String? {
        guard let id = clientId, !id.isEmpty else { return config.systemAssignedIdentity ? "system" : nil }
        return config.userAssignedIdentities.contains(where: { $0.lowercased() == id.lowercased() }) ? id : nil
    }

    /// `GET /metadata/identity/oauth2/token`, the instance metadata service of an Azure VM:
    /// `Metadata: true`, `api-version` and `resource` required, `client_id` for a user-assigned
    /// identity. Errors and the token are shaped as the service sends them (numbers as strings).
    func imdsToken(_ req: ServerRequest) -> ServerReply {
        lock.withLock { stats[.tokenRequests] += 1 }
        guard req.method == "GET" else { return imdsError(405, "invalid_request", "Only GET is supported") }
        guard req.header("metadata")?.lowercased() == "true" else {
            return imdsError(400, "invalid_request", "Required metadata header not specified")
        }
        if let dir = config.arcKeyDirectory {
            // The Azure Arc agent: a first request gets a challenge naming a fresh key file; the
            // request that carries that file's contents gets the token.
            guard let auth = req.header("authorization") else {
                var random = SystemRandomNumberGenerator()
                let key = Self.base64url((0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })
                let file = dir.appendingPathComponent("\(UUID().uuidString.lowercased()).key")
                guard
                    FileManager.default.createFile(
                        atPath: file.path, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600])
                else {
                    return imdsError(500, "internal_error", "cannot write the challenge key in \(dir.path)")
                }
                lock.withLock { arcKeys[key] = file }
                lock.withLock { stats[.tokenRequestsRefused] += 1 }
                return .respond(
                    status: 401,
                    headers: [
                        ("WWW-Authenticate", "Basic realm=\(file.path)"),
                        ("Content-Type", "application/json; charset=utf-8"),
                    ],
                    body: Array(
                        "{\"error\":\"unauthorized_client\",\"error_description\":\"Authorization header not present\"}"
                            .utf8))
            }
            let given = auth.hasPrefix("Basic ") ? String(auth.dropFirst(6)) : ""
            guard let file = lock.withLock({ arcKeys.removeValue(forKey: given) }) else {
                return imdsError(
                    401, "unauthorized_client", "The key in the Authorization header is not one this agent issued")
            }
            try? FileManager.default.removeItem(at: file)
        }
        if req.header("x-forwarded-for") != nil {
            return imdsError(400, "invalid_request", "Request contains X-Forwarded-For header")
        }
        let q = req.query
        guard let version = q["api-version"], !version.isEmpty else {
            return imdsError(400, "invalid_request", "Required query variable 'api-version' is missing")
        }
        guard version >= "2018-02-01" else {
            return imdsError(400, "invalid_request", "Invalid api-version '\(version)'")
        }
        guard let resource = q["resource"], !resource.isEmpty else {
            return imdsError(400, "invalid_request", "Required query variable 'resource' is missing")
        }
        guard let who = identity(q["client_id"] ?? q["msi_res_id"] ?? q["object_id"]) else {
            return imdsError(400, "invalid_request", "Identity not found")
        }
        guard acceptedResources.contains(resource) else {
            return imdsError(
                400, "invalid_resource",
                "AADSTS500011: The resource principal named \(resource) was not found in the tenant named \(config.tenantId)."
            )
        }
        let (token, lifetime, expiresOn) = issueToken(for: resource)
        let client = who == "system" ? config.clientId : who
        let body =
            "{\"access_token\":\"\(token)\",\"client_id\":\"\(client)\",\"expires_in\":\"\(lifetime)\",\"expires_on\":\"\(expiresOn)\",\"ext_expires_in\":\"\(lifetime)\",\"not_before\":\"\(expiresOn - lifetime)\",\"resource\":\"\(resource)\",\"token_type\":\"Bearer\"}"
        return .respond(
            status: 200, headers: [("Content-Type", "application/json; charset=utf-8")], body: Array(body.utf8))
    }

    /// `GET /msi/token`, the identity endpoint App Service, Functions and Container Apps give
    /// an app (IDENTITY_ENDPOINT): the IDENTITY_HEADER secret in `X-IDENTITY-HEADER`,
    /// `api-version=2019-08-01`; the answer gives `expires_on` only.
    func appServiceToken(_ req: ServerRequest) -> ServerReply {
        lock.withLock { stats[.tokenRequests] += 1 }
        guard req.method == "GET" else { return appServiceError(405, "Only GET is supported") }
        guard let h = req.header("x-identity-header"),
            Crypto.constantTimeEquals(Array(h.utf8), Array(config.identityHeader.value.utf8))
        else {
            return appServiceError(401, "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER")
        }
        let q = req.query
        guard q["api-version"] == "2019-08-01" else { return appServiceError(400, "api-version must be 2019-08-01") }
        guard let resource = q["resource"], !resource.isEmpty else {
            return appServiceError(400, "The resource parameter is required")
        }
        guard let who = identity(q["client_id"] ?? q["mi_res_id"] ?? q["principal_id"]) else {
            return appServiceError(400, "No managed identity with the given id is assigned to this app")
        }
        guard acceptedResources.contains(resource) else {
            return appServiceError(
                400,
                "AADSTS500011: The resource principal named \(resource) was not found in the tenant named \(config.tenantId)."
            )
        }
        let (token, _, expiresOn) = issueToken(for: resource)
        let client = who == "system" ? config.clientId : who
        let body =
            "{\"access_token\":\"\(token)\",\"expires_on\":\"\(expiresOn)\",\"resource\":\"\(resource)\",\"token_type\":\"Bearer\",\"client_id\":\"\(client)\"}"
        return .respond(
            status: 200, headers: [("Content-Type", "application/json; charset=utf-8")], body: Array(body.utf8))
    }

    private func imdsError(_ status: Int, _ code: String, _ description: String) -> ServerReply {
        lock.withLock {
            stats[.tokenRequestsRefused] += 1
            stats.byErrorCode[code, default: 0] += 1
        }
        var body: [UInt8] = Array("{\"error\":\"".utf8)
        EmulatorStore.appendEscaped(code, to: &body)
        body += Array("\",\"error_description\":\"".utf8)
        EmulatorStore.appendEscaped(description, to: &body)
        body += Array("\"}".utf8)
        return .respond(status: status, headers: [("Content-Type", "application/json; charset=utf-8")], body: body)
    }

    private func appServiceError(_ status: Int, _ message: String) -> ServerReply {
        lock.withLock {
            stats[.tokenRequestsRefused] += 1
            stats.byErrorCode["ManagedIdentity\(status)", default: 0] += 1
        }
        var body: [UInt8] = Array("{\"statusCode\":\(status),\"message\":\"".utf8)
        EmulatorStore.appendEscaped(message, to: &body)
        body += Array("\"}".utf8)
        return .respond(status: status, headers: [("Content-Type", "application/json; charset=utf-8")], body: body)
    }

    private func tokenError(_ status: Int, _ code: String, _ description: String) -> ServerReply {
        lock.withLock {
            stats[.tokenRequestsRefused] += 1
            stats.byErrorCode[code, default: 0] += 1
        }
        var body: [UInt8] = Array("{\"error\":\"".utf8)
        EmulatorStore.appendEscaped(code, to: &body)
        body += Array("\",\"error_description\":\"".utf8)
        EmulatorStore.appendEscaped(
            description + " Trace ID: emulator. Timestamp: \(HTTPDate.iso8601(now()))", to: &body)
        body += Array("\",\"error_codes\":[".utf8)
        let digits = description.dropFirst("AADSTS".count).prefix { $0.isNumber }
        body += Array((digits.isEmpty ? "0" : String(digits)).utf8)
        body += Array("]}".utf8)
        return .respond(status: status, headers: [("Content-Type", "application/json; charset=utf-8")], body: body)
    }

    /// `application/x-www-form-urlencoded` into a dictionary (`+` is a space; last value wins).
    static func parseForm(_ body: [UInt8]) -> [String: String] {
        var out: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func dec(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            out[dec(kv[0])] = kv.count > 1 ? dec(kv[1]) : ""
        }
        return out
    }

    /// Three non-empty base64url parts separated by dots.
    static func looksLikeJWT(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return false }
        return parts.allSatisfy { p in
            !p.isEmpty
                && p.utf8.allSatisfy {
                    ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F
                        || $0 == 0x3D
                }
        }
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(
            of: "/", with: "_"
        )
        .replacingOccurrences(of: "=", with: "")
    }

    // MARK: Ingestion endpoint

    /// `{"error":{"code":…,"message":…}}`, the Logs Ingestion API's error body.
    func ingestionError(_ status: Int, _ code: String, _ message: String, headers: [(String, String)] = [])
        -> ServerReply
    {
        lock.withLock { stats.byErrorCode[code, default: 0] += 1 }
        var body: [UInt8] = Array("{\"error\":{\"code\":\"".utf8)
        EmulatorStore.appendEscaped(code, to: &body)
        body += Array("\",\"message\":\"".utf8)
        EmulatorStore.appendEscaped(message, to: &body)
        body += Array("\"}}".utf8)
        return .respond(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    func injectedIngestionFault(_ code: Int, headers: [(String, String)]) -> ServerReply {
        switch code {
        case 429:
            return ingestionError(
                429, "TooManyRequests",
                "Injected fault: the data collection rule's request rate limit was exceeded; retry after the Retry-After interval.",
                headers: headers)
        case 500:
            return ingestionError(
                500, "InternalServerError", "Injected fault: an internal error occurred.", headers: headers)
        case 503:
            return ingestionError(
                503, "ServiceUnavailable", "Injected fault: the service is unavailable; retry later.", headers: headers)
        case 400:
            return ingestionError(
                400, "InvalidPayload", "Injected fault: the data was refused as invalid.", headers: headers)
        case 403:
            return ingestionError(
                403, "OperationFailed",
                "Injected fault: the authentication token provided does not have access to ingest data for the data collection rule.",
                headers: headers)
        case 413:
            return ingestionError(
                413, "ContentLengthLimitExceeded", "Injected fault: the request is too large.", headers: headers)
        default: return ingestionError(code, "Injected", "Injected fault \(code).", headers: headers)
        }
    }

    /// `POST /dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01`, checked in the
    /// order the service would: version, token, rule and stream, size, encoding, JSON.
    func ingestion(_ req: ServerRequest, dcr: String, stream: String) -> ServerReply {
        guard req.method == "POST" else { return ingestionError(405, "MethodNotAllowed", "Only POST is supported.") }
        guard let version = req.query["api-version"] else {
            return ingestionError(400, "MissingApiVersion", "The api-version query parameter is required.")
        }
        guard version == EmulatedAPI.logsIngestionVersion else {
            return ingestionError(
                400, "InvalidApiVersion",
                "The api-version '\(version)' is not supported; use \(EmulatedAPI.logsIngestionVersion).")
        }
        if let refusal = checkBearer(req) { return refusal }
        // A rule created through the ARM endpoints is served with its own streams; otherwise the
        // one `--dcr` declares (or any, without it).
        let provisioned = lock.withLock { arm.declarations[dcr] }
        if let p = provisioned, p.stream(stream) == nil {
            return ingestionError(
                400, "InvalidStream", "Stream '\(stream)' is not declared in data collection rule '\(dcr)'.")
        }
        if provisioned == nil, let d = config.dcr {
            if let id = d.dcrImmutableId, id != dcr {
                return ingestionError(404, "NotFound", "Data collection rule with immutable Id '\(dcr)' not found.")
            }
            guard d.stream(stream) != nil else {
                return ingestionError(
                    400, "InvalidStream", "Stream '\(stream)' is not declared in data collection rule '\(dcr)'.")
            }
        }
        guard EmulatorStreams.isValidName(stream) else {
            return ingestionError(400, "InvalidStream", "Stream '\(stream)' is not a valid stream name.")
        }
        let mediaType = req.header("content-type")?.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard mediaType == "application/json" else {
            return ingestionError(415, "UnsupportedMediaType", "The Content-Type must be application/json.")
        }
        let limit = config.ingestionMaxBodyBytes
        if let id = req.header("x-ms-client-request-id"), !id.isEmpty {
            lock.withLock {
                // Bounded: the count stops growing past a million distinct ids.
                if requestIds.count < 1_000_000 { requestIds.insert(id) }
                stats[.requestIds] = requestIds.count
            }
        }
        func tooLarge(_ n: Int) -> ServerReply {
            ingestionError(
                413, "ContentLengthLimitExceeded",
                "Maximum allowed content length: \(limit) bytes (1 MB). Provided content length: \(n) bytes.")
        }
        if req.bodyTooLarge || req.body.count > limit { return tooLarge(max(req.declaredLength, req.body.count)) }
        var body = req.body
        let encoding = req.header("content-encoding")?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        switch encoding {
        case "", "identity":
            break
        case "gzip":
            lock.withLock { stats[.gzipRequests] += 1 }
            switch EmulatorGzip.decode(req.body, limit: limit) {
            case .success(let decoded): body = decoded
            case .failure(.tooLarge): return tooLarge(limit + 1)
            case .failure(.corrupt(let why)):
                return ingestionError(400, "InvalidContentEncoding", "The gzip body could not be decoded: \(why).")
            }
        default:
            return ingestionError(
                400, "InvalidContentEncoding", "The Content-Encoding '\(encoding)' is not supported; use gzip or none.")
        }
        lock.withLock {
            stats[.maxBodyBytes] = max(stats[.maxBodyBytes], body.count)
            stats[.maxWireBodyBytes] = max(stats[.maxWireBodyBytes], req.body.count)
        }
        if let reply = quotaCheck(dcr: dcr, bytes: body.count) { return reply }
        if let reply = gate() { return reply }
        if let reply = injectedFault(api: .logsIngestion) { return reply }

        // The body must be a JSON array of objects; the emulator's own reader checks it.
        let firstByte = body.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
        guard firstByte == UInt8(ascii: "[") else {
            return ingestionError(400, "InvalidPayload", "The request body must be a JSON array of objects.")
        }
        var records: [([(String, EmulatorJSON.Value)], Range<Int>)] = []
        do {
            _ = try body.withUnsafeBytes { raw in
                try EmulatorJSON.forEachRecordWithSpan(raw) { records.append(($0, $1)) }
            }
        } catch {
            return ingestionError(400, "InvalidPayload", "The request body is not valid JSON: \(error).")
        }
        if let (k, field) = refusedRecord(records.map(\.0)) {
            return ingestionError(
                400, "InvalidPayload",
                "The record at index \(k) of the body is invalid: the value of '\(field)' cannot be ingested.")
        }
        var newlyUndeclared: [String] = []
        do {
            try lock.withLock {
                let declared = (provisioned ?? config.dcr)?.stream(stream)
                for (members, _) in records {
                    if !members.contains(where: { $0.0 == "TimeGenerated" }) { stats[.missingTimeGenerated] += 1 }
                    stats[.duplicateKeys] += EmulatorJSON.duplicateKeys(members)
                    for (name, value) in members {
                        if let d = declared, d.column(named: name) == nil {
                            stats.undeclaredColumns[name, default: 0] += 1
                            if reportedUndeclared.insert("\(stream)\u{1}\(name)").inserted {
                                newlyUndeclared.append(name)
                            }
                        }
                        // The service cuts longer values; stored here as sent, but counted.
                        if case .string(let s) = value, s.utf8.count > 65_536 { stats[.truncatedValues] += 1 }
                    }
                }
                if !config.discard {
                    try streams.store(stream: stream, body: body, records: records)
                } else {
                    streams.stream(stream).rows += records.count
                }
                stats[.records] += records.count
                stats[.bytes] += body.count
                stats.streams[stream] = streams.stream(stream).rows
            }
        } catch {
            return ingestionError(500, "InternalServerError", "The emulator could not store the data: \(error)")
        }
        if let log = config.log {
            for name in newlyUndeclared {
                log(
                    "stream \(stream): records carry \"\(name)\", which the DCR does not declare; the service drops it without a word (counted in stats.json undeclaredColumns)"
                )
            }
        }
        let lose = lock.withLock { () -> Bool in
            guard config.ackLossRate > 0, rng.nextDouble() < config.ackLossRate else { return false }
            stats[.ackLost] += 1
            return true
        }
        if lose { return .dropConnection }
        return .respond(status: 204, headers: [], body: [])
    }

    /// A scope or resource as an audience: `https://monitor.azure.com//.default` and
    /// `https://monitor.azure.com/` are both `https://monitor.azure.com/`.
    static func audience(_ scopeOrResource: String) -> String {
        var s = scopeOrResource.lowercased()
        if s.hasSuffix("/.default") { s = String(s.dropLast("/.default".count)) }
        while s.hasSuffix("/") { s = String(s.dropLast()) }
        return s + "/"
    }

    /// nil when the request carries a live token this emulator issued for `audience` (nil: the
    /// ingestion endpoint, any audience but ARM's); otherwise the 401.
    func checkBearer(_ req: ServerRequest, audience: String? = nil) -> ServerReply? {
        let challenge =
            "Bearer authorization_uri=\"http://127.0.0.1:\(port)/\(config.tenantId)\", error=\"invalid_token\""
        guard let auth = req.header("authorization"), auth.lowercased().hasPrefix("bearer ") else {
            return ingestionError(
                401, "InvalidToken", "An Authorization header 'Bearer <token>' is required.",
                headers: [
                    ("WWW-Authenticate", "Bearer authorization_uri=\"http://127.0.0.1:\(port)/\(config.tenantId)\"")
                ])
        }
        let token = String(auth.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        let (expiry, issuedFor) = lock.withLock { (tokens[token], tokenAudiences[token]) }
        let wanted = audience.map(Self.audience)
        let arm = Self.audience(ARMVersions.audience)
        let rightAudience = wanted.map { issuedFor == $0 } ?? (issuedFor != arm)
        guard let expiry, rightAudience else {
            return ingestionError(
                401, "InvalidToken", "The access token was not issued for this service.",
                headers: [("WWW-Authenticate", challenge + ", error_description=\"The token is not valid\"")])
        }
        guard now() < expiry else {
            lock.withLock { stats[.expiredTokens] += 1 }
            return ingestionError(
                401, "InvalidToken", "The access token expired at \(HTTPDate.iso8601(expiry)).",
                headers: [("WWW-Authenticate", challenge + ", error_description=\"The access token has expired\"")])
        }
        return nil
    }
}
