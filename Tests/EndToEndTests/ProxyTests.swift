import Foundation
import Testing

/// HTTPS_PROXY / NO_PROXY (issue 15 item 7): the HTTPS transport goes through the proxy the
/// environment names, as CONNECT tunnels, and NO_PROXY bypasses it. The proxy is a few lines of
/// python3 on 127.0.0.1 that counts CONNECT requests and refuses them (nothing here speaks TLS),
/// so the run cannot deliver: it stops under the outage rule after upload.unreachableAfter (1 s).
@Suite struct ProxyTests {
    static let proxy = """
        import socket, sys
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        srv.settimeout(120)
        with open(sys.argv[1], "w") as f:
            f.write(str(srv.getsockname()[1]))
        count = 0
        while True:
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                break
            conn.settimeout(10)
            try:
                head = conn.recv(4096).decode("latin-1")
            except OSError:
                head = ""
            if head.startswith("CONNECT "):
                count += 1
                with open(sys.argv[2], "a") as f:
                    f.write(head.split("\\r\\n")[0] + "\\n")
            try:
                conn.sendall(b"HTTP/1.1 403 Forbidden\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n")
            except OSError:
                pass
            conn.close()
        """

    @Test func theHTTPSTransportUsesTheProxyAndNoProxyBypassesIt() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { return }
        let dir = TempDir("logship-proxy")
        defer { dir.cleanup() }
        let script = dir.write("proxy.py", Self.proxy)
        let portFile = dir.file("port")
        let connects = dir.file("connects.txt")
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        proc.arguments = [script.path, portFile.path, connects.path]
        try proc.run()
        defer {
            kill(proc.processIdentifier, SIGKILL)
            proc.waitUntilExit()
        }
        var port = ""
        for _ in 0..<200 where port.isEmpty {
            port = (try? String(contentsOf: portFile, encoding: .utf8)) ?? ""
            if port.isEmpty { usleep(50_000) }
        }
        #expect(!port.isEmpty, "the proxy did not start")
        dir.write("in/a.ndjson", records(0..<10))
        // An https service on a loopback port nothing listens on: only the proxy can be reached.
        let p = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["in/a.ndjson"], format: "ndjson" }, upload: { unreachableAfter: 1 },
              target: { api: "logs-ingestion", endpoint: "https://127.0.0.1:9/", dcrImmutableId: "dcr-x", stream: "Custom-X" } }
            """)
        let creds = [
            "LOGSHIP_TENANT_ID": "11111111-2222-3333-4444-555555555555",
            "LOGSHIP_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
            "LOGSHIP_CLIENT_SECRET": "s", "AZURE_AUTHORITY_HOST": "https://127.0.0.1:9",
        ]
        var env = creds
        env["HTTPS_PROXY"] = "http://127.0.0.1:\(port)"
        let via = try run(
            ["run", p.path, "--state-dir", dir.file("s1").path, "--progress", "none"], env: env, timeout: 120)
        #expect(via.status == 1, "\(via.stderr)")
        let seen = ((try? String(contentsOf: connects, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(!seen.isEmpty && seen.allSatisfy { $0.hasPrefix("CONNECT 127.0.0.1:9 ") }, "CONNECTs: \(seen)")

        env["NO_PROXY"] = "127.0.0.1"
        let direct = try run(
            ["run", p.path, "--state-dir", dir.file("s2").path, "--progress", "none"], env: env, timeout: 120)
        #expect(direct.status == 1, "\(direct.stderr)")
        let after = ((try? String(contentsOf: connects, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(after.count == seen.count, "NO_PROXY=127.0.0.1 still went through the proxy")
    }
}
