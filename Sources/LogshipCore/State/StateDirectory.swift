import Foundation
import LogshipSupport

/// A pipeline's state directory (docs/delivery.md "State directory", a contract): the only place that
/// knows its file names, how it is locked, and what `--restart` resets.
public struct StateDirectory: Sendable {
    public let url: URL

    public init(_ url: URL) { self.url = url }

    /// Acknowledged chunks, dead letters and runs, one JSON line each.
    public var manifest: URL { url.appendingPathComponent("manifest.jsonl") }
    /// Records that could not be read or converted.
    public var rejects: URL { url.appendingPathComponent("rejects.ndjson") }
    /// Chunks the service refused or that ran out of attempts: `<name>.json` + `<name>.meta.json`.
    public var deadLetterFolder: URL { url.appendingPathComponent("deadletter") }
    public var deadLetters: DeadLetterStore { DeadLetterStore(directory: deadLetterFolder) }
    /// The report of the last run.
    public var lastRun: URL { url.appendingPathComponent("last-run.json") }
    /// The last `logship replay`'s report (`status` shows it after the run it followed).
    public var lastReplay: URL { url.appendingPathComponent("last-replay.json") }
    /// Bodies a dry run keeps with `--keep-bodies`.
    public var bodies: URL { url.appendingPathComponent("bodies") }
    /// The file `StateLock` holds.
    public var lockFile: URL { url.appendingPathComponent(StateLock.fileName) }

    /// Takes the directory for `command` (`run`, `replay`): see `StateLock`.
    public func lock(command: String, now: Date = Date()) throws -> StateLock {
        try StateLock(directory: url, command: command, now: now)
    }

    /// What `--restart` did with the dead letters of earlier runs.
    public enum DeadLettersAside: Sendable, Equatable {
        case none
        case moved(count: Int, to: URL)
        case failed(count: Int, reason: String)
    }

    /// Forgets what earlier runs delivered (manifest, rejects, last report, kept bodies) so
    /// that everything is sent again. Their dead letters are moved aside, not deleted: this
    /// run sends their records again from the input, so replaying them afterwards would store
    /// those records twice. Call it holding the lock.
    public func restart(now: Date = Date()) -> DeadLettersAside {
        for file in [manifest, rejects, lastRun, lastReplay, bodies] { try? FileManager.default.removeItem(at: file) }
        return setAsideDeadLetters(now: now)
    }

    func setAsideDeadLetters(now: Date) -> DeadLettersAside {
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: deadLetterFolder.path)) ?? []
        let count = names.filter { $0.hasSuffix(".meta.json") }.count
        guard count > 0 else { return .none }
        let stamp = HTTPDate.iso8601(now).replacingOccurrences(of: ":", with: "").replacingOccurrences(
            of: "-", with: "")
        var aside = url.appendingPathComponent("deadletter.before-restart-\(stamp)")
        var n = 2
        while fm.fileExists(atPath: aside.path) {
            aside = url.appendingPathComponent("deadletter.before-restart-\(stamp)-\(n)")
            n += 1
        }
        do {
            try fm.moveItem(at: deadLetterFolder, to: aside)
            return .moved(count: count, to: aside)
        } catch {
            return .failed(count: count, reason: error.localizedDescription)
        }
    }

    /// Writes the run's report as `last-run.json` (0600, like every state file).
    public func writeLastRun(_ data: Data) throws {
        try PrivateFiles.write(data, to: lastRun)
    }
}
