import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Plain HTTP/1.1 over POSIX sockets, for `http://` endpoints, which logship allows only on
/// loopback (the emulator). One connection per request, the body written straight from the
/// chunk's memory, each request on a thread of its own.
///
/// Why not URLSession here: on Linux it feeds libcurl the body in small pieces through
/// dispatch queues; measured end to end, a quarter of all CPU time of a 200 MB run went to
/// that machinery. https (Azure) still goes through URLSession.
public final class SocketHTTPTransport: HTTPTransport {
    public init() {}

    public func post(url: URL, headers: [(String, String)], body: Data, timeout: Double) async throws(TransportError)
        -> HTTPResponse
    {
        try await perform(Request(method: "POST", url: url, headers: headers, body: body, timeout: timeout))
    }

    public func get(url: URL, headers: [(String, String)], timeout: Double) async throws(TransportError) -> HTTPResponse
    {
        try await perform(Request(method: "GET", url: url, headers: headers, body: Data(), timeout: timeout))
    }

    /// A PUT with a JSON body (Azure Resource Manager creates resources with it).
    public func put(url: URL, headers: [(String, String)], body: Data, timeout: Double) async throws(TransportError)
        -> HTTPResponse
    {
        try await perform(Request(method: "PUT", url: url, headers: headers, body: body, timeout: timeout))
    }

    private func perform(_ request: Request) async throws(TransportError) -> HTTPResponse {
        let result: Result<HTTPResponse, TransportError> = await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Result<HTTPResponse, TransportError>, Never>) in
                let t = Thread {
                    c.resume(returning: request.perform())
                }
                t.stackSize = 1 << 20
                t.start()
            }
        } onCancel: {
            request.cancel()
        }
        return try result.get()
    }

    /// One exchange; `cancel` may come from another thread.
    final class Request: @unchecked Sendable {
        // `fd` is guarded by `lock` (cancel shuts it down); everything else is set once.
        let method: String
        let url: URL
        let headers: [(String, String)]
        let body: Data
        let deadline: Double
        private let lock = NSLock()
        private var fd: Int32 = -1
        private var cancelled = false

        init(method: String, url: URL, headers: [(String, String)], body: Data, timeout: Double) {
            self.method = method
            self.url = url
            self.headers = headers
            self.body = body
            self.deadline = Self.now() + timeout
        }

        static func now() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }

        func cancel() {
            lock.withLock {
                cancelled = true
                if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
            }
        }

        func perform() -> Result<HTTPResponse, TransportError> {
            guard let host = url.host, url.scheme?.lowercased() == "http" else {
                return .failure(.other("not an http:// URL"))
            }
            let port = UInt16(url.port ?? 80)
            let s: Int32
            switch connect(host: host, port: port) {
            case .success(let fd): s = fd
            case .failure(let e): return .failure(e)
            }
            defer {
                lock.withLock {
                    close(s)
                    fd = -1
                }
            }
            var path = url.path.isEmpty ? "/" : url.path
            if let q = url.query { path += "?" + q }
            var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
            if method != "GET" { head += "Content-Length: \(body.count)\r\n" }
            head += "Connection: close\r\n"
            for (k, v) in headers where k.lowercased() != "content-length" && k.lowercased() != "connection" {
                head += "\(k): \(v)\r\n"
            }
            head += "\r\n"
            let headBytes = Array(head.utf8)
            if let e = sendAll(s, headBytes, body) { return .failure(e) }
            return readResponse(s)
        }

        private func connect(host: String, port: UInt16) -> Result<Int32, TransportError> {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var res: UnsafeMutablePointer<addrinfo>?
            let h = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
            guard getaddrinfo(h, String(port), &hints, &res) == 0, let first = res else {
                return .failure(.cannotConnect("cannot resolve \(host)"))
            }
            defer { freeaddrinfo(res) }
            var ai: UnsafeMutablePointer<addrinfo>? = first
            var lastError = "no address"
            while let a = ai {
                let s = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
                if s >= 0 {
                    let ok = lock.withLock { () -> Bool in
                        if cancelled { return false }
                        fd = s
                        return true
                    }
                    if !ok {
                        close(s)
                        return .failure(.other("cancelled"))
                    }
                    var one: Int32 = 1
                    setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                    if Glibc.connect(s, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return .success(s) }
                    lastError = String(cString: strerror(errno))
                    lock.withLock { fd = -1 }
                    close(s)
                }
                ai = a.pointee.ai_next
            }
            return .failure(.cannotConnect("\(host):\(port): \(lastError)"))
        }

        /// Waits until `fd` is ready for `events` or the deadline passes.
        private func wait(_ s: Int32, _ events: Int16) -> TransportError? {
            while true {
                let left = deadline - Self.now()
                if left <= 0 { return .timedOut }
                var p = pollfd(fd: s, events: events, revents: 0)
                let r = poll(&p, 1, Int32(min(left * 1000, 60_000)) + 1)
                if r > 0 { return nil }
                if r < 0 && errno != EINTR { return .connectionLost(String(cString: strerror(errno))) }
            }
        }

        private func sendAll(_ s: Int32, _ head: [UInt8], _ body: Data) -> TransportError? {
            var sentHead = 0
            var sentBody = 0
            return head.withUnsafeBytes { h -> TransportError? in
                body.withUnsafeBytes { b -> TransportError? in
                    while sentHead < h.count || sentBody < b.count {
                        if let e = wait(s, Int16(POLLOUT)) { return e }
                        var iov = [
                            iovec(
                                iov_base: UnsafeMutableRawPointer(mutating: h.baseAddress! + sentHead),
                                iov_len: h.count - sentHead),
                            iovec(
                                iov_base: UnsafeMutableRawPointer(
                                    mutating: (b.baseAddress ?? h.baseAddress!) + sentBody), iov_len: b.count - sentBody
                            ),
                        ]
                        let n = iov.withUnsafeMutableBufferPointer { writev(s, $0.baseAddress, 2) }
                        if n < 0 {
                            if errno == EINTR || errno == EAGAIN { continue }
                            return .connectionLost(String(cString: strerror(errno)))
                        }
                        var k = n
                        let fromHead = min(k, h.count - sentHead)
                        sentHead += fromHead
                        k -= fromHead
                        sentBody += k
                    }
                    return nil
                }
            }
        }

        private func readResponse(_ s: Int32) -> Result<HTTPResponse, TransportError> {
            var buf = [UInt8]()
            var chunk = [UInt8](repeating: 0, count: 16_384)
            var headerEnd: Int? = nil
            var contentLength: Int? = nil
            var chunked = false
            var status = 0
            var headers: [String: String] = [:]
            var eof = false
            func fill() -> TransportError? {
                if let e = wait(s, Int16(POLLIN)) { return e }
                let n = chunk.withUnsafeMutableBytes { recv(s, $0.baseAddress, $0.count, 0) }
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { return nil }
                    return .connectionLost(String(cString: strerror(errno)))
                }
                if n == 0 { eof = true }
                buf.append(contentsOf: chunk[0..<n])
                return nil
            }
            while true {
                if headerEnd == nil, let r = find(buf, [13, 10, 13, 10]) {
                    headerEnd = r + 4
                    let text = String(decoding: buf[0..<r], as: UTF8.self)
                    var lines = text.components(separatedBy: "\r\n")
                    let statusLine = lines.removeFirst().split(separator: " ")
                    guard statusLine.count >= 2, let code = Int(statusLine[1]) else {
                        return .failure(.connectionLost("not an HTTP answer"))
                    }
                    if code == 100 {
                        // An interim answer: drop it and read on.
                        buf.removeSubrange(0..<(r + 4))
                        headerEnd = nil
                        continue
                    }
                    status = code
                    for l in lines {
                        guard let colon = l.firstIndex(of: ":") else { continue }
                        headers[l[..<colon].lowercased()] = l[l.index(after: colon)...].trimmingCharacters(
                            in: .whitespaces)
                    }
                    contentLength = headers["content-length"].flatMap { Int($0) }
                    chunked = headers["transfer-encoding"]?.lowercased().contains("chunked") == true
                }
                if let start = headerEnd {
                    if let n = contentLength, buf.count - start >= n {
                        return .success(
                            HTTPResponse(status: status, headers: headers, body: Array(buf[start..<start + n])))
                    }
                    if chunked, let body = dechunk(buf[start...]) {
                        return .success(HTTPResponse(status: status, headers: headers, body: body))
                    }
                    if eof {
                        if contentLength == nil && !chunked {
                            return .success(HTTPResponse(status: status, headers: headers, body: Array(buf[start...])))
                        }
                        return .failure(.connectionLost("the answer was cut short"))
                    }
                } else if eof {
                    return .failure(
                        .connectionLost(
                            buf.isEmpty ? "the connection closed without an answer" : "the answer was cut short"))
                }
                if buf.count > 4 << 20 { return .failure(.other("the answer is larger than 4 MB")) }
                if let e = fill() { return .failure(e) }
            }
        }

        private func find(_ hay: [UInt8], _ needle: [UInt8]) -> Int? {
            guard hay.count >= needle.count else { return nil }
            for i in 0...(hay.count - needle.count)
            where hay[i] == needle[0] && Array(hay[i..<i + needle.count]) == needle { return i }
            return nil
        }

        /// A complete chunked body, or nil while more bytes are needed.
        private func dechunk(_ b: ArraySlice<UInt8>) -> [UInt8]? {
            var out: [UInt8] = []
            var i = b.startIndex
            while true {
                guard let crlf = b[i...].firstIndex(of: 13), crlf + 1 < b.endIndex else { return nil }
                let sizeText =
                    String(decoding: b[i..<crlf], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
                i = crlf + 2
                if size == 0 { return out }
                guard b.endIndex - i >= size + 2 else { return nil }
                out.append(contentsOf: b[i..<i + size])
                i += size + 2
            }
        }
    }
}

/// The transport for an endpoint: plain sockets for http:// (loopback only), URLSession for https://.
public enum Transports {
    public static func `for`(_ url: URL, concurrency: Int) -> HTTPTransport {
        url.scheme?.lowercased() == "http" ? SocketHTTPTransport() : URLSessionTransport(maxConnections: concurrency)
    }
}
