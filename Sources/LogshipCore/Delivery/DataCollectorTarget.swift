import Foundation
import LogshipSupport

/// The HTTP Data Collector API (`POST /api/logs?api-version=2016-04-01`, SharedKey signed).
public struct DataCollectorTarget: DeliveryTarget {
    /// The service's hard ceiling on one body (decimal 30 MB; see docs/service-facts.md).
    public static let serviceMaxBodyBytes = ServiceLimits.DataCollector.maxBodyBytes
    public static let apiVersion = "2016-04-01"

    public let url: URL
    public let logType: String
    public let timeGeneratedField: String?
    public let azureResourceId: String?
    public let timeoutSeconds: Double
    public let maxBodyBytes: Int
    private let signer: SharedKeySigner
    private let transport: HTTPTransport
    private let clock: @Sendable () -> Date

    public init(
        baseURL: URL, logType: String, timeGeneratedField: String?, azureResourceId: String?,
        signer: SharedKeySigner, transport: HTTPTransport, maxBodyBytes: Int = serviceMaxBodyBytes,
        timeoutSeconds: Double = 120, clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        self.url = URL(string: base + "/api/logs?api-version=" + Self.apiVersion)!
        self.logType = logType
        self.timeGeneratedField = timeGeneratedField
        self.azureResourceId = azureResourceId
        self.signer = signer
        self.transport = transport
        self.maxBodyBytes = min(maxBodyBytes, Self.serviceMaxBodyBytes)
        self.timeoutSeconds = timeoutSeconds
        self.clock = clock
    }

    /// `https://<workspace>.ods.opinsights.<suffix>` for a named cloud; nil for an unknown name.
    public static func baseURL(workspaceId: String, cloud: String) -> URL? {
        AzureCloud.named(cloud).flatMap {
            URL(string: "https://\(workspaceId).ods.opinsights.\($0.dataCollectorSuffix)")
        }
    }

    public var endpoint: String { url.origin }

    public var displayName: String {
        "Data Collector API \(url.host ?? "?") → \(logType)_CL (workspace \(signer.workspaceId))"
    }

    /// The headers for one body, signed for its exact byte length.
    public func headers(bodyLength: Int, date: Date) -> [(String, String)] {
        let xmsDate = HTTPDate.format(date)
        var h: [(String, String)] = [
            ("Content-Type", "application/json"),
            ("Log-Type", logType),
            ("x-ms-date", xmsDate),
            ("Authorization", signer.authorization(contentLength: bodyLength, date: xmsDate)),
        ]
        if let f = timeGeneratedField, !f.isEmpty { h.append(("time-generated-field", f)) }
        if let r = azureResourceId, !r.isEmpty { h.append(("x-ms-AzureResourceId", r)) }
        return h
    }

    public func send(body: Data) async -> DeliveryOutcome {
        do {
            let response = try await transport.post(
                url: url, headers: headers(bodyLength: body.count, date: clock()), body: body, timeout: timeoutSeconds)
            return Self.classify(response, bodyLength: body.count)
        } catch {
            return Self.classify(error, bodyLength: body.count)
        }
    }

    /// Error codes after which no request of this run can succeed.
    static let fatalCodes: Set<String> = [
        "InactiveCustomer", "InvalidCustomerId", "InvalidLogType", "InvalidApiVersion", "MissingApiVersion",
        "MissingContentType", "MissingLogType", "UnsupportedContentType", "InvalidAuthorization",
    ]

    /// Bodies above this size that get a 404 are taken as "too large" rather than "wrong URL".
    static let largeBodyThreshold = 1_000_000

    /// Maps an HTTP answer onto what the engine does next (a pure function; tested alone).
    public static func classify(_ r: HTTPResponse, bodyLength: Int) -> DeliveryOutcome {
        let code = errorCode(r.body)
        let message = errorMessage(r.body) ?? r.bodyText
        switch r.status {
        case 200..<300:
            return .acknowledged(status: r.status)
        case 429, 500, 502, 503, 504, 408:
            return .transient(
                status: r.status, retryAfter: parseRetryAfter(r.headers["retry-after"]),
                reason: code.map { "\(r.status) \($0)" } ?? "HTTP \(r.status)")
        case 413:
            return .tooLarge(status: 413, reason: "HTTP 413 request too large")
        case 404 where bodyLength > largeBodyThreshold:
            return .tooLarge(status: 404, reason: "HTTP 404 (the service's answer to a body it finds too large)")
        case 404:
            return .fatal(
                status: 404, code: code ?? "NotFound",
                reason: "HTTP 404: the endpoint URL is wrong (check the workspace id, cloud or endpoint)")
        case 401, 403:
            return .fatal(status: r.status, code: code ?? "InvalidAuthorization", reason: message)
        case 400:
            if let c = code, fatalCodes.contains(c) || c.hasPrefix("Missing") {
                return .fatal(status: 400, code: c, reason: message)
            }
            return .permanent(status: 400, code: code ?? "BadRequest", reason: message)
        case 500..<600:
            return .transient(
                status: r.status, retryAfter: parseRetryAfter(r.headers["retry-after"]), reason: "HTTP \(r.status)")
        default:
            return .permanent(status: r.status, code: code ?? "HTTP\(r.status)", reason: message)
        }
    }

    public static func classify(_ error: Error, bodyLength: Int) -> DeliveryOutcome {
        switch error as? TransportError {
        case .timedOut: return .unreachable(reason: "no answer within upload.timeoutSeconds", mayHaveArrived: true)
        case .connectionLost(let m): return .transient(status: nil, retryAfter: nil, reason: "connection lost: \(m)")
        case .cannotConnect(let m): return .unreachable(reason: "cannot connect: \(m)", mayHaveArrived: false)
        case .other(let m): return .transient(status: nil, retryAfter: nil, reason: m)
        case nil: return .transient(status: nil, retryAfter: nil, reason: "\(error)")
        }
    }

    /// The service answers errors as `{"Error":"Code","Message":"…"}`.
    static func errorCode(_ body: [UInt8]) -> String? { errorField(body, "Error") }
    static func errorMessage(_ body: [UInt8]) -> String? { errorField(body, "Message") }

    private static func errorField(_ body: [UInt8], _ name: String) -> String? {
        guard !body.isEmpty, body.count < 65_536,
            let obj = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        else { return nil }
        return obj[name] as? String
    }
}

/// `Retry-After` as seconds: either a number of seconds or an HTTP date.
public func parseRetryAfter(_ value: String?, now: Date = Date()) -> Double? {
    guard let v = value?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
    if let s = Double(v), s >= 0, s.isFinite { return s }
    if let t = HTTPDate.parse(v) { return max(0, Double(t) - now.timeIntervalSince1970) }
    return nil
}
