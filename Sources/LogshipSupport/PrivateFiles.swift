import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Folders 0700 and files 0600 for everything logship writes under a state directory.
///
/// Dead letters, rejects and kept bodies are copies of log records, often personal data, and
/// Foundation's `createDirectory` / `Data.write` leave them 0755 / 0644 under the usual umask.
/// The mode is set with chmod after creation because a umask can take bits away from the mode
/// `mkdir`/`open` ask for (umask 0277 would leave a folder we cannot write), never add them.
public enum PrivateFiles {
    public static let directoryMode: mode_t = 0o700
    public static let fileMode: mode_t = 0o600

    /// Creates `url` and any missing parents 0700. Folders that already exist keep their mode:
    /// `--state-dir` may name a folder the user shares on purpose.
    public static func createDirectory(_ url: URL) throws {
        var missing: [String] = []
        var path = url.standardizedFileURL.path
        var isDir: ObjCBool = false
        while !path.isEmpty && path != "/" && !FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            missing.append(path)
            path = (path as NSString).deletingLastPathComponent
        }
        if !path.isEmpty && FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue {
            throw PrivateFileError(description: "cannot create a folder in \(path): it is a file")
        }
        for dir in missing.reversed() {
            if mkdir(dir, directoryMode) != 0 && errno != EEXIST { throw posixError(dir) }
            // Made just now (or by a concurrent run a moment ago): ours to set.
            if chmod(dir, directoryMode) != 0 { throw posixError(dir) }
        }
    }

    /// Writes `data` to `url` all at once (a temporary file renamed into place), mode 0600.
    public static func write(_ data: Data, to url: URL) throws {
        try createDirectory(url.deletingLastPathComponent())
        let tmp = url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent).\(UInt32.random(in: 0...UInt32.max)).tmp"
        ).path
        let fd = cOpen(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, fileMode)
        guard fd >= 0 else { throw posixError(tmp) }
        var ok = fchmod(fd, fileMode) == 0
        if ok {
            ok = data.withUnsafeBytes { buf -> Bool in
                var done = 0
                while done < buf.count {
                    let n = cWrite(fd, buf.baseAddress! + done, buf.count - done)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return false }
                    done += n
                }
                return true
            }
        }
        let saved = errno
        close(fd)
        guard ok, rename(tmp, url.path) == 0 else {
            let e = ok ? errno : saved
            unlink(tmp)
            errno = e
            throw posixError(url.path)
        }
    }

    /// Opens `url` for writing, creating it 0600; a file that exists is set to 0600 too (an
    /// older logship made it 0644). Returns the descriptor; the caller closes it.
    public static func open(_ url: URL, flags: Int32) throws -> Int32 {
        try createDirectory(url.deletingLastPathComponent())
        let fd = cOpen(url.path, flags | O_CREAT | O_CLOEXEC, fileMode)
        guard fd >= 0 else { throw posixError(url.path) }
        _ = fchmod(fd, fileMode)
        return fd
    }

    static func posixError(_ path: String) -> Error {
        PrivateFileError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
    }
}

/// A state file or folder that could not be created or written; says which and why.
public struct PrivateFileError: Error, LocalizedError, CustomStringConvertible {
    public var description: String
    public var errorDescription: String? { description }
}

// The C functions, reachable from inside `PrivateFiles` whose members shadow their names.
private func cWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }
private func cOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
