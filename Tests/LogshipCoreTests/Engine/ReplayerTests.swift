import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

/// `logship replay` in-process: letters written by a real engine run (every request answered
/// 503 until attempts run out), then re-sent through a scripted transport.
@Suite struct ReplayerTests {
    static let ok = ScriptedTransport.json(200, "")
    static let unavailable = ScriptedTransport.json(503, "")

    /// A harness whose state holds one dead letter: the whole chunk of `lines`.
    func harnessWithLetter(
        _ lines: [String], upload: String = "upload: { concurrency: 1, maxAttempts: 3 }"
    ) async throws -> EngineHarness {
        let h = try EngineHarness(lines: lines, upload: upload)
        let report = try await h.run(ScriptedTransport(fallback: Self.unavailable))
        try #require(report.chunksDeadLettered == 1 && h.state.deadLetters.list().count == 1)
        return h
    }

    func replay(_ h: EngineHarness, _ transport: ScriptedTransport) throws -> Replayer {
        let (w, k) = testCredentials()
        let target = DataCollectorTarget(
            baseURL: URL(string: "http://127.0.0.1:9")!, logType: h.spec.target.logType, timeGeneratedField: nil,
            azureResourceId: nil, signer: try SharedKeySigner(workspaceId: w, sharedKey: k), transport: transport)
        var replayer = Replayer(spec: h.spec, target: target, stateDirectory: h.state.url)
        let clock = h.clock
        replayer.sleep = { clock.sleep($0) }
        replayer.clock = { clock.reading }
        return replayer
    }

    @Test func aLetterDeliveredAfterALostAnswerIsRecordedAsAPossibleDuplicate() async throws {
        let h = try await harnessWithLetter(EngineHarness.records(6))
        defer { h.dir.cleanup() }
        let letter = try #require(h.state.deadLetters.list().first)
        #expect(letter.meta.retryable == true)
        let transport = ScriptedTransport([.failure(.connectionLost("reset by peer")), Self.ok])
        let replayer = try replay(h, transport)
        let r = await replayer.run()
        #expect(r.exitCode == 0)
        #expect(r.found == 1 && r.replayed == 1 && r.records == 6)
        #expect(r.chunksPossiblyDuplicated == 1 && r.recordsPossiblyDuplicated == 6)
        #expect(h.state.deadLetters.list().isEmpty)
        let last = try #require(try h.manifest().last)
        #expect(last.kind == .ack && last.id == letter.meta.chunkId && last.dup == true)
        // The segment carries the file's size, as the run's own entries do.
        let size = Int64(try Data(contentsOf: h.dir.file("in/app.ndjson")).count)
        #expect(last.seg?.map(\.size) == [size])
        let state = try ManifestState.load(h.state.manifest)
        #expect(state.deadChunks == 0 && state.ackedRecords == 6 && state.possibleDuplicateChunks == 1)
    }

    @Test func aRefusedRecordIsIsolatedFromItsLetter() async throws {
        let h = try await harnessWithLetter(EngineHarness.records(8, marking: [5: "BAD"]))
        defer { h.dir.cleanup() }
        let chunk = try #require(h.state.deadLetters.list().first?.meta.chunkId)
        let transport = ScriptedTransport { r in
            r.text.contains("BAD")
                ? ScriptedTransport.json(400, #"{"Error":"InvalidDataFormat","Message":"bad"}"#) : Self.ok
        }
        let replayer = try replay(h, transport)
        let r = await replayer.run()
        #expect(r.exitCode == ExitCode.partial)
        #expect(r.records == 7 && r.split == 1 && r.stillFailing == 1)
        let letters = h.state.deadLetters.list()
        #expect(letters.map(\.name) == ["\(chunk)-5-6"])
        #expect(letters.first?.meta.records == 1 && letters.first?.meta.retryable == false)
        #expect(transport.requests.count <= 1 + 2 * 3)
        let state = try ManifestState.load(h.state.manifest)
        #expect(state.ackedRecords == 7 && state.deadRecords == 1 && state.deadChunks == 1)
    }

    @Test func aLetterTooLargeIsSplitAsTheRunSplitsIt() async throws {
        let h = try await harnessWithLetter(EngineHarness.records(4))
        defer { h.dir.cleanup() }
        // The service now takes at most two records a request.
        let transport = ScriptedTransport { r in
            r.seqs.count > 2 ? ScriptedTransport.json(413, "") : Self.ok
        }
        let replayer = try replay(h, transport)
        let r = await replayer.run()
        #expect(r.exitCode == 0)
        #expect(r.replayed == 1 && r.records == 4)
        #expect(transport.requests.map(\.seqs) == [[0, 1, 2, 3], [0, 1], [2, 3]])
        #expect(h.state.deadLetters.list().isEmpty)
        let acks = try h.manifest().filter { $0.kind == .ack }
        #expect(acks.map(\.part) == [[0, 2], [2, 4]])
    }

    @Test func anOutageLeavesTheLetterInPlace() async throws {
        let h = try await harnessWithLetter(
            EngineHarness.records(3), upload: "upload: { concurrency: 1, maxAttempts: 3, unreachableAfter: 20 }")
        defer { h.dir.cleanup() }
        let before = h.state.deadLetters.list()
        let transport = ScriptedTransport(fallback: .failure(.cannotConnect("refused")))
        let replayer = try replay(h, transport)
        let r = await replayer.run()
        #expect(r.exitCode == ExitCode.partial)
        #expect(r.unreachable?.contains("upload.unreachableAfter: 20") == true)
        #expect(r.stillFailing == 1 && r.replayed == 0)
        #expect(h.state.deadLetters.list().map(\.name) == before.map(\.name))
        #expect(h.state.deadLetters.list().first?.meta.attempts == before.first?.meta.attempts)
        // Waited out through the injected sleep, about as long as the rule says.
        #expect(h.clock.sleeps.reduce(0, +) >= 20 && h.clock.sleeps.reduce(0, +) < 40)
    }
}
