import Foundation
import Testing

@Suite struct GzipEndToEndTests {
    /// A gzip file as rotation leaves it (several members, cut inside records, an empty one),
    /// larger than the buffers it is inflated into ahead of the reader, with CRLF lines and a
    /// last line without a line end: what the emulator stores is the input, record for record,
    /// byte for byte.
    @Test func whatTheEmulatorStoresIsTheGzippedInputByteForByte() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess(dataDir: dir.file("emu"))
        defer { emu.stop() }
        var state: UInt64 = 17
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var records: [String] = []
        var text = ""
        for i in 0..<24_000 {
            let pad = String(repeating: "abcdefghij", count: Int(next() % 60))
            let r = "{\"seq\":\(i),\"msg\":\"r\(i) ü \\\"q\\\"\",\"n\":\(Int(next() % 1000)),\"pad\":\"\(pad)\"}"
            records.append(r)
            text += r
            if i < 23_999 { text += next() % 4 == 0 ? "\r\n" : "\n" }
        }
        let plain = dir.write("in/app.ndjson", text)
        let gz = try run(
            [
                "-c",
                """
                import gzip, os, sys
                data = open(sys.argv[1], 'rb').read()
                cuts = [0, 1000003, 3333337, 5000001, len(data)]
                assert all(data[c - 1] != 0x0A for c in cuts[1:-1]), 'cuts fall inside records'
                members = [gzip.compress(data[a:b], 6) for a, b in zip(cuts, cuts[1:])]
                members.insert(2, gzip.compress(b''))
                open(sys.argv[1] + '.gz', 'wb').write(b''.join(members))
                os.remove(sys.argv[1])
                print(len(data))
                """,
                plain.path,
            ], executable: "/usr/bin/python3")
        #expect(gz.status == 0, "\(gz.stderr)")
        #expect((Int(gz.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 3 * (2 << 20))
        let p = pipeline(dir, files: ["in/app.ndjson.gz"], maxBody: 1_000_000, api: .logsIngestion)
        let r = try run(
            [
                "run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", dir.file("state").path,
                "--progress", "none",
            ], env: emu.ingestionEnv)
        #expect(r.status == 0, "\(r.stderr)")
        let stored = try String(contentsOf: dir.file("emu/Custom-Engine.ndjson"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(stored.count == records.count)
        // Bodies go out in parallel: compare in input order.
        func seq(_ line: String) -> Int {
            Int(line.dropFirst("{\"seq\":".count).prefix { $0 != "," }) ?? -1
        }
        let ordered = stored.sorted { seq($0) < seq($1) }
        var differing = 0
        for (a, b) in zip(ordered, records) where a != b {
            if differing == 0 { Issue.record("first stored record differing:\n\(a)\nexpected:\n\(b)") }
            differing += 1
        }
        #expect(differing == 0)
        #expect(report(dir.file("state"))["recordsSent"] as? Int == records.count)
    }
}
