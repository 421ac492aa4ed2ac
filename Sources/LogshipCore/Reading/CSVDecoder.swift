// The dialect is RFC 4180, checked record for record against Python's `csv.reader` with its
// default dialect (doublequote, no escape character, strict=False), reading the file with
// `newline=''` and `encoding='utf-8-sig'`:
//
// - A field is quoted only when the quote is its first byte. Inside, a doubled quote is one
//   quote, and delimiters and line ends are data. A line end inside a quoted field is kept as
//   it was written: `\n`, or `\r\n` (the line reader strips the `\r`; the gap between line
//   offsets tells whether there was one).
// - A quote inside an unquoted field is an ordinary byte (`a"b` is `a"b`), and bytes after a
//   closing quote are appended up to the next delimiter (`"ab"c` is `abc`), as Python does
//   without strict mode; rejecting them would refuse files every other tool reads.
// - A record ends at `\n`, `\r\n`, or a bare `\r` outside quotes (Python splits lines on a bare
//   `\r` too). Records after a bare `\r` carry the line number of the `\n`-terminated line.
// - Blank lines are skipped (they still count as lines); so are blank lines before the header.
// - A UTF-8 byte order mark at the very start of the file is dropped.
//
// Where logship differs on purpose: a row whose field count differs from the header is
// rejected (Python's DictReader pads or collects the extras); a quoted field still open at the
// end of the file is rejected (Python returns what it read); a record longer than the line
// limit is rejected; and a header that is not valid UTF-8 has its bad bytes replaced (U+FFFD).

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Decodes RFC 4180 CSV from a line reader into record views, one record per `next()`.
public final class CSVDecoder: RecordDecoder {
    /// Column names: the file's header, or `spec.columns` when given. A constant: each record's
    /// view points at it, and reading a `let` costs no reference counting per record.
    public let names: NameTable
    public var decodedOffset: Int64 { scanner.reader.decodedOffset }
    public private(set) var heldBackAt: Int64?

    private let fileIndex: Int
    // The byte-level state is a value so that the per-record work pays for one exclusivity
    // check on `scanner`, not one for every class property it touches.
    private var scanner: CSVScanner
    private var ordinal: Int64 = 0
    /// Per column, the unquoted values that mean "no value" (`nullValues`); empty when none has any.
    private let nullTokens: [[[UInt8]]]

    /// Reads the header line first when `spec.header` is true (with `spec.columns` also given, the
    /// file's header is skipped after checking it has as many columns).
    public init(reader: LineReader, spec: CSVSpec, fileIndex: Int) throws(ReadError) {
        self.fileIndex = fileIndex
        var scanner = CSVScanner(reader: reader, delimiter: spec.delimiter, quote: spec.quote)
        var failed: ReadError?
        var table = NameTable([])
        do throws(ReadError) {
            if let columns = spec.columns, let twice = Self.firstDuplicate(columns) {
                throw ReadError(message: "source.csv.columns names the column \"\(twice)\" twice", offset: 0)
            }
            let header = spec.header ? try scanner.readHeader() : nil
            let line = scanner.recordLine
            let offset = scanner.recordOffset
            if let columns = spec.columns {
                if let header, header.count != columns.count {
                    throw ReadError(
                        message:
                            "the CSV header on line \(line) has \(header.count) columns but source.csv.columns "
                            + "names \(columns.count)",
                        offset: offset)
                }
                table = NameTable(columns)
            } else if let header {
                if let twice = Self.firstDuplicate(header) {
                    throw ReadError(
                        message:
                            "the CSV header on line \(line) names the column \"\(twice)\" twice; column names "
                            + "must be unique",
                        offset: offset)
                }
                table = NameTable(header)
            } else if !spec.header {
                throw ReadError(
                    message: "with header: false, the CSV columns must be named (source.csv.columns)", offset: 0)
            }
            scanner.fixWidth(table.count)
        } catch {
            failed = error
        }
        self.names = table
        self.scanner = scanner
        var tokens: [[[UInt8]]] = []
        if !spec.nullValues.isEmpty || !spec.columnNullValues.isEmpty {
            tokens = table.strings.map { name in
                (spec.nullValues + (spec.columnNullValues[name] ?? [])).map { Array($0.utf8) }
            }
        }
        self.nullTokens = tokens
        if let failed { throw failed }
    }

    deinit { scanner.deallocate() }

    public func next() throws(ReadError) -> DecodeResult? {
        if heldBackAt != nil { return nil }
        guard let outcome = try scanner.readRecord() else {
            if scanner.reader.heldBack { heldBackAt = scanner.reader.decodedOffset }
            return nil
        }
        if outcome == .unterminated && (scanner.reader.heldBack || scanner.reader.stillBeingWritten?() == true) {
            // A quoted field open at a last line that has not ended yet: the record is still
            // being written. It is left, from its first line, for the next run.
            heldBackAt = scanner.recordOffset
            return nil
        }
        let provenance = Provenance(
            fileIndex: fileIndex, line: scanner.recordLine, offset: scanner.recordOffset, ordinal: ordinal)
        ordinal += 1
        let count = scanner.fieldCount
        guard outcome == .complete, count == names.count else {
            return .rejected(provenance, scanner.error(for: outcome), excerpt: scanner.excerpt(for: outcome))
        }
        // The view points at the scanner's own slots: valid until the next call, as views are.
        if !nullTokens.isEmpty { markNulls(count) }
        let slots = UnsafeBufferPointer(start: scanner.slots, count: count)
        return .record(RecordView(base: scanner.recordBytes, names: names, fields: slots, provenance: provenance))
    }

    /// Turns unquoted values that are null tokens into nulls (absent from the record). A quoted
    /// value keeps its text, as in PostgreSQL's CSV: `,,` is NULL and `,"",` an empty string.
    private func markNulls(_ count: Int) {
        let bytes = scanner.recordBytes
        for c in 0..<count {
            let tokens = nullTokens[c]
            if tokens.isEmpty { continue }
            let f = scanner.slots[c]
            let start = Int(f.valueStart), n = Int(f.valueCount)
            // A quoted field's value starts right after its opening quote, which unescaping in
            // place never overwrites (values only shrink towards their start); an unquoted one
            // starts after a delimiter, a line end or at the record's start.
            if start > 0 && bytes[start - 1] == scanner.quote { continue }
            for t in tokens where t.count == n {
                if n == 0 || t.withUnsafeBytes({ memcmp($0.baseAddress!, bytes.baseAddress! + start, n) == 0 }) {
                    scanner.slots[c].kind = .null
                    break
                }
            }
        }
    }

    // By bytes: String equality is canonical equivalence, which would call "é" and "e\u{301}" equal.
    private static func firstDuplicate(_ names: [String]) -> String? {
        var seen = Set<[UInt8]>()
        for n in names where !seen.insert(Array(n.utf8)).inserted { return n }
        return nil
    }
}
