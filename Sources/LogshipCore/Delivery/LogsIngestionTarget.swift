import Foundation
import LogshipSupport

/// The Logs Ingestion API: `POST {endpoint}/dataCollectionRules/{dcr}/streams/{stream}`,
/// authorized with an Entra ID bearer token, the body gzipped by default.
public struct LogsIngestionTarget: DeliveryTarget {
    /// One call carries at most this many bytes, compressed or not (docs/service-facts.md).
    /// The SDKs split at about 1 MiB; decimal 1 MB is the safe side.
    public static let serviceMaxBodyBytes = ServiceLimits.LogsIngestion.maxBodyBytes
    public static let apiVersion = "2023-01-01"

    public let url: URL
    public let dcrImmutableId: String
    public let stream: String
    public let maxBodyBytes: Int
    /// Send `Content-Encoding: gzip` (`upload.compress`).
    public let compress: Bool
    /// The gzip encoder (`upload.compression`).
    public let encoder: Gzip.Encoder
    public let timeoutSeconds: Double
    private let tokens: TokenProvider
    private let transport: HTTPTransport
    private let requestId: @Sendable () -> String

    /// - Parameter requestId: the `x-ms-client-request-id` of each request (a fresh UUID by default).
    public init(
        endpoint: URL, dcrImmutableId: String, stream: String, tokens: TokenProvider, transport: HTTPTransport,
        compress: Bool = true, encoder: Gzip.Encoder = .fast, maxBodyBytes: Int = serviceMaxBodyBytes,
        timeoutSeconds: Double = 120,
        requestId: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }
    ) {
        self.url = Self.url(endpoint: endpoint, dcrImmutableId: dcrImmutableId, stream: stream)
        self.dcrImmutableId = dcrImmutableId
        self.stream = stream
        self.tokens = tokens
        self.transport = transport
        self.compress = compress
        self.encoder = encoder
        self.maxBodyBytes = min(maxBodyBytes, Self.serviceMaxBodyBytes)
        self.timeoutSeconds = timeoutSeconds
        self.requestId = requestId
    }

    /// `{endpoint}/dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01`, the two
    /// names percent-encoded as path segments.
    public static func url(endpoint: URL, dcrImmutableId: String, stream: String) -> URL {
        var base = endpoint.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        let segment = CharacterSet.urlPathAllowed.subtracting(["/"])
        let dcr = dcrImmutableId.addingPercentEncoding(withAllowedCharacters: segment) ?? dcrImmutableId
        let s = stream.addingPercentEncoding(withAllowedCharacters: segment) ?? stream
        // Everything added is percent-encoded ASCII after a valid URL, so parsing cannot fail.
        return URL(string: "\(base)/dataCollectionRules/\(dcr)/streams/\(s)?api-version=\(apiVersion)") ?? endpoint
    }

    public var endpoint: String { url.origin }
    public var laneName: String? { dcrImmutableId }

    public var displayName: String {
        "Logs Ingestion API \(url.host ?? "?") → \(stream) (DCR \(dcrImmutableId))"
    }

    public func send(body: Data) async -> DeliveryOutcome { await sendRequest(body: body).outcome }

    public func sendRequest(body: Data) async -> SentRequest {
        // Compression runs here, in the upload task, off the reading thread. A body that does not
        // shrink (already random-looking text) goes as it is: the limit counts the bytes sent.
        var payload = body
        var gzipped = false
        if compress {
            do {
                let z = try Gzip.compress(body, encoder: encoder)
                if z.count < body.count {
                    payload = z
                    gzipped = true
                }
            } catch {
                return SentRequest(
                    outcome: .fatal(status: 0, code: "Compression", reason: "\(error)"), requestId: nil)
            }
        }
        var refreshed = false
        while true {
            let token: TokenProvider.AccessToken
            do {
                token = try await tokens.token()
            } catch {
                // No request was made.
                return SentRequest(
                    outcome: Self.outcome(error, tokenURL: tokens.tokenURL, managedIdentity: tokens.isManagedIdentity),
                    requestId: nil)
            }
            let id = requestId()
            var headers: [(String, String)] = [
                ("Authorization", "Bearer \(token.value.value)"),
                ("Content-Type", "application/json"),
                ("x-ms-client-request-id", id),
            ]
            if gzipped { headers.append(("Content-Encoding", "gzip")) }
            let response: HTTPResponse
            do {
                response = try await transport.post(url: url, headers: headers, body: payload, timeout: timeoutSeconds)
            } catch {
                return SentRequest(
                    outcome: Self.tagged(DataCollectorTarget.classify(error, bodyLength: payload.count), requestId: id),
                    requestId: id)
            }
            // An expired or revoked token: fetch a new one and try once more. A second refusal
            // is the identity's (wrong role, wrong tenant), and stops the run.
            if (response.status == 401 || response.status == 403) && !refreshed {
                refreshed = true
                await tokens.invalidate(token)
                continue
            }
            let outcome = Self.classify(
                response, managedIdentity: tokens.isManagedIdentity,
                grant: Self.roleCommand(tokens.clientId, dcrImmutableId))
            return SentRequest(outcome: Self.tagged(outcome, requestId: id), requestId: id)
        }
    }

    /// Error codes after which no request of this run can succeed (the request itself is wrong).
    static let fatalCodes: Set<String> = [
        "InvalidApiVersion", "MissingApiVersion", "InvalidStream", "UnsupportedMediaType", "InvalidContentType",
        "InvalidContentEncoding", "NotFound",
    ]

    /// Maps an HTTP answer onto what the engine does next (a pure function; tested alone).
    /// - Parameter managedIdentity: the token is a managed identity's (in the 401 and 403 hints).
    /// - Parameter grant: the command that gives the sender the role, for the 403 message.
    public static func classify(_ r: HTTPResponse, managedIdentity: Bool = false, grant: String? = nil)
        -> DeliveryOutcome
    {
        let principal = managedIdentity ? "managed identity" : "application"
        let (code, message) = errorFields(r.body)
        let text = message ?? (r.body.isEmpty ? "no error text" : r.bodyText)
        switch r.status {
        case 200..<300:
            return .acknowledged(status: r.status)
        case 408, 429, 500..<600:
            return .transient(
                status: r.status, retryAfter: parseRetryAfter(r.headers["retry-after"]),
                reason: code.map { "\(r.status) \($0)" } ?? "HTTP \(r.status)")
        case 413:
            return .tooLarge(status: 413, reason: "HTTP 413 \(code ?? "request too large"): \(text)")
        case 401:
            return .fatal(
                status: 401, code: code ?? "Unauthorized",
                reason: managedIdentity
                    ? "\(text) (a new token was refused too: check which managed identity the token is for)"
                    : "\(text) (a new token was refused too: check the tenant and the application)")
        case 403:
            return .fatal(
                status: 403, code: code ?? "Forbidden",
                reason: "\(text) (the \(principal) needs the Monitoring Metrics Publisher role on the data "
                    + "collection rule"
                    + (grant.map { ": \($0)" } ?? "") + "; a new role assignment can take several minutes to apply)")
        case 404:
            return .fatal(
                status: 404, code: code ?? "NotFound",
                reason: "\(text) (check target.endpoint, target.dcrImmutableId and target.stream)")
        case 400:
            if let c = code, fatalCodes.contains(c) { return .fatal(status: 400, code: c, reason: text) }
            return .permanent(status: 400, code: code ?? "BadRequest", reason: text)
        default:
            return .permanent(status: r.status, code: code ?? "HTTP\(r.status)", reason: text)
        }
    }

    /// `az role assignment create` for Monitoring Metrics Publisher on the rule. The rule's
    /// resource id is not known here: the command finds it by immutable id (`logship dcr --apply`
    /// prints it whole).
    static func roleCommand(_ clientId: String, _ dcrImmutableId: String) -> String {
        let assignee = clientId.isEmpty ? "<the managed identity's principal id>" : clientId
        return "az role assignment create --assignee \(assignee) --role \"Monitoring Metrics Publisher\" --scope "
            + "\"$(az monitor data-collection rule list --query \"[?immutableId=='\(dcrImmutableId)'].id\" -o tsv)\""
    }

    /// What the engine does when no token could be had.
    static func outcome(_ e: TokenProvider.TokenError, tokenURL: URL, managedIdentity: Bool = false) -> DeliveryOutcome
    {
        switch e {
        case .refused(let status, let code, let message):
            if managedIdentity {
                return .fatal(status: status, code: code, reason: "no managed identity token: \(message)")
            }
            return .fatal(
                status: status, code: code,
                reason: "the token service \(tokenURL.host ?? "") refused the credentials: \(message)")
        case .unavailable(let status, let retryAfter, let message):
            // Nothing reached the ingestion endpoint, so a retry cannot duplicate. No answer at
            // all from the token service is an outage like any other.
            let reason = "cannot connect: no token from \(tokenURL.host ?? "the token service") (\(message))"
            guard status != nil else { return .unreachable(reason: reason, mayHaveArrived: false) }
            return .transient(status: status, retryAfter: retryAfter, reason: reason)
        }
    }

    /// The request id goes with every failure, so a support case can name the request.
    static func tagged(_ o: DeliveryOutcome, requestId: String) -> DeliveryOutcome {
        let tag = " (x-ms-client-request-id \(requestId))"
        switch o {
        case .acknowledged: return o
        case .transient(let s, let ra, let reason): return .transient(status: s, retryAfter: ra, reason: reason + tag)
        case .unreachable(let reason, let arrived): return .unreachable(reason: reason + tag, mayHaveArrived: arrived)
        case .tooLarge(let s, let reason): return .tooLarge(status: s, reason: reason + tag)
        case .permanent(let s, let c, let reason): return .permanent(status: s, code: c, reason: reason + tag)
        case .fatal(let s, let c, let reason): return .fatal(status: s, code: c, reason: reason + tag)
        }
    }

    /// The service answers errors as `{"error":{"code":"…","message":"…"}}`.
    static func errorFields(_ body: [UInt8]) -> (code: String?, message: String?) {
        guard !body.isEmpty, body.count < 65_536,
            let obj = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        else { return (nil, nil) }
        if let e = obj["error"] as? [String: Any] { return (e["code"] as? String, e["message"] as? String) }
        return (obj["error"] as? String, (obj["message"] as? String) ?? (obj["error_description"] as? String))
    }
}
