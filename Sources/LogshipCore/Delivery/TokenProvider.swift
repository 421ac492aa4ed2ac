import Foundation

/// Microsoft Entra ID access tokens for the Logs Ingestion API: the OAuth 2.0 client
/// credentials grant, with a client secret or with a federated token (Kubernetes workload
/// identity) as the client assertion.
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
        var base = authorityHost.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        let tenant = tenantId.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? tenantId
        // The base came from a URL and the tenant is percent-encoded: the result is always a URL.
        self.tokenURL = URL(string: "\(base)/\(tenant)/oauth2/v2.0/token") ?? authorityHost
        self.tenantId = tenantId
        self.clientId = clientId
        self.credential = credential
        self.scope = scope
        self.transport = transport
        self.timeout = timeout
        self.clock = clock
    }

    /// The Entra ID host of a named cloud; nil for an unknown name.
    public static func authorityHost(cloud: String) -> URL? {
        switch cloud {
        case "public": return URL(string: "https://login.microsoftonline.com")
        case "usgov": return URL(string: "https://login.microsoftonline.us")
        case "china": return URL(string: "https://login.chinacloudapi.cn")
        default: return nil
        }
    }

    /// The scope for Azure Monitor ingestion in a named cloud (the double slash is part of it).
    public static func scope(cloud: String) -> String? {
        switch cloud {
        case "public": return "https://monitor.azure.com//.default"
        case "usgov": return "https://monitor.azure.us//.default"
        case "china": return "https://monitor.azure.cn//.default"
        default: return nil
        }
    }

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
        var form: [(String, String)] = [("grant_type", "client_credentials"), ("client_id", clientId), ("scope", scope)]
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
                return .failure(.refused(status: 0, code: "FederatedTokenFile", message: "the federated token file \(url.path) is empty"))
            }
            form.append(("client_assertion_type", Self.clientAssertionType))
            form.append(("client_assertion", assertion))
            secret = assertion
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
            return .failure(.unavailable(status: nil, retryAfter: nil, message: "\(tokenURL.host ?? "the token service"): \(Self.describe(error))"))
        }
        let result = Self.parse(response, sentAt: sentAt, generation: generation, redacting: secret)
        if case .success(let t) = result { cached = t }
        return result
    }

    static func describe(_ e: TransportError) -> String {
        switch e {
        case .timedOut: return "no answer in time"
        case .connectionLost(let m), .cannotConnect(let m), .other(let m): return m
        }
    }

    /// Reads the token service's answer (a pure function; tested alone). `redacting` is blanked
    /// out of any text quoted from the answer, in case a service ever echoes what it was sent.
    static func parse(_ r: HTTPResponse, sentAt: Date, generation: Int, redacting secret: String?) -> Result<AccessToken, TokenError> {
        let object = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any]
        func clean(_ s: String) -> String {
            var t = s.count > 600 ? String(s.prefix(600)) + "…" : s
            if let secret, !secret.isEmpty { t = t.replacingOccurrences(of: secret, with: "<redacted>") }
            return t.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
        }
        let code = (object?["error"] as? String) ?? "HTTP\(r.status)"
        let description = clean((object?["error_description"] as? String) ?? (r.body.isEmpty ? "no error text" : r.bodyText))
        switch r.status {
        case 200:
            guard let access = object?["access_token"] as? String, !access.isEmpty else {
                return .failure(.refused(status: 200, code: "InvalidTokenResponse", message: "the answer holds no access_token; is the authority host right?"))
            }
            // v2.0 sends a number; v1.0 and some proxies send the number as a string.
            let lifetime = (object?["expires_in"] as? NSNumber)?.doubleValue ?? (object?["expires_in"] as? String).flatMap(Double.init) ?? 3600
            guard lifetime.isFinite, lifetime > 0 else {
                return .failure(.refused(status: 200, code: "InvalidTokenResponse", message: "expires_in is not a positive number of seconds"))
            }
            let margin = min(300, lifetime / 10)
            return .success(
                AccessToken(
                    value: Secret(access), expiresAt: sentAt.addingTimeInterval(lifetime),
                    refreshAt: sentAt.addingTimeInterval(lifetime - margin), generation: generation))
        case 408, 429, 500..<600:
            return .failure(.unavailable(status: r.status, retryAfter: parseRetryAfter(r.headers["retry-after"]), message: "\(code): \(description)"))
        case 404:
            return .failure(.refused(status: 404, code: code, message: "no token endpoint here (check the tenant id and the authority host): \(description)"))
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
