import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

/// An independent client: its own string to sign, its own HTTP (Python's http.client and raw
/// sockets). Reads a JSON list of cases on stdin, prints one JSON result per line.
let independentClient = #"""
    import base64, datetime, hashlib, hmac, http.client, json, socket, sys, threading

    url, workspace, key = sys.argv[1], sys.argv[2], sys.argv[3]
    host, port = url.split("//")[1].split(":")
    port = int(port)

    def sign(ws, k, date, length, ctype="application/json"):
        text = "POST\n%d\n%s\nx-ms-date:%s\n/api/logs" % (length, ctype, date)
        mac = hmac.new(base64.b64decode(k), text.encode("utf-8"), hashlib.sha256).digest()
        return "SharedKey %s:%s" % (ws, base64.b64encode(mac).decode())

    def rfc1123(offset=0):
        t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset)
        return t.strftime("%a, %d %b %Y %H:%M:%S GMT")

    def run(case):
        body = case.get("body", "[]").encode("utf-8")
        if "bodySize" in case:
            n = case["bodySize"]
            filler = n - len('[{"x":""}]')
            body = b'[{"x":"' + b"a" * filler + b'"}]'
        date = rfc1123(case.get("dateOffset", 0))
        length = len(case.get("body", "")) if case.get("lengthInChars") else len(body)
        ctype = case.get("contentType", "application/json")
        headers = {}
        if ctype is not None:
            headers["Content-Type"] = ctype
        if case.get("logType", "Tests") is not None:
            headers["Log-Type"] = case.get("logType", "Tests")
        headers["x-ms-date"] = date
        ws = case.get("workspace", workspace)
        headers["Authorization"] = sign(ws, case.get("key", key), date, length, ctype or "application/json")
        if case.get("timeField"):
            headers["time-generated-field"] = case["timeField"]
        query = case.get("query", "?api-version=2016-04-01")
        path = "/api/logs" + query
        if case.get("mode") == "expect":
            s = socket.create_connection((host, port))
            head = "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n" % (path, host, len(body))
            head += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
            s.sendall(head.encode())
            first = s.recv(4096).decode()
            if not first.startswith("HTTP/1.1 100"):
                return {"status": -1, "error": "no 100 Continue: " + first[:80]}
            s.sendall(body)
            resp = s.recv(65536).decode()
            s.close()
            return {"status": int(resp.split(" ")[1]), "body": resp.split("\r\n\r\n", 1)[1]}
        conn = http.client.HTTPConnection(host, port, timeout=120)
        if case.get("mode") == "chunked":
            conn.putrequest("POST", path)
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for i in range(0, len(body), 7):
                part = body[i:i+7]
                conn.send(b"%x\r\n%s\r\n" % (len(part), part))
            conn.send(b"0\r\n\r\n")
        else:
            conn.request("POST", path, body=body, headers=headers)
        r = conn.getresponse()
        out = {"status": r.status, "body": r.read().decode("utf-8", "replace")}
        if case.get("mode") == "keepalive":
            conn.request("POST", path, body=body, headers=headers)
            r2 = conn.getresponse()
            out["second"] = r2.status
            r2.read()
        conn.close()
        return out

    cases = json.load(sys.stdin)
    if cases and cases[0].get("parallel"):
        results = [None] * len(cases)
        def work(i):
            try:
                results[i] = run(cases[i])
            except Exception as e:
                results[i] = {"status": -1, "error": repr(e)}
        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(cases))]
        for t in threads: t.start()
        for t in threads: t.join()
        for r in results: print(json.dumps(r))
    else:
        for c in cases:
            try:
                print(json.dumps(run(c)))
            except Exception as e:
                print(json.dumps({"status": -1, "error": repr(e)}))
    """#

struct ClientResult: Decodable {
    var status: Int
    var body: String?
    var second: Int?
    var error: String?
    var code: String? {
        guard let b = body, let d = b.data(using: .utf8),
            let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any]
        else { return nil }
        return o["Error"] as? String
    }
}

/// An emulator in this process with a data folder of its own.
struct LocalEmulator {
    let emulator: Emulator
    let url: URL
    let dir: TempDir
    let workspace: String
    let key: Secret

    init(_ configure: (inout EmulatorConfig) -> Void = { _ in }) throws {
        let (w, k) = testCredentials()
        workspace = w
        key = k
        dir = TempDir("emulator")
        var c = EmulatorConfig(workspaceId: w, sharedKey: k)
        c.dataDir = dir.url
        configure(&c)
        emulator = try Emulator(config: c)
        url = try emulator.start()
    }

    func send(_ cases: [[String: Any]], timeout: Double = 120) throws -> [ClientResult] {
        let input = String(decoding: try JSONSerialization.data(withJSONObject: cases), as: UTF8.self)
        let r = try python(
            independentClient, [url.absoluteString, workspace, key.value], stdin: input, timeout: timeout)
        #expect(r.status == 0, "client failed: \(r.stderr)")
        return try r.stdout.split(separator: "\n").map {
            try JSONDecoder().decode(ClientResult.self, from: Data($0.utf8))
        }
    }

    func rows(_ table: String) -> [[String: Any]] {
        guard let data = try? Data(contentsOf: dir.file("\(table).ndjson")) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap {
            try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]
        }
    }

    func stop() {
        emulator.stop()
        dir.cleanup()
    }
}

@Suite(.serialized) struct EmulatorTests {
    let nonASCII = "[{\"city\":\"Köln\",\"note\":\"ě 東京 🚀\",\"n\":1}]"

    @Test func acceptsRequestSignedByIndependentClient() throws {
        let e = try LocalEmulator()
        defer { e.stop() }
        let r = try e.send([["body": nonASCII]])
        #expect(r[0].status == 200, "\(r[0].body ?? r[0].error ?? "")")
        let rows = e.rows("Tests_CL")
        #expect(rows.count == 1)
        #expect(rows.first?["city_s"] as? String == "Köln")
        #expect(rows.first?["note_s"] as? String == "ě 東京 🚀")
    }

    @Test func refusesWhatTheServiceRefuses() throws {
        let e = try LocalEmulator()
        defer { e.stop() }
        let (_, otherKey) = testCredentials()
        let cases: [([String: Any], Int, String?)] = [
            (["body": nonASCII, "lengthInChars": true], 403, "InvalidAuthorization"),
            (["body": "[]", "key": otherKey.value], 403, "InvalidAuthorization"),
            (["body": "[]", "logType": "My-Logs"], 400, "InvalidLogType"),
            (["body": "[]", "logType": "1Logs"], 400, "InvalidLogType"),
            (["body": "[]", "logType": String(repeating: "a", count: 101)], 400, "InvalidLogType"),
            (["body": "[]", "logType": NSNull()], 400, "MissingLogType"),
            (["body": "[]", "query": ""], 400, "MissingApiVersion"),
            (["body": "[]", "query": "?api-version=2015-01-01"], 400, "InvalidApiVersion"),
            (["body": "[]", "contentType": NSNull()], 400, "MissingContentType"),
            (["body": "[]", "contentType": "text/plain"], 400, "UnsupportedContentType"),
            (["body": "[]", "contentType": "application/json; charset=utf-8"], 403, "InvalidAuthorization"),
            (["body": "[]", "workspace": "not-a-guid"], 400, "InvalidCustomerId"),
            (["body": "[]", "workspace": UUID().uuidString.lowercased()], 403, "InvalidAuthorization"),
            (["body": "[{\"a\":1,}]"], 400, "InvalidDataFormat"),
            (["body": "[{\"a\":\"\u{1}\"}]"], 400, "InvalidDataFormat"),
            (["body": "[1, 2]"], 400, "InvalidDataFormat"),
            (["body": "[]", "dateOffset": 3600], 403, "InvalidAuthorization"),
        ]
        let results = try e.send(cases.map(\.0))
        #expect(results.count == cases.count)
        for (k, (c, status, code)) in cases.enumerated() where k < results.count {
            #expect(
                results[k].status == status,
                "case \(k) \(c): got \(results[k].status) \(results[k].body ?? results[k].error ?? "")")
            #expect(results[k].code == code, "case \(k) \(c): got \(results[k].code ?? "no code")")
        }
        #expect(e.rows("Tests_CL").isEmpty, "nothing refused may be stored")
        let stats = e.emulator.currentStats()
        #expect(stats.byStatus["403"] == 5)
        #expect(stats[.records] == 0)
    }

    @Test func inactiveWorkspace() throws {
        let e = try LocalEmulator { $0.inactiveWorkspace = true }
        defer { e.stop() }
        let r = try e.send([["body": "[]"]])
        #expect(r[0].status == 400)
        #expect(r[0].code == "InactiveCustomer")
    }

    @Test func bodyOverTheLimitIs404() throws {
        let e = try LocalEmulator { $0.maxBodyBytes = 100_000 }
        defer { e.stop() }
        let r = try e.send([["bodySize": 100_001], ["bodySize": 100_000]])
        #expect(r[0].status == 404)
        #expect(r[1].status == 200)
    }

    @Test func chunkedExpectContinueAndKeepAlive() throws {
        let e = try LocalEmulator()
        defer { e.stop() }
        let r = try e.send([
            ["body": nonASCII, "mode": "chunked"],
            ["body": nonASCII, "mode": "expect"],
            ["body": nonASCII, "mode": "keepalive"],
        ])
        #expect(r.map(\.status) == [200, 200, 200], "\(r.map { $0.error ?? $0.body ?? "" })")
        #expect(r[2].second == 200)
        #expect(e.rows("Tests_CL").count == 4)
    }

    @Test func eightConcurrent30MBUploads() throws {
        let e = try LocalEmulator { $0.discard = true }
        defer { e.stop() }
        let cases: [[String: Any]] = (0..<8).map { _ in ["bodySize": 30_000_000, "parallel": true] }
        let r = try e.send(cases, timeout: 300)
        #expect(r.map(\.status) == Array(repeating: 200, count: 8), "\(r.map { $0.error ?? "" })")
        #expect(e.emulator.currentStats()[.bytes] == 240_000_000)
    }

    @Test func columnsGetTheServiceSuffixes() throws {
        let e = try LocalEmulator()
        defer { e.stop() }
        let body = """
            [{"n":42,"b":true,"t":"2016-05-12T20:00:00.625Z","g":"9909ED01-A74C-4874-8ABF-D2678E3AE23D","s":"text","z":null,"o":{"a":[1,2]},"sn":"42",
              "tl":"2016-05-12t20:00z","d":"2016-05-12","sp":"2016-05-12 20:00:00Z"}]
            """
        #expect(try e.send([["body": body]])[0].status == 200)
        let cols = Dictionary(uniqueKeysWithValues: e.emulator.columns(table: "Tests_CL").map { ($0.base, $0.name) })
        // A date alone, or a space for the T, is text (as preview says too).
        #expect(
            cols == [
                "n": "n_d", "b": "b_b", "t": "t_t", "g": "g_g", "s": "s_s", "o": "o_s", "sn": "sn_s",
                "tl": "tl_t", "d": "d_s", "sp": "sp_s",
            ])
        let row = e.rows("Tests_CL")[0]
        #expect(row["z_s"] == nil && row["z_d"] == nil, "nulls are dropped")
        #expect(row["o_s"] as? String == "{\"a\":[1,2]}")
        #expect(row["Type"] as? String == "Tests_CL")
    }

    /// The reference's walk-through: strings that convert keep the existing columns; values
    /// that do not convert create new columns with their own suffix.
    @Test func existingColumnsConvertOrGrowNewOnes() throws {
        let e = try LocalEmulator()
        defer { e.stop() }
        let first = #"[{"number":42,"boolean":true,"string":"x"}]"#
        let asStrings = #"[{"number":"43","boolean":"false","string":"y"}]"#
        let clash = #"[{"number":"forty","boolean":"maybe","string":7}]"#
        #expect(try e.send([["body": first], ["body": asStrings], ["body": clash]]).map(\.status) == [200, 200, 200])
        let names = e.emulator.columns(table: "Tests_CL").map(\.name)
        #expect(names == ["number_d", "boolean_b", "string_s", "number_s", "boolean_s"])
        let rows = e.rows("Tests_CL")
        #expect(rows[1]["number_d"] as? Double == 43)
        #expect(rows[1]["boolean_b"] as? Bool == false)
        #expect(rows[2]["string_s"] as? String == "7")
    }

    @Test func timeGeneratedFromTheFieldUnlessTooOld() throws {
        let e = try LocalEmulator()
        defer { e.stop() }
        let recent = EmulatorTime.format(unixMillis: Int64(Date().timeIntervalSince1970 * 1000) - 3_600_000)
        let body = "[{\"when\":\"\(recent)\"},{\"when\":\"2016-05-12T20:00:00.625Z\"}]"
        #expect(try e.send([["body": body, "timeField": "when"]])[0].status == 200)
        let rows = e.rows("Tests_CL")
        #expect(rows[0]["TimeGenerated"] as? String == recent)
        #expect(rows[1]["TimeGenerated"] as? String != "2016-05-12T20:00:00.625Z")
        #expect(rows[1]["when_t"] as? String == "2016-05-12T20:00:00.625Z")
        #expect(e.emulator.currentStats()[.timeGeneratedReplaced] == 1)
    }

    @Test func valuesOver32KBAreTruncated() throws {
        let e = try LocalEmulator()
        defer { e.stop() }
        let big = String(repeating: "é", count: 20_000)  // 40,000 bytes
        #expect(try e.send([["body": "[{\"big\":\"\(big)\"}]"]])[0].status == 200)
        let v = e.rows("Tests_CL")[0]["big_s"] as? String ?? ""
        #expect(v.utf8.count <= 32_766 && v.utf8.count >= 32_764)
        #expect(e.emulator.currentStats()[.truncatedValues] == 1)
    }

    @Test func faultInjectionAndAckLoss() throws {
        let e = try LocalEmulator {
            $0.failRate = 1
            $0.failCodes = [503]
            $0.retryAfter = 2
        }
        defer { e.stop() }
        let r = try e.send([["body": "[{\"a\":1}]"]])
        #expect(r[0].status == 503)
        #expect(e.rows("Tests_CL").isEmpty)
        let lossy = try LocalEmulator { $0.ackLossRate = 1 }
        defer { lossy.stop() }
        let l = try lossy.send([["body": "[{\"a\":1}]"]])
        #expect(l[0].status == -1, "the connection closes without an answer")
        #expect(lossy.rows("Tests_CL").count == 1, "stored before the answer was lost")
        #expect(lossy.emulator.currentStats()[.ackLost] == 1)
    }

    @Test func onlyLoopback() throws {
        let e = try LocalEmulator()
        defer { e.stop() }
        #expect(e.url.host == "127.0.0.1")
    }
}

@Suite struct EmulatorJSONTests {
    func count(_ s: String) -> Int? {
        Array(s.utf8).withUnsafeBytes { try? EmulatorJSON.countRecords($0) }
    }

    @Test func validBodies() {
        #expect(count("[]") == 0)
        #expect(count("{\"a\":1}") == 1)
        #expect(count(" [ {\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\\n\"} , {} ] ") == 2)
        #expect(count("[{\"a\":-0.5e+3,\"b\":false}]") == 1)
    }

    @Test func invalidBodies() {
        for s in [
            "", "[", "[{]", "[{\"a\":01}]", "[{\"a\":1.}]", "[{\"a\":\"\\x\"}]", "[{'a':1}]", "[{\"a\":1}]x",
            "[{\"a\":tru}]", "\u{FEFF}[]",
        ] {
            #expect(count(s) == nil, "\(s) must be refused")
        }
        let badUTF8: [UInt8] = Array("[{\"a\":\"".utf8) + [0xC3, 0x28] + Array("\"}]".utf8)
        #expect(badUTF8.withUnsafeBytes { try? EmulatorJSON.countRecords($0) } == nil)
    }

    /// The `--discard` check (count only) and the storing parser must accept and refuse the
    /// same bodies, with the same error at the same byte.
    @Test("counting and parsing agree on mutated bodies")
    func countingAgreesWithParsing() {
        let seeds: [String] = [
            #"[{"a":1,"b":"x\"y","c":[1,{"d":null}],"e":true,"f":-0.5e+3,"g":"\u00e9é"},{}]"#,
            #"{"only":"one","n":12345678901234567890}"#,
            #"[ {"k" : "v" , "t":false} , {"s":"a longer string value, over sixteen bytes"} ]"#,
        ]
        var rng = SplitMix64(seed: 2026)
        let alphabet: [UInt8] =
            Array("{}[],:\"\\ 0123456789.eE+-tfnulrsa".utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xA9, 0xFF, 0xE2, 0x82]
        var accepted = 0, refused = 0
        for round in 0..<20_000 {
            var body = Array(seeds[round % seeds.count].utf8)
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let at = Int(rng.next() % UInt64(body.count + 1))
                switch rng.next() % 3 {
                case 0: if at < body.count { body.remove(at: at) }
                case 1: body.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                default: if at < body.count { body[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))] }
                }
            }
            let counted = body.withUnsafeBytes { b in
                Result { () throws(EmulatorJSON.SyntaxError) -> Int in try EmulatorJSON.countRecords(b) }
            }
            let parsed = body.withUnsafeBytes { b in
                Result { () throws(EmulatorJSON.SyntaxError) -> Int in try EmulatorJSON.forEachRecord(b) { _ in } }
            }
            switch (counted, parsed) {
            case (.success(let a), .success(let b)):
                #expect(a == b)
                accepted += 1
            case (.failure(let a), .failure(let b)):
                #expect(a.offset == b.offset && a.message == b.message, "\(String(decoding: body, as: UTF8.self))")
                refused += 1
            default:
                Issue.record("count \(counted) but parse \(parsed) for \(String(decoding: body, as: UTF8.self))")
            }
        }
        #expect(accepted > 1000 && refused > 1000)
    }
}
