import Foundation
import LogshipSupport

/// The Logs Ingestion side of the emulator's storage: one NDJSON file per stream
/// (`<data-dir>/<stream>.ndjson`) holding each record exactly as it was sent. The DCR's
/// transformation is not emulated, so the names are the stream's declared names.
/// Not thread-safe by itself: the emulator calls it under its lock.
final class EmulatorStreams {
    final class Stream {
        var rows = 0
        /// Property names in order of first appearance.
        var keys: [String] = []
        var keySet: Set<String> = []
        var handle: FileHandle?
    }

    let dataDir: URL?
    private(set) var streams: [String: Stream] = [:]

    /// Stream names double as file names: letters, digits, '-' and '_' only (no path tricks).
    static func isValidName(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (1...200).contains(u.count) else { return false }
        return u.allSatisfy {
            ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F
        }
    }

    /// Picks up the streams an earlier emulator stored in `dataDir` (row counts and the keys of
    /// their first rows), so restarting it on the same folder keeps the counts.
    init(dataDir: URL?) {
        self.dataDir = dataDir
        guard let dir = dataDir else { return }
        for f in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        where f.hasSuffix(".ndjson") && (f.hasPrefix("Custom-") || f.hasPrefix("Microsoft-")) {
            guard let data = try? Data(contentsOf: dir.appendingPathComponent(f)) else { continue }
            let s = Stream()
            var line = 0
            for row in data.split(separator: 0x0A, omittingEmptySubsequences: true) {
                s.rows += 1
                line += 1
                guard line <= 1000 else { continue }
                _ = try? Array(row).withUnsafeBytes { raw in
                    try EmulatorJSON.forEachRecord(raw) { members in for (k, _) in members { note(k, in: s) } }
                }
            }
            streams[String(f.dropLast(".ndjson".count))] = s
        }
    }

    private func note(_ key: String, in s: Stream) {
        if s.keySet.insert(key).inserted { s.keys.append(key) }
    }

    func stream(_ name: String) -> Stream {
        if let s = streams[name] { return s }
        let s = Stream()
        streams[name] = s
        return s
    }

    /// Appends records (the bytes of each object as sent) to the stream's file.
    func store(stream name: String, body: [UInt8], records: [([(String, EmulatorJSON.Value)], Range<Int>)]) throws {
        let s = stream(name)
        var out: [UInt8] = []
        out.reserveCapacity(body.count + records.count)
        for (members, span) in records {
            for (k, _) in members { note(k, in: s) }
            let start = out.count
            out.append(contentsOf: body[span])
            // A line break inside a record can only be whitespace between tokens (JSON strings
            // cannot hold raw control characters): a space keeps the record on its line.
            for k in start..<out.count where out[k] == 0x0A || out[k] == 0x0D { out[k] = 0x20 }
            out.append(0x0A)
        }
        s.rows += records.count
        guard let dir = dataDir else { return }
        if s.handle == nil {
            let url = dir.appendingPathComponent("\(name).ndjson")
            s.handle = FileHandle(
                fileDescriptor: try PrivateFiles.open(url, flags: O_WRONLY | O_APPEND), closeOnDealloc: true)
        }
        try s.handle?.write(contentsOf: out)
    }

    func close() {
        for s in streams.values { try? s.handle?.close() }
    }
}
