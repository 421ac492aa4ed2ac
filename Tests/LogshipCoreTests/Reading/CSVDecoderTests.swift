import Foundation
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

// Over 500 lines on purpose: one suite per decoder, its cases checked against Python's csv module.

/// CSVDecoder checked record for record against Python's `csv` module, plus the cases where
/// logship rejects what Python would guess at.
@Suite struct CSVDecoderTests {

    // MARK: Agreement with Python

    @Test func handWrittenEdgeCasesMatchPython() async throws {
        let cases: [CSVCase] = [
            CSVCase("basic", "id,name,note\n1,alice,hello\n2,\"bob, jr\",\"say \"\"hi\"\"\"\n3,,\n"),
            CSVCase("embedded newlines", "a,b,c\n1,\"two\nlines\",x\n2,\"three\n\nlines\",y\n3,\"\n\",z\n"),
            CSVCase("crlf file", "a,b,c\r\n1,\"x\r\ny\",2\r\n\"q\"\"\",,\"\"\r\n"),
            CSVCase("mixed line ends", "a,b\r\n1,2\n3,\"4\r\n5\n6\"\r\n7,8"),
            CSVCase("bom and header", "\u{FEFF}name,value\nk,v\n\"k2\",\"v2\"\n"),
            CSVCase("bom before quoted header", "\u{FEFF}\"na,me\",value\nk,v\n"),
            CSVCase("bom without header", "\u{FEFF}\"x\",1\ny,2\n", header: false, columns: ["c1", "c2"]),
            CSVCase("declared columns", "1,2,3\n4,5,6\n", header: false, columns: ["a", "b", "c"]),
            CSVCase("declared columns skip header", "x,y,z\n1,2,3\n", header: true, columns: ["a", "b", "c"]),
            CSVCase("empty fields", "a,b,c\n,,\n\"\",\"\",\"\"\na,,\n,,b\n"),
            CSVCase(
                "unicode", "名前,説明,emoji\n太郎,\"日本語, テスト\",🚀\nÉmile,\"naïve \"\"café\"\"\",👩‍👩‍👧\ne\u{301},ß,\u{10FFFF}\n"),
            CSVCase("semicolon", "a;b;c\n1;\"x;y\";3\n\"4\"\"\";5,5;6\n", delimiter: ";"),
            CSVCase("tab", "a\tb\n1\t\"x\ty\"\n\"\t\"\t2\n", delimiter: "\t"),
            CSVCase("single quote", "a,b\n'x,y','it''s'\n\"dq\",'multi\nline'\n", quote: "'"),
            CSVCase("pipe and single quote", "a|b\n'x|y'|''''\n", delimiter: "|", quote: "'"),
            CSVCase("blank lines", "\n\r\na,b\n\n1,2\r\n\r\n\n3,4\n\n"),
            CSVCase("whitespace is not blank", "a\n \n\t\n\"\"\nx\n"),
            CSVCase("stray quotes", "a,b,c\nx\"y,z,w\n\"ab\"cd,2,3\n\"ab\"\"\"c,\"x\" ,q\"\"\n\"a\"\"b\"c\"d\",e,f\n"),
            CSVCase("bare carriage returns", "a,b\r1,2\r\r3,\"4\r5\"\n6,7\r\n8,9\r\r\n"),
            CSVCase("no final newline", "a,b\n1,\"2\""),
            CSVCase("bare carriage return after a multi-line field", "a,b\n\"x\ny\",1\r2,3\n\"p\r\nq\",4\r\r5,6"),
            CSVCase("multi-line header", "\"a\nb\",\"c\"\"\"\r\n1,2\r\n"),
            CSVCase("trailing delimiter", "a,b,c\n1,2,\n,,\n"),
            CSVCase("nul bytes", "a,b\nx\u{0}y,\"\u{0}\"\n"),
            CSVCase("ragged rows", "a,b,c\n1,2\n3,4,5\n6,7,8,9\n\"x\ny\",z\n10,11,12\n"),
            CSVCase("header only", "a,b,c\n"),
            CSVCase("empty file", ""),
            CSVCase("only blank lines", "\n\r\n\n"),
        ]
        try await checkAgainstPython(cases)
    }

    @Test func generatedFilesMatchPython() async throws {
        var cases: [CSVCase] = []
        let dialects: [(String, String)] = [(",", "\""), (";", "\""), ("\t", "\""), (",", "'"), ("|", "'")]
        for (i, (delimiter, quote)) in dialects.enumerated() {
            for variant in 0..<3 {
                var rng = SplitMix64(seed: UInt64(i * 10 + variant + 1))
                let columns = (0..<(10 + i)).map { "col\($0)" }
                let header: Bool
                let declared: [String]?
                switch variant {
                case 0: (header, declared) = (true, nil)
                case 1: (header, declared) = (false, columns)
                default: (header, declared) = (true, columns.map { $0.uppercased() })
                }
                let text = generateCSV(
                    rng: &rng, columns: columns, writeHeader: header, delimiter: delimiter, quote: quote, rows: 1500,
                    bom: variant == 2)
                cases.append(
                    CSVCase(
                        "generated \(i)/\(variant)", text, delimiter: delimiter, quote: quote, header: header,
                        columns: declared))
            }
        }
        // A small read buffer makes lines and quoted records straddle refills.
        let (records, rejects) = try await checkAgainstPython(cases, bufferSize: 4096)
        #expect(records > 20_000)
        #expect(rejects > 500)
    }

    @Test func randomByteSoupMatchesPython() async throws {
        // Short files from an alphabet of only the bytes that matter: every state meets every byte.
        let alphabet = [",", "\"", "\n", "\r", "\r\n", "a", "é", " "]
        var rng = SplitMix64(seed: 4180)
        var cases: [CSVCase] = []
        for i in 0..<300 {
            let text = (0..<Int.random(in: 0...60, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
                .joined()
            cases.append(CSVCase("soup \(i)", text, header: false, columns: ["c0", "c1", "c2"]))
        }
        let (records, rejects) = try await checkAgainstPython(cases)
        #expect(records > 50)
        #expect(rejects > 500)
    }

    // MARK: Rejects

    @Test func raggedRowsAreRejectedAndTheRunGoesOn() throws {
        let text = "a,b,c\n1,2,3\n4,5\n\n6,7,8,9\n\"x\ny\",z\n10,11,12\n"
        let rows = try withTemporaryFile(text) { path in try decodeFile(path, spec: spec()).rows }
        #expect(rows.count == 5)
        #expect(rows.map(\.line) == [2, 3, 5, 6, 8])
        #expect(rows.map(\.ordinal) == [0, 1, 2, 3, 4])
        #expect(rows.map(\.offset) == [6, 12, 17, 25, 33])
        #expect(rows[0].fields == bytes(["1", "2", "3"]))
        #expect(rows[1].reason == "expected 3 fields, found 2")
        #expect(rows[1].excerpt == Array("4,5".utf8))
        #expect(rows[2].reason == "expected 3 fields, found 4")
        #expect(rows[3].reason == "expected 3 fields, found 2")
        #expect(rows[3].excerpt == Array("\"x\ny\",z".utf8))
        #expect(rows[4].fields == bytes(["10", "11", "12"]))
    }

    @Test func unterminatedQuoteAtEndOfFileIsRejected() throws {
        let text = "a,b\n1,2\n3,\"open\r\nmore\n"
        let rows = try withTemporaryFile(text) { path in try decodeFile(path, spec: spec()).rows }
        #expect(rows.count == 2)
        #expect(rows[0].fields == bytes(["1", "2"]))
        #expect(rows[1].line == 3)
        #expect(rows[1].ordinal == 1)
        #expect(rows[1].reason?.contains("unterminated quoted field") == true)
        #expect(rows[1].reason?.contains("line 3") == true)
        #expect(rows[1].column == 2)
        #expect(rows[1].excerpt == Array("3,\"open\r\nmore".utf8))
    }

    @Test func overlongLinesAreRejected() throws {
        // 300 bytes fits the reader's buffer, 5000 does not: the limit holds either way.
        let long = String(repeating: "x", count: 300)
        let longer = String(repeating: "w", count: 5000)
        let text = "a,b\n1,2\n\(long),y\n3,4\n\"s\n\(long)\",z\n5,6\n\(longer)\n\"\(longer)\",7\n8,9"
        let rows = try withTemporaryFile(text) { path in
            try decodeFile(path, spec: spec(), bufferSize: 4096, maxLineBytes: 200).rows
        }
        #expect(rows.map(\.line) == [2, 3, 4, 5, 7, 8, 9, 10])
        #expect(rows.map(\.ordinal) == Array(0..<8))
        for i in [1, 3, 5, 6] {
            #expect(rows[i].reason == "line longer than 200 bytes")
            #expect(rows[i].excerpt.map { $0.count > 0 && $0.count <= 4096 } == true)
        }
        #expect(rows[3].excerpt.map { Array($0.prefix(3)) } == Array("\"s\n".utf8))
        #expect(rows[2].fields == bytes(["3", "4"]))
        #expect(rows[4].fields == bytes(["5", "6"]))
        #expect(rows[7].fields == bytes(["8", "9"]))
    }

    @Test func quotedRecordLongerThanTheLimitIsRejected() throws {
        let part = String(repeating: "y", count: 150)
        let text = "a,b\n\"\(part)\n\(part)\",z\n1,2\n"
        let rows = try withTemporaryFile(text) { path in
            try decodeFile(path, spec: spec(), bufferSize: 4096, maxLineBytes: 200).rows
        }
        #expect(rows.map(\.line) == [2, 4])
        #expect(rows[0].reason?.hasPrefix("record longer than 200 bytes") == true)
        #expect(rows[1].fields == bytes(["1", "2"]))
    }

    @Test func excerptsAreBounded() throws {
        let wide = (0..<3000).map { _ in "\"abc\"" }.joined(separator: ",")
        let text = "a,b\n\(wide)\n1,2\n"
        let rows = try withTemporaryFile(text) { path in try decodeFile(path, spec: spec()).rows }
        #expect(rows[0].reason == "expected 2 fields, found 3000")
        #expect(rows[0].excerpt?.count == 4096)
        #expect(rows[1].fields == bytes(["1", "2"]))
    }

    // MARK: Header

    @Test func duplicateHeaderNamesAreAnError() throws {
        try withTemporaryFile("id,name,id\n1,2,3\n") { path in
            do {
                _ = try decodeFile(path, spec: spec())
                Issue.record("a duplicate column was accepted")
            } catch let error as ReadError {
                #expect(error.message.contains("\"id\""))
                #expect(error.message.contains("twice"))
            }
        }
    }

    @Test func canonicallyEquivalentNamesAreDistinct() throws {
        let (names, rows) = try withTemporaryFile("\u{E9},e\u{301}\n1,2\n") { path in try decodeFile(path, spec: spec())
        }
        #expect(names.map { Array($0.utf8) } == [[0xC3, 0xA9], [0x65, 0xCC, 0x81]])
        #expect(rows.count == 1)
    }

    @Test func headerWithWrongColumnCountIsAnError() throws {
        try withTemporaryFile("x,y\n1,2\n") { path in
            let error = #expect(throws: ReadError.self) {
                _ = try decodeFile(path, spec: spec(header: true, columns: ["a", "b", "c"]))
            }
            #expect(error?.message.contains("2 columns") == true)
        }
    }

    @Test func emptyFileWithHeaderHasNoRecords() throws {
        let (names, rows) = try withTemporaryFile("") { path in try decodeFile(path, spec: spec()) }
        #expect(names.isEmpty)
        #expect(rows.isEmpty)
    }

    @Test func viewsUseColumnIndexesAndText() throws {
        try withTemporaryFile("k,v\n\"a\"\"b\",c\n") { path in
            let reader = LineReader(source: try ByteSources.open(path: path, compression: .none))
            let decoder = try CSVDecoder(reader: reader, spec: spec(), fileIndex: 7)
            guard case .record(let view)? = try decoder.next() else {
                Issue.record("no record")
                return
            }
            #expect(view.fields.map(\.nameIndex) == [0, 1])
            #expect(view.fields.allSatisfy { $0.kind == .text })
            #expect(view.fields.map { Array(view.nameBytes($0)) } == bytes(["k", "v"]))
            #expect(view.fields.map { Array(view.value($0)) } == bytes(["a\"b", "c"]))
            #expect(view.provenance == Provenance(fileIndex: 7, line: 2, offset: 4, ordinal: 0))
            #expect(try decoder.next() == nil)
            #expect(decoder.decodedOffset == 13)
        }
    }

    // MARK: Compression

    @Test func gzippedFileDecodesLikeThePlainOne() async throws {
        var rng = SplitMix64(seed: 99)
        let text = generateCSV(
            rng: &rng, columns: ["a", "b", "c", "d"], writeHeader: true, delimiter: ",", quote: "\"", rows: 3000,
            bom: false)
        let dir = try TemporaryDirectory()
        let plain = dir.path("data.csv")
        let gzipped = dir.path("data.csv.gz")
        try Data(text.utf8).write(to: URL(fileURLWithPath: plain))
        try await runPython(
            "import gzip, sys; open(sys.argv[2], 'wb').write(gzip.compress(open(sys.argv[1], 'rb').read()))",
            [plain, gzipped], in: dir)
        let expected = try decodeFile(plain, spec: spec())
        let actual = try decodeFile(gzipped, spec: spec(), compression: .auto)
        #expect(actual.names == expected.names)
        #expect(actual.rows == expected.rows)
        #expect(actual.rows.count > 2900)
    }
}

// MARK: - The oracle

/// One CSV file to decode with both logship and Python.
struct CSVCase: Sendable {
    var name: String
    var text: String
    var delimiter: String
    var quote: String
    var header: Bool
    var columns: [String]?

    init(
        _ name: String, _ text: String, delimiter: String = ",", quote: String = "\"", header: Bool = true,
        columns: [String]? = nil
    ) {
        self.name = name
        self.text = text
        self.delimiter = delimiter
        self.quote = quote
        self.header = header
        self.columns = columns
    }
}

private struct OracleJob: Encodable {
    var path: String
    var delimiter: String
    var quote: String
}

private struct OracleRow: Decodable {
    var line: Int
    var offset: Int64
    var fields: [String]
}

// Python's csv.reader over the file opened as the dialect comment in CSVDecoder.swift says.
// Line numbers count `\n` only and offsets are UTF-8 bytes, as logship reports them; Python's
// own line_num also counts bare `\r`.
private let oracleScript = """
    import csv, json, sys
    csv.field_size_limit(sys.maxsize)
    results = []
    for job in json.load(open(sys.argv[1])):
        bom = 3 if open(job["path"], "rb").read(3) == b"\\xef\\xbb\\xbf" else 0
        starts = []
        def lines(f):
            nl, pos = 0, bom
            for line in f:
                starts.append((nl, pos))
                nl += line.count("\\n")
                pos += len(line.encode("utf-8"))
                yield line
        rows = []
        with open(job["path"], newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(lines(f), delimiter=job["delimiter"], quotechar=job["quote"])
            before = 0
            for row in reader:
                first, before = before, reader.line_num
                if row:
                    nl, pos = starts[first]
                    rows.append({"line": nl + 1, "offset": pos, "fields": row})
        results.append(rows)
    json.dump(results, open(sys.argv[2], "w"))
    """

/// Returns how many records and rejects were compared.
@discardableResult
private func checkAgainstPython(_ cases: [CSVCase], bufferSize: Int = 1 << 20) async throws -> (
    records: Int, rejects: Int
) {
    var records = 0
    var rejects = 0
    let dir = try TemporaryDirectory()
    var jobs: [OracleJob] = []
    for (i, c) in cases.enumerated() {
        let path = dir.path("case\(i).csv")
        try Data(c.text.utf8).write(to: URL(fileURLWithPath: path))
        jobs.append(OracleJob(path: path, delimiter: c.delimiter, quote: c.quote))
    }
    let jobsPath = dir.path("jobs.json")
    let outPath = dir.path("expected.json")
    try JSONEncoder().encode(jobs).write(to: URL(fileURLWithPath: jobsPath))
    try await runPython(oracleScript, [jobsPath, outPath], in: dir)
    let expected = try JSONDecoder().decode([[OracleRow]].self, from: Data(contentsOf: URL(fileURLWithPath: outPath)))
    try #require(expected.count == cases.count)

    for (i, c) in cases.enumerated() {
        var pythonRows = expected[i][...]
        let csvSpec = spec(delimiter: c.delimiter, quote: c.quote, header: c.header, columns: c.columns)
        var pythonHeader: [String]? = nil
        if c.header, !pythonRows.isEmpty { pythonHeader = pythonRows.removeFirst().fields }
        let (names, rows) = try decodeFile(jobs[i].path, spec: csvSpec, bufferSize: bufferSize)
        let width = c.columns?.count ?? pythonHeader?.count ?? 0
        // Compared as bytes: String equality would accept a differently normalized name.
        #expect(bytes(names) == bytes(c.columns ?? pythonHeader ?? []), "\(c.name): names")
        #expect(rows.count == pythonRows.count, "\(c.name): record count")
        for (n, (got, want)) in zip(rows, pythonRows).enumerated() {
            let at = "\(c.name), record \(n) (line \(want.line))"
            #expect(got.line == want.line, "\(at): line")
            #expect(got.offset == want.offset, "\(at): offset")
            #expect(got.ordinal == Int64(n), "\(at): ordinal")
            if got.reason?.hasPrefix("unterminated quoted field") == true {
                // Python returns what it read of a record cut short by the end of the file.
                #expect(n == pythonRows.count - 1, "\(at): an unterminated field before the last record")
            } else if want.fields.count == width {
                records += 1
                #expect(got.fields == want.fields.map { Array($0.utf8) }, "\(at): fields")
            } else {
                rejects += 1
                #expect(got.reason == "expected \(width) fields, found \(want.fields.count)", "\(at): reject reason")
            }
        }
    }
    return (records, rejects)
}

/// Runs `python3 -c script args…`; fails if it exits non-zero and kills it after 60 seconds.
private func runPython(_ script: String, _ arguments: [String], in dir: TemporaryDirectory) async throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let stderrPath = dir.path("python-stderr-\(UUID().uuidString).txt")
    _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
    let stderr = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
    defer { try? stderr.close() }
    process.standardError = stderr
    process.standardOutput = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice

    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        let watchdog = Watchdog()
        process.terminationHandler = { p in
            watchdog.cancel()
            continuation.resume(returning: p.terminationStatus)
        }
        do {
            try process.run()
        } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
            return
        }
        watchdog.arm(pid: process.processIdentifier, seconds: 60)
    }
    let message = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
    #expect(status == 0, "python3 failed (status \(status)): \(message)")
    if status != 0 { throw PythonFailed() }
}

private struct PythonFailed: Error {}

/// Kills a child process that outlives its time limit; disarmed when the process ends.
private final class Watchdog: @unchecked Sendable {
    // `lock` guards `done` and `item`: arm and cancel run on different threads.
    private let lock = NSLock()
    private var done = false
    private var item: DispatchWorkItem?

    func arm(pid: Int32, seconds: Double) {
        lock.lock()
        defer { lock.unlock() }
        guard !done else { return }
        let work = DispatchWorkItem { [self] in
            lock.lock()
            defer { lock.unlock() }
            if !done { kill(pid, SIGKILL) }
        }
        item = work
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: work)
    }

    func cancel() {
        lock.lock()
        defer { lock.unlock() }
        done = true
        item?.cancel()
    }
}

// MARK: - Decoding helpers

struct DecodedRow: Equatable {
    var line: Int
    var offset: Int64
    var ordinal: Int64
    var fields: [[UInt8]]?
    var reason: String?
    var column: Int?
    var excerpt: [UInt8]?
}

private func spec(delimiter: String = ",", quote: String = "\"", header: Bool = true, columns: [String]? = nil)
    -> CSVSpec
{
    var s = CSVSpec()
    s.delimiter = delimiter.utf8.first!
    s.quote = quote.utf8.first!
    s.header = header
    s.columns = columns
    return s
}

private func decodeFile(
    _ path: String, spec: CSVSpec, bufferSize: Int = 1 << 20, maxLineBytes: Int = 32 << 20,
    compression: Compression = .none
) throws -> (names: [String], rows: [DecodedRow]) {
    let source = try ByteSources.open(path: path, compression: compression)
    let reader = LineReader(source: source, bufferSize: bufferSize, maxLineBytes: maxLineBytes)
    let decoder = try CSVDecoder(reader: reader, spec: spec, fileIndex: 0)
    var rows: [DecodedRow] = []
    while let result = try decoder.next() {
        switch result {
        case .record(let view):
            let p = view.provenance
            let fields = view.fields.map { Array(view.value($0)) }
            rows.append(DecodedRow(line: p.line, offset: p.offset, ordinal: p.ordinal, fields: fields))
        case .rejected(let p, let error, let excerpt):
            rows.append(
                DecodedRow(
                    line: p.line, offset: p.offset, ordinal: p.ordinal, reason: error.reason, column: error.column,
                    excerpt: excerpt))
        }
    }
    return (decoder.names.strings, rows)
}

private func bytes(_ strings: [String]) -> [[UInt8]] { strings.map { Array($0.utf8) } }

private func withTemporaryFile<T>(_ text: String, _ body: (String) throws -> T) throws -> T {
    let dir = try TemporaryDirectory()
    let path = dir.path("input.csv")
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return try body(path)
}

/// A fresh directory under the system temporary directory, removed when released.
private final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("csvdecoder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

// MARK: - Generated input

/// CSV with every awkward thing a writer or a hand can put in a file: quoting needed and not,
/// doubled quotes, line ends inside quotes, stray quotes, bytes after a closing quote, blank
/// lines, mixed line ends, ragged rows, multi-byte characters. Quotes are always closed, so
/// Python never has to guess at the end of the file.
private func generateCSV(
    rng: inout SplitMix64, columns: [String], writeHeader: Bool, delimiter: String, quote: String, rows: Int, bom: Bool
) -> String {
    let atoms = [
        "plain", "", " ", "two words", delimiter, quote, "\n", "\r\n", "\r", "é", "日本語", "🚀", "e\u{301}", "\t", "x",
        "12345", "-3.5", "2024-01-02T03:04:05Z", "\u{0}", ",", ";", "'", "\"", "|",
    ]
    func value() -> String {
        (0..<Int.random(in: 0...3, using: &rng)).map { _ in atoms.randomElement(using: &rng)! }.joined()
    }
    func encode(_ v: String) -> String {
        let special = v.contains(delimiter) || v.contains(quote) || v.contains("\n") || v.contains("\r")
        let roll = Int.random(in: 0..<100, using: &rng)
        if roll < 4, !v.contains(quote), !special, !v.isEmpty {
            // A stray quote inside an unquoted field.
            let cut = v.index(v.startIndex, offsetBy: Int.random(in: 1...v.count, using: &rng))
            return String(v[..<cut]) + quote + String(v[cut...])
        }
        if special || roll < 25 {
            var quoted = quote + v.replacingOccurrences(of: quote, with: quote + quote) + quote
            // Bytes after the closing quote; never a quote (that would double it) or a line end.
            if roll >= 20 && roll < 22 { quoted += ["x", " ", "é"].randomElement(using: &rng)! }
            return quoted
        }
        return v
    }
    var out = bom ? "\u{FEFF}" : ""
    func lineEnd() -> String { Int.random(in: 0..<4, using: &rng) == 0 ? "\r\n" : "\n" }
    if writeHeader { out += columns.map(encode).joined(separator: delimiter) + lineEnd() }
    for r in 0..<rows {
        if Int.random(in: 0..<40, using: &rng) == 0 { out += lineEnd() }
        var width = columns.count
        switch Int.random(in: 0..<50, using: &rng) {
        case 0: width -= 1
        case 1: width += 1
        default: break
        }
        out += (0..<width).map { _ in encode(value()) }.joined(separator: delimiter)
        if r < rows - 1 || Bool.random(using: &rng) { out += lineEnd() }
    }
    return out
}
