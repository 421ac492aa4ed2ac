// Stage timings in a release build: how fast each part of the per-record path runs alone.
//
//   logship-bench read PIPELINE            reader + decoder only (every file of the pipeline)
//   logship-bench transform PIPELINE       reader + decoder + transformer, one thread
//   logship-bench chunk PIPELINE           reader + decoder + transformer + chunker, one thread
//   logship-bench emulator-parse FILE      the emulator's JSON check over FILE's lines as one body
//   logship-bench timezone ZONE [N]        local ISO datetimes to UTC in ZONE, per value (vs UTC)
//   logship-bench inflate FILE [RUNS]      the gzip reader (logship's inflater) against zlib's
//                                          inflate, alternating; MB/s of output
//   logship-bench deflate FILE [RUNS]      gzip of Logs Ingestion bodies: zlib level 1 against
//                                          logship's encoder, interleaved run by run
//
// Prints one JSON object: seconds, bytes (input bytes as stored on disk), records, MB/s,
// records/s, peak RSS in KB.
import CZlib
import Foundation
import LogshipCore
import LogshipEmulator
import LogshipSupport

#if canImport(Glibc)
    import Glibc
#endif

func peakRSSKB() -> Int {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return u.ru_maxrss
}

func fail(_ s: String) -> Never {
    FileHandle.standardError.write(Data("logship-bench: \(s)\n".utf8))
    exit(2)
}

func report(_ stage: String, seconds: Double, bytes: Int64, records: Int, extra: [String: Any] = [:]) {
    var o: [String: Any] = [
        "stage": stage, "seconds": seconds, "bytes": bytes, "records": records,
        "MBps": Double(bytes) / 1e6 / seconds, "recordsPerSecond": Double(records) / seconds, "peakRSSKB": peakRSSKB(),
    ]
    for (k, v) in extra { o[k] = v }
    let d = try! JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
    print(String(decoding: d, as: UTF8.self))
}

func loadPipeline(_ path: String) -> (PipelineSpec, [InputFile]) {
    let r = PipelineLoader().load(URL(fileURLWithPath: path))
    guard let spec = r.spec else { fail(r.problems.map(\.description).joined(separator: "\n")) }
    let files = FileDiscovery.expand(spec.source.files, relativeTo: spec.baseDirectory).files
    if files.isEmpty { fail("no input files") }
    return (spec, files)
}

/// The output size of a gzip file by zlib's inflate (multi-member), nil if zlib refuses it.
func zlibInflate(path: String, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    var s = z_stream()
    guard inflateInit2_(&s, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
    defer { inflateEnd(&s) }
    var total = 0
    return data.withUnsafeBytes { raw -> Int? in
        s.next_in = UnsafeMutablePointer(mutating: raw.baseAddress!.assumingMemoryBound(to: Bytef.self))
        s.avail_in = UInt32(raw.count)
        while true {
            s.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            s.avail_out = UInt32(buffer.count)
            let rc = inflate(&s, Z_NO_FLUSH)
            total += buffer.count - Int(s.avail_out)
            if rc == Z_STREAM_END {
                if s.avail_in == 0 { return total }
                guard inflateReset(&s) == Z_OK else { return nil }
            } else if rc != Z_OK {
                return nil
            }
        }
    }
}

let args = CommandLine.arguments
guard args.count >= 3 else {
    fail("usage: logship-bench read|transform|chunk PIPELINE | emulator-parse FILE | deflate FILE [RUNS]")
}
let stage = args[1]

switch stage {
case "read", "transform", "chunk":
    let (spec, files) = loadPipeline(args[2])
    let transformer = Transformer(spec: spec)
    let out = ByteBuffer(capacity: 1 << 20)
    let chunker = Chunker(
        maxBodyBytes: spec.limits.maxBodyBytes, maxRecords: spec.limits.maxRecordsPerChunk, specHash: spec.specHash,
        fileIdentity: { "\($0)" })
    var records = 0, rejected = 0, chunks = 0
    var bodyBytes = 0
    let start = Date()
    for f in files {
        let (decoder, names): (RecordDecoder, NameTable?)
        do { (decoder, names) = try DecoderFactory.open(f, spec: spec.source) } catch { fail("\(f.path): \(error)") }
        transformer.beginFile(fileKey: UInt64(f.index), names: names)
        while true {
            let r: DecodeResult?
            do { r = try decoder.next() } catch { fail("\(f.path): \(error)") }
            guard let r else { break }
            switch r {
            case .record(let v):
                records += 1
                if stage == "read" { continue }
                // fields.where, as the producer asks it before transforming.
                if !transformer.passes(v) { continue }
                if stage == "transform" {
                    out.removeAll()
                    if transformer.transform(v, to: out) != nil { rejected += 1 }
                    continue
                }
                let mark = chunker.beginRecord()
                if transformer.transform(v, to: chunker.body) != nil {
                    chunker.abandonRecord(mark)
                    rejected += 1
                    continue
                }
                if case .added(let c?) = chunker.commitRecord(mark, v.provenance) {
                    chunks += 1
                    bodyBytes += c.body.count
                }
            case .rejected:
                rejected += 1
            }
        }
    }
    if let c = chunker.flush() {
        chunks += 1
        bodyBytes += c.body.count
    }
    let seconds = Date().timeIntervalSince(start)
    report(
        stage, seconds: seconds, bytes: files.reduce(0) { $0 + $1.size }, records: records,
        extra: [
            "rejected": rejected, "chunks": chunks, "bodyBytes": bodyBytes, "filtered": transformer.stats[.filtered],
        ])

case "emulator-parse":
    guard let data = FileManager.default.contents(atPath: args[2]) else { fail("cannot read \(args[2])") }
    // The file's lines as one JSON array body, as the client would send them.
    var body = Data(capacity: data.count + 2)
    body.append(UInt8(ascii: "["))
    var first = true
    for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
        if !first { body.append(UInt8(ascii: ",")) }
        body.append(line)
        first = false
    }
    body.append(UInt8(ascii: "]"))
    let start = Date()
    let n = body.withUnsafeBytes { Emulator.countRecords($0) }
    let seconds = Date().timeIntervalSince(start)
    guard let n else { fail("the emulator refused the body") }
    report(stage, seconds: seconds, bytes: Int64(body.count), records: n)

case "inflate":
    // The gzip reader alone (logship's inflater and CRC) against zlib's inflate over the same
    // file, into the same 2 MB buffer, alternating; zlib checks its own CRC-32 as it goes.
    let runs = args.count > 3 ? Int(args[3]) ?? 5 : 5
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 21, alignment: 64)
    var ours: [Double] = []
    var theirs: [Double] = []
    var bytes = 0
    for _ in 0..<runs {
        var t = Date()
        do {
            let source = try ByteSources.open(path: args[2], compression: .gzip)
            bytes = 0
            while case let n = try source.read(into: buffer), n > 0 { bytes += n }
        } catch { fail("\(args[2]): \(error)") }
        ours.append(Date().timeIntervalSince(t))
        t = Date()
        guard let z = zlibInflate(path: args[2], into: buffer), z == bytes else {
            fail("zlib disagrees on the size")
        }
        theirs.append(Date().timeIntervalSince(t))
    }
    let median = { (a: [Double]) in a.sorted()[a.count / 2] }
    report(
        stage, seconds: median(ours), bytes: Int64(bytes), records: 0,
        extra: ["zlibSeconds": median(theirs), "zlibOverOurs": median(theirs) / median(ours), "runs": runs])

case "timezone":
    // N distinct local times over 2000–2040, parsed as UTC and as ZONE wall-clock times: the
    // difference is what a `timezone` costs per value.
    guard let zone = ZoneTable(identifier: args[2]) else { fail("unknown zone \(args[2])") }
    let n = args.count > 3 ? Int(args[3]) ?? 2_000_000 : 2_000_000
    var text: [UInt8] = []
    var ends: [Int] = []
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    for _ in 0..<n {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let ms = Int64(946_684_800_000) + Int64(state >> 33) % 1_262_304_000_000
        var b = [UInt8](repeating: 0, count: 24)
        b.withUnsafeMutableBytes { _ = DateTimeParser.writeISO(ms, to: $0.baseAddress!) }
        text += b.prefix(23)  // without the Z: a local time
        ends.append(text.count)
    }
    // Two plain loops: top-level code is main-actor isolated, and a closure parameter here
    // would be a `sending` value the compiler cannot prove safe.
    var a: Int64 = 0, b: Int64 = 0
    var utc = 0.0, zoned = 0.0
    text.withUnsafeBytes { all in
        var from = 0
        var start = Date()
        for e in ends {
            a &+= DateTimeParser.parse(UnsafeRawBufferPointer(rebasing: all[from..<e]), format: .iso8601) ?? 0
            from = e
        }
        utc = Date().timeIntervalSince(start)
        from = 0
        start = Date()
        for e in ends {
            b &+=
                DateTimeParser.parse(UnsafeRawBufferPointer(rebasing: all[from..<e]), format: .iso8601, zone: zone)?.0
                ?? 0
            from = e
        }
        zoned = Date().timeIntervalSince(start)
    }
    report(
        stage, seconds: zoned, bytes: Int64(text.count), records: n,
        extra: [
            "nsPerValueUTC": utc / Double(n) * 1e9, "nsPerValueZoned": zoned / Double(n) * 1e9, "checksum": a &- b,
            "zoneChanges": zone.changeCount,
        ])

case "deflate":
    // The first 30 bodies of at most 1,000,000 bytes cut at line ends from FILE (NDJSON), each
    // as a JSON array, as logship sends them (bench/zlib_levels.py cuts the same). Each run
    // compresses all of them with zlib level 1 and then with FastDeflate (each encoder reused
    // body after body, as the upload pool does); CPU seconds per run from rusage; the medians,
    // and the median of the per-run ratios, which the machine's load moves least.
    guard let data = FileManager.default.contents(atPath: args[2]) else { fail("cannot read \(args[2])") }
    let runs = args.count > 3 ? max(1, Int(args[3]) ?? 7) : 7
    var bodies: [Data] = []
    data.withUnsafeBytes { (all: UnsafeRawBufferPointer) in
        var i = 0
        while i < all.count && bodies.count < 30 {
            var j = min(all.count, i + 1_000_000 - 2)
            while j > i && all[j - 1] != UInt8(ascii: "\n") { j -= 1 }
            guard j > i + 1 else { break }
            var body = Data([UInt8(ascii: "[")])
            body.append(contentsOf: all[i..<(j - 1)].map { $0 == UInt8(ascii: "\n") ? UInt8(ascii: ",") : $0 })
            body.append(UInt8(ascii: "]"))
            bodies.append(body)
            i = j
        }
    }
    if bodies.isEmpty { fail("no bodies in \(args[2])") }
    func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }
    let raw = bodies.reduce(0) { $0 + $1.count }
    let zlib = try! Deflater(level: Gzip.defaultLevel)
    let fast = FastDeflate()
    var zlibCPU: [Double] = [], fastCPU: [Double] = [], ratios: [Double] = []
    var zlibSize = 0, fastSize = 0
    for _ in 0..<runs {
        var t = cpuSeconds()
        zlibSize = 0
        for b in bodies { zlibSize += try! zlib.compress(b).count }
        let z = cpuSeconds() - t
        t = cpuSeconds()
        fastSize = 0
        for b in bodies { fastSize += b.withUnsafeBytes { fast.gzip($0).count } }
        let f = cpuSeconds() - t
        zlibCPU.append(z)
        fastCPU.append(f)
        ratios.append(z / max(f, 1e-9))
    }
    func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
    let per100MB = 1e8 / Double(raw)
    print(
        String(
            format: "%d bodies, %.0f bytes each on average, %d runs (medians):\n"
                + "  zlib level 1  size %.1f %%  %.3f CPU-s per 100 MB\n"
                + "  fast          size %.1f %%  %.3f CPU-s per 100 MB   %.2f x zlib's speed",
            bodies.count, Double(raw) / Double(bodies.count), runs, Double(zlibSize) / Double(raw) * 100,
            median(zlibCPU) * per100MB, Double(fastSize) / Double(raw) * 100, median(fastCPU) * per100MB,
            median(ratios)))
    report(
        stage, seconds: median(fastCPU), bytes: Int64(raw), records: bodies.count,
        extra: [
            "zlibCPUsPer100MB": median(zlibCPU) * per100MB, "fastCPUsPer100MB": median(fastCPU) * per100MB,
            "zlibSizePercent": Double(zlibSize) / Double(raw) * 100,
            "fastSizePercent": Double(fastSize) / Double(raw) * 100, "speedRatio": median(ratios),
        ])

default:
    fail("unknown stage \(stage)")
}
