import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

@Suite struct ChunkProducerTests {
    /// Everything a producer emits, in order, as comparable text.
    func drain(_ spec: PipelineSpec, decodeAhead: Bool, plan: ChunkProducer.ResumePlan = .init(), rejectsFile: URL)
        throws -> [String]
    {
        let files = FileDiscovery.expand(spec.source.files, relativeTo: spec.baseDirectory).files
        let fps = files.map { FileFingerprint.of($0) }
        let rejects = RejectsWriter(url: rejectsFile)
        let p = ChunkProducer(
            spec: spec, files: files, fingerprints: fps, rejects: rejects, plan: plan, decodeAhead: decodeAhead)
        var out: [String] = []
        while let e = try p.next() {
            switch e {
            case .chunk(let c):
                out.append("chunk \(c.id) \(c.records) \(c.segments) \(Crypto.sha256([UInt8](c.body)).hexString)")
            case .fileFinished(let f, let n, let err, let held):
                out.append("finished \(f) \(n) \(err?.message ?? "") \(held.map(String.init) ?? "")")
            case .fileSkipped(let f): out.append("skipped \(f)")
            case .abort(let m): out.append("abort \(m)")
            }
        }
        p.cancel()
        rejects.close()
        return out
    }

    @Test(arguments: ["csv", "ndjson"])
    func decodingAheadChangesNothing(format: String) throws {
        let dir = TempDir("producer")
        defer { dir.cleanup() }
        for k in 0..<5 {
            var lines = format == "csv" ? ["id,when,amount,note"] : []
            for i in 0..<3000 {
                let n = k * 3000 + i
                if i % 97 == 13 {
                    lines.append(format == "csv" ? "\(n),bad" : "{\"id\":\(n),")
                } else if format == "csv" {
                    lines.append("\(n),2026-11-\(10 + i % 10)T10:00:00Z,\(Double(n) / 4),\"note, \(n)\"")
                } else {
                    lines.append("{\"id\":\(n),\"when\":\"2026-11-10T10:00:00Z\",\"note\":\"n\(n)\"}")
                }
            }
            _ = dir.write("in/f\(k).\(format)", lines.joined(separator: "\n") + "\n")
        }
        let map =
            format == "csv"
            ? "fields: { map: { Id: { from: \"id\", type: \"long\" }, When: { from: \"when\", type: \"datetime\" } } },"
            : "fields: { map: { Id: \"id\" } },"
        let p = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["in/*.\(format)"], format: "\(format)" }, \(map)
              limits: { maxBodyBytes: 40000 }, errors: { maxRejectedRecords: 100000 }, target: { logType: "T" } }
            """)
        let spec = try #require(PipelineLoader(environment: [:]).load(p).spec)
        let inline = try drain(spec, decodeAhead: false, rejectsFile: dir.file("r1.ndjson"))
        let ahead = try drain(spec, decodeAhead: true, rejectsFile: dir.file("r2.ndjson"))
        #expect(inline.count > 20)
        #expect(inline == ahead)
        let r1 = try String(contentsOf: dir.file("r1.ndjson"), encoding: .utf8).split(separator: "\n").map {
            $0.replacingOccurrences(of: #","time":"[^"]*""#, with: "", options: .regularExpression)
        }
        let r2 = try String(contentsOf: dir.file("r2.ndjson"), encoding: .utf8).split(separator: "\n").map {
            $0.replacingOccurrences(of: #","time":"[^"]*""#, with: "", options: .regularExpression)
        }
        #expect(r1 == r2 && r1.count == 5 * 31)

        // Resuming: with the first two chunks and the first file known delivered, both modes
        // cut the same remaining chunks, and those are the same chunks as before.
        var plan = ChunkProducer.ResumePlan()
        plan.doneFiles = [0]
        plan.acked[1] = [0..<1000]
        let a = try drain(spec, decodeAhead: false, plan: plan, rejectsFile: dir.file("r3.ndjson"))
        let b = try drain(spec, decodeAhead: true, plan: plan, rejectsFile: dir.file("r4.ndjson"))
        #expect(a == b)
        #expect(a.first == "skipped 0")
    }

    /// Chunks that are not released yet (uploads in flight) hold their bodies: the producer
    /// makes at most (concurrency + 1) bodies and then waits, whatever the input size. This is
    /// the bound behind the memory figures; here it is counted, not timed.
    @Test func waitsForABodyPastTheBound() throws {
        let dir = TempDir("producer-bound")
        defer { dir.cleanup() }
        let lines = (0..<4000).map { "{\"id\":\($0),\"note\":\"\(String(repeating: "x", count: 40))\"}" }
        _ = dir.write("in/a.ndjson", lines.joined(separator: "\n") + "\n")
        let p = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["in/*.ndjson"], format: "ndjson" }, limits: { maxBodyBytes: 20000 },
              upload: { concurrency: 2 }, target: { logType: "T" } }
            """)
        let spec = try #require(PipelineLoader(environment: [:]).load(p).spec)
        let files = FileDiscovery.expand(spec.source.files, relativeTo: spec.baseDirectory).files
        let rejects = RejectsWriter(url: dir.file("r.ndjson"))
        let producer = ChunkProducer(
            spec: spec, files: files, fingerprints: files.map { FileFingerprint.of($0) }, rejects: rejects)

        // The chunks the "uploads" still hold, and whether the producer has finished.
        final class Held: @unchecked Sendable {
            let lock = NSLock()
            var chunks: [Chunk] = []
            var emitted = 0
            var records = 0
            var done = false
            func read<T>(_ f: (Held) -> T) -> T { lock.withLock { f(self) } }
        }
        let held = Held()
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { finished.signal() }
            while let e = try? producer.next() {
                if case .chunk(let c) = e {
                    held.lock.withLock {
                        held.chunks.append(c); held.emitted += 1; held.records += c.records
                    }
                }
            }
            held.lock.withLock { held.done = true }
        }
        thread.start()
        func settle(at n: Int) -> Bool {
            // Bounded: up to 10 s for the producer to get there, then 0.3 s to see it stays.
            for _ in 0..<1000 where held.read({ $0.emitted }) < n { Thread.sleep(forTimeInterval: 0.01) }
            Thread.sleep(forTimeInterval: 0.3)
            return held.read { $0.emitted == n && !$0.done }
        }
        // Three bodies (concurrency 2 + 1): two held chunks and the one being filled.
        #expect(settle(at: 2))
        #expect(producer.bodiesHighWater == 3)
        // An upload finishes: its body is reused for exactly one more chunk.
        held.lock.withLock { _ = held.chunks.removeFirst() }
        #expect(settle(at: 3))
        held.lock.withLock { _ = held.chunks.removeFirst() }
        #expect(settle(at: 4))
        #expect(producer.bodiesHighWater == 3)

        // Uploads that keep up: everything comes through, still within three bodies.
        let releaser = Thread {
            for _ in 0..<2000 where !held.read({ $0.done }) {
                held.lock.withLock { held.chunks.removeAll() }
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
        releaser.start()
        #expect(finished.wait(timeout: .now() + 20) == .success)
        if !held.read({ $0.done }) { producer.cancel() }
        #expect(held.read { $0.records } == 4000)
        #expect(held.read { $0.emitted } > 8)
        #expect(producer.bodiesHighWater == 3)
        held.lock.withLock { held.chunks.removeAll() }
        rejects.close()
    }
}
