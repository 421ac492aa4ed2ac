import Foundation

/// The records and files one pipeline spec (by hash) delivered, and from when it applied.
public struct SpecDelivery: Codable, Sendable, Equatable {
    public var spec: String
    public var since: String
    public var adoptedFrom: String?
    /// Files with records delivered under this spec (a partly delivered file counts under each).
    public var files: Int
    public var records: Int
    /// The pipeline file as it is now has this spec.
    public var current: Bool
}

/// What `logship status` shows: a pipeline's state directory measured against its files now.
/// It sits with the engine, above State, because it plans as `run` would (`ResumePlanner`) and
/// shows the last `RunReport`.
public struct StatusSummary: Codable, Sendable {
    public var pipeline: String
    public var stateDirectory: String
    public var runs = 0
    public var filesMatched = 0
    public var filesDone = 0
    public var filesPartial = 0
    public var filesPending = 0
    public var chunksAcked = 0
    public var recordsDelivered = 0
    public var chunksDeadLettered = 0
    public var recordsDeadLettered = 0
    public var deadLetterFiles = 0
    /// Dead letters still undelivered, with the service's reasons for those refused for their content.
    public var pendingDeadLetters = PendingDeadLetters()
    public var resendsAfterLostAnswers = 0
    public var bytesSent: Int64 = 0
    public var specChanged = false
    /// Which pipeline spec delivered what, oldest first (more than one after `run --adopt`).
    public var specs: [SpecDelivery] = []
    public var lastRun: RunReport?
    /// The last `logship replay` (`last-replay.json`), when there was one.
    public var lastReplay: LastReplay?
    public struct LastReplay: Codable, Sendable {
        public var finishedAt: String
        public var found: Int
        public var replayed: Int
        public var records: Int
        public var stillFailing: Int
        public var exitCode: Int32
        public init(finishedAt: String, found: Int, replayed: Int, records: Int, stillFailing: Int, exitCode: Int32) {
            (self.finishedAt, self.found, self.replayed, self.records) = (finishedAt, found, replayed, records)
            (self.stillFailing, self.exitCode) = (stillFailing, exitCode)
        }
    }
    public var partialFiles: [String] = []
    public var pendingFiles: [String] = []

    /// Summarises `stateDirectories` (a pipeline's own, plus one per shard) for `spec`.
    public static func of(_ spec: PipelineSpec, stateDirectories: [URL]) throws -> StatusSummary {
        var s = StatusSummary(pipeline: spec.file.path, stateDirectory: stateDirectories.first?.path ?? "")
        let files = FileDiscovery.expand(
            spec.source.files, relativeTo: spec.baseDirectory, followSymlinks: spec.source.followSymlinks
        ).files
        s.filesMatched = files.count
        var states: [ManifestState] = []
        for dir in stateDirectories {
            let state = StateDirectory(dir)
            let m = try ManifestState.load(state.manifest)
            states.append(m)
            s.runs += m.runs
            s.chunksAcked += m.ackedChunks
            s.recordsDelivered += m.ackedRecords
            s.chunksDeadLettered += m.deadChunks
            s.recordsDeadLettered += m.deadRecords
            s.resendsAfterLostAnswers += m.possibleDuplicateChunks
            if let old = m.spec, old != spec.specHash { s.specChanged = true }
            for u in m.specUses {
                if let k = s.specs.firstIndex(where: { $0.spec == u.spec }) {
                    s.specs[k].records += u.records
                    s.specs[k].files += u.files.count
                    if u.since < s.specs[k].since { s.specs[k].since = u.since }
                } else {
                    s.specs.append(
                        SpecDelivery(
                            spec: u.spec, since: u.since, adoptedFrom: u.adopted, files: u.files.count,
                            records: u.records,
                            current: u.spec == spec.specHash))
                }
            }
            let letters = PendingDeadLetters.of(state.deadLetters)
            s.deadLetterFiles += letters.letters
            s.pendingDeadLetters.letters += letters.letters
            s.pendingDeadLetters.records += letters.records
            s.pendingDeadLetters.refusedLetters += letters.refusedLetters
            s.pendingDeadLetters.refusedRecords += letters.refusedRecords
            s.pendingDeadLetters.reasons += letters.reasons
            s.bytesSent += m.bytesSent
            if let data = try? Data(contentsOf: state.lastReplay),
                let r = try? JSONDecoder().decode(LastReplay.self, from: data),
                s.lastReplay == nil || r.finishedAt > s.lastReplay!.finishedAt
            {
                s.lastReplay = r
            }
            if let data = try? Data(contentsOf: state.lastRun),
                let r = try? RunReport.decodingOlder(data), s.lastRun == nil || r.startedAt > s.lastRun!.startedAt
            {
                s.lastRun = r
            }
        }
        // What the next run would make of each file (grown and rotated files included).
        let fingerprints = files.map { FileFingerprint.of($0) }
        let plans = states.map {
            ResumePlanner.plan($0, files: files, fingerprints: fingerprints, compression: spec.source.compression).plan
        }
        for f in files {
            if fingerprints[f.index] != nil, plans.contains(where: { $0.doneFiles.contains(f.index) }) {
                s.filesDone += 1
            } else if fingerprints[f.index] != nil, plans.contains(where: { !($0.acked[f.index] ?? []).isEmpty }) {
                s.filesPartial += 1
                s.partialFiles.append(f.relativePath)
            } else {
                s.filesPending += 1
                s.pendingFiles.append(f.relativePath)
            }
        }
        return s
    }
}
