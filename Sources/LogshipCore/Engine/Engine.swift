import Foundation

/// Options of one `logship run` that are not in the pipeline file.
public struct RunOptions: Sendable {
    public var stateDirectory: URL
    public var dryRun = false
    public var concurrency: Int? = nil
    public var restart = false
    public init(stateDirectory: URL) { self.stateDirectory = stateDirectory }
}

/// Drives a run: read → transform → chunk (the producer) → upload → record.
public final class Engine: @unchecked Sendable {
    // Used from the run's task only; `report` is read after `run()` returns.
    public let spec: PipelineSpec
    public let target: DeliveryTarget
    public let options: RunOptions
    public private(set) var report = RunReport()
    private let policy: RetryPolicy
    private let sleep: @Sendable (Double) async -> Void
    private var random = SystemRandomNumberGenerator()
    private let deadLetters: DeadLetterStore
    /// Status lines for the user (stderr in the CLI).
    public var log: @Sendable (String) -> Void = { _ in }

    public init(
        spec: PipelineSpec, target: DeliveryTarget, options: RunOptions,
        sleep: @escaping @Sendable (Double) async -> Void = { s in try? await Task.sleep(nanoseconds: UInt64(s * 1e9)) }
    ) {
        self.spec = spec
        self.target = target
        self.options = options
        self.policy = RetryPolicy(maxAttempts: spec.upload.maxAttempts)
        self.sleep = sleep
        self.deadLetters = DeadLetterStore(directory: options.stateDirectory.appendingPathComponent("deadletter"))
    }

    public func run() async -> RunReport {
        let started = Date()
        report.pipeline = spec.file.path
        report.target = target.displayName
        report.startedAt = HTTPDate.iso8601(started)
        report.dryRun = options.dryRun
        defer { report.durationSeconds = Date().timeIntervalSince(started) }

        let discovery = FileDiscovery.expand(spec.source.files, relativeTo: spec.baseDirectory)
        if !discovery.errors.isEmpty {
            report.aborted = discovery.errors.joined(separator: "\n")
            report.exitCode = ExitCode.usage
            return report
        }
        for p in discovery.unmatched { report.warnings.append("source.files: \"\(p)\" matched no file") }
        let files = discovery.files
        report.filesMatched = files.count
        report.inputBytes = files.reduce(0) { $0 + $1.size }
        let fingerprints = files.map { FileFingerprint.of($0) }
        let rejects = RejectsWriter(url: options.stateDirectory.appendingPathComponent("rejects.ndjson"))
        defer { rejects.close() }
        let producer = ChunkProducer(spec: spec, files: files, fingerprints: fingerprints, rejects: rejects)

        loop: while true {
            let event: ChunkProducer.Event?
            do {
                event = try producer.next()
            } catch {
                report.aborted = error.description
                break
            }
            guard let event else { break }
            switch event {
            case .chunk(let chunk):
                if options.dryRun {
                    report.chunksAcked += 1
                    report.recordsSent += chunk.records
                    continue
                }
                if case .stop = await deliver(chunk) { break loop }
            case .fileFinished(_, _, let error):
                if error != nil { report.filesWithReadErrors += 1 } else { report.filesDone += 1 }
            case .fileSkipped:
                report.filesSkipped += 1
            }
        }
        report.recordsRead = producer.recordsRead
        report.recordsRejected = producer.rejectedCount
        let t = producer.transformer.stats
        report.truncatedValues = t.truncatedValues
        report.replacedInvalidUTF8 = t.replacedUTF8
        report.packedRecords = t.packedRecords
        report.renamedFields = t.renamedFields
        report.exitCode = exitCode()
        return report
    }

    private func exitCode() -> Int32 {
        if report.fatalError != nil { return ExitCode.refused }
        if report.aborted != nil || report.recordsRejected > 0 || report.chunksDeadLettered > 0 || report.filesWithReadErrors > 0 {
            return ExitCode.partial
        }
        return ExitCode.success
    }

    enum Delivery { case done, stop }

    /// Sends one chunk until it is acknowledged, dead-lettered, or the run must stop.
    private func deliver(_ chunk: Chunk) async -> Delivery {
        await deliverPart(chunk, body: chunk.body, records: chunk.records, part: 0..<chunk.records)
    }

    private func deliverPart(_ chunk: Chunk, body: [UInt8], records: Int, part: Range<Int>) async -> Delivery {
        var attempt = 0
        var lostAnswer = false
        while true {
            attempt += 1
            let outcome = await target.send(body: body)
            let action = policy.decide(outcome, attempt: attempt, records: records, random: Double.random(in: 0..<1, using: &random))
            switch action {
            case .acknowledged:
                report.chunksAcked += 1
                report.recordsSent += records
                report.bytesSent += Int64(body.count)
                if lostAnswer {
                    report.chunksPossiblyDuplicated += 1
                    report.recordsPossiblyDuplicated += records
                }
                return .done
            case .retry(let delay):
                if case .transient(let status, _, let reason) = outcome {
                    report.retriesByStatus[status.map(String.init) ?? "network", default: 0] += 1
                    if status == nil && reason.hasPrefix("connection lost") { lostAnswer = true }
                }
                await sleep(delay)
            case .split:
                report.chunksSplit += 1
                guard let elements = BodySplitter.elements(body), elements.count == records else {
                    return deadLetter(chunk, body: body, records: records, part: part, attempts: attempt, reason: "the body could not be split")
                }
                let half = records / 2
                let left = BodySplitter.body(body, elements: elements, range: 0..<half)
                let right = BodySplitter.body(body, elements: elements, range: half..<records)
                if case .stop = await deliverPart(chunk, body: left, records: half, part: part.lowerBound..<part.lowerBound + half) { return .stop }
                return await deliverPart(chunk, body: right, records: records - half, part: part.lowerBound + half..<part.upperBound)
            case .deadLetter(let reason):
                return deadLetter(chunk, body: body, records: records, part: part, attempts: attempt, reason: reason)
            case .stopRun(let reason):
                report.fatalError = "the service refused the request (\(target.displayName)): \(reason)"
                return .stop
            }
        }
    }

    private func deadLetter(_ chunk: Chunk, body: [UInt8], records: Int, part: Range<Int>, attempts: Int, reason: String) -> Delivery {
        report.chunksDeadLettered += 1
        report.recordsDeadLettered += records
        let name = part == 0..<chunk.records ? chunk.id : "\(chunk.id)-\(part.lowerBound)-\(part.upperBound)"
        let meta = DeadLetterMeta(
            chunkId: chunk.id, api: spec.target.api.rawValue, logType: spec.target.logType,
            timeGeneratedField: spec.target.timeGeneratedField, records: records, bytes: body.count, attempts: attempts,
            lastError: reason, segments: [], time: HTTPDate.iso8601(Date()),
            part: part == 0..<chunk.records ? nil : [part.lowerBound, part.upperBound])
        do {
            try deadLetters.write(name: name, body: body, meta: meta)
            log("chunk \(name): dead-lettered after \(attempts) attempt(s): \(reason)")
        } catch {
            log("chunk \(name): could not be dead-lettered (\(error.localizedDescription)); its \(records) records are NOT saved")
        }
        return .done
    }
}
