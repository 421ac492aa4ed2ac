import Foundation

@testable import LogshipCore
@testable import LogshipEmulator

/// A transport that answers from a script and remembers every request, for targets and the
/// token provider tested without sockets.
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    struct Request: Sendable {
        var method = "POST"
        var url: URL
        var headers: [(String, String)]
        var body: [UInt8]
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        var form: [String: String] { Emulator.parseForm(body) }
    }

    // `requests` and `answers` are guarded by `lock`; `delay` is set before use.
    private let lock = NSLock()
    private var _requests: [Request] = []
    private var answers: [Result<HTTPResponse, TransportError>]
    private let fallback: Result<HTTPResponse, TransportError>
    /// When set, answers every request instead of the script (it may wait for other requests).
    private let respond: (@Sendable (Request) async -> Result<HTTPResponse, TransportError>)?
    var delayNanoseconds: UInt64 = 0

    /// Answers in order; after the last one, `fallback` every time.
    init(
        _ answers: [Result<HTTPResponse, TransportError>] = [],
        fallback: Result<HTTPResponse, TransportError> = .success(HTTPResponse(status: 204))
    ) {
        self.answers = answers
        self.fallback = fallback
        self.respond = nil
    }

    /// Answers each request from what it holds (its body, say).
    init(respond: @escaping @Sendable (Request) async -> Result<HTTPResponse, TransportError>) {
        self.answers = []
        self.fallback = .success(HTTPResponse(status: 204))
        self.respond = respond
    }

    var requests: [Request] { lock.withLock { _requests } }

    func post(url: URL, headers: [(String, String)], body: Data, timeout: Double) async throws(TransportError)
        -> HTTPResponse
    {
        try await answer(Request(url: url, headers: headers, body: [UInt8](body)))
    }

    func get(url: URL, headers: [(String, String)], timeout: Double) async throws(TransportError) -> HTTPResponse {
        try await answer(Request(method: "GET", url: url, headers: headers, body: []))
    }

    private func answer(_ request: Request) async throws(TransportError) -> HTTPResponse {
        if let respond {
            lock.withLock { _requests.append(request) }
            return try await respond(request).get()
        }
        let answer = lock.withLock { () -> Result<HTTPResponse, TransportError> in
            _requests.append(request)
            return answers.isEmpty ? fallback : answers.removeFirst()
        }
        if delayNanoseconds > 0 { try? await Task.sleep(nanoseconds: delayNanoseconds) }
        return try answer.get()
    }

    static func json(_ status: Int, _ text: String, headers: [String: String] = [:]) -> Result<
        HTTPResponse, TransportError
    > {
        .success(HTTPResponse(status: status, headers: headers, body: Array(text.utf8)))
    }

    static func token(_ value: String = "tok-1", expiresIn: Int = 3600) -> Result<HTTPResponse, TransportError> {
        json(200, "{\"token_type\":\"Bearer\",\"expires_in\":\(expiresIn),\"access_token\":\"\(value)\"}")
    }
}

/// A clock tests move by hand.
final class TestClock: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var current: Date
    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = start }
    var now: Date { lock.withLock { current } }
    func advance(_ seconds: Double) { lock.withLock { current = current.addingTimeInterval(seconds) } }
}
