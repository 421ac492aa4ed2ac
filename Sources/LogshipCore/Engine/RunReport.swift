import Foundation

/// What a run did: printed as the summary, written to `last-run.json` and `--report FILE`.
public struct RunReport: Codable, Sendable {
    public var pipeline: String = ""
    public var target: String = ""
    public var startedAt: String = ""
    public var durationSeconds: Double = 0
    public var filesMatched = 0
    public var filesSkipped = 0
    public var filesDone = 0
    public var filesWithReadErrors = 0
    /// Files that could not be read to their end (a truncated or corrupt gzip, a read error):
    /// where, why, and what of them was delivered.
    public var damagedFiles: [DamagedFile] = []
    public var inputBytes: Int64 = 0
    public var recordsRead = 0
    public var recordsSent = 0
    public var recordsRejected = 0
    /// Records `fields.where` left out: read, neither sent nor rejected. Always written; optional
    /// so that `status` still reads a last-run.json written before filters existed.
    public var recordsFiltered: Int? = nil
    public var recordsAlreadyDelivered = 0
    public var recordsDeadLettered = 0
    public var chunksAcked = 0
    public var chunksDeadLettered = 0
    public var chunksSplit = 0
    /// Halvings of bodies the service refused for their data (400), to isolate the refused records.
    public var isolationSplits = 0
    public var chunksAlreadyAcked = 0
    /// Resends after a connection dropped without an answer: the service may hold those
    /// bodies twice (the at-least-once window). Counted per lost answer.
    public var chunksPossiblyDuplicated = 0
    public var recordsPossiblyDuplicated = 0
    public var bytesSent: Int64 = 0
    public var retriesByStatus: [String: Int] = [:]
    /// The most uploads the run allowed in flight at once (upload.concurrency, or what "auto" reached).
    public var concurrencyReached = 0
    /// 429s from DCR quotas that paused a DCR (UploadLanes), and each DCR's learned request rate
    /// per second (nil: never throttled).
    public var quotaPauses = 0
    public var learnedRequestRates: [Double?] = []
    public var truncatedValues = 0
    public var replacedInvalidUTF8 = 0
    public var packedRecords = 0
    public var renamedFields = 0
    /// Passed-through fields sent under a numbered name (`my_field_2`): their column name was
    /// another field's in the same record.
    public var collidingNames = 0
    /// Records whose time-generated value the service will replace with the ingestion time.
    public var timeGeneratedTooOld = 0
    public var timeGeneratedInFuture = 0
    /// Multi-line records cut at `source.multiline.maxLines`/`maxBytes` (the lines after a cut
    /// were sent as a record of their own; the warnings say where).
    public var multilineRecordsCut = 0
    /// Datetime values without an offset, read in a `timezone`, that fell in a DST gap (moved
    /// forward by the gap) or in a repeated hour (the earlier instant taken).
    public var timezoneGapValues = 0
    public var timezoneRepeatedValues = 0
    /// Values a `fields.map.X.extract` did not match (the field left out, or its default sent).
    public var extractMisses = 0
    public var warnings: [String] = []
    public var fatalError: String? = nil
    public var aborted: String? = nil
    /// The run stopped under the outage rule (`upload.unreachableAfter`): nothing was
    /// dead-lettered for it, and the next run resumes.
    public var unreachable = false
    /// `run --adopt` took the state over from this spec hash (the pipeline had changed).
    public var adoptedSpec: String? = nil
    /// Dead letters of earlier runs that failed for no fault of their content, sent again (and
    /// delivered) by this run before its new data.
    public var deadLettersResent = 0
    public var recordsResentFromDeadLetters = 0
    /// What is left in `deadletter/` when the run ends (this run's and earlier ones'): exit 0
    /// only when it is empty.
    public var pendingDeadLetters = PendingDeadLetters()
    public var interrupted = false
    public var dryRun = false
    public var exitCode: Int32 = 0

    public init() {}

    public var throughputMBps: Double { durationSeconds > 0 ? Double(inputBytes) / 1e6 / durationSeconds : 0 }
    public var recordsPerSecond: Double { durationSeconds > 0 ? Double(recordsRead) / durationSeconds : 0 }
}

/// A file reading stopped in: everything before `offset` was read, nothing after it.
public struct DamagedFile: Codable, Sendable, Equatable {
    /// Relative to the pipeline file, as in the manifest.
    public var path: String
    /// Byte offset in the file (compressed bytes for gzip) where reading stopped.
    public var offset: Int64
    /// The file's size in bytes.
    public var size: Int64
    public var reason: String
    /// Records read from the file before the damage.
    public var recordsRead: Int64
    /// Records of the file the service acknowledged (this run and earlier ones).
    public var recordsDelivered: Int

    public init(path: String, offset: Int64, size: Int64, reason: String, recordsRead: Int64, recordsDelivered: Int) {
        self.path = path
        self.offset = offset
        self.size = size
        self.reason = reason
        self.recordsRead = recordsRead
        self.recordsDelivered = recordsDelivered
    }

    /// The summary line: `logs/app.3.gz: damaged at byte 1,234,567 of 2,000,000 (…): 5,120
    /// records before the damage were delivered; the rest of the file was not read`.
    public var message: String {
        func n<T: BinaryInteger>(_ v: T) -> String {
            let f = NumberFormatter()
            f.numberStyle = .decimal
            f.locale = Locale(identifier: "en_US_POSIX")
            f.usesGroupingSeparator = true
            f.groupingSeparator = ","
            f.groupingSize = 3
            return f.string(from: NSNumber(value: Int64(v))) ?? String(v)
        }
        if offset == 0 && recordsRead == 0 {
            return "\(path): could not be read (\(reason)): nothing of it was delivered"
        }
        return
            "\(path): damaged at byte \(n(offset)) of \(n(size)) (\(reason)): \(n(recordsDelivered)) record(s) before the damage were delivered; the rest of the file was not read"
    }
}

/// Exit codes (docs/commands.md "Exit codes": a contract scripts rely on).
public enum ExitCode {
    public static let success: Int32 = 0
    /// Finished, but records were rejected or chunks dead-lettered.
    public static let partial: Int32 = 1
    /// Usage or pipeline error.
    public static let usage: Int32 = 2
    /// The service refused the run.
    public static let refused: Int32 = 3
    public static let interrupted: Int32 = 130
}

extension RunReport {
    /// Reads a report that an earlier version wrote: keys it did not have yet take their
    /// defaults (a `last-run.json` from before an upgrade still shows in `status`).
    public static func decodingOlder(_ data: Data) throws -> RunReport {
        let defaults =
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(RunReport())) as? [String: Any] ?? [:]
        let given = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        let merged = defaults.merging(given) { $1 }
        return try JSONDecoder().decode(RunReport.self, from: JSONSerialization.data(withJSONObject: merged))
    }
}
