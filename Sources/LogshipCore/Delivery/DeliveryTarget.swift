import Foundation

/// What a target answered for one request, reduced to what the engine must do next.
public enum DeliveryOutcome: Sendable, Equatable {
    /// Stored by the service; record it in the manifest.
    case acknowledged(status: Int)
    /// Try again later (429, 500, 503, a connection dropped mid-answer); `retryAfter` in seconds when the service said.
    case transient(status: Int?, retryAfter: Double?, reason: String)
    /// No answer at all: the connection could not be made (refused, DNS, TLS, no token service)
    /// or no byte of an answer came in time. Not the chunk's fault: retried without counting
    /// against `upload.maxAttempts`, until the outage rule (`upload.unreachableAfter`) stops the
    /// run. `mayHaveArrived`: the body may have reached the service (a timeout after sending),
    /// so a resend can duplicate.
    case unreachable(reason: String, mayHaveArrived: Bool)
    /// The body is too large for the service: split it and send the halves.
    case tooLarge(status: Int?, reason: String)
    /// This chunk will never be accepted as it is (bad data): dead-letter it, go on.
    case permanent(status: Int, code: String, reason: String)
    /// Nothing will be accepted (authorization, workspace, Log-Type): stop the run.
    case fatal(status: Int, code: String, reason: String)

    public var isAcknowledged: Bool { if case .acknowledged = self { return true } else { return false } }
}

/// One request's answer and the id it was sent with.
public struct SentRequest: Sendable, Equatable {
    public var outcome: DeliveryOutcome
    /// The request's `x-ms-client-request-id` (the Logs Ingestion API); nil when none was sent.
    public var requestId: String?
    public init(outcome: DeliveryOutcome, requestId: String?) {
        self.outcome = outcome
        self.requestId = requestId
    }
}

/// One destination for chunks. The engine knows only this; the Data Collector API and the
/// Logs Ingestion API each implement it.
public protocol DeliveryTarget: Sendable {
    /// Largest body (bytes before any compression) the service accepts.
    var maxBodyBytes: Int { get }
    /// A short description for messages: API, host and table; never a secret.
    var displayName: String { get }
    /// Scheme, host and port requests go to, for messages about reaching it.
    var endpoint: String { get }
    /// Sends one JSON array body and classifies the answer. Never throws: every failure is an outcome.
    func send(body: Data) async -> DeliveryOutcome
    /// `send`, with the id the request went with (`x-ms-client-request-id`) for log lines and
    /// support cases; nil when the API has none or no request was made (no token).
    func sendRequest(body: Data) async -> SentRequest
    /// The destinations chunks are spread over, each paced on its own (several DCRs of one
    /// stream and table, each with its own quota); `[self]` for one.
    var lanes: [any DeliveryTarget] { get }
    /// What the manifest records for a chunk this target acknowledged (a DCR's immutable id).
    var laneName: String? { get }
}

extension DeliveryTarget {
    public func sendRequest(body: Data) async -> SentRequest {
        SentRequest(outcome: await send(body: body), requestId: nil)
    }
    public var lanes: [any DeliveryTarget] { [self] }
    public var laneName: String? { nil }
}

/// Several targets of one stream and table (`target.dcrImmutableId` as a list): the engine
/// spreads chunks over `lanes`; `send` alone (replays) goes to the first.
public struct SpreadTarget: DeliveryTarget {
    public let members: [any DeliveryTarget]
    public init(_ members: [any DeliveryTarget]) { self.members = members }
    public var maxBodyBytes: Int { members.map(\.maxBodyBytes).min() ?? 0 }
    public var displayName: String {
        members.count == 1 ? members[0].displayName : "\(members[0].displayName) and \(members.count - 1) more DCR(s)"
    }
    public var endpoint: String { members[0].endpoint }
    public func send(body: Data) async -> DeliveryOutcome { await members[0].send(body: body) }
    public func sendRequest(body: Data) async -> SentRequest { await members[0].sendRequest(body: body) }
    public var lanes: [any DeliveryTarget] { members }
    public var laneName: String? { members[0].laneName }
}

extension URL {
    /// `scheme://host:port`, the part of an endpoint a connection failure is about.
    var origin: String {
        let port = self.port.map { ":\($0)" } ?? ""
        return "\(scheme ?? "https")://\(host ?? "?")\(port)"
    }
}

/// A raw HTTP exchange, so targets can be tested without sockets and the transport swapped.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]  // lower-cased names
    public var body: [UInt8]
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
    public var bodyText: String { String(decoding: body.prefix(4096), as: UTF8.self) }
}

/// Why a request got no HTTP answer.
public enum TransportError: Error, Sendable, Equatable {
    case timedOut
    /// The connection was reset or closed before an answer (also how an oversized body can end).
    case connectionLost(String)
    case cannotConnect(String)
    case other(String)
}

public protocol HTTPTransport: Sendable {
    func post(url: URL, headers: [(String, String)], body: Data, timeout: Double) async throws(TransportError)
        -> HTTPResponse
    /// A GET without a body (managed identity token endpoints take nothing else).
    func get(url: URL, headers: [(String, String)], timeout: Double) async throws(TransportError) -> HTTPResponse
}
