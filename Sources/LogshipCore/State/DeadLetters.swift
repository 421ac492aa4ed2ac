import Foundation

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
}

public struct DeadLetterSegment: Codable, Sendable {
    public var file: String
    public var start: Int64
    public var end: Int64
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
