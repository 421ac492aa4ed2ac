import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A secret kept in a file of its own (`target.sharedKeyFile`, `LOGSHIP_SHARED_KEY_FILE`, a systemd
/// credential, a Kubernetes secret volume): read once at start so a key never has to sit in the
/// environment, where `/proc/PID/environ` and crash reports can show it.
///
/// Errors name the file and never its contents: a file holding something else than the key
/// (a certificate, the wrong file) must not end up in a terminal or a journal.
public enum SecretFile {
    /// Far above any key or client secret; a bigger file is the wrong file.
    public static let maxBytes = 64 * 1024

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public struct Loaded: Sendable {
        public var secret: Secret
        /// Set when the file is readable by group or others: it still works, as with ssh's keys,
        /// but the key is no better kept than in the environment.
        public var warning: String?
    }

    /// Reads `path`; `origin` (the key or variable that named it) starts every message.
    public static func read(_ path: String, origin: String) throws(Failure) -> Loaded {
        func fail(_ why: String) -> Failure { Failure(description: "\(origin): \(path): \(why)") }
        // stat, not lstat: Kubernetes secret volumes and systemd's credentials are reached through
        // symlinks; what counts is what the path names.
        var st = stat()
        guard stat(path, &st) == 0 else { throw fail("cannot read it: \(String(cString: strerror(errno)))") }
        // A FIFO or a device would block or stream forever; a folder is a mistake.
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        guard st.st_size <= off_t(maxBytes) else {
            throw fail("\(st.st_size) bytes; a secret file holds at most \(maxBytes) bytes")
        }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw fail("cannot read it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // The path may have been swapped between stat and open; check what was opened.
        var opened = stat()
        guard fstat(fd, &opened) == 0, (opened.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        var bytes = [UInt8](repeating: 0, count: maxBytes + 1)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("cannot read it: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            count += n
        }
        guard count <= maxBytes else {
            throw fail("more than \(maxBytes) bytes; a secret file holds at most \(maxBytes) bytes")
        }
        // `echo KEY > file` and editors end the file with a newline that is no part of the key.
        while count > 0, bytes[count - 1] == 0x0A || bytes[count - 1] == 0x0D { count -= 1 }
        guard count > 0 else { throw fail("empty") }
        guard let text = String(bytes: bytes[..<count], encoding: .utf8) else { throw fail("not UTF-8 text") }
        var warning: String? = nil
        let mode = opened.st_mode & 0o777
        if mode & 0o044 != 0 {
            warning =
                "\(origin): \(path) is readable by \(mode & 0o004 != 0 ? "others" : "its group") (mode \(String(mode, radix: 8))); chmod 600 it"
        }
        return Loaded(secret: Secret(text), warning: warning)
    }
}

/// read(2); the name `read` is taken by `SecretFile.read` inside the enum.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        return Glibc.read(fd, buffer, count)
    #else
        return Darwin.read(fd, buffer, count)
    #endif
}
