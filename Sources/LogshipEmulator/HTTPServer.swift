import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One parsed request as the emulator's handlers see it.
struct ServerRequest: Sendable {
    var method: String
    /// Path and query as sent (`/api/logs?api-version=2016-04-01`).
    var target: String
    /// Header names lower-cased, in arrival order.
    var headers: [(String, String)]
    var body: [UInt8]
    /// The declared body was over the server's limit and was read and thrown away.
    var bodyTooLarge = false
    var declaredLength = 0

    func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first(where: { $0.0 == n })?.1
    }

    var path: String { String(target.split(separator: "?", maxSplits: 1).first ?? "") }

    /// Query parameters, percent-decoded.
    var query: [String: String] {
        guard let q = target.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
        var out: [String: String] = [:]
        for pair in q.split(separator: "&") {
            // Empty pieces kept: `?=` or `?a=&=b` must not leave `kv` empty.
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let k = String(kv[0]).removingPercentEncoding ?? String(kv[0])
            let v = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
            out[k] = v
        }
        return out
    }
}

/// What a handler wants done with a request.
enum ServerReply: Sendable {
    case respond(status: Int, headers: [(String, String)], body: [UInt8])
    /// Close the connection without answering (a lost acknowledgement).
    case dropConnection
}

/// A small HTTP/1.1 server over POSIX sockets, bound to 127.0.0.1 only: keep-alive,
/// Content-Length and chunked bodies, `Expect: 100-continue`, a thread per connection.
final class HTTPServer: @unchecked Sendable {
    // Mutable state (listener fd, open connections, running flag) is guarded by `lock`.
    private let lock = NSLock()
    private var listenFD: Int32 = -1
    private var connections: Set<Int32> = []
    private var running = false
    private let maxBodyBytes: Int
    private let handler: @Sendable (ServerRequest) -> ServerReply
    private(set) var port: UInt16 = 0

    /// Bodies larger than this are not read at all: the connection is closed after the answer.
    private let discardLimit = 128 * 1024 * 1024
    /// Request line and headers together; more is answered 431 (a client sending headers
    /// without end must not grow a buffer without end).
    static let maxHeaderBytes = 256 * 1024
    /// Connections served at once; more are closed at once (each one holds a thread).
    static let maxConnections = 512
    /// A connection that sends nothing for this long is closed, so a client that stalls
    /// mid-request does not hold its thread forever.
    static let idleSeconds = 120

    init(maxBodyBytes: Int, handler: @escaping @Sendable (ServerRequest) -> ServerReply) {
        self.maxBodyBytes = maxBodyBytes
        self.handler = handler
    }

    struct StartError: Error, CustomStringConvertible {
        let description: String
    }

    /// Binds 127.0.0.1:`port` (0 picks a free port) and starts accepting; returns the port.
    @discardableResult
    func start(port requested: UInt16) throws -> UInt16 {
        signal(SIGPIPE, SIG_IGN)
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw StartError(description: "socket(): \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = requested.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")  // loopback only, always
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let e = String(cString: strerror(errno))
            close(fd)
            throw StartError(description: "cannot listen on 127.0.0.1:\(requested): \(e)")
        }
        guard listen(fd, 128) == 0 else {
            close(fd)
            throw StartError(description: "listen(): \(String(cString: strerror(errno)))")
        }
        var actual = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        port = UInt16(bigEndian: actual.sin_port)
        lock.withLock {
            listenFD = fd
            running = true
        }
        let t = Thread { [self] in acceptLoop(fd) }
        t.name = "emulator-accept"
        t.start()
        return port
    }

    /// Stops accepting, closes every open connection.
    func stop() {
        let (fd, open) = lock.withLock { () -> (Int32, Set<Int32>) in
            running = false
            let fd = listenFD
            listenFD = -1
            return (fd, connections)
        }
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
        for c in open { shutdown(c, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                let stillRunning = lock.withLock { running }
                if !stillRunning { return }
                usleep(1000)
                continue
            }
            var one: Int32 = 1
            setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            var idle = timeval(tv_sec: Self.idleSeconds, tv_usec: 0)
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &idle, socklen_t(MemoryLayout<timeval>.size))
            let accepted = lock.withLock { () -> Bool? in
                guard running else { return nil }
                guard connections.count < Self.maxConnections else { return false }
                connections.insert(c)
                return true
            }
            guard let accepted else {
                close(c)
                return
            }
            guard accepted else {
                close(c)
                continue
            }
            let t = Thread { [self] in
                serve(c)
                lock.withLock { _ = connections.remove(c) }
                Self.lingeringClose(c)
            }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Closing a socket with unread bytes in it makes the kernel send a reset, and a reset
    /// can reach the client before it has read our answer (a 431 or 400 sent while it was
    /// still sending). So: end our side, read what is left for a moment, bounded, then close.
    static func lingeringClose(_ fd: Int32) {
        shutdown(fd, Int32(SHUT_WR))
        var wait = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var drained = 0
        // Bounded in bytes and in time: a client trickling bytes cannot keep the thread.
        let deadline = DispatchTime.now() + .seconds(2)
        while drained < 16 << 20 && DispatchTime.now() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n <= 0 { break }
            drained += n
        }
        close(fd)
    }

    // MARK: Connection

    private struct Connection {
        let fd: Int32
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var start = 0
        var end = 0
        /// Bytes of the current request's line and headers so far (bounded by maxHeaderBytes).
        var headerBytes = 0
        /// The last `readLine` gave up because the line or the headers were too long.
        var overLimit = false

        var available: Int { end - start }

        /// Reads more bytes into the buffer; false at end of stream or error.
        mutating func fill() -> Bool {
            if start == end {
                start = 0
                end = 0
            } else if end == buffer.count {
                if start > 0 {
                    buffer.withUnsafeMutableBytes { p in
                        _ = memmove(p.baseAddress!, p.baseAddress! + start, end - start)
                    }
                    end -= start
                    start = 0
                } else {
                    buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
                }
            }
            let fd = self.fd
            let e = end
            let n = buffer.withUnsafeMutableBytes { p in recv(fd, p.baseAddress! + e, p.count - e, 0) }
            if n <= 0 { return false }
            end += n
            return true
        }

        /// One line ending in CRLF (or LF), without the terminator; nil at end of stream.
        mutating func readLine(limit: Int = 64 * 1024) -> String? {
            while true {
                if let nl = buffer[start..<end].firstIndex(of: 0x0A) {
                    var lineEnd = nl
                    if lineEnd > start, buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                    headerBytes += nl + 1 - start
                    if nl - start > limit || headerBytes > HTTPServer.maxHeaderBytes {
                        overLimit = true
                        return nil
                    }
                    let line = String(decoding: buffer[start..<lineEnd], as: UTF8.self)
                    start = nl + 1
                    return line
                }
                if available > limit || headerBytes + available > HTTPServer.maxHeaderBytes {
                    overLimit = true
                    return nil
                }
                if !fill() { return nil }
            }
        }

        /// Copies exactly `count` bytes into `out` (or discards them when `out` is nil).
        mutating func read(count: Int, into out: inout [UInt8], keep: Bool) -> Bool {
            var remaining = count
            let take = min(available, remaining)
            if keep { out.append(contentsOf: buffer[start..<start + take]) }
            start += take
            remaining -= take
            if remaining == 0 { return true }
            if keep {
                // Large bodies: receive straight into the destination, without zero-filling it first.
                let base = out.count
                let fd = self.fd
                var ok = true
                let grown = [UInt8](unsafeUninitializedCapacity: base + remaining) { buf, initialized in
                    out.withUnsafeBytes { old in
                        if base > 0 { UnsafeMutableRawBufferPointer(buf).copyMemory(from: old) }
                    }
                    var got = 0
                    while got < remaining {
                        let n = recv(fd, buf.baseAddress! + base + got, remaining - got, 0)
                        if n <= 0 {
                            ok = false
                            break
                        }
                        got += n
                    }
                    initialized = base + got
                }
                out = grown
                return ok
            }
            while remaining > 0 {
                start = 0
                end = 0
                let fd = self.fd
                let n = buffer.withUnsafeMutableBytes { p in recv(fd, p.baseAddress!, min(p.count, remaining), 0) }
                if n <= 0 { return false }
                remaining -= n
            }
            return true
        }

        func write(_ bytes: [UInt8]) -> Bool {
            var off = 0
            while off < bytes.count {
                let n = bytes.withUnsafeBytes { p in
                    send(fd, p.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL))
                }
                if n <= 0 { return false }
                off += n
            }
            return true
        }
    }

    private func serve(_ fd: Int32) {
        var conn = Connection(fd: fd)
        while true {
            conn.headerBytes = 0
            guard let requestLine = conn.readLine() else { return headersTooLarge(conn) }
            if requestLine.isEmpty { continue }  // stray CRLF between requests
            let parts = requestLine.split(separator: " ")
            guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else {
                _ = conn.write(
                    Self.encode(status: 400, headers: [], body: Array("bad request line\n".utf8), close: true))
                return
            }
            var request = ServerRequest(method: String(parts[0]), target: String(parts[1]), headers: [], body: [])
            while true {
                guard let line = conn.readLine() else { return headersTooLarge(conn) }
                if line.isEmpty { break }
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                request.headers.append((name, value))
                guard request.headers.count < 200 else {
                    conn.overLimit = true
                    return headersTooLarge(conn)
                }
            }
            let http10 = parts[2] == "HTTP/1.0"
            let connectionHeader = request.header("connection")?.lowercased() ?? ""
            var closeAfter = http10 ? connectionHeader != "keep-alive" : connectionHeader == "close"

            if request.header("expect")?.lowercased() == "100-continue" {
                guard conn.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return }
            }
            if request.header("transfer-encoding")?.lowercased().contains("chunked") == true {
                switch readChunked(&conn, into: &request) {
                case .complete: break
                case .beyondDiscardLimit: closeAfter = true
                case .malformed:
                    _ = conn.write(
                        Self.encode(status: 400, headers: [], body: Array("bad chunked body\n".utf8), close: true))
                    return
                case .connectionLost: return
                }
            } else if let cl = request.header("content-length") {
                guard let length = Int(cl), length >= 0 else {
                    _ = conn.write(
                        Self.encode(status: 400, headers: [], body: Array("bad Content-Length\n".utf8), close: true))
                    return
                }
                request.declaredLength = length
                if length > maxBodyBytes {
                    request.bodyTooLarge = true
                    if length > discardLimit {
                        closeAfter = true
                    } else {
                        var sink: [UInt8] = []
                        guard conn.read(count: length, into: &sink, keep: false) else { return }
                    }
                } else {
                    request.body.reserveCapacity(length)
                    guard conn.read(count: length, into: &request.body, keep: true) else { return }
                }
            }

            switch handler(request) {
            case .dropConnection:
                return
            case .respond(let status, let headers, let body):
                guard conn.write(Self.encode(status: status, headers: headers, body: body, close: closeAfter)) else {
                    return
                }
                if closeAfter { return }
            }
        }
    }

    enum ChunkedOutcome { case complete, beyondDiscardLimit, malformed, connectionLost }

    /// Reads a chunked body. Sizes are hex digits only, at most 15 of them, so adding them up
    /// cannot overflow; past `discardLimit` in all the rest is not read (the answer closes).
    private func readChunked(_ conn: inout Connection, into request: inout ServerRequest) -> ChunkedOutcome {
        while true {
            conn.headerBytes = 0
            guard let sizeLine = conn.readLine(limit: 4096) else {
                return conn.overLimit ? .malformed : .connectionLost
            }
            let hex = sizeLine.split(separator: ";", omittingEmptySubsequences: false)[0].trimmingCharacters(
                in: .whitespaces)
            guard !hex.isEmpty, hex.utf8.count <= 15, hex.utf8.allSatisfy({ $0.isHexDigit }),
                let size = Int(hex, radix: 16)
            else {
                return .malformed
            }
            if size == 0 {
                while let trailer = conn.readLine(), !trailer.isEmpty {}
                return conn.overLimit ? .malformed : .complete
            }
            request.declaredLength += size
            if request.declaredLength > maxBodyBytes {
                request.bodyTooLarge = true
                request.body = []
                if request.declaredLength > discardLimit { return .beyondDiscardLimit }
                var sink: [UInt8] = []
                guard conn.read(count: size, into: &sink, keep: false) else { return .connectionLost }
            } else {
                guard conn.read(count: size, into: &request.body, keep: true) else { return .connectionLost }
            }
            guard let crlf = conn.readLine(limit: 4096) else { return conn.overLimit ? .malformed : .connectionLost }
            guard crlf.isEmpty else { return .malformed }
        }
    }

    /// After `readLine` gave nothing: 431 when the request line or headers were too long,
    /// silence when the client went away.
    private func headersTooLarge(_ conn: Connection) {
        guard conn.overLimit else { return }
        _ = conn.write(
            Self.encode(status: 431, headers: [], body: Array("request line or headers too large\n".utf8), close: true))
    }

    static let reasons: [Int: String] = [
        200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
        404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large", 415: "Unsupported Media Type",
        429: "Too Many Requests",
        431: "Request Header Fields Too Large",
        500: "Internal Server Error", 503: "Service Unavailable",
    ]

    static func encode(status: Int, headers: [(String, String)], body: [UInt8], close: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(reasons[status] ?? "Status")\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        head += "Content-Length: \(body.count)\r\n"
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        return Array(head.utf8) + body
    }
}

extension UInt8 {
    /// 0-9, a-f, A-F.
    fileprivate var isHexDigit: Bool {
        (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
    }
}
