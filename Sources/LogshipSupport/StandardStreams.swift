import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes to stdout and stderr that survive the reader going away.
///
/// `FileHandle.write(_:)` turns a failed write into a fatal error, so `logship preview P | head -1`
/// died with a backtrace, and a run whose stderr was a closed pipe stopped mid-delivery. With
/// SIGPIPE ignored (Entrypoint) a write to a closed pipe fails with EPIPE instead; here that
/// failure marks the stream gone and later writes to it are dropped. Output is best effort:
/// the work (and its exit code) never depends on someone still reading.
public enum StandardStreams {
    /// One stream's state. The lock also keeps two threads' lines (progress and log) whole.
    final class Stream: @unchecked Sendable {
        // `closed` is guarded by `lock`, which is held for the whole of a write.
        let fd: Int32
        let lock = NSLock()
        var closed = false
        init(fd: Int32) { self.fd = fd }
    }

    static let stdout = Stream(fd: 1)
    static let stderr = Stream(fd: 2)

    /// Writes `text` to stdout; false once stdout is gone (closed pipe, full disk, closed descriptor).
    @discardableResult
    public static func out(_ text: String) -> Bool { send(Array(text.utf8), to: stdout) }

    /// Writes `text` to stderr; false once stderr is gone.
    @discardableResult
    public static func err(_ text: String) -> Bool { send(Array(text.utf8), to: stderr) }

    /// Whether a write to stdout has failed (the reader went away).
    public static var stdoutClosed: Bool { stdout.lock.withLock { stdout.closed } }

    static func send(_ bytes: [UInt8], to s: Stream) -> Bool {
        s.lock.withLock {
            if s.closed { return false }
            if !writeAll(bytes, fd: s.fd) { s.closed = true }
            return !s.closed
        }
    }

    /// Loops over short writes and EINTR; false on any other failure (EPIPE, EBADF, EIO, ENOSPC).
    static func writeAll(_ bytes: [UInt8], fd: Int32) -> Bool {
        bytes.withUnsafeBytes { buf in
            var done = 0
            while done < buf.count {
                guard let base = buf.baseAddress else { return true }
                let n = write(fd, base + done, buf.count - done)
                if n > 0 {
                    done += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    // A descriptor inherited in non-blocking mode: wait until it drains, bounded
                    // so a reader that stopped reading cannot hold a run forever.
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    if poll(&p, 1, 30_000) <= 0 { return false }
                } else {
                    return false
                }
            }
            return true
        }
    }
}
