import Foundation
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

/// Deterministic NDJSON with everything awkward: nested objects and arrays, nulls, `\u`
/// escapes (surrogate pairs too), raw UTF-8, numbers in every form, blank lines, and
/// invalid lines between valid ones.
func awkwardNDJSON(lines: Int, seed: UInt64) -> String {
    var rng = SplitMix64(seed: seed)
    func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
    let strings = [
        "plain", "with \\\"quotes\\\"", "back\\\\slash", "tab\\tnew\\nline", "\\u00e9t\\u00e9", "\\ud83d\\ude80 rocket",
        "Köln", "東京", "emoji 🚀", "\\u0000nul", "slash\\/", "", "\\u2028sep",
    ]
    let numbers = ["0", "-0", "1", "-17", "3.25", "1e3", "-2.5E-7", "123456789012345678", "0.000001"]
    let invalid = [
        "{\"a\":1,}", "{\"a\":01}", "{'a':1}", "{\"a\":\"\\x\"}", "[1,2]", "{\"a\":NaN}", "{\"a\":tru}", "{\"a\":1} x",
        "{\"a\":\"unterminated}", "{\"a\" 1}", "\"just a string\"", "{\"a\":\"\u{01}\"}",
    ]
    var out: [String] = []
    for i in 0..<lines {
        let r = rng.next() % 100
        if r < 3 {
            out.append("")
            continue
        }
        if r < 9 {
            out.append(pick(invalid))
            continue
        }
        var members = ["\"seq\":\(i)"]
        for k in 0..<Int(rng.next() % 6) {
            let key = "k\(k)_\(pick(["a", "b", "c"]))"
            switch rng.next() % 6 {
            case 0: members.append("\"\(key)\":\"\(pick(strings))\"")
            case 1: members.append("\"\(key)\":\(pick(numbers))")
            case 2: members.append("\"\(key)\":null")
            case 3: members.append("\"\(key)\":\(pick(["true", "false"]))")
            case 4:
                members.append("\"\(key)\":{\"n\":[\(pick(numbers)),{\"s\":\"\(pick(strings))\"},null,[]],\"e\":{}}")
            default: members.append("\"\(key)\":[\"\(pick(strings))\",\(pick(numbers))]")
            }
        }
        out.append((rng.next() % 4 == 0 ? "  " : "") + "{" + members.joined(separator: pick([",", ", "])) + "}")
    }
    return out.joined(separator: "\n") + "\n"
}

/// Decodes and transforms every record of `file` with `pipeline` settings; returns the output
/// objects as NDJSON text and the 1-based line numbers of rejected records.
func decodeAll(_ dir: TempDir, _ file: String, pipelineExtra: String = "") throws -> (String, [Int]) {
    let p = dir.write(
        "p-\(UUID().uuidString.prefix(6)).json5",
        """
        { version: 1, source: { files: ["\(file)"], format: "ndjson" }, \(pipelineExtra) target: { logType: "T" } }
        """)
    let spec = try #require(PipelineLoader(environment: [:]).load(p).spec)
    let f = FileDiscovery.expand(spec.source.files, relativeTo: spec.baseDirectory).files[0]
    let (decoder, names) = try DecoderFactory.open(f, spec: spec.source)
    let t = Transformer(spec: spec)
    t.beginFile(fileKey: 7, names: names)
    let out = ByteBuffer()
    var rejected: [Int] = []
    while true {
        let d: DecodeResult?
        do { d = try decoder.next() } catch { throw error }
        guard let d else { break }
        switch d {
        case .record(let v):
            if let e = t.transform(v, to: out) {
                Issue.record("transform refused line \(v.provenance.line): \(e.reason)")
            }
            out.append(0x0A)
        case .rejected(let p, _, _):
            rejected.append(p.line)
        }
    }
    return (String(decoding: out.bytes, as: UTF8.self), rejected)
}

/// Python's json module as the oracle: the objects per line (strict: no NaN), and the lines it refuses.
let ndjsonOracleScript = #"""
    import json, sys
    def strict(c): raise ValueError(c)
    ours = open(sys.argv[2], encoding="utf-8").read().split("\n")[:-1]
    expected, bad = [], []
    with open(sys.argv[1], "rb") as f:
        for n, raw in enumerate(f, 1):
            line = raw.decode("utf-8", "surrogateescape").strip(" \t\r\n")
            if not line:
                continue
            try:
                o = json.loads(line, parse_constant=strict)
                if not isinstance(o, dict):
                    raise ValueError("not an object")
                expected.append(o)
            except ValueError:
                bad.append(n)
    mine = [json.loads(l) for l in ours]
    drop = sys.argv[3].split(",") if len(sys.argv) > 3 and sys.argv[3] else []
    for o in mine:
        for k in drop:
            o.pop(k, None)
    if drop:
        # The transformer leaves nulls out when it re-serialises records (the service drops them).
        def nonull(v):
            if isinstance(v, dict): return {k: nonull(x) for k, x in v.items() if x is not None}
            return v
        expected = [{k: x for k, x in o.items() if x is not None} for o in expected]
    print(json.dumps({"bad": bad, "match": mine == expected, "n": len(mine), "m": len(expected),
                      "first": next((i for i, (a, b) in enumerate(zip(mine, expected)) if a != b), None)}))
    """#

@Suite struct NDJSONOracleTests {
    @Test(arguments: [(1, ""), (2, "fields: { recordId: \"LogshipRid\" },")])
    func agreesWithPythonRecordForRecord(seed: UInt64, extra: String) throws {
        let dir = TempDir("ndjson-oracle")
        defer { dir.cleanup() }
        let input = dir.write("in.ndjson", awkwardNDJSON(lines: 3000, seed: seed))
        let (ours, rejected) = try decodeAll(dir, "in.ndjson", pipelineExtra: extra)
        let outFile = dir.write("ours.ndjson", ours)
        let r = try python(ndjsonOracleScript, [input.path, outFile.path, extra.isEmpty ? "" : "LogshipRid"])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(
            o["match"] as? Bool == true,
            "first difference at record \(o["first"] ?? "?"); ours \(o["n"] ?? "?") vs \(o["m"] ?? "?")")
        #expect(o["bad"] as? [Int] == rejected, "the same lines are refused")
        #expect(rejected.count > 50)
    }

    /// String values of every length around sixteen bytes (the decoder looks at sixteen at once),
    /// with one awkward byte at every position: an escape, raw UTF-8, a raw control character
    /// (refused), or nothing; and each line cut short at every place near its end.
    @Test func shortStringsAtEveryLengthAndPosition() throws {
        let dir = TempDir("ndjson-short")
        defer { dir.cleanup() }
        var lines: [String] = []
        let awkward = ["\\n", "\\\"", "é", "\u{09}", "\\u00e9", "🚀", ""]
        for length in 0...20 {
            for at in 0...length {
                for a in awkward {
                    let plain = String(repeating: "x", count: length)
                    let v = String(plain.prefix(at)) + a + String(plain.dropFirst(at))
                    lines.append("{\"v\":\"\(v)\",\"n\":\(length)}")
                }
            }
        }
        // Lines ending right after a short value, so that a sixteen-byte look would pass the end.
        for length in 0...18 { lines.append("{\"v\":\"" + String(repeating: "y", count: length) + "\"}") }
        let input = dir.write("in.ndjson", lines.joined(separator: "\n"))  // no newline after the last
        let (ours, rejected) = try decodeAll(dir, "in.ndjson")
        let outFile = dir.write("ours.ndjson", ours)
        let r = try python(ndjsonOracleScript, [input.path, outFile.path, ""])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(
            o["match"] as? Bool == true,
            "first difference at record \(o["first"] ?? "?"); ours \(o["n"] ?? "?") vs \(o["m"] ?? "?")")
        #expect(o["bad"] as? [Int] == rejected, "the same lines are refused")
        #expect(rejected.count == (0...20).reduce(0) { $0 + $1 + 1 }, "one raw tab per length and position")
    }

    @Test func invalidUTF8IsReplacedOrRejected() throws {
        let dir = TempDir("ndjson-utf8")
        defer { dir.cleanup() }
        var bytes = Array("{\"a\":\"ok\"}\n{\"a\":\"x".utf8)
        bytes += [0xFF, 0xC3]
        bytes += Array("y\"}\n{\"b\":1}\n".utf8)
        try Data(bytes).write(to: dir.file("in.ndjson"))
        let (replaced, r1) = try decodeAll(dir, "in.ndjson")
        #expect(r1.isEmpty)
        #expect(replaced.split(separator: "\n")[1] == "{\"a\":\"x\u{FFFD}\u{FFFD}y\"}")
        let (_, r2) = try decodeAll(dir, "in.ndjson", pipelineExtra: "")  // default is replace
        #expect(r2.isEmpty)
        let p = dir.write(
            "reject.json5",
            "{ version: 1, source: { files: [\"in.ndjson\"], format: \"ndjson\", invalidUTF8: \"reject\" }, target: { logType: \"T\" } }"
        )
        let spec = try #require(PipelineLoader(environment: [:]).load(p).spec)
        let (d, _) = try DecoderFactory.open(
            FileDiscovery.expand(spec.source.files, relativeTo: spec.baseDirectory).files[0], spec: spec.source)
        var kinds: [String] = []
        while let x = try d.next() {
            if case .rejected(let pr, let e, _) = x {
                kinds.append("\(pr.line): \(e.reason)")
            } else {
                kinds.append("ok")
            }
        }
        #expect(kinds.count == 3 && kinds[0] == "ok" && kinds[2] == "ok")
        #expect(kinds[1].hasPrefix("2: ") && kinds[1].contains("UTF-8"))
    }
}

@Suite struct GzipSourceTests {
    /// - Parameter ahead: inflate on a thread of its own (`ReadAheadByteSource`, as runs do),
    ///   with small buffers so that members and lines straddle hand-overs.
    func readAll(_ path: String, ahead: Bool = false) throws -> (Data, ReadError?) {
        let opened = try ByteSources.open(path: path, compression: .auto)
        let src: ByteSource =
            ahead && opened is GzipByteSource ? ReadAheadByteSource(opened, bufferSize: 5003, buffers: 2) : opened
        var out = Data()
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 7919, alignment: 1)  // odd size on purpose
        defer { buf.deallocate() }
        do {
            while true {
                let n = try src.read(into: buf)
                if n == 0 { break }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[0..<n]))
            }
        } catch {
            return (out, error)
        }
        return (out, nil)
    }

    /// A folder holding `text` as p.ndjson and the gzip files `script` writes from it (Python,
    /// the plain file's path as its argument); returns the script's output.
    func gzipFiles(_ dir: TempDir, _ text: String, _ script: String) throws -> String {
        let plain = dir.write("p.ndjson", text)
        let r = try python(script, [plain.path])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(arguments: [false, true]) func singleAndMultiMemberEqualThePlainText(ahead: Bool) throws {
        let dir = TempDir("gzip")
        defer { dir.cleanup() }
        let text = awkwardNDJSON(lines: 4000, seed: 9)
        let out = try gzipFiles(
            dir, text,
            """
            import gzip, sys
            data = open(sys.argv[1], 'rb').read()
            open(sys.argv[1] + '.gz', 'wb').write(gzip.compress(data))
            parts = [data[i:i + 20000] for i in range(0, len(data), 20000)]
            open(sys.argv[1] + '.multi.gz', 'wb').write(b''.join(gzip.compress(p) for p in parts))
            # Empty members first, between and last (what `cat` of an empty rotated file makes).
            empty = gzip.compress(b'')
            members = [empty] + [x for p in parts for x in (gzip.compress(p), empty)]
            open(sys.argv[1] + '.empty.gz', 'wb').write(b''.join(members))
            open(sys.argv[1] + '.nothing.gz', 'wb').write(empty + empty)
            print(len(parts))
            """)
        #expect((Int(out) ?? 0) > 3)
        let (nothing, nothingErr) = try readAll(dir.file("p.ndjson.nothing.gz").path, ahead: ahead)
        #expect(nothingErr == nil && nothing.isEmpty, "only empty members: no bytes, no error")
        for name in ["p.ndjson.gz", "p.ndjson.multi.gz", "p.ndjson.empty.gz"] {
            let (data, err) = try readAll(dir.file(name).path, ahead: ahead)
            #expect(err == nil)
            #expect(data == Data(text.utf8), "\(name) decodes to the plain text")
        }
        let (plainData, _) = try readAll(dir.file("p.ndjson").path, ahead: ahead)
        #expect(plainData == Data(text.utf8), "auto-detection leaves plain text alone")
    }

    /// gzip as other tools write it: a file name and time (`gzip FILE`), a comment and the
    /// header's CRC-16, BGZF's extra field and empty end-of-file member (`bgzip`, samtools),
    /// sync and full flushes between pieces (`pigz`, zlib's Z_SYNC_FLUSH, which leaves empty
    /// stored blocks), stored blocks only (level 0), and zeros after the last member.
    @Test(arguments: [false, true]) func headersAndFlushesAsOtherToolsWriteThem(ahead: Bool) throws {
        let dir = TempDir("gzip-tools")
        defer { dir.cleanup() }
        let text = awkwardNDJSON(lines: 3000, seed: 21)
        let out = try gzipFiles(
            dir, text,
            """
            import gzip, struct, sys, zlib
            data = open(sys.argv[1], 'rb').read()
            def member(body, flags=0, extra=b'', name=b'', comment=b'', level=6, flushes=()):
                head = b'\\x1f\\x8b\\x08' + bytes([flags]) + struct.pack('<I', 1764547200) + b'\\x00\\x03'
                if flags & 4: head += struct.pack('<H', len(extra)) + extra
                if flags & 8: head += name + b'\\x00'
                if flags & 16: head += comment + b'\\x00'
                if flags & 2: head += struct.pack('<H', zlib.crc32(head) & 0xFFFF)
                c = zlib.compressobj(level, zlib.DEFLATED, -15)
                out, at = b'', 0
                for cut, mode in flushes:
                    out += c.compress(body[at:cut]) + c.flush(mode)
                    at = cut
                out += c.compress(body[at:]) + c.flush()
                return head + out + struct.pack('<II', zlib.crc32(body), len(body) & 0xFFFFFFFF)
            files = {}
            files['named'] = member(data, flags=8, name=b'access.log')
            files['commented'] = member(data, flags=8 | 16 | 2, name=b'a.log', comment=b'rotated by logrotate')
            # BGZF: blocks of at most 64 KiB, each a member with a 'BC' extra field holding its
            # size less one, then the 28-byte empty member that marks the end.
            bgzf = b''
            for i in range(0, len(data), 65280):
                m = member(data[i:i + 65280], flags=4, extra=b'BC\\x02\\x00\\x00\\x00')
                m = m[:16] + struct.pack('<H', len(m) - 1) + m[18:]
                bgzf += m
            eof = member(b'', flags=4, extra=b'BC\\x02\\x00\\x1b\\x00')
            files['bgzf'] = bgzf + eof
            cuts = [(i, zlib.Z_SYNC_FLUSH if (i // 7000) % 3 else zlib.Z_FULL_FLUSH) for i in range(7000, len(data), 7000)]
            files['flushed'] = member(data, flushes=cuts)
            files['stored'] = member(data, level=0)
            files['padded'] = gzip.compress(data) + b'\\x00' * 512
            for k, v in files.items():
                open(sys.argv[1] + '.' + k + '.gz', 'wb').write(v)
            print(len(files))
            """)
        #expect(out == "6")
        for name in ["named", "commented", "bgzf", "flushed", "stored", "padded"] {
            let (data, err) = try readAll(dir.file("p.ndjson.\(name).gz").path, ahead: ahead)
            #expect(err == nil, "\(name): \(String(describing: err))")
            #expect(data == Data(text.utf8), "\(name) decodes to the plain text")
        }
    }

    /// Bytes after the last member that are not gzip, long or short: every record is read,
    /// and the error says what the bytes are rather than calling the stream truncated.
    @Test func bytesAfterTheLastMemberAreNamedAsSuch() throws {
        let dir = TempDir("gzip-trailing")
        defer { dir.cleanup() }
        let text = awkwardNDJSON(lines: 500, seed: 5)
        _ = try gzipFiles(
            dir, text,
            """
            import gzip, sys
            data = gzip.compress(open(sys.argv[1], 'rb').read())
            open(sys.argv[1] + '.long.gz', 'wb').write(data + b'this is not gzip at all\\n')
            open(sys.argv[1] + '.short.gz', 'wb').write(data + data + b'x')
            """)
        for (name, copies) in [("long", 1), ("short", 2)] {
            for ahead in [false, true] {
                let (data, err) = try readAll(dir.file("p.ndjson.\(name).gz").path, ahead: ahead)
                #expect(data == Data(String(repeating: text, count: copies).utf8), "\(name): every record is read")
                let e = try #require(err, "\(name): the trailing bytes are reported")
                #expect(
                    e.message.contains("are not gzip") && e.message.contains("\(copies) member(s)"),
                    "\(name): \(e.message)")
            }
        }
    }

    @Test func truncatedAndCorruptGzipKeepEverythingBeforeTheDamage() throws {
        let dir = TempDir("gzip-bad")
        defer { dir.cleanup() }
        let lines = (0..<20_000).map { "{\"seq\":\($0),\"pad\":\"\(String(repeating: "z", count: 40))\"}" }
        let text = lines.joined(separator: "\n") + "\n"
        let plain = dir.write("in.ndjson", text)
        let r = try python(
            """
            import gzip, os, sys
            d = os.path.dirname(sys.argv[1])
            data = gzip.compress(open(sys.argv[1], 'rb').read())
            open(os.path.join(d, 'truncated.ndjson.gz'), 'wb').write(data[:len(data) * 2 // 3])
            b = bytearray(data)
            for i in range(len(b) // 2, len(b) // 2 + 64):
                b[i] ^= 0x5A
            open(os.path.join(d, 'corrupt.ndjson.gz'), 'wb').write(bytes(b))
            """, [plain.path])
        #expect(r.status == 0, "\(r.stderr)")
        for name in ["truncated", "corrupt"] {
            let (data, err) = try readAll(dir.file("\(name).ndjson.gz").path)
            // Inflated ahead on its own thread: the same bytes, then the same error at the same offset.
            let (aheadData, aheadErr) = try readAll(dir.file("\(name).ndjson.gz").path, ahead: true)
            #expect(aheadData == data, "\(name): read ahead, the same bytes come before the damage")
            #expect(
                aheadErr?.message == err?.message && aheadErr?.offset == err?.offset,
                "\(name): read ahead, the same error (\(String(describing: aheadErr)) vs \(String(describing: err)))")
            let e = try #require(err, "\(name): the damage must be reported")
            #expect(e.message.contains(name == "truncated" ? "truncated" : "corrupt"), "\(e.message)")
            #expect(e.offset > 0)
            let original = Array(text.utf8)
            var common = 0
            for (a, b) in zip(data, original) {
                if a != b { break }
                common += 1
            }
            if name == "truncated" {
                #expect(common == data.count && data.count > original.count / 2, "every byte before the cut is kept")
            } else {
                // Deflate data damaged in the middle can decode to garbage for a while before
                // zlib notices; the bytes before the damage are kept intact.
                #expect(
                    common > original.count / 3, "the bytes before the damage are kept (\(common) of \(original.count))"
                )
            }
        }
    }
}
