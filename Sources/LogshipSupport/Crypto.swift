import COpenSSL
import Foundation

/// HMAC-SHA256 and SHA-256 from libcrypto. The only file that touches OpenSSL.
public enum Crypto {
    /// HMAC-SHA256 of `message` under `key`.
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var outLength: UInt32 = 0
        let ok = key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { o in
                    // A zero-length key or message still needs a non-null pointer.
                    HMAC(
                        EVP_sha256(), k.baseAddress ?? UnsafePointer(bitPattern: 1), Int32(k.count),
                        m.baseAddress ?? UnsafePointer(bitPattern: 1), m.count, o.baseAddress, &outLength)
                }
            }
        }
        precondition(ok != nil && outLength == 32, "libcrypto HMAC failed")
        return Array(out.prefix(Int(outLength)))
    }

    /// SHA-256 of `data` in one call.
    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        let hasher = SHA256Hasher()
        hasher.update(data)
        return hasher.finalize()
    }

    /// Constant-time comparison, for signatures.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

/// Incremental SHA-256 (fingerprints, spec hashes, chunk ids).
public final class SHA256Hasher {
    // EVP_MD_CTX is an opaque heap object owned by this value; freed in deinit.
    private let context: OpaquePointer

    public init() {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("libcrypto: EVP_MD_CTX_new failed") }
        precondition(EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1, "libcrypto: EVP_DigestInit_ex failed")
        context = ctx
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        precondition(EVP_DigestUpdate(context, base, bytes.count) == 1, "libcrypto: EVP_DigestUpdate failed")
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public func update(_ string: String) {
        var s = string
        s.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// The digest; call once.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        out.withUnsafeMutableBufferPointer { o in
            precondition(
                EVP_DigestFinal_ex(context, o.baseAddress, &length) == 1, "libcrypto: EVP_DigestFinal_ex failed")
        }
        return out
    }

    deinit { EVP_MD_CTX_free(context) }
}

extension Array where Element == UInt8 {
    /// Lowercase hexadecimal.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
