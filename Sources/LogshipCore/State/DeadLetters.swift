import Foundation
import LogshipSupport

/// `deadletter/<chunk-id>.json` (the exact body) and `<chunk-id>.meta.json` (where it was
/// going, why it failed; never a secret), for `logship replay`.
public struct DeadLetterMeta: Codable, Sendable {
    public var chunkId: String
    public var api: String
    public var logType: String
    public var timeGeneratedField: String?
    public var records: Int
    public var bytes: Int
    public var attempts: Int
    public var lastError: String
    public var segments: [DeadLetterSegment]
    public var time: String
    /// Records `part.lowerBound ..< part.upperBound` of the chunk, when only a split part failed.
    public var part: [Int]?
    /// Records in the whole chunk.
    public var total: Int?
    /// Content samples of the segments' files, in segment order (for the manifest on replay).
    public var sample: [String]?
    /// The failure was not the content's (429, 5xx, a dropped connection: attempts ran out), so
    /// the next `run` sends it again before new data. nil in letters of older versions: read
    /// from `lastError` then (`isRetryable`).
    public var retryable: Bool?

    /// Where this letter's own records are (record ordinals per file, 0-based), narrowed from
    /// `segments` to `part`: for a refused record isolated from its chunk, the record itself.
    public var location: [DeadLetterSegment]?

    /// The sizes of the segments' files when they were read, in segment order (for the manifest
    /// on replay, as `run` records them). nil in letters of older versions.
    public var sizes: [Int64?]?

    /// Whether the next run re-sends this letter by itself; otherwise it waits, counted, for the
    /// user (fix the data and `logship replay`, or remove it).
    public var isRetryable: Bool { retryable ?? lastError.hasPrefix("gave up after") }
}

/// What the dead letters of a state directory still hold: a run is complete only when this is empty.
public struct PendingDeadLetters: Codable, Sendable, Equatable {
    public var letters = 0
    public var records = 0
    /// Of them, refused for their content: they wait for the user.
    public var refusedLetters = 0
    public var refusedRecords = 0
    /// The service's reasons for the refused ones, most frequent first (at most 5), with counts.
    public var reasons: [Reason] = []

    public struct Reason: Codable, Sendable, Equatable {
        public var reason: String
        public var letters: Int
    }

    public init() {}

    public var isEmpty: Bool { letters == 0 }

    public static func of(_ store: DeadLetterStore) -> PendingDeadLetters {
        var p = PendingDeadLetters()
        var counts: [String: Int] = [:]
        for (_, meta) in store.list() {
            p.letters += 1
            p.records += meta.records
            if !meta.isRetryable {
                p.refusedLetters += 1
                p.refusedRecords += meta.records
                counts[meta.lastError, default: 0] += 1
            }
        }
        p.reasons = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(5).map {
            Reason(reason: $0.key, letters: $0.value)
        }
        return p
    }
}

public struct DeadLetterSegment: Codable, Sendable, Equatable {
    public var file: String
    public var start: Int64
    public var end: Int64
    public init(file: String, start: Int64, end: Int64) {
        self.file = file
        self.start = start
        self.end = end
    }

    /// Where records `part` of a chunk can be in its files. The segments tile ordinals, rejected
    /// and filtered records included, so a chunk may hold fewer records than its segments span
    /// (`gaps`): record k is then somewhere in positions k ... k + gaps. Exact when there are none.
    public static func locate(_ part: Range<Int>, records: Int, in segments: [DeadLetterSegment]) -> [DeadLetterSegment]
    {
        let span = segments.reduce(0) { $0 + Int($1.end - $1.start) }
        let gaps = max(0, span - records)
        let lo = part.lowerBound, hi = min(span, part.upperBound + gaps)
        var out: [DeadLetterSegment] = []
        var k = 0
        for s in segments {
            let n = Int(s.end - s.start)
            let a = max(lo, k), b = min(hi, k + n)
            if a < b {
                out.append(DeadLetterSegment(file: s.file, start: s.start + Int64(a - k), end: s.start + Int64(b - k)))
            }
            k += n
        }
        return out
    }

    /// "app.ndjson record 17" or "app.ndjson records 17–40" (counted from 1, as lines are).
    public static func describe(_ location: [DeadLetterSegment]) -> String {
        location.map { s in
            s.end - s.start == 1 ? "\(s.file) record \(s.start + 1)" : "\(s.file) records \(s.start + 1)–\(s.end)"
        }.joined(separator: ", ")
    }
}

public struct DeadLetterStore: Sendable {
    public let directory: URL
    public init(directory: URL) { self.directory = directory }

    public func write(name: String, body: Data, meta: DeadLetterMeta) throws {
        // Dead letters are copies of records: private files in a private folder (PrivateFiles).
        try PrivateFiles.createDirectory(directory)
        try PrivateFiles.write(body, to: directory.appendingPathComponent("\(name).json"))
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try PrivateFiles.write(enc.encode(meta), to: directory.appendingPathComponent("\(name).meta.json"))
    }

    /// Dead letters on disk, oldest name first.
    public func list() -> [(name: String, meta: DeadLetterMeta)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        var out: [(String, DeadLetterMeta)] = []
        for n in names.sorted() where n.hasSuffix(".meta.json") {
            let base = String(n.dropLast(".meta.json".count))
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(n)),
                let meta = try? JSONDecoder().decode(DeadLetterMeta.self, from: data)
            else { continue }
            out.append((base, meta))
        }
        return out
    }

    public func body(_ name: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent("\(name).json"))
    }

    public func remove(_ name: String) {
        try? FileManager.default.removeItem(at: directory.appendingPathComponent("\(name).json"))
        try? FileManager.default.removeItem(at: directory.appendingPathComponent("\(name).meta.json"))
    }
}

/// Splits a JSON array body (as the chunker writes it) into two halves by records.
public enum BodySplitter {
    /// The byte ranges of the array's elements.
    public static func elements(_ body: Data) -> [Range<Int>]? {
        body.withUnsafeBytes { b -> [Range<Int>]? in
            var s = NDJSONScanner(b)
            s.ws()
            guard s.i < s.n, b[s.i] == UInt8(ascii: "[") else { return nil }
            s.i += 1
            var out: [Range<Int>] = []
            s.ws()
            if s.i < s.n, b[s.i] == UInt8(ascii: "]") { return out }
            while s.i < s.n {
                s.ws()
                let start = s.i
                guard s.i < s.n, b[s.i] == UInt8(ascii: "{") || b[s.i] == UInt8(ascii: "[") else { return nil }
                do { try s.nested(depth: 1) } catch { return nil }
                out.append(start..<s.i)
                s.ws()
                guard s.i < s.n else { return nil }
                if b[s.i] == UInt8(ascii: ",") {
                    s.i += 1
                    continue
                }
                if b[s.i] == UInt8(ascii: "]") { return out }
                return nil
            }
            return nil
        }
    }

    /// A body holding elements `range` of `body`.
    public static func body(_ body: Data, elements: [Range<Int>], range: Range<Int>) -> Data {
        var out = Data(capacity: body.count / 2 + 2)
        out.append(UInt8(ascii: "["))
        let base = body.startIndex
        for (k, r) in elements[range].enumerated() {
            if k > 0 { out.append(UInt8(ascii: ",")) }
            out.append(body[base + r.lowerBound..<base + r.upperBound])
        }
        out.append(UInt8(ascii: "]"))
        return out
    }
}
