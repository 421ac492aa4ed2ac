import Foundation
import LogshipSupport

/// Signs Data Collector requests: `Authorization: SharedKey <workspace>:<base64 HMAC>` over
/// `POST\n<bytes>\napplication/json\nx-ms-date:<date>\n/api/logs`.
public struct SharedKeySigner: Sendable {
    public enum KeyError: Error, CustomStringConvertible {
        /// The shared key is not valid base64: the portal shows it base64-encoded.
        case notBase64
        public var description: String {
            "the shared key is not valid base64 (copy the workspace's primary or secondary key as shown in the portal)"
        }
    }

    public let workspaceId: String
    private let key: [UInt8]

    public init(workspaceId: String, sharedKey: Secret) throws {
        guard let decoded = Data(base64Encoded: sharedKey.value.trimmingCharacters(in: .whitespacesAndNewlines)),
            !decoded.isEmpty
        else { throw KeyError.notBase64 }
        self.workspaceId = workspaceId
        self.key = [UInt8](decoded)
    }

    /// The string the service signs. `contentLength` is the byte count of the exact body sent.
    public static func stringToSign(contentLength: Int, date: String) -> String {
        "POST\n\(contentLength)\napplication/json\nx-ms-date:\(date)\n/api/logs"
    }

    /// The base64 signature for a body of `contentLength` bytes sent with `x-ms-date: date`.
    public func signature(contentLength: Int, date: String) -> String {
        let mac = Crypto.hmacSHA256(
            key: key, message: Array(Self.stringToSign(contentLength: contentLength, date: date).utf8))
        return Data(mac).base64EncodedString()
    }

    public func authorization(contentLength: Int, date: String) -> String {
        "SharedKey \(workspaceId):\(signature(contentLength: contentLength, date: date))"
    }
}
