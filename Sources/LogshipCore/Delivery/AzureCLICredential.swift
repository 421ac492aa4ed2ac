import Foundation
import LogshipSupport

/// The Azure CLI's own sign-in (`az login`), for ad-hoc runs from a workstation: the token
/// `az account get-access-token --resource <resource> --output json` prints. Last in the
/// credential chain (README "Credentials"): used only when no client secret, secret file,
/// federated token or managed identity is configured and `az` is on PATH.
public struct AzureCLICredential: Sendable {
    /// The `az` executable (found on PATH, or LOGSHIP_AZ_PATH).
    public var executable: String
    /// `--tenant` when a tenant id is configured; nil: the CLI's default subscription's tenant.
    public var tenantId: String?

    public init(executable: String, tenantId: String?) {
        self.executable = executable
        self.tenantId = tenantId
    }

    /// `az` on `PATH` (or the file LOGSHIP_AZ_PATH names); nil when there is none.
    public static func find(environment: [String: String]) -> String? {
        if let p = environment["LOGSHIP_AZ_PATH"], !p.isEmpty {
            return FileManager.default.isExecutableFile(atPath: p) ? p : nil
        }
        for dir in (environment["PATH"] ?? "").split(separator: ":") where !dir.isEmpty {
            let p = String(dir) + "/az"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// The arguments for a token for `scope`'s resource (`https://monitor.azure.com//.default`
    /// asks for `https://monitor.azure.com/`, as the Azure SDKs' CLI credential does).
    public func arguments(scope: String) -> [String] {
        let resource = scope.hasSuffix("/.default") ? String(scope.dropLast("/.default".count)) : scope
        var a = ["account", "get-access-token", "--resource", resource, "--output", "json"]
        if let t = tenantId, !t.isEmpty { a += ["--tenant", t] }
        return a
    }

    /// Runs `az` (at most `timeout` seconds) and reads `accessToken` and `expires_on` (Unix
    /// seconds; newer CLIs) or `expiresOn` (local time, older ones). The token never appears in a
    /// message: only `az`'s stderr does, and the token is blanked out of it.
    public func fetch(scope: String, timeout: Double, now: Date) async -> Result<
        (token: String, expiresAt: Date), TokenProvider.TokenError
    > {
        let exe = executable
        let args = arguments(scope: scope)
        let ran: Result<(Int32, Data, Data), TokenProvider.TokenError> = await withCheckedContinuation { c in
            DispatchQueue.global().async { c.resume(returning: Self.run(exe, args, timeout: timeout)) }
        }
        let status: Int32
        let out: Data
        let err: Data
        switch ran {
        case .failure(let e): return .failure(e)
        case .success(let r): (status, out, err) = r
        }
        let object = (try? JSONSerialization.jsonObject(with: out)) as? [String: Any]
        let token = object?["accessToken"] as? String
        var errText = String(decoding: err.prefix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if let token, !token.isEmpty { errText = errText.replacingOccurrences(of: token, with: "<redacted>") }
        errText = errText.replacingOccurrences(of: "\n", with: " ")
        guard status == 0 else {
            return .failure(
                .refused(
                    status: 0, code: "AzureCLI",
                    message:
                        "`az account get-access-token` failed (exit \(status)): \(errText.isEmpty ? "no message" : errText); run `az login`, or configure a client secret or managed identity"
                ))
        }
        guard let token, !token.isEmpty else {
            return .failure(
                .refused(status: 0, code: "AzureCLI", message: "`az account get-access-token` printed no accessToken"))
        }
        let expires: Date
        if let n = (object?["expires_on"] as? NSNumber)?.doubleValue
            ?? (object?["expires_on"] as? String).flatMap(Double.init)
        {
            expires = Date(timeIntervalSince1970: n)
        } else if let s = object?["expiresOn"] as? String, let d = Self.localTime(s) {
            expires = d
        } else {
            // No expiry given: ask again in five minutes.
            expires = now.addingTimeInterval(300)
        }
        guard expires > now else {
            return .failure(
                .refused(
                    status: 0, code: "AzureCLI",
                    message: "`az account get-access-token` gave a token that has expired; run `az login`"))
        }
        return .success((token, expires))
    }

    /// `2026-12-02 15:04:05.123456` in the machine's time zone (the CLI's `expiresOn`).
    static func localTime(_ s: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone.current
        for format in ["yyyy-MM-dd HH:mm:ss.SSSSSS", "yyyy-MM-dd HH:mm:ss"] {
            f.dateFormat = format
            if let d = f.date(from: s) { return d }
        }
        return nil
    }

    /// Runs the process with no stdin; kills it after `timeout` seconds.
    static func run(_ exe: String, _ args: [String], timeout: Double) -> Result<
        (Int32, Data, Data), TokenProvider.TokenError
    > {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            return .failure(
                .refused(status: 0, code: "AzureCLI", message: "cannot run \(exe): \(error.localizedDescription)"))
        }
        let o = AzureCLIBox()
        let e = AzureCLIBox()
        let g = DispatchGroup()
        g.enter()
        DispatchQueue.global().async {
            o.set(out.fileHandleForReading.readDataToEndOfFile())
            g.leave()
        }
        g.enter()
        DispatchQueue.global().async {
            e.set(err.fileHandleForReading.readDataToEndOfFile())
            g.leave()
        }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            _ = g.wait(timeout: .now() + 5)
            return .failure(
                .unavailable(
                    status: nil, retryAfter: nil,
                    message: "`az account get-access-token` gave no answer in \(Int(timeout)) s"))
        }
        p.waitUntilExit()
        _ = g.wait(timeout: .now() + 5)
        return .success((p.terminationStatus, o.get(), e.get()))
    }
}

final class AzureCLIBox: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.withLock { data = d } }
    func get() -> Data { lock.withLock { data } }
}
