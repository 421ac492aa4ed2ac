import Foundation
import LogshipSupport

/// Microsoft Entra ID access tokens for the Logs Ingestion API: the OAuth 2.0 client
/// credentials grant, with a client secret or with a federated token (Kubernetes workload
/// identity) as the client assertion; or a managed identity's token from the Azure host.
///
/// An actor so that concurrent uploads share one token: at most one request to the token
/// service is in flight, its answer is cached, and it is fetched again a little before it
/// expires (or at once after `invalidate`, when the service answered 401 to it).
public actor TokenProvider {
    /// How the client proves who it is.
    public enum Credential: Sendable {
        /// The application's client secret.
        case clientSecret(Secret)
        /// A file holding a JWT from the cluster's identity provider (`AZURE_FEDERATED_TOKEN_FILE`).
        /// Read again for every token request: the kubelet rotates it.
        case federatedTokenFile(URL)
        /// The identity Azure gives the machine or app (no secret to keep at all).
        case managedIdentity(ManagedIdentity)
        /// The Azure CLI's sign-in (`az account get-access-token`): last in the chain, for ad-hoc runs.
        case azureCLI(AzureCLICredential)
    }

    /// Where a managed identity's tokens are asked for, and which identity.
    public struct ManagedIdentity: Sendable {
        public enum Endpoint: Sendable {
            /// The instance metadata service of Azure VMs, scale sets and AKS nodes
            /// (`http://169.254.169.254`; AZURE_POD_IDENTITY_AUTHORITY_HOST names another host).
            case imds(URL)
            /// App Service, Functions and Container Apps: IDENTITY_ENDPOINT, with the
            /// IDENTITY_HEADER secret in `X-IDENTITY-HEADER`.
            case appService(URL, header: Secret)
            /// An Azure Arc-enabled server's agent (IDENTITY_ENDPOINT with IMDS_ENDPOINT): it
            /// answers a first request with a challenge naming a key file under `keyDirectory`,
            /// readable only by its `himds` group; the file's contents prove the caller may ask.
            case arc(URL, keyDirectory: String)
        }
        public var endpoint: Endpoint
        /// A user-assigned identity's client id; nil for the system-assigned identity.
        public var clientId: String?
        public init(endpoint: Endpoint, clientId: String?) {
            self.endpoint = endpoint
            self.clientId = clientId
        }

        /// The default instance metadata service address.
        public static let imdsHost = URL(string: "http://169.254.169.254")!
        /// Where the Arc agent writes its challenge keys on Linux.
        public static let arcKeyDirectory = "/var/opt/azcmagent/tokens"
    }

    /// A bearer token and when to stop using it.
    public struct AccessToken: Sendable, Equatable {
        /// The token itself; a credential, so it never prints.
        public let value: Secret
        /// When the service says it expires (`expires_in` after the request).
        public let expiresAt: Date
        /// When a new one is fetched: ahead of expiry by a tenth of the lifetime, at most five minutes.
        public let refreshAt: Date
        /// Which fetch produced it (1 for the first), so a stale 401 cannot discard a newer token.
        public let generation: Int
    }

    /// Why no token could be had.
    public enum TokenError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The token service refused the request (wrong tenant, client id, secret or assertion,
        /// or a scope the application may not have): no retry can help.
        case refused(status: Int, code: String, message: String)
        /// No usable answer (network error, timeout, throttling, a 5xx): try again later.
        case unavailable(status: Int?, retryAfter: Double?, message: String)

        public var description: String {
            switch self {
            case .refused(let status, let code, let message): return "HTTP \(status) \(code): \(message)"
            case .unavailable(let status, _, let message): return status.map { "HTTP \($0): \(message)" } ?? message
            }
        }
    }

    /// The `client_assertion_type` of a JWT client assertion (RFC 7523).
    public static let clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    public let tokenURL: URL
    /// Tokens come from the host's managed identity rather than from Entra ID directly.
    public nonisolated let isManagedIdentity: Bool
    public let tenantId: String
    public let clientId: String
    public let scope: String
    private let credential: Credential
    private let transport: HTTPTransport
    private let timeout: Double
    private let clock: @Sendable () -> Date
    private var cached: AccessToken?
    private var inFlight: Task<Result<AccessToken, TokenError>, Never>?
    /// Requests sent to the token service so far (tests and the run summary read it).
    public private(set) var fetches = 0

    /// - Parameters:
    ///   - authorityHost: `https://login.microsoftonline.com` or a stand-in (the emulator).
    ///   - scope: `https://monitor.azure.com//.default` in the public cloud.
    public init(
        authorityHost: URL, tenantId: String, clientId: String, credential: Credential, scope: String,
        transport: HTTPTransport, timeout: Double = 60, clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        if case .managedIdentity = credential { isManagedIdentity = true } else { isManagedIdentity = false }
        if case .managedIdentity(let mi) = credential {
            self.tokenURL = Self.managedIdentityRequest(mi, scope: scope).url
        } else {
            var base = authorityHost.absoluteString
            while base.hasSuffix("/") { base.removeLast() }
            let tenant =
                tenantId.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? tenantId
            // The base came from a URL and the tenant is percent-encoded: the result is always a URL.
            self.tokenURL = URL(string: "\(base)/\(tenant)/oauth2/v2.0/token") ?? authorityHost
        }
        self.tenantId = tenantId
        self.clientId = clientId
        self.credential = credential
        self.scope = scope
        self.transport = transport
        self.timeout = timeout
        self.clock = clock
    }

    /// The Entra ID host of a named cloud; nil for an unknown name.
    public static func authorityHost(cloud: String) -> URL? { AzureCloud.named(cloud)?.authorityHost }

    /// The scope for Azure Monitor ingestion in a named cloud (the double slash is part of it).
    public static func scope(cloud: String) -> String? { AzureCloud.named(cloud)?.ingestionScope }

    /// A token that is not due for refresh; fetched when there is none, shared while a fetch runs.
    public func token() async throws(TokenError) -> AccessToken {
        if let t = cached, clock() < t.refreshAt { return t }
        let task: Task<Result<AccessToken, TokenError>, Never>
        if let running = inFlight {
            task = running
        } else {
            task = Task { await self.fetch() }
            inFlight = task
        }
        do {
            return try await task.value.get()
        } catch {
            // A renewal ahead of expiry that found the service unreachable: the old token still
            // works until it expires, and the next call tries again.
            if case .unavailable = error, let t = cached, clock() < t.expiresAt { return t }
            throw error
        }
    }

    /// Forgets `token` after the service refused it (a 401): the next `token()` fetches a new one.
    /// A newer token fetched meanwhile by another upload is kept.
    public func invalidate(_ token: AccessToken) {
        if cached?.generation == token.generation { cached = nil }
    }

    /// One request to the token service; caches what it gets. Runs on the actor, so `cached`
    /// and `inFlight` change together before anyone else looks at them.
    private func fetch() async -> Result<AccessToken, TokenError> {
        defer { inFlight = nil }
        fetches += 1
        let generation = fetches
        LogSink.standard(
            .debug, "token: fetching a new access token (\(generation == 1 ? "first" : "refresh"))",
            ["attempt": .int(generation)])
        if case .managedIdentity(let mi) = credential { return await fetchManagedIdentity(mi, generation: generation) }
        if case .azureCLI(let az) = credential {
            let sentAt = clock()
            switch await az.fetch(scope: scope, timeout: timeout, now: sentAt) {
            case .failure(let e): return .failure(e)
            case .success(let (token, expiresAt)):
                let lifetime = max(1, expiresAt.timeIntervalSince(sentAt))
                let t = AccessToken(
                    value: Secret(token), expiresAt: expiresAt,
                    refreshAt: sentAt.addingTimeInterval(lifetime - min(300, lifetime / 10)),
                    generation: generation)
                cached = t
                return .success(t)
            }
        }
        var form: [(String, String)] = [
            ("grant_type", "client_credentials"), ("client_id", clientId), ("scope", scope),
        ]
        var secret: String? = nil
        switch credential {
        case .clientSecret(let s):
            form.append(("client_secret", s.value))
            secret = s.value
        case .federatedTokenFile(let url):
            let assertion: String
            do {
                assertion = try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                return .failure(
                    .refused(
                        status: 0, code: "FederatedTokenFile",
                        message: "cannot read the federated token file \(url.path): \(error.localizedDescription)"))
            }
            guard !assertion.isEmpty else {
                return .failure(
                    .refused(
                        status: 0, code: "FederatedTokenFile", message: "the federated token file \(url.path) is empty")
                )
            }
            form.append(("client_assertion_type", Self.clientAssertionType))
            form.append(("client_assertion", assertion))
            secret = assertion
        case .managedIdentity, .azureCLI:
            preconditionFailure("managed identities and the Azure CLI are fetched above")
        }
        let body = Data(Self.formEncode(form).utf8)
        let sentAt = clock()
        let response: HTTPResponse
        do {
            response = try await transport.post(
                url: tokenURL,
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                body: body, timeout: timeout)
        } catch {
            return .failure(
                .unavailable(
                    status: nil, retryAfter: nil,
                    message: "\(tokenURL.host ?? "the token service"): \(Self.describe(error))"))
        }
        let result = Self.parse(response, sentAt: sentAt, generation: generation, redacting: secret)
        if case .success(let t) = result { cached = t }
        return result
    }

    /// Whether a managed identity endpoint has ever answered with a token in this run.
    private var managedIdentityAnswered = false

    /// The managed identity endpoint's GET request for `scope`'s resource.
    static func managedIdentityRequest(_ mi: ManagedIdentity, scope: String) -> (url: URL, headers: [(String, String)])
    {
        // A token for a resource, not a scope: "https://monitor.azure.com//.default" asks for
        // "https://monitor.azure.com/" (what the Azure SDKs send).
        let resource = scope.hasSuffix("/.default") ? String(scope.dropLast("/.default".count)) : scope
        var query: [(String, String)] = []
        let base: String
        var headers: [(String, String)] = []
        switch mi.endpoint {
        case .imds(let host):
            var h = host.absoluteString
            while h.hasSuffix("/") { h.removeLast() }
            base = h + "/metadata/identity/oauth2/token"
            query = [("api-version", "2018-02-01"), ("resource", resource)]
            headers = [("Metadata", "true")]
        case .appService(let endpoint, let header):
            base = endpoint.absoluteString
            query = [("api-version", "2019-08-01"), ("resource", resource)]
            headers = [("X-IDENTITY-HEADER", header.value)]
        case .arc(let endpoint, _):
            base = endpoint.absoluteString
            query = [("api-version", "2020-06-01"), ("resource", resource)]
            headers = [("Metadata", "true")]
        }
        if let id = mi.clientId { query.append(("client_id", id)) }
        let joiner = base.contains("?") ? "&" : "?"
        // The base came from a URL and the query is percent-encoded: the result is always a URL.
        let url = URL(string: base + joiner + formEncode(query)) ?? URL(string: base)!
        return (url, headers)
    }

    /// One GET to the managed identity endpoint. Its refusals (no such identity on this host)
    /// are final; 404 and 410 (the metadata service updating), 429 and 5xx are tried again. A host
    /// with no endpoint at all, before any token came from it, is not an Azure host: final too.
    private func fetchManagedIdentity(_ mi: ManagedIdentity, generation: Int) async -> Result<AccessToken, TokenError> {
        var (url, headers) = Self.managedIdentityRequest(mi, scope: scope)
        var secret: String? = nil
        if case .appService(_, let header) = mi.endpoint { secret = header.value }
        let endpointName: String
        switch mi.endpoint {
        case .imds: endpointName = "the instance metadata service at \(url.host ?? "")"
        case .appService: endpointName = "IDENTITY_ENDPOINT \(url.host ?? "")"
        case .arc: endpointName = "the Azure Arc agent at \(url.host ?? ""):\(url.port.map(String.init) ?? "")"
        }
        let which =
            mi.clientId.map { "the user-assigned identity with client id \($0)" } ?? "the system-assigned identity"
        var sentAt = clock()
        var response: HTTPResponse
        do {
            // The endpoint is on the host itself: it answers at once or not at all.
            response = try await transport.get(url: url, headers: headers, timeout: min(timeout, 10))
            if case .arc(_, let keyDirectory) = mi.endpoint, response.status == 401 {
                // The challenge: read the key file it names and ask again with its contents.
                let key: String
                switch Self.arcChallengeKey(response.headers["www-authenticate"], keyDirectory: keyDirectory) {
                case .success(let k): key = k
                case .failure(let problem):
                    return .failure(.refused(status: 401, code: "ArcChallenge", message: "\(endpointName): \(problem)"))
                }
                secret = key
                headers.append(("Authorization", "Basic \(key)"))
                sentAt = clock()
                response = try await transport.get(url: url, headers: headers, timeout: min(timeout, 10))
            }
        } catch {
            let message = "\(endpointName): \(Self.describe(error))"
            var dropped = false
            if case .connectionLost = error { dropped = true }
            if !managedIdentityAnswered && !dropped {
                return .failure(
                    .refused(
                        status: 0, code: "ManagedIdentityUnavailable",
                        message:
                            "\(message); managed identity tokens come from the Azure host logship runs on (a VM, scale set, AKS node, App Service, Container App or Azure Arc-enabled server). Elsewhere, use a client secret or workload identity"
                    ))
            }
            return .failure(.unavailable(status: nil, retryAfter: nil, message: message))
        }
        if response.status == 404 || response.status == 410 {
            return .failure(
                .unavailable(
                    status: response.status, retryAfter: parseRetryAfter(response.headers["retry-after"]),
                    message: "\(endpointName) is not ready (HTTP \(response.status))"))
        }
        let result = Self.parse(response, sentAt: sentAt, generation: generation, redacting: secret)
        switch result {
        case .success(let t):
            cached = t
            managedIdentityAnswered = true
            return result
        case .failure(.refused(let status, let code, let message)):
            return .failure(
                .refused(status: status, code: code, message: "\(endpointName) has no token for \(which): \(message)"))
        case .failure:
            return result
        }
    }

    /// The key an Azure Arc challenge (`WWW-Authenticate: Basic realm=<file>`) points to. The
    /// file must be a `.key` file of at most 4096 bytes directly in `keyDirectory`: anything
    /// else could make a stand-in endpoint read another file and be sent its contents.
    static func arcChallengeKey(_ header: String?, keyDirectory: String) -> Result<String, ChallengeProblem> {
        guard let header, let r = header.range(of: "realm=", options: .caseInsensitive) else {
            return .failure(ChallengeProblem("answered 401 without a Basic realm challenge"))
        }
        var path = String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        if path.hasPrefix("\""), path.hasSuffix("\""), path.count >= 2 { path = String(path.dropFirst().dropLast()) }
        let file = URL(fileURLWithPath: path).standardizedFileURL
        let dir = URL(fileURLWithPath: keyDirectory).standardizedFileURL
        guard file.deletingLastPathComponent().path == dir.path, file.pathExtension == "key" else {
            return .failure(
                ChallengeProblem(
                    "its challenge names \(path), which is not a .key file in \(keyDirectory); refusing to read it"))
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file.path),
            (attributes[.type] as? FileAttributeType) == .typeRegular, let size = attributes[.size] as? NSNumber,
            size.intValue <= 4096,
            let data = FileManager.default.contents(atPath: file.path)
        else {
            return .failure(
                ChallengeProblem(
                    "cannot read its challenge key \(file.path) (a file of at most 4096 bytes that only the himds group may read: run logship as a member of himds)"
                ))
        }
        return .success(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    struct ChallengeProblem: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    static func describe(_ e: TransportError) -> String {
        switch e {
        case .timedOut: return "no answer in time"
        case .connectionLost(let m), .cannotConnect(let m), .other(let m): return m
        }
    }

    /// Reads the token service's answer (a pure function; tested alone). `redacting` is blanked
    /// out of any text quoted from the answer, in case a service ever echoes what it was sent.
    static func parse(_ r: HTTPResponse, sentAt: Date, generation: Int, redacting secret: String?) -> Result<
        AccessToken, TokenError
    > {
        let object = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any]
        func clean(_ s: String) -> String {
            var t = s.count > 600 ? String(s.prefix(600)) + "…" : s
            if let secret, !secret.isEmpty { t = t.replacingOccurrences(of: secret, with: "<redacted>") }
            return t.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
        }
        let code = (object?["error"] as? String) ?? "HTTP\(r.status)"
        // Entra ID and the metadata service say `error_description`; App Service says `message`.
        let description = clean(
            (object?["error_description"] as? String) ?? (object?["message"] as? String)
                ?? (r.body.isEmpty ? "no error text" : r.bodyText))
        switch r.status {
        case 200:
            guard let access = object?["access_token"] as? String, !access.isEmpty else {
                return .failure(
                    .refused(
                        status: 200, code: "InvalidTokenResponse",
                        message: "the answer holds no access_token; is the authority host right?"))
            }
            // v2.0 sends a number; v1.0 and some proxies send the number as a string.
            func number(_ key: String) -> Double? {
                (object?[key] as? NSNumber)?.doubleValue ?? (object?[key] as? String).flatMap(Double.init)
            }
            // Managed identity endpoints send `expires_on` (Unix seconds), App Service only that.
            let lifetime =
                number("expires_in") ?? number("expires_on").map { $0 - sentAt.timeIntervalSince1970 } ?? 3600
            guard lifetime.isFinite, lifetime > 0 else {
                return .failure(
                    .refused(
                        status: 200, code: "InvalidTokenResponse",
                        message: "expires_in is not a positive number of seconds"))
            }
            let margin = min(300, lifetime / 10)
            return .success(
                AccessToken(
                    value: Secret(access), expiresAt: sentAt.addingTimeInterval(lifetime),
                    refreshAt: sentAt.addingTimeInterval(lifetime - margin), generation: generation))
        case 408, 429, 500..<600:
            return .failure(
                .unavailable(
                    status: r.status, retryAfter: parseRetryAfter(r.headers["retry-after"]),
                    message: "\(code): \(description)"))
        case 404:
            return .failure(
                .refused(
                    status: 404, code: code,
                    message: "no token endpoint here (check the tenant id and the authority host): \(description)"))
        default:
            return .failure(.refused(status: r.status, code: code, message: description))
        }
    }

    /// `application/x-www-form-urlencoded`: every byte but the unreserved ones percent-encoded.
    static func formEncode(_ pairs: [(String, String)]) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        func enc(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: allowed) ?? "" }
        return pairs.map { "\(enc($0.0))=\(enc($0.1))" }.joined(separator: "&")
    }
}
