import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

/// An independent client for the emulator's Logs Ingestion side: Python's http.client, gzip and
/// urllib.parse. Reads a JSON list of cases on stdin, prints one JSON result per line.
let ingestionClient = #"""
    import gzip, http.client, json, sys, urllib.parse

    url, tenant, client, secret = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    host, port = url.split("//")[1].split(":")
    port = int(port)

    def post(path, body, headers):
        conn = http.client.HTTPConnection(host, port, timeout=60)
        conn.request("POST", path, body=body, headers=headers)
        r = conn.getresponse()
        out = {"status": r.status, "body": r.read().decode("utf-8", "replace"), "auth": r.getheader("WWW-Authenticate")}
        conn.close()
        return out

    def token(case):
        form = {"grant_type": case.get("grant", "client_credentials"), "client_id": case.get("client", client),
                "scope": case.get("scope", "https://monitor.azure.com//.default")}
        if "assertion" in case:
            form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            form["client_assertion"] = case["assertion"]
        else:
            form["client_secret"] = case.get("secret", secret)
        return post("/%s/oauth2/v2.0/token" % case.get("tenant", tenant), urllib.parse.urlencode(form),
                    {"Content-Type": "application/x-www-form-urlencoded"})

    good = json.loads(token({})["body"])["access_token"]

    def ingest(case):
        if "bodySize" in case:
            n = case["bodySize"]
            body = b'[{"x":"' + b"a" * (n - len(b'[{"x":""}]')) + b'"}]'
        else:
            body = case.get("body", "[]").encode("utf-8")
        headers = {"Content-Type": case.get("contentType", "application/json"), "x-ms-client-request-id": case.get("requestId", "r-1")}
        if case.get("gzip"):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        if "encoding" in case:
            headers["Content-Encoding"] = case["encoding"]
        if case.get("auth", "good") == "good":
            headers["Authorization"] = "Bearer " + good
        elif case["auth"] != "none":
            headers["Authorization"] = "Bearer " + case["auth"]
        path = "/dataCollectionRules/%s/streams/%s%s" % (case.get("dcr", "dcr-test"), case.get("stream", "Custom-Test"),
                                                        case.get("query", "?api-version=2023-01-01"))
        return post(path, body, headers)

    for c in json.load(sys.stdin):
        try:
            print(json.dumps(token(c) if c.get("kind") == "token" else ingest(c)))
        except Exception as e:
            print(json.dumps({"status": -1, "error": repr(e)}))
    """#

struct IngestionResult: Decodable {
    var status: Int
    var body: String?
    var auth: String?
    var error: String?
    private var object: [String: Any]? {
        guard let b = body, let o = try? JSONSerialization.jsonObject(with: Data(b.utf8)) as? [String: Any] else {
            return nil
        }
        return o
    }
    /// `error.code` (ingestion) or `error` (token endpoint).
    var code: String? { (object?["error"] as? [String: Any])?["code"] as? String ?? object?["error"] as? String }
    var tokenField: [String: Any]? { object }
}

@Suite(.serialized) struct LogsIngestionEmulatorTests {
    struct Local {
        let emulator: Emulator
        let url: URL
        let dir: TempDir
        let config: EmulatorConfig
        init(_ configure: (inout EmulatorConfig) -> Void = { _ in }) throws {
            let (w, k) = testCredentials()
            dir = TempDir("emulator-li")
            var c = EmulatorConfig(workspaceId: w, sharedKey: k)
            c.dataDir = dir.url
            configure(&c)
            config = c
            emulator = try Emulator(config: c)
            url = try emulator.start()
        }
        func send(_ cases: [[String: Any]]) throws -> [IngestionResult] {
            let input = String(decoding: try JSONSerialization.data(withJSONObject: cases), as: UTF8.self)
            let r = try python(
                ingestionClient, [url.absoluteString, config.tenantId, config.clientId, config.clientSecret.value],
                stdin: input, timeout: 120)
            #expect(r.status == 0, "client failed: \(r.stderr)")
            return try r.stdout.split(separator: "\n").map {
                try JSONDecoder().decode(IngestionResult.self, from: Data($0.utf8))
            }
        }
        func lines(_ stream: String = "Custom-Test") -> [String] {
            ((try? String(contentsOf: dir.file("\(stream).ndjson"), encoding: .utf8)) ?? "").split(separator: "\n").map(
                String.init)
        }
        func stop() {
            emulator.stop()
            dir.cleanup()
        }
    }

    @Test func tokenEndpointGrantsAndRefusesLikeEntraID() throws {
        let e = try Local { $0.tokenLifetimeSeconds = 1234 }
        defer { e.stop() }
        let cases: [([String: Any], Int, String?)] = [
            (["kind": "token"], 200, nil),
            (["kind": "token", "assertion": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"], 200, nil),
            (["kind": "token", "secret": "wrong"], 401, "invalid_client"),
            (["kind": "token", "assertion": "not-a-jwt"], 401, "invalid_client"),
            (["kind": "token", "tenant": UUID().uuidString.lowercased()], 400, "invalid_request"),
            (["kind": "token", "client": UUID().uuidString.lowercased()], 400, "unauthorized_client"),
            (["kind": "token", "scope": "https://management.azure.com//.default"], 400, "invalid_scope"),
            (["kind": "token", "grant": "password"], 400, "unsupported_grant_type"),
        ]
        let r = try e.send(cases.map(\.0))
        #expect(r.count == cases.count)
        for (k, (c, status, code)) in cases.enumerated() where k < r.count {
            #expect(r[k].status == status, "case \(k) \(c): \(r[k].body ?? r[k].error ?? "")")
            #expect(r[k].code == code, "case \(k) \(c)")
        }
        #expect(r[0].tokenField?["token_type"] as? String == "Bearer")
        #expect(r[0].tokenField?["expires_in"] as? Int == 1234)
        #expect((r[2].tokenField?["error_description"] as? String)?.hasPrefix("AADSTS7000215") == true)
        let s = e.emulator.currentStats()
        // The client script fetches one token of its own before the cases.
        #expect(s[.tokensIssued] == 3)
        #expect(s[.tokenRequestsRefused] == 6)
    }

    /// The host's managed identity endpoints, asked by an independent client (Python's
    /// http.client): what they require, how they refuse, and that their tokens are taken by the
    /// ingestion endpoint.
    @Test func managedIdentityEndpointsAnswerLikeTheHost() throws {
        let user = "11111111-2222-3333-4444-555555555555"
        let e = try Local {
            $0.userAssignedIdentities = [user]
            $0.identityHeader = Secret("hdr-1")
            $0.tokenLifetimeSeconds = 900
        }
        defer { e.stop() }
        let script = #"""
            import http.client, json, sys
            host, port = sys.argv[1].split("//")[1].split(":")
            def call(method, path, headers, body=None):
                c = http.client.HTTPConnection(host, int(port), timeout=60)
                c.request(method, path, body=body, headers=headers)
                r = c.getresponse()
                out = {"status": r.status, "body": r.read().decode()}
                c.close()
                return out
            res = "resource=https%3A%2F%2Fmonitor.azure.com%2F"
            imds = "/metadata/identity/oauth2/token?api-version=2018-02-01&" + res
            cases = [
                ("GET", imds, {"Metadata": "true"}),
                ("GET", imds + "&client_id=11111111-2222-3333-4444-555555555555", {"Metadata": "true"}),
                ("GET", imds + "&client_id=99999999-2222-3333-4444-555555555555", {"Metadata": "true"}),
                ("GET", imds, {}),
                ("GET", imds, {"Metadata": "true", "X-Forwarded-For": "10.0.0.1"}),
                ("GET", "/metadata/identity/oauth2/token?" + res, {"Metadata": "true"}),
                ("GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F", {"Metadata": "true"}),
                ("POST", imds, {"Metadata": "true"}),
                ("GET", "/msi/token?api-version=2019-08-01&" + res, {"X-IDENTITY-HEADER": "hdr-1"}),
                ("GET", "/msi/token?api-version=2019-08-01&" + res, {"X-IDENTITY-HEADER": "wrong"}),
                ("GET", "/msi/token?api-version=2017-09-01&" + res, {"X-IDENTITY-HEADER": "hdr-1"}),
            ]
            out = [call(m, p, h) for (m, p, h) in cases]
            tok = json.loads(out[0]["body"])["access_token"]
            out.append(call("POST", "/dataCollectionRules/dcr-test/streams/Custom-Test?api-version=2023-01-01",
                            {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}, b'[{"a":1}]'))
            for o in out: print(json.dumps(o))
            """#
        let r = try python(script, [e.url.absoluteString])
        #expect(r.status == 0, "\(r.stderr)")
        let results = try r.stdout.split(separator: "\n").map {
            try JSONDecoder().decode(IngestionResult.self, from: Data($0.utf8))
        }
        try #require(results.count == 12)
        #expect(results.map(\.status) == [200, 200, 400, 400, 400, 400, 400, 405, 200, 401, 400, 204])
        let imds = try #require(results[0].tokenField)
        // Numbers as strings, as the metadata service sends them.
        #expect(imds["expires_in"] as? String == "900" && imds["resource"] as? String == "https://monitor.azure.com/")
        #expect(imds["token_type"] as? String == "Bearer" && (imds["expires_on"] as? String).flatMap(Int.init) != nil)
        #expect(results[1].tokenField?["client_id"] as? String == user)
        #expect(results[2].tokenField?["error_description"] as? String == "Identity not found")
        #expect(results[3].tokenField?["error_description"] as? String == "Required metadata header not specified")
        #expect(results[6].code == "invalid_resource")
        let app = try #require(results[8].tokenField)
        #expect(app["expires_in"] == nil && (app["expires_on"] as? String).flatMap(Int.init) != nil)
        #expect(results[9].tokenField?["message"] as? String != nil)
        #expect(e.lines().count == 1, "the metadata service's token was taken by the ingestion endpoint")
    }

    @Test func onlyAFederatedTokenEqualToTheConfiguredFileIsAccepted() throws {
        let e = try Local { $0.federatedToken = Secret("aaa.bbb.ccc") }
        defer { e.stop() }
        let r = try e.send([
            ["kind": "token", "assertion": "aaa.bbb.ccc"], ["kind": "token", "assertion": "xxx.yyy.zzz"],
        ])
        #expect(r.map(\.status) == [200, 401])
    }

    @Test func ingestionChecksWhatTheServiceChecks() throws {
        let e = try Local()
        defer { e.stop() }
        let cases: [([String: Any], Int, String?)] = [
            (["body": "[{\"TimeGenerated\":\"2026-11-23T10:00:00Z\",\"a\":1}]"], 204, nil),
            (["body": "[{\"a\":1}]", "gzip": true], 204, nil),
            (["body": "[]", "auth": "none"], 401, "InvalidToken"),
            (["body": "[]", "auth": "eyJ.not.issued"], 401, "InvalidToken"),
            (["body": "[]", "query": ""], 400, "MissingApiVersion"),
            (["body": "[]", "query": "?api-version=2021-11-01-preview"], 400, "InvalidApiVersion"),
            (["body": "{\"a\":1}"], 400, "InvalidPayload"),
            (["body": "[{\"a\":1,}]"], 400, "InvalidPayload"),
            (["body": "[1]"], 400, "InvalidPayload"),
            (["body": "[]", "contentType": "text/plain"], 415, "UnsupportedMediaType"),
            (["body": "[]", "encoding": "br"], 400, "InvalidContentEncoding"),
            (["body": "[{\"a\":1}]", "encoding": "gzip"], 400, "InvalidContentEncoding"),
            (["body": "[]", "stream": "Custom-..%2F..%2Fetc"], 400, "InvalidStream"),
            (["bodySize": 1_000_000], 204, nil),
            (["bodySize": 1_000_001], 413, "ContentLengthLimitExceeded"),
            // Small on the wire, over the limit once decoded: the limit is on the JSON.
            (["bodySize": 1_000_001, "gzip": true], 413, "ContentLengthLimitExceeded"),
        ]
        let r = try e.send(cases.map(\.0))
        #expect(r.count == cases.count)
        for (k, (c, status, code)) in cases.enumerated() where k < r.count {
            #expect(r[k].status == status, "case \(k) \(c): \(r[k].body ?? r[k].error ?? "")")
            #expect(r[k].code == code, "case \(k) \(c): \(r[k].body ?? "")")
        }
        #expect(r[2].auth?.hasPrefix("Bearer") == true, "401 says how to authenticate")
        #expect(
            e.lines() == [
                "{\"TimeGenerated\":\"2026-11-23T10:00:00Z\",\"a\":1}", "{\"a\":1}",
                "{\"x\":\"" + String(repeating: "a", count: 999_990) + "\"}",
            ])
        let s = e.emulator.currentStats()
        #expect(s.streams["Custom-Test"] == 3)
        #expect(s[.missingTimeGenerated] == 2)
        #expect(s[.gzipRequests] == 3, "every request that said gzip, refused ones included")
        #expect(s[.maxBodyBytes] == 1_000_000)
        #expect(s[.requestIds] == 1)
    }

    @Test func theDeclaredRuleAndStreamAreEnforcedAndUndeclaredColumnsReported() throws {
        let decl = try DCRDeclaration.parse(
            Data(
                #"{"dcrImmutableId":"dcr-test","streams":{"Custom-Test":{"columns":[{"name":"TimeGenerated","type":"datetime"},{"name":"Message","type":"string"}]}}}"#
                    .utf8),
            file: "dcr.json")
        let logged = DataBox()
        let e = try Local {
            $0.dcr = decl
            $0.log = { logged.set(logged.get() + Data(($0 + "\n").utf8)) }
        }
        defer { e.stop() }
        let r = try e.send([
            [
                "body":
                    #"[{"TimeGenerated":"2026-11-23T10:00:00Z","Message":"m","Extra":1,"message":2},{"Message":"x","Extra":3}]"#
            ],
            ["body": "[]", "stream": "Custom-Other"],
            ["body": "[]", "dcr": "dcr-other"],
        ])
        #expect(r.map(\.status) == [204, 400, 404])
        #expect(r[1].code == "InvalidStream")
        #expect(r[2].code == "NotFound")
        let s = e.emulator.currentStats()
        #expect(s.undeclaredColumns == ["Extra": 2, "message": 1], "names are compared as written")
        #expect(s[.missingTimeGenerated] == 1)
        let log = String(decoding: logged.get(), as: UTF8.self)
        #expect(log.contains("\"Extra\"") && log.contains("\"message\""))
        #expect(log.components(separatedBy: "\"Extra\"").count == 2, "each name reported once")
        #expect(
            e.lines().count == 2,
            "stored as sent: the service would drop the undeclared ones, the emulator keeps them to show")
    }

    @Test func faultsCarryTheIngestionErrorBodyAndRetryAfter() throws {
        let e = try Local {
            $0.failRate = 1
            $0.failCodes = [429]
            $0.retryAfter = 3
        }
        defer { e.stop() }
        let r = try e.send([["body": "[{\"a\":1}]"]])
        #expect(r[0].status == 429)
        #expect(r[0].code == "TooManyRequests")
        #expect(e.lines().isEmpty)
        let lossy = try Local { $0.ackLossRate = 1 }
        defer { lossy.stop() }
        let l = try lossy.send([["body": "[{\"a\":1}]"]])
        #expect(l[0].status == -1, "stored, then the connection closed without an answer")
        #expect(lossy.lines().count == 1)
    }

    @Test func aRestartedEmulatorKeepsItsStreamCounts() throws {
        let e = try Local()
        let r = try e.send([["body": "[{\"a\":1},{\"b\":2}]"]])
        #expect(r[0].status == 204)
        e.emulator.stop()
        var c = e.config
        c.dataDir = e.dir.url
        let again = try Emulator(config: c)
        defer {
            again.stop()
            e.dir.cleanup()
        }
        #expect(again.currentStats().streams["Custom-Test"] == 2)
        #expect(again.keys(stream: "Custom-Test") == ["a", "b"])
    }
}
