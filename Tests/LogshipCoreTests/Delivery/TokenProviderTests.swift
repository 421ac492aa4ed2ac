import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

@Suite struct TokenProviderTests {
    static let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    static let client = "0c6d5a4e-8b1f-4a73-9e2d-3f1b2c4d5e6f"
    static let scope = "https://monitor.azure.com//.default"

    func provider(
        _ t: ScriptedTransport, credential: TokenProvider.Credential = .clientSecret(Secret("s3cr3t+/=&value")),
        clock: TestClock = TestClock()
    ) -> TokenProvider {
        TokenProvider(
            authorityHost: URL(string: "https://login.microsoftonline.com/")!, tenantId: Self.tenant,
            clientId: Self.client,
            credential: credential, scope: Self.scope, transport: t, clock: { clock.now })
    }

    @Test func clientCredentialsFormPost() async throws {
        let t = ScriptedTransport([ScriptedTransport.token("abc")])
        let token = try await provider(t).token()
        #expect(token.value.value == "abc")
        let r = try #require(t.requests.first)
        #expect(r.url.absoluteString == "https://login.microsoftonline.com/\(Self.tenant)/oauth2/v2.0/token")
        #expect(r.header("Content-Type") == "application/x-www-form-urlencoded")
        #expect(
            r.form == [
                "grant_type": "client_credentials", "client_id": Self.client, "client_secret": "s3cr3t+/=&value",
                "scope": Self.scope,
            ])
        // Reserved characters are percent-encoded, not left to mean something else.
        #expect(String(decoding: r.body, as: UTF8.self).contains("client_secret=s3cr3t%2B%2F%3D%26value"))
        #expect(String(decoding: r.body, as: UTF8.self).contains("scope=https%3A%2F%2Fmonitor.azure.com%2F%2F.default"))
    }

    @Test func federatedTokenFileIsTheClientAssertionAndIsReadAgainEachTime() async throws {
        let dir = TempDir("federated")
        defer { dir.cleanup() }
        let file = dir.write("token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl\n")
        let clock = TestClock()
        let t = ScriptedTransport([
            ScriptedTransport.token("one", expiresIn: 600), ScriptedTransport.token("two", expiresIn: 600),
        ])
        let p = provider(t, credential: .federatedTokenFile(file), clock: clock)
        _ = try await p.token()
        #expect(t.requests[0].form["client_assertion"] == "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl")
        #expect(t.requests[0].form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        #expect(t.requests[0].form["client_secret"] == nil)
        _ = dir.write("token", "rotated.by.kubelet")
        clock.advance(600)
        #expect(try await p.token().value.value == "two")
        #expect(t.requests[1].form["client_assertion"] == "rotated.by.kubelet")
    }

    @Test func cachedAndRefreshedAheadOfExpiry() async throws {
        let clock = TestClock()
        let t = ScriptedTransport([
            ScriptedTransport.token("first", expiresIn: 3600), ScriptedTransport.token("second", expiresIn: 3600),
        ])
        let p = provider(t, clock: clock)
        #expect(try await p.token().value.value == "first")
        clock.advance(3299)
        #expect(try await p.token().value.value == "first", "five minutes of margin: still fresh")
        #expect(await p.fetches == 1)
        clock.advance(2)
        #expect(try await p.token().value.value == "second", "inside the margin: fetched again before it expires")
        #expect(await p.fetches == 2)
    }

    /// A short lifetime gets a proportionate margin (a tenth), not five minutes.
    @Test func shortLifetimesRefreshAtNinetyPercent() async throws {
        let clock = TestClock()
        let t = ScriptedTransport(
            [ScriptedTransport.token("a", expiresIn: 2)], fallback: ScriptedTransport.token("b", expiresIn: 2))
        let p = provider(t, clock: clock)
        let a = try await p.token()
        #expect(abs(a.refreshAt.timeIntervalSince(clock.now) - 1.8) < 0.001)
        clock.advance(1.7)
        #expect(try await p.token().value.value == "a")
        clock.advance(0.2)
        #expect(try await p.token().value.value == "b")
    }

    /// A renewal that cannot reach the service keeps using the old token while it lasts.
    @Test func anUnreachableServiceAtRenewalKeepsTheOldTokenUntilItExpires() async throws {
        let clock = TestClock()
        let t = ScriptedTransport(
            [
                ScriptedTransport.token("old", expiresIn: 3600), .failure(.timedOut), .failure(.timedOut),
                ScriptedTransport.token("new", expiresIn: 3600),
            ])
        let p = provider(t, clock: clock)
        #expect(try await p.token().value.value == "old")
        clock.advance(3400)
        #expect(try await p.token().value.value == "old", "renewal failed, the token is still good")
        clock.advance(300)
        await #expect(throws: TokenProvider.TokenError.self) { try await p.token() }
        #expect(try await p.token().value.value == "new")
    }

    @Test func concurrentCallersShareOneFetch() async throws {
        let t = ScriptedTransport([ScriptedTransport.token("shared")])
        t.delayNanoseconds = 50_000_000
        let p = provider(t)
        let values = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<20 { group.addTask { try? await p.token().value.value } }
            var out: [String?] = []
            for await v in group { out.append(v) }
            return out
        }
        #expect(values == Array(repeating: "shared", count: 20))
        #expect(t.requests.count == 1)
    }

    @Test func invalidateDropsOnlyTheTokenThatWasRefused() async throws {
        let t = ScriptedTransport([
            ScriptedTransport.token("one"), ScriptedTransport.token("two"), ScriptedTransport.token("three"),
        ])
        let p = provider(t)
        let one = try await p.token()
        await p.invalidate(one)
        let two = try await p.token()
        #expect(two.value.value == "two")
        // A second upload that was refused with "one" must not throw "two" away.
        await p.invalidate(one)
        #expect(try await p.token().value.value == "two")
        #expect(t.requests.count == 2)
    }

    @Test func refusalsCarryTheServiceTextAndNeverTheSecret() async throws {
        let secret = "s3cr3t+/=&value"
        let body =
            #"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. (sent: s3cr3t+/=&value)\r\nTrace ID: 1"}"#
        let p = provider(ScriptedTransport([ScriptedTransport.json(401, body)]))
        do {
            _ = try await p.token()
            Issue.record("expected a refusal")
        } catch {
            guard case .refused(401, "invalid_client", let message) = error else {
                Issue.record("got \(error)")
                return
            }
            #expect(message.contains("AADSTS7000215: Invalid client secret provided."))
            #expect(!message.contains(secret), "a service that echoes the secret is redacted")
            #expect(!"\(error)".contains(secret))
        }
    }

    @Test func answersAreClassified() {
        func parse(_ status: Int, _ body: String, _ headers: [String: String] = [:]) -> Result<
            TokenProvider.AccessToken, TokenProvider.TokenError
        > {
            TokenProvider.parse(
                HTTPResponse(status: status, headers: headers, body: Array(body.utf8)),
                sentAt: Date(timeIntervalSince1970: 0), generation: 1, redacting: nil)
        }
        guard case .success(let t) = parse(200, #"{"access_token":"x","expires_in":"3599","token_type":"Bearer"}"#)
        else {
            Issue.record("expires_in as a string (v1.0 endpoints) is read too")
            return
        }
        #expect(t.expiresAt == Date(timeIntervalSince1970: 3599))
        #expect(t.refreshAt == Date(timeIntervalSince1970: 3299))
        #expect(
            parse(503, "busy", ["retry-after": "7"])
                == .failure(.unavailable(status: 503, retryAfter: 7, message: "HTTP503: busy")))
        #expect(parse(429, "{}") == .failure(.unavailable(status: 429, retryAfter: nil, message: "HTTP429: {}")))
        guard
            case .failure(.refused(400, "invalid_scope", _)) = parse(
                400, #"{"error":"invalid_scope","error_description":"AADSTS1002012"}"#)
        else {
            Issue.record("a 400 is a refusal")
            return
        }
        guard case .failure(.refused(200, "InvalidTokenResponse", _)) = parse(200, "<html>proxy login</html>") else {
            Issue.record("a 200 without a token is a refusal, not a token")
            return
        }
        guard case .failure(.refused(404, _, _)) = parse(404, "") else {
            Issue.record("a 404 means a wrong authority host or tenant")
            return
        }
    }

    @Test func networkErrorsAreTransient() async throws {
        let p = provider(ScriptedTransport([.failure(.cannotConnect("connection refused"))]))
        do {
            _ = try await p.token()
            Issue.record("expected an error")
        } catch {
            guard case .unavailable(nil, nil, let m) = error else {
                Issue.record("got \(error)")
                return
            }
            #expect(m.contains("connection refused"))
        }
    }

    @Test func cloudsHaveTheirHostsAndScopes() {
        #expect(TokenProvider.authorityHost(cloud: "public")?.absoluteString == "https://login.microsoftonline.com")
        #expect(TokenProvider.authorityHost(cloud: "usgov")?.absoluteString == "https://login.microsoftonline.us")
        #expect(TokenProvider.authorityHost(cloud: "china")?.absoluteString == "https://login.chinacloudapi.cn")
        #expect(TokenProvider.scope(cloud: "public") == "https://monitor.azure.com//.default")
        #expect(TokenProvider.scope(cloud: "usgov") == "https://monitor.azure.us//.default")
        #expect(TokenProvider.scope(cloud: "china") == "https://monitor.azure.cn//.default")
        #expect(TokenProvider.scope(cloud: "mars") == nil)
    }

    // MARK: Managed identity

    func managed(
        _ t: ScriptedTransport,
        _ endpoint: TokenProvider.ManagedIdentity.Endpoint = .imds(TokenProvider.ManagedIdentity.imdsHost),
        clientId: String? = nil, clock: TestClock = TestClock()
    ) -> TokenProvider {
        provider(t, credential: .managedIdentity(.init(endpoint: endpoint, clientId: clientId)), clock: clock)
    }

    @Test func instanceMetadataServiceIsAskedWithAGet() async throws {
        let clock = TestClock()
        let expiresOn = Int(clock.now.timeIntervalSince1970) + 86399
        let t = ScriptedTransport([
            ScriptedTransport.json(
                200,
                "{\"access_token\":\"mi-1\",\"client_id\":\"x\",\"expires_in\":\"86399\",\"expires_on\":\"\(expiresOn)\",\"resource\":\"https://monitor.azure.com/\",\"token_type\":\"Bearer\"}"
            ),
            ScriptedTransport.token("mi-2"),
        ])
        let p = managed(t, clock: clock)
        let token = try await p.token()
        #expect(token.value.value == "mi-1")
        #expect(token.expiresAt == clock.now.addingTimeInterval(86399), "expires_in as a string")
        let r = try #require(t.requests.first)
        #expect(r.method == "GET" && r.body.isEmpty)
        #expect(
            r.url.absoluteString
                == "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmonitor.azure.com%2F"
        )
        #expect(r.header("Metadata") == "true")
        let host = await p.tokenURL.host
        #expect(host == "169.254.169.254" && p.isManagedIdentity)

        // A user-assigned identity is named by its client id.
        let u = ScriptedTransport([ScriptedTransport.token("mi-u")])
        _ = try await managed(u, clientId: Self.client).token()
        #expect(u.requests.first?.url.query?.hasSuffix("&client_id=\(Self.client)") == true)
    }

    @Test func appServiceEndpointTakesTheIdentityHeaderAndAnswersWithExpiresOnOnly() async throws {
        let clock = TestClock()
        let expiresOn = Int(clock.now.timeIntervalSince1970) + 1800
        let t = ScriptedTransport([
            ScriptedTransport.json(
                200,
                "{\"access_token\":\"app-1\",\"expires_on\":\"\(expiresOn)\",\"resource\":\"https://monitor.azure.com/\",\"token_type\":\"Bearer\"}"
            )
        ])
        let p = managed(
            t, .appService(URL(string: "http://localhost:42356/msi/token")!, header: Secret("hdr-secret")), clock: clock
        )
        let token = try await p.token()
        #expect(token.expiresAt == clock.now.addingTimeInterval(1800), "lifetime from expires_on")
        #expect(token.refreshAt == clock.now.addingTimeInterval(1800 - 180))
        let r = try #require(t.requests.first)
        #expect(r.method == "GET")
        #expect(
            r.url.absoluteString
                == "http://localhost:42356/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fmonitor.azure.com%2F"
        )
        #expect(r.header("X-IDENTITY-HEADER") == "hdr-secret")
    }

    @Test func managedIdentityRefusalsAndOutages() async throws {
        // No such identity on this host: final, and says which identity was asked for.
        let missing = ScriptedTransport([
            ScriptedTransport.json(400, "{\"error\":\"invalid_request\",\"error_description\":\"Identity not found\"}")
        ])
        await #expect(
            throws: TokenProvider.TokenError.refused(
                status: 400, code: "invalid_request",
                message:
                    "the instance metadata service at 169.254.169.254 has no token for the user-assigned identity with client id \(Self.client): Identity not found"
            )
        ) {
            _ = try await managed(missing, clientId: Self.client).token()
        }
        // The service updating (404, 410), throttling and 5xx: try again later.
        for status in [404, 410, 429, 500, 503] {
            let t = ScriptedTransport([ScriptedTransport.json(status, "{}")])
            await #expect {
                _ = try await managed(t).token()
            } throws: { e in
                guard case .unavailable(let s, _, _) = e as? TokenProvider.TokenError else { return false }
                return s == status
            }
        }
        // An App Service refusal in its own shape, with the identity header never quoted back.
        let app = ScriptedTransport([
            ScriptedTransport.json(401, "{\"statusCode\":401,\"message\":\"bad header hdr-secret\"}")
        ])
        await #expect {
            _ = try await managed(
                app, .appService(URL(string: "http://127.0.0.1:1/msi/token")!, header: Secret("hdr-secret"))
            ).token()
        } throws: { e in
            guard case .refused(401, _, let m) = e as? TokenProvider.TokenError else { return false }
            return m.contains("bad header <redacted>") && !m.contains("hdr-secret")
        }
    }

    @Test func noEndpointBeforeTheFirstTokenMeansThisIsNotAnAzureHost() async throws {
        let clock = TestClock()
        let t = ScriptedTransport([.failure(.cannotConnect("169.254.169.254:80: No route to host"))])
        await #expect {
            _ = try await managed(t, clock: clock).token()
        } throws: { e in
            guard case .refused(0, "ManagedIdentityUnavailable", let m) = e as? TokenProvider.TokenError else {
                return false
            }
            return m.contains("No route to host") && m.contains("client secret or workload identity")
        }
        // Once the endpoint has answered, an outage at renewal is only that: the old token
        // serves until it expires, then the error is one to retry.
        let later = ScriptedTransport(
            [
                ScriptedTransport.token("first", expiresIn: 600), .failure(.cannotConnect("refused")),
                .failure(.timedOut),
            ])
        let p = managed(later, clock: clock)
        #expect(try await p.token().value.value == "first")
        clock.advance(590)
        #expect(try await p.token().value.value == "first")
        clock.advance(20)
        await #expect {
            _ = try await p.token()
        } throws: { e in
            guard case .unavailable = e as? TokenProvider.TokenError else { return false }
            return true
        }
    }

    @Test func azureArcChallengeIsAnsweredWithTheKeyFileItNames() async throws {
        let dir = TempDir("arc")
        defer { dir.cleanup() }
        let keys = dir.url.appendingPathComponent("tokens")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
        let key = keys.appendingPathComponent("0b6a.key")
        try Data("arc-key-secret\n".utf8).write(to: key)
        let t = ScriptedTransport([
            ScriptedTransport.json(401, "{}", headers: ["www-authenticate": "Basic realm=\(key.path)"]),
            ScriptedTransport.token("arc-1"),
        ])
        let endpoint = URL(string: "http://localhost:40342/metadata/identity/oauth2/token")!
        let token = try await managed(t, .arc(endpoint, keyDirectory: keys.path)).token()
        #expect(token.value.value == "arc-1")
        #expect(t.requests.count == 2)
        #expect(t.requests.allSatisfy { $0.method == "GET" && $0.header("Metadata") == "true" })
        #expect(
            t.requests[0].url.absoluteString
                == "http://localhost:40342/metadata/identity/oauth2/token?api-version=2020-06-01&resource=https%3A%2F%2Fmonitor.azure.com%2F"
        )
        #expect(t.requests[0].header("Authorization") == nil)
        #expect(t.requests[1].header("Authorization") == "Basic arc-key-secret")

        // The key is a credential: quoted back by a refusal, it is blanked out.
        let refused = ScriptedTransport([
            ScriptedTransport.json(401, "{}", headers: ["www-authenticate": "Basic realm=\"\(key.path)\""]),
            ScriptedTransport.json(
                401, "{\"error\":\"unauthorized_client\",\"error_description\":\"bad key arc-key-secret\"}"),
        ])
        await #expect {
            _ = try await managed(refused, .arc(endpoint, keyDirectory: keys.path)).token()
        } throws: { e in
            guard case .refused(401, "unauthorized_client", let m) = e as? TokenProvider.TokenError else {
                return false
            }
            return m.contains("<redacted>") && !m.contains("arc-key-secret")
        }
    }

    /// Only a `.key` file of at most 4096 bytes directly in the agent's folder is read: a
    /// stand-in endpoint must not get other files' contents sent to it.
    @Test func azureArcChallengesNamingOtherFilesAreRefused() throws {
        let dir = TempDir("arc-bad")
        defer { dir.cleanup() }
        let keys = dir.url.appendingPathComponent("tokens")
        try FileManager.default.createDirectory(
            at: keys.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data("k".utf8).write(to: keys.appendingPathComponent("ok.key"))
        try Data("k".utf8).write(to: keys.appendingPathComponent("sub/deeper.key"))
        try Data("k".utf8).write(to: keys.appendingPathComponent("wrong.txt"))
        try Data(repeating: 0x41, count: 4097).write(to: keys.appendingPathComponent("big.key"))
        try Data("secret".utf8).write(to: dir.url.appendingPathComponent("outside.key"))
        func key(_ header: String?) -> String? {
            try? TokenProvider.arcChallengeKey(header, keyDirectory: keys.path).get()
        }
        #expect(key("Basic realm=\(keys.path)/ok.key") == "k")
        #expect(key("basic REALM=\"\(keys.path)/ok.key\"") == "k")
        #expect(key("Basic realm=\(keys.path)/../outside.key") == nil)
        #expect(key("Basic realm=\(dir.url.path)/outside.key") == nil)
        #expect(key("Basic realm=\(keys.path)/sub/deeper.key") == nil)
        #expect(key("Basic realm=\(keys.path)/wrong.txt") == nil)
        #expect(key("Basic realm=\(keys.path)/big.key") == nil)
        #expect(key("Basic realm=\(keys.path)/missing.key") == nil)
        #expect(key("Bearer") == nil)
        #expect(key(nil) == nil)
    }
}
