import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

private struct Rec: Equatable, CustomStringConvertible {
    var line: Int
    var offset: Int64
    var text: String
    var description: String { "\(line)@\(offset): \(text.debugDescription)" }
}

private func group(_ text: String, _ spec: MultilineSpec, piece: Int = 7, stillWritten: Bool = false) throws -> (
    records: [Rec], grouper: MultilineGrouper
) {
    let reader = LineReader(source: PieceSource(Array(text.utf8), piece: piece), bufferSize: 4096)
    reader.stillBeingWritten = { stillWritten }
    let g = try MultilineGrouper(reader: reader, spec: spec)
    var out: [Rec] = []
    while let u = try g.next() {
        guard case .record(let r) = u else {
            Issue.record("an overlong line")
            continue
        }
        out.append(Rec(line: r.number, offset: r.offset, text: String(decoding: r.bytes, as: UTF8.self)))
    }
    return (out, g)
}

/// Offsets of each line's first byte, for expectations.
private func lineOffsets(_ text: String) -> [Int64] {
    var out: [Int64] = [0]
    for (k, b) in text.utf8.enumerated() where b == 0x0A { out.append(Int64(k + 1)) }
    return out
}

@Suite struct MultilineGrouperTests {
    static let java = """
        2026-12-01 10:00:00,001 INFO  [main] c.a.App - started
        2026-12-01 10:00:01,002 ERROR [worker-1] c.a.Job - job 7 failed
        java.lang.IllegalStateException: boom
        \tat com.acme.Job.run(Job.java:42)
        \tat java.base/java.lang.Thread.run(Thread.java:1583)
        Caused by: java.io.IOException: disk full
        \tat com.acme.Disk.write(Disk.java:9)
        \t... 2 more
        \tSuppressed: java.lang.RuntimeException: close failed
        \t\tat com.acme.Disk.close(Disk.java:12)
        2026-12-01 10:00:02,003 WARN  [main] c.a.App - Exception handled: retrying
        com.acme.errors.QuotaError
        2026-12-01 10:00:03,004 INFO  [main] c.a.App - done

        """

    @Test(arguments: [1, 7, 4096]) func javaStackTracesStayWithTheirLogLine(piece: Int) throws {
        let (recs, g) = try group(Self.java, MultilineSpec(start: .preset(.java)), piece: piece)
        let lines = Self.java.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let at = lineOffsets(Self.java)
        #expect(
            recs == [
                Rec(line: 1, offset: at[0], text: lines[0]),
                Rec(line: 2, offset: at[1], text: lines[1...9].joined(separator: "\n")),
                Rec(line: 11, offset: at[10], text: lines[10...11].joined(separator: "\n")),
                Rec(line: 13, offset: at[12], text: lines[12]),
            ])
        #expect(g.cuts == 0 && g.heldBackAt == nil)
    }

    @Test func crlfLinesJoinWithLineFeeds() throws {
        let crlf = Self.java.replacingOccurrences(of: "\n", with: "\r\n")
        let lf = try group(Self.java, MultilineSpec(start: .preset(.java))).records
        let got = try group(crlf, MultilineSpec(start: .preset(.java))).records
        #expect(got.map(\.text) == lf.map(\.text))
        #expect(got.map(\.line) == lf.map(\.line))
        #expect(
            got.map(\.offset) == [0]
                + lineOffsets(crlf).enumerated().filter { [1, 10, 12].contains($0.offset) }.map(\.element))
    }

    @Test func pythonTracebacksWithChaining() throws {
        let text = """
            2026-12-01 10:00:00 INFO app: started
            2026-12-01 10:00:01 ERROR app: failed
            Traceback (most recent call last):
              File "app.py", line 3, in <module>
                main()
            KeyError: 'x'

            During handling of the above exception, another exception occurred:

            Traceback (most recent call last):
              File "app.py", line 5, in <module>
            app.errors.ConfigError: bad config
            INFO: not a traceback line
            ValueError: outside a traceback this begins a record

            """
        let recs = try group(text, MultilineSpec(start: .preset(.python))).records
        #expect(recs.map(\.line) == [1, 2, 13, 14])
        #expect(recs[1].text.hasSuffix("app.errors.ConfigError: bad config"))
        #expect(
            recs[1].text.split(separator: "\n", omittingEmptySubsequences: false).count == 11, "blank lines inside stay"
        )
    }

    @Test func goPanics() throws {
        let text = """
            2026/12/01 10:00:00 listening on :8080
            panic: runtime error: index out of range [5] with length 3

            goroutine 1 [running]:
            main.handler(0xc000010000, 0x3)
            \t/src/main.go:12 +0x1d
            created by net/http.(*Server).Serve in goroutine 6
            \t/usr/local/go/src/net/http/server.go:3285 +0x4b4
            exit status 2
            2026/12/01 10:00:05 restarted

            """
        let recs = try group(text, MultilineSpec(start: .preset(.go))).records
        #expect(recs.map(\.line) == [1, 2, 10])
        #expect(recs[1].text.hasSuffix("exit status 2"))
    }

    @Test func startRegexWithItsBytePreCheck() throws {
        #expect(StartClassifier.firstBytes(#"^\d{4}-"#) != nil)
        #expect(StartClassifier.firstBytes(#"^\d{4}-"#)![Int(UInt8(ascii: "\t"))] == false)
        #expect(StartClassifier.firstBytes(#"^[A-Z]"#)![Int(UInt8(ascii: "Q"))])
        #expect(StartClassifier.firstBytes(#"^\[INFO"#)![Int(UInt8(ascii: "["))])
        for unsure in [#"^a|b"#, #"^\d?x"#, #"\d{4}"#, #"^(?i)abc"#, #"^[^x]"#, #"^.x"#, #"^a*"#, #"^\Sx"#] {
            #expect(StartClassifier.firstBytes(unsure) == nil, "\(unsure)")
        }
        let text = "junk before\n2026-01-01 a\n  more\n2026-01-02 b\nx 2026-01-03 not a start\n"
        let recs = try group(text, MultilineSpec(start: .regex(#"^\d{4}-\d\d-\d\d "#))).records
        #expect(recs.map(\.text) == ["junk before", "2026-01-01 a\n  more", "2026-01-02 b\nx 2026-01-03 not a start"])
        // Unanchored: the regex is searched for anywhere in the line, and no pre-check applies.
        let anywhere = try group(text, MultilineSpec(start: .regex(#"\d{4}-\d\d-\d\d"#))).records
        #expect(anywhere.count == 4)
    }

    /// The byte program answers as the regex does, on lines built from the bytes the patterns
    /// look at (and some non-ASCII ones, which it leaves to the regex).
    @Test func bytePrefixProgramAgreesWithTheRegex() throws {
        let patterns = [
            #"^\d{4}-\d\d-\d\d "#, #"^\[\d{2}:\d{2}\]"#, #"^[A-Z][a-z]{2} \d"#, #"^\w{3}\s\d$"#, #"^ERROR"#, #"^#\d,"#,
        ]
        #expect(PrefixProgram(#"^\d+-"#) == nil && PrefixProgram(#"^a|b"#) == nil && PrefixProgram(#"\d{4}"#) == nil)
        let alphabet = Array("0123456789-: []ERORabcXYZ_\t#,é٣".unicodeScalars)
        var rng = SystemRandomNumberGenerator()
        for p in patterns {
            let program = try #require(PrefixProgram(p), "\(p)")
            let regex = try NSRegularExpression(pattern: p)
            let matcher = RegexLineMatcher(regex: regex, groups: [])
            let slots = SlotBuffer()
            var decided = 0
            for k in 0..<4000 {
                // Half the lines are mutations of a matching-looking seed, half random.
                let seed = ["2026-12-01 x", "[12:34] y", "Dec 1 z", "abc 1", "ERROR!", "#1,"][
                    patterns.firstIndex(of: p)!]
                var scalars = Array(seed.unicodeScalars)
                if k % 2 == 0 {
                    if !scalars.isEmpty {
                        scalars[Int.random(in: 0..<scalars.count, using: &rng)] = alphabet.randomElement(using: &rng)!
                    }
                } else {
                    scalars = (0..<Int.random(in: 1...14, using: &rng)).map { _ in alphabet.randomElement(using: &rng)!
                    }
                }
                let bytes = Array(String(String.UnicodeScalarView(scalars)).utf8)
                let want = bytes.withUnsafeBytes { matcher.match($0, into: slots) }
                if let got = bytes.withUnsafeBytes({ program.matches($0) }) {
                    decided += 1
                    #expect(got == want, "\(p) on \(String(decoding: bytes, as: UTF8.self).debugDescription)")
                }
            }
            #expect(decided > 2000, "\(p): most lines are decided on bytes")
        }
    }

    @Test func blankLinesNeverStartARecordAndTrailingOnesAreDropped() throws {
        let text = "\n\nfirst\n\n  cont\n\n\nsecond\n\n"
        let recs = try group(text, MultilineSpec(start: .regex("^[a-z]"))).records
        #expect(recs == [Rec(line: 3, offset: 2, text: "first\n\n  cont"), Rec(line: 8, offset: 18, text: "second")])
    }

    @Test func recordsPastTheBoundsAreCutBeforeALineAndCounted() throws {
        let text = "S1\n" + (1...7).map { " c\($0)" }.joined(separator: "\n") + "\nS2\n"
        let (recs, g) = try group(text, MultilineSpec(start: .regex("^S"), maxLines: 3, maxBytes: 1 << 20))
        #expect(recs.map(\.text) == ["S1\n c1\n c2", " c3\n c4\n c5", " c6\n c7", "S2"])
        #expect(recs.map(\.line) == [1, 4, 7, 9])
        #expect(g.cuts == 2)
        #expect(g.cutPlaces.map(\.line) == [4, 7])
        #expect(g.cutPlaces[0].reason.contains("maxLines (3)"))
        // maxBytes: the line that would pass the bound begins the next piece; nothing is lost.
        let (byBytes, gb) = try group(text, MultilineSpec(start: .regex("^S"), maxLines: 100, maxBytes: 12))
        #expect(byBytes.map(\.text).joined(separator: "\n") == text.dropLast().description)
        #expect(byBytes.allSatisfy { $0.text.utf8.count <= 12 })
        #expect(gb.cuts == byBytes.count - 2)
        #expect(gb.cutPlaces.first?.reason.contains("maxBytes (12)") == true)
    }

    @Test func aFileThatEndsMidRecord() throws {
        let text = "S1\n a\nS2\n b\n c"
        let done = try group(text, MultilineSpec(start: .regex("^S")))
        #expect(done.records.map(\.text) == ["S1\n a", "S2\n b\n c"], "a finished file ends its last record")
        #expect(done.grouper.heldBackAt == nil)
        for body in [text, text + "\n"] {
            let live = try group(body, MultilineSpec(start: .regex("^S")), stillWritten: true)
            #expect(live.records.map(\.text) == ["S1\n a"], "more lines may still come")
            #expect(live.grouper.heldBackAt == 6, "from the first byte of the open record")
        }
    }

    /// Through the factory, as runs open files: a gzipped file groups as the plain one, and a
    /// file that grew after the run looked at it keeps its last record for the next run.
    @Test func gzipAndGrowingFilesThroughTheFactory() throws {
        let dir = TempDir("multiline")
        defer { dir.cleanup() }
        let plain = dir.file("app.log")
        let zipped = dir.file("app.log.gz")
        try Data(Self.java.utf8).write(to: plain)
        try Gzip.compress(Data(Self.java.utf8)).write(to: zipped)
        var spec = SourceSpec(files: [], format: .lines)
        spec.lines = LinesSpec(pattern: "raw")
        spec.multiline = MultilineSpec(start: .preset(.java))
        func read(_ url: URL, size: Int64) throws -> ([String], Int64?) {
            let file = InputFile(index: 0, path: url.path, relativePath: url.lastPathComponent, size: size, modified: 0)
            let (d, _, _) = try DecoderFactory.openWithReader(file, spec: spec)
            var texts: [String] = []
            while let r = try d.next() {
                if case .record(let v) = r { texts.append(String(decoding: v.value(v.fields[0]), as: UTF8.self)) }
            }
            return (texts, d.heldBackAt)
        }
        let size = Int64(Self.java.utf8.count)
        let a = try read(plain, size: size)
        let z = try read(zipped, size: Int64(try Data(contentsOf: zipped).count))
        #expect(a.0.count == 4 && a.0 == z.0)
        // The run looked at the file when it ended after "… job 7 failed\njava.lang…: boom\n".
        let cut =
            Self.java.utf8.count
            - Self.java.split(separator: "\n", omittingEmptySubsequences: false)[3...].joined(separator: "\n").utf8
            .count
        let grown = try read(plain, size: Int64(cut))
        #expect(grown.0.count == 1)
        #expect(grown.1 == Int64(lineOffsets(Self.java)[1]))
    }

    /// The pattern applies to the whole joined text; `.` takes line breaks, so the last group
    /// holds the continuation lines.
    @Test func theLinePatternReadsTheJoinedText() throws {
        let reader = LineReader(source: PieceSource(Array(Self.java.utf8), piece: 5), bufferSize: 4096)
        let d = try LineDecoder(
            reader: reader,
            pattern: #"^(?<time>\S+ \S+) (?<level>[A-Z]+)\s+\[(?<thread>[^\]]+)\] (?<logger>\S+) - (?<message>.*)$"#,
            fileIndex: 0,
            multiline: MultilineSpec(start: .preset(.java)))
        var messages: [String] = []
        while let r = try d.next() {
            guard case .record(let v) = r else {
                Issue.record("rejected")
                continue
            }
            let slot = try #require(v.fields.first { d.names.strings[Int($0.nameIndex)] == "message" })
            messages.append(String(decoding: v.value(slot), as: UTF8.self))
            #expect(v.provenance.line == [1, 2, 11, 13][messages.count - 1])
        }
        #expect(messages.count == 4)
        #expect(messages[1].hasPrefix("job 7 failed\njava.lang.IllegalStateException: boom\n\tat com.acme.Job.run"))
        #expect(messages[1].hasSuffix("Disk.close(Disk.java:12)"))
    }
}
