import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

/// A clock that moves only when the engine sleeps: the outage rule and backoffs are tested
/// without waiting, on any machine at any load.
final class SleepClock: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var now = 1000.0
    private var _sleeps: [Double] = []
    var sleeps: [Double] { lock.withLock { _sleeps } }
    var reading: Double { lock.withLock { now } }
    func sleep(_ s: Double) {
        lock.withLock {
            _sleeps.append(s)
            now += max(0, s)
        }
    }
}

/// An engine run in-process: a pipeline over a file of `records` NDJSON lines, a Data Collector
/// target whose HTTP exchanges a `ScriptedTransport` answers, and the injected sleep and clock.
struct EngineHarness {
    let dir = TempDir("engine")
    let spec: PipelineSpec
    let clock = SleepClock()

    /// - Parameter lines: the input's lines, one record each.
    init(lines: [String], upload: String = "upload: { concurrency: 1, maxAttempts: 3 }", perChunk: Int = 1000) throws {
        _ = dir.write("in/app.ndjson", lines.joined(separator: "\n") + "\n")
        let p = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["in/*.ndjson"], format: "ndjson" }, fields: { passthrough: true },
              limits: { maxRecordsPerChunk: \(perChunk) }, target: { logType: "EngineTest" }, \(upload) }
            """)
        let loaded = PipelineLoader(environment: [:]).load(p)
        spec = try #require(loaded.spec, "\(loaded)")
    }

    static func records(_ n: Int, marking: [Int: String] = [:]) -> [String] {
        (0..<n).map { i in "{\"seq\":\(i),\"note\":\"\(marking[i] ?? "fine")\"}" }
    }

    var state: StateDirectory { StateDirectory(dir.file("state")) }

    func run(_ transport: ScriptedTransport) async throws -> RunReport {
        let (w, k) = testCredentials()
        let target = DataCollectorTarget(
            baseURL: URL(string: "http://127.0.0.1:9")!, logType: spec.target.logType, timeGeneratedField: nil,
            azureResourceId: nil, signer: try SharedKeySigner(workspaceId: w, sharedKey: k), transport: transport)
        var options = RunOptions(stateDirectory: state.url)
        options.now = Date(timeIntervalSince1970: 1_795_000_000)
        let clock = self.clock
        let engine = Engine(spec: spec, target: target, options: options, sleep: { clock.sleep($0) })
        engine.clock = { clock.reading }
        return await engine.run()
    }

    func manifest() throws -> [ManifestEntry] {
        let text = try String(contentsOf: state.manifest, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(ManifestEntry.self, from: Data($0.utf8)) }
    }
}

extension ScriptedTransport.Request {
    var text: String { String(decoding: body, as: UTF8.self) }
    /// The `seq` values of the records in the body.
    var seqs: [Int] {
        text.components(separatedBy: "\"seq\":").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
    }
}

@Suite struct EngineTests {
    static let ok = ScriptedTransport.json(200, "")
    static let unavailable = ScriptedTransport.json(503, "")
    static let invalid = ScriptedTransport.json(400, #"{"Error":"InvalidDataFormat","Message":"bad record"}"#)

    @Test func aRetriedChunkIsDeliveredOnceAndRecorded() async throws {
        let h = try EngineHarness(lines: EngineHarness.records(10))
        defer { h.dir.cleanup() }
        let transport = ScriptedTransport([Self.unavailable, Self.ok])
        let report = try await h.run(transport)
        #expect(report.exitCode == ExitCode.success)
        #expect(transport.requests.count == 2)
        #expect(transport.requests.map(\.seqs) == [Array(0..<10), Array(0..<10)])
        #expect(report.chunksAcked == 1 && report.recordsSent == 10)
        #expect(report.retriesByStatus == ["503": 1])
        #expect(report.chunksDeadLettered == 0 && report.chunksPossiblyDuplicated == 0)
        // One backoff, taken through the injected sleep.
        #expect(h.clock.sleeps.count == 1)
        let entries = try h.manifest()
        #expect(entries.map(\.kind) == [.run, .ack, .done])
        #expect(entries[0].v == ManifestEntry.formatVersion)
        #expect(entries[1].records == 10 && entries[1].dup == nil && entries[1].part == nil)
        #expect(entries[1].seg?.first?.size == Int64(try Data(contentsOf: h.dir.file("in/app.ndjson")).count))
        #expect(h.state.deadLetters.list().isEmpty)
    }

    @Test func aBodyThrottledForEverEndsAsARetryableDeadLetter() async throws {
        let h = try EngineHarness(lines: EngineHarness.records(5))
        defer { h.dir.cleanup() }
        let throttled = ScriptedTransport.json(
            429, #"{"Error":"TooManyRequests","Message":"quota"}"#, headers: ["retry-after": "1"])
        let transport = ScriptedTransport { _ in throttled }
        let report = try await h.run(transport)
        #expect(report.exitCode == ExitCode.partial)
        // The waits the quota asks for, then upload.maxAttempts (3) that count.
        #expect(transport.requests.count == Uploader.maxThrottledWaits + 3)
        #expect(report.chunksDeadLettered == 1 && report.recordsSent == 0)
        let letters = h.state.deadLetters.list()
        #expect(letters.count == 1 && letters.first?.meta.retryable == true)
    }

    @Test func aRefusedRecordIsIsolatedAndTheRestDelivered() async throws {
        let h = try EngineHarness(lines: EngineHarness.records(8, marking: [5: "BAD"]))
        defer { h.dir.cleanup() }
        let transport = ScriptedTransport { r in r.text.contains("BAD") ? Self.invalid : Self.ok }
        let report = try await h.run(transport)
        #expect(report.exitCode == ExitCode.partial)
        #expect(report.recordsSent == 7)
        #expect(report.chunksDeadLettered == 1 && report.recordsDeadLettered == 1)
        #expect(report.isolationSplits >= 1)
        // Halving, left first: at most 2·log2(8) requests after the first.
        #expect(transport.requests.count <= 1 + 2 * 3)
        let delivered = transport.requests.filter { !$0.text.contains("BAD") }.flatMap(\.seqs).sorted()
        #expect(delivered == [0, 1, 2, 3, 4, 6, 7])
        let letters = h.state.deadLetters.list()
        #expect(letters.count == 1)
        #expect(letters.first?.meta.part == [5, 6])
        #expect(letters.first?.meta.retryable == false)
        #expect(letters.first?.meta.location == [DeadLetterSegment(file: "in/app.ndjson", start: 5, end: 6)])
        let state = try ManifestState.load(h.state.manifest)
        #expect(state.ackedRecords == 7 && state.deadRecords == 1)
    }

    @Test func aChunkNeverAnsweredWhileOthersAreIsDeadLetteredAfterMaxAttempts() async throws {
        // The first record's chunk gets no answer in time; the six after it are answered, in
        // lock-step with its attempts, so other answers come in while it waits.
        let h = try EngineHarness(
            lines: EngineHarness.records(7, marking: [0: "SLOW"]), upload: "upload: { concurrency: 2, maxAttempts: 3 }",
            perChunk: 1)
        defer { h.dir.cleanup() }
        let gate = LockStep()
        let transport = ScriptedTransport { r in
            if r.text.contains("SLOW") {
                let attempt = gate.slowAttempt()
                // Two other answers during each unanswered attempt.
                guard await gate.wait({ $0.okAnswered >= 2 * attempt }) else { return .failure(.other("gate")) }
                return .failure(.timedOut)
            }
            let n = gate.okRequest()
            guard await gate.wait({ $0.slowAttempts >= min((n + 1) / 2, 3) }) else { return .failure(.other("gate")) }
            defer { gate.okAnswer() }
            return Self.ok
        }
        let report = try await h.run(transport)
        #expect(report.exitCode == ExitCode.partial)
        #expect(report.recordsSent == 6 && report.chunksAcked == 6)
        #expect(transport.requests.filter { $0.text.contains("SLOW") }.count == 3)
        let letters = h.state.deadLetters.list()
        #expect(letters.count == 1)
        let meta = try #require(letters.first?.meta)
        #expect(meta.retryable == true && meta.attempts == 3)
        #expect(meta.lastError.contains("without an answer while the service answered other requests"))
        #expect(!report.unreachable)
    }
}

/// Counts for the lock-step script above, and a bounded wait on them.
final class LockStep: @unchecked Sendable {
    struct Counts {
        var slowAttempts = 0
        var okRequests = 0
        var okAnswered = 0
    }
    // Guarded by `lock`.
    private let lock = NSLock()
    private var counts = Counts()

    func slowAttempt() -> Int {
        lock.withLock {
            counts.slowAttempts += 1; return counts.slowAttempts
        }
    }
    func okRequest() -> Int {
        lock.withLock {
            counts.okRequests += 1; return counts.okRequests
        }
    }
    func okAnswer() { lock.withLock { counts.okAnswered += 1 } }

    /// Waits until `ready` holds: bounded (2,000 polls, 20 s at least), so a broken engine fails
    /// the test instead of hanging it.
    func wait(_ ready: (Counts) -> Bool) async -> Bool {
        for _ in 0..<2_000 {
            if lock.withLock({ ready(counts) }) { return true }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return false
    }
}
