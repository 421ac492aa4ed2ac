import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

@Suite struct CryptoTests {
    func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// RFC 4231 test cases 1–4, 6 and 7 (case 5 is a truncated MAC).
    @Test(arguments: [
        (
            "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        (
            "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ),
        (
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", String(repeating: "dd", count: 50),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        ),
        (
            "0102030405060708090a0b0c0d0e0f10111213141516171819", String(repeating: "cd", count: 50),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        ),
        (
            String(repeating: "aa", count: 131),
            "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        ),
        (
            String(repeating: "aa", count: 131),
            "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565647320746f20626520686173686564206265666f7265206265696e6720757365642062792074686520484d414320616c676f726974686d2e",
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        ),
    ])
    func hmacRFC4231(key: String, data: String, expected: String) {
        #expect(Crypto.hmacSHA256(key: hex(key), message: hex(data)).hexString == expected)
    }

    @Test func sha256KnownValues() {
        #expect(
            Crypto.sha256(Array("abc".utf8)).hexString
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Crypto.sha256([]).hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let h = SHA256Hasher()
        h.update(Array("a".utf8))
        h.update("bc")
        #expect(h.finalize() == Crypto.sha256(Array("abc".utf8)))
    }

    @Test func constantTimeEquals() {
        #expect(Crypto.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!Crypto.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!Crypto.constantTimeEquals([1, 2], [1, 2, 3]))
    }
}

@Suite struct SharedKeySignerTests {
    /// The signature must equal one computed by an independent implementation (Python's hmac),
    /// over the UTF-8 byte length of the body, not its character count.
    @Test func matchesPythonForNonASCIIBody() throws {
        let (workspace, key) = testCredentials()
        let body = "[{\"city\":\"Köln\",\"msg\":\"ě 東京 🚀\"}]"
        #expect(body.utf8.count != body.count)
        let date = "Mon, 23 Nov 2026 13:09:43 GMT"
        let signer = try SharedKeySigner(workspaceId: workspace, sharedKey: key)
        let ours = signer.authorization(contentLength: body.utf8.count, date: date)
        let script = """
            import base64, hashlib, hmac, sys
            key, date, body = sys.argv[1], sys.argv[2], sys.stdin.buffer.read()
            text = "POST\\n%d\\napplication/json\\nx-ms-date:%s\\n/api/logs" % (len(body), date)
            print(base64.b64encode(hmac.new(base64.b64decode(key), text.encode('utf-8'), hashlib.sha256).digest()).decode())
            """
        let r = try python(script, [key.value, date], stdin: body)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(ours == "SharedKey \(workspace):\(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
        // Counting characters instead of bytes gives another signature: the bug several clients shipped.
        #expect(
            signer.signature(contentLength: body.count, date: date)
                != signer.signature(contentLength: body.utf8.count, date: date))
    }

    @Test func stringToSignLayout() {
        #expect(
            SharedKeySigner.stringToSign(contentLength: 1024, date: "Mon, 04 Apr 2016 08:00:00 GMT")
                == "POST\n1024\napplication/json\nx-ms-date:Mon, 04 Apr 2016 08:00:00 GMT\n/api/logs")
    }

    @Test func rejectsKeyThatIsNotBase64() {
        #expect(throws: SharedKeySigner.KeyError.self) {
            try SharedKeySigner(workspaceId: "w", sharedKey: Secret("not base64!!"))
        }
    }

    @Test func secretNeverPrints() {
        let s = Secret("c2VjcmV0")
        #expect("\(s)" == "<redacted>")
        #expect(String(describing: s) == "<redacted>")
        #expect(String(reflecting: s) == "<redacted>")
    }
}

@Suite struct HTTPDateTests {
    @Test func formatsRFC1123() {
        #expect(HTTPDate.format(unixSeconds: 1_459_756_800) == "Mon, 04 Apr 2016 08:00:00 GMT")
        #expect(HTTPDate.format(unixSeconds: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(unixSeconds: 951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
    }

    @Test func agreesWithFoundationFormatter() {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var seed: UInt64 = 42
        for _ in 0..<2000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let t = Int64(seed >> 33) % 6_000_000_000 - 1_000_000_000
            let d = Date(timeIntervalSince1970: Double(t))
            #expect(HTTPDate.format(unixSeconds: t) == f.string(from: d))
            #expect(HTTPDate.parse(HTTPDate.format(unixSeconds: t)) == t)
        }
    }

    @Test func parseRejectsOtherForms() {
        #expect(HTTPDate.parse("2016-04-04T08:00:00Z") == nil)
        #expect(HTTPDate.parse("Mon, 04 Apr 2016 08:00:00 UTC") == nil)
        #expect(HTTPDate.parse("Mon, 32 Apr 2016 08:00:00 GMT") == nil)
    }
}
