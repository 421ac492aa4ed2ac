import CZlib
import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

/// The readers take any bytes: records or rejects with a reason, never a crash, never a
/// decoder that stops making progress.
@Suite struct DecoderFuzzTests {
    /// The repository's pipelines, plus a CSV without a header and a hand-written pattern.
    static func specs(_ dir: TempDir) throws -> [(String, PipelineSpec)] {
        let loader = PipelineLoader(environment: ["LOGSHIP_WORKSPACE_ID": "w", "LOGSHIP_SHARED_KEY": "a2V5"])
        var out: [(String, PipelineSpec)] = []
        let pipelines = repositoryRoot.appendingPathComponent("pipelines")
        for name in try FileManager.default.contentsOfDirectory(atPath: pipelines.path).sorted()
        where name.hasSuffix(".json5") {
            if let spec = loader.load(pipelines.appendingPathComponent(name)).spec { out.append((name, spec)) }
        }
        let extra = [
            "csv-no-header": """
            { version: 1, source: { files: ["x"], format: "csv", csv: { delimiter: ";", quote: "'", header: false, columns: ["a", "b", "c"] } },
              fields: { map: { A: { from: "a", type: "int" }, B: { from: "b", type: "datetime", format: "epoch-ms" }, C: { from: "c", type: "json" } } },
              target: { logType: "T" } }
            """,
            "lines-regex": """
            { version: 1, source: { files: ["x"], format: "lines", lines: { pattern: "^(?<level>[A-Z]+) (?<time>\\\\S+) (?<msg>.*)$" } },
              fields: { map: { T: { from: "time", type: "datetime", format: "%Y-%m-%dT%H:%M:%S" }, L: "level" }, passthrough: true },
              limits: { maxFields: 3, tooManyFields: "pack" }, target: { logType: "T" } }
            """,
        ]
        for (name, text) in extra.sorted(by: { $0.key < $1.key }) {
            let spec = try #require(loader.load(dir.write("\(name).json5", text)).spec, "\(name)")
            out.append((name, spec))
        }
        return out
    }

    /// The plain bytes of a spec's sample files (gzip decoded), first `max` bytes of each.
    static func samples(_ spec: PipelineSpec, max: Int = 6000) -> [[UInt8]] {
        FileDiscovery.expand(spec.source.files, relativeTo: spec.baseDirectory).files.compactMap { f in
            guard let source = try? ByteSources.open(path: f.path, compression: .auto) else { return nil }
            var out = [UInt8](repeating: 0, count: max)
            let n = out.withUnsafeMutableBytes { buf -> Int in
                var got = 0
                while got < buf.count,
                    let k = try? source.read(into: UnsafeMutableRawBufferPointer(rebasing: buf[got...])), k > 0
                { got += k }
                return got
            }
            return Array(out.prefix(n))
        }
    }

    /// Decodes and transforms `bytes` as `spec` says; returns the number of results.
    static func decode(_ bytes: [UInt8], _ spec: PipelineSpec, seed: UInt64) -> Int {
        let reader = LineReader(source: ChoppyByteSource(bytes, seed: seed), bufferSize: 4096, maxLineBytes: 2048)
        let decoder: RecordDecoder
        let names: NameTable?
        do {
            switch spec.source.format {
            case .ndjson:
                decoder = NDJSONDecoder(reader: reader, fileIndex: 0, invalidUTF8: spec.source.invalidUTF8)
                names = nil
            case .csv:
                let d = try CSVDecoder(reader: reader, spec: spec.source.csv, fileIndex: 0)
                (decoder, names) = (d, d.names)
            case .json:
                decoder = JSONStreamDecoder(
                    source: ChoppyByteSource(bytes, seed: seed), fileIndex: 0, invalidUTF8: spec.source.invalidUTF8,
                    bufferSize: 4096)
                names = nil
            case .lines:
                let d = try LineDecoder(reader: reader, pattern: spec.source.lines?.pattern ?? "raw", fileIndex: 0)
                (decoder, names) = (d, d.names)
            }
        } catch {
            return 0  // a CSV header that cannot be read is a reported error
        }
        let t = Transformer(spec: spec)
        t.beginFile(fileKey: 1, names: names)
        let out = ByteBuffer()
        var results = 0
        // Every result consumes at least one byte, or is the one at the end: more is a loop.
        while results <= bytes.count + 2 {
            let next: DecodeResult?
            do { next = try decoder.next() } catch { break }
            guard let r = next else { return results }
            results += 1
            if case .record(let v) = r {
                out.removeAll()
                _ = t.transform(v, to: out)
            }
        }
        if results > bytes.count + 2 {
            Issue.record("the decoder returned more results than the input has bytes: it is not progressing")
        }
        return results
    }

    @Test(.timeLimit(.minutes(Fuzzer.minutes))) func fuzzTheDecodersAndTheTransformer() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let specs = try Self.specs(dir)
        #expect(specs.count >= 8)
        let words = [
            "\"", "\"\"", ",", ";", "'", "\\", "{", "}", "[", "]", ":", "null", "1e999", "-0", "9223372036854775808",
            "2026-11-23T13:09:43Z", "2026-02-30T25:61:61", "23/Nov/2026:13:09:43 +0000", "<34>", "<999>", "1 ", " - ",
            "00000000-0000-0000-0000-000000000000", "true", "\\u0000", "\\ud800", "\t", "\r\n", "\n\n",
        ]
        for (name, spec) in specs {
            var seeds = Self.samples(spec)
            if seeds.isEmpty {
                seeds = [Array("a;b;c\n1;2;{}\n".utf8), Array("INFO 2026-11-23T13:09:43 hello\n".utf8)]
            }
            #expect(Self.decode(seeds[0], spec, seed: 0) > 0, "\(name): the seed itself decodes to nothing")
            var fuzzer = Fuzzer(target: "decode-\(name)", seeds: seeds, dictionary: words, maxLength: 1 << 15)
            var results = 0
            for k in 0..<max(1, Fuzzer.iterations / 4) {
                results += Self.decode(fuzzer.next(), spec, seed: UInt64(k))
            }
            #expect(results > 0)
        }
    }

    @Test(.timeLimit(.minutes(Fuzzer.minutes))) func fuzzTheGzipReader() throws {
        let texts = ["", "one line\n", String(repeating: "a log line with some words 12345\n", count: 300)]
        var seeds: [[UInt8]] = try texts.map { [UInt8](try Gzip.compress(Data($0.utf8))) }
        seeds.append(seeds[1] + seeds[2])  // two members
        seeds.append(seeds[1] + [0, 0, 0, 0])  // trailing zeros, as some tools pad
        var fuzzer = Fuzzer(target: "gzip", seeds: seeds, dictionary: ["\u{1F}\u{8B}\u{8}"], maxLength: 1 << 14)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        for k in 0..<Fuzzer.iterations {
            let input = fuzzer.next()
            guard let source = try? GzipByteSource(ChoppyByteSource(input, seed: UInt64(k)), inputBufferSize: 512)
            else { continue }
            var total = 0, reads = 0
            // Bounded: deflate expands at most ~1032:1; stop well past what any mutation gives.
            while total < 64 << 20, reads < 100_000 {
                reads += 1
                let n = buffer.withUnsafeMutableBytes { (try? source.read(into: $0)) ?? -1 }
                if n <= 0 { break }
                total += n
            }
            #expect(reads < 100_000, "the gzip reader kept returning data without end")
        }
    }

    /// The gzip reader's DEFLATE decoder against zlib on mutated raw streams (from zlib at
    /// several levels and strategies and from logship's encoder), fed in pieces of seeded
    /// sizes: both refuse, or both give the same bytes.
    @Test(.timeLimit(.minutes(Fuzzer.minutes))) func fuzzTheInflaterAgainstZlib() throws {
        let text = FastDeflateTests.logJSON(bytes: 6000, seed: 4)
        let runs = [UInt8](repeating: 0x41, count: 300) + Array("abcabcabd".utf8) + [UInt8](repeating: 0x20, count: 40)
        var seeds: [[UInt8]] = []
        for input in [text, runs, FastDeflateTests.random(700, seed: 8), [], Array("x".utf8)] {
            seeds.append(InflateTests.deflate(input, level: 0))
            seeds.append(InflateTests.deflate(input, level: 1))
            seeds.append(InflateTests.deflate(input, level: 9))
            seeds.append(InflateTests.deflate(input, strategy: Z_FIXED))
            seeds.append(InflateTests.deflate(input, strategy: Z_HUFFMAN_ONLY))
            seeds.append(InflateTests.fastDeflate(input))
        }
        var fuzzer = Fuzzer(target: "inflate", seeds: seeds, maxLength: 1 << 13)
        var sizes = SplitMix64(seed: Fuzzer.seed ^ 0x1F8B)
        // Far above what 8 KiB of DEFLATE can expand to (about 1032:1), so neither stops short.
        let limit = 12 << 20
        var disagreements: [String] = []
        var accepted = 0
        // Ten inputs per iteration of the others: each costs well under a millisecond.
        for k in 0..<Fuzzer.iterations * 10 {
            let stream = fuzzer.next()
            let expected = InflateTests.zlibInflate(stream, limit: limit)
            let got = InflateTests.inflate(
                stream, inPiece: 1 + Int(sizes.next() % 2048), outPiece: 1 + Int(sizes.next() % 40_000), limit: limit)
            switch (expected, got) {
            case (nil, .failed): break
            case (let e?, .decoded(let b, _)) where e == b: accepted += 1
            default:
                if disagreements.count < 5 {
                    let l: String
                    switch got {
                    case .failed(let m): l = "refused (\(m))"
                    case .decoded(let b, _): l = "\(b.count) bytes"
                    }
                    disagreements.append(
                        "input \(k): zlib \(expected.map { "\($0.count) bytes" } ?? "refused"), logship \(l)")
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements)")
        #expect(accepted > 0, "some mutated streams still decode")
    }
}
