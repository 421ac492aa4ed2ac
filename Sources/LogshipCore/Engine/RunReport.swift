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
    public var chunksAlreadyAcked = 0
    /// Resends after a connection dropped without an answer: the service may hold those
    /// bodies twice (the at-least-once window). Counted per lost answer.
    public var chunksPossiblyDuplicated = 0
    public var recordsPossiblyDuplicated = 0
    public var bytesSent: Int64 = 0
    public var retriesByStatus: [String: Int] = [:]
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
    public var warnings: [String] = []
    public var fatalError: String? = nil
    public var aborted: String? = nil
    /// The run stopped under the outage rule (`upload.unreachableAfter`): nothing was
    /// dead-lettered for it, and the next run resumes.
    public var unreachable = false
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

/// Exit codes (DESIGN.md, contract).
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
