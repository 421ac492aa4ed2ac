import Foundation
import LogshipSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One writer per state directory: `run`, `replay` and `--restart` hold an exclusive `flock` on
/// `<state>/lock` for as long as they live. Two overlapping cron runs would otherwise both read
/// the manifest, both find the same files undelivered, and send every record twice. The kernel
/// drops the lock when the process ends however it ends, so a crash never leaves it behind; the
/// file's text (pid, command, since) only names the holder for the message.
public final class StateLock: @unchecked Sendable {
    // The descriptor is set once in init and closed once in deinit; nothing else touches it.
    private let fd: Int32
    public let url: URL

    public static let fileName = "lock"

    /// The holder of a lock that could not be taken, as its own file says.
    public struct Held: Error, CustomStringConvertible {
        public let directory: URL
        public let holder: String
        public var description: String {
            """
            another logship (\(holder.isEmpty ? "its process id is not recorded" : holder)) is using the state directory \
            \(directory.path); wait for it to finish (or stop it), then run again. Two at once would send the same records twice.
            """
        }
    }

    /// A state directory or lock file that cannot be made or opened.
    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Takes the lock at once or throws `Held` (never waits: a cron job that overlaps should
    /// end, not queue behind a long backfill). Creates the directory (0700) when missing.
    public init(directory: URL, command: String, now: Date = Date()) throws {
        do {
            try PrivateFiles.createDirectory(directory)
        } catch {
            throw Failed(
                description: "cannot create the state directory \(directory.path): \(error.localizedDescription)")
        }
        url = directory.appendingPathComponent(Self.fileName)
        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, PrivateFiles.fileMode)
        guard fd >= 0 else {
            throw Failed(description: "cannot open \(url.path): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let err = errno
            let holder = Self.read(fd)
            close(fd)
            if err == EWOULDBLOCK {
                throw Held(directory: directory, holder: holder)
            }
            throw Failed(description: "cannot lock \(url.path): \(String(cString: strerror(err)))")
        }
        self.fd = fd
        _ = fchmod(fd, PrivateFiles.fileMode)
        let text = "pid \(getpid()), logship \(command), since \(HTTPDate.iso8601(now))"
        _ = ftruncate(fd, 0)
        _ = Array(text.utf8).withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        // Closing the descriptor releases the flock.
        close(fd)
    }

    /// The holder's line, bounded (the file is ours, but a state directory can be copied around).
    private static func read(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return "" }
        return String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
