import Foundation
import LogshipSupport

/// The figures the emulator counts (`EmulatorStats`), under these names in `stats.json`.
public enum EmulatorCounter: Int, CounterName {
    case requests, records, bytes, truncatedValues
    /// Records whose time-generated field was older than two days, in the future, or unreadable:
    /// the service used the ingestion time instead.
    case timeGeneratedReplaced
    case droppedColumns, reservedFieldsDropped
    /// Properties that repeat a name already in the same record: the service keeps one of the
    /// values and drops the others without a word. A correct client sends none.
    case duplicateKeys
    /// Requests stored and then left without an answer (`--ack-loss-rate`); answers chosen by
    /// `--fail-rate` rather than by the request.
    case ackLost, injectedFaults
    /// Data requests let through `--gate-file`, and those held there (answered 503, not stored).
    case gatePassed, gateHeld
    /// Requests refused for a record `--refuse-records-matching` names.
    case refusedRecords
    // Logs Ingestion API.
    /// Records stored without a `TimeGenerated` property (the DCR must then produce one).
    case missingTimeGenerated
    /// Distinct `x-ms-client-request-id` values seen; requests with `Content-Encoding: gzip`.
    case requestIds, gzipRequests
    /// The largest ingestion body seen, in bytes before compression, and as sent (compressed
    /// when gzip): maxima, not counts.
    case maxBodyBytes, maxWireBodyBytes
    /// Requests to the token endpoint (also counted in `requests`), access tokens it issued, and
    /// token requests refused (wrong tenant, client, secret, assertion or scope).
    case tokenRequests, tokensIssued, tokenRequestsRefused
    /// Ingestion requests refused because their token had expired.
    case expiredTokens
    /// Ingestion requests answered 429 by the per-DCR quota (Emulator+Quota.swift).
    case throttled
}

/// What the emulator keeps and writes to `stats.json`; tests and `--local` read them. The
/// counters sit at the top level of the JSON object beside the tallies by name.
public struct EmulatorStats: Codable, Sendable, Equatable {
    public var counts = Counters<EmulatorCounter>()
    /// Answers by HTTP status ("200", "403", …); lost acknowledgements are not answers.
    public var byStatus: [String: Int] = [:]
    /// Error answers by the service's error code ("InvalidDataFormat", …).
    public var byErrorCode: [String: Int] = [:]
    /// Rows stored per table.
    public var tables: [String: Int] = [:]
    /// Records stored per stream (Logs Ingestion API).
    public var streams: [String: Int] = [:]
    /// Property names sent that the DCR (`--dcr`) does not declare, with how many records
    /// carried each. The service drops them without a word; the emulator counts them.
    public var undeclaredColumns: [String: Int] = [:]
    /// The per-DCR quota's windows (Emulator+Quota.swift).
    public var quota: [String: DCRQuotaStats] = [:]
    public init() {}

    public subscript(_ name: EmulatorCounter) -> Int {
        get { counts[name] }
        set { counts[name] = newValue }
    }

    enum CodingKeys: String, CodingKey {
        case byStatus, byErrorCode, tables, streams, undeclaredColumns, quota
    }

    public init(from decoder: any Decoder) throws {
        counts = try Counters(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        byStatus = try c.decodeIfPresent([String: Int].self, forKey: .byStatus) ?? [:]
        byErrorCode = try c.decodeIfPresent([String: Int].self, forKey: .byErrorCode) ?? [:]
        tables = try c.decodeIfPresent([String: Int].self, forKey: .tables) ?? [:]
        streams = try c.decodeIfPresent([String: Int].self, forKey: .streams) ?? [:]
        undeclaredColumns = try c.decodeIfPresent([String: Int].self, forKey: .undeclaredColumns) ?? [:]
        quota = try c.decodeIfPresent([String: DCRQuotaStats].self, forKey: .quota) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        try counts.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(byStatus, forKey: .byStatus)
        try c.encode(byErrorCode, forKey: .byErrorCode)
        try c.encode(tables, forKey: .tables)
        try c.encode(streams, forKey: .streams)
        try c.encode(undeclaredColumns, forKey: .undeclaredColumns)
        try c.encode(quota, forKey: .quota)
    }
}

/// One column of an emulated table.
public struct EmulatorColumn: Codable, Sendable, Equatable {
    public var name: String  // with suffix, as queried (`Status_d`)
    public var base: String  // as sent (`Status`)
    public var type: ColumnType
}

/// Stored tables: schema per table (the service's type inference) and rows as NDJSON.
/// Not thread-safe by itself: the emulator calls it under its lock.
final class EmulatorStore {
    static let maxValueBytes = 32_766
    static let maxColumns = 500
    static let reserved: Set<String> = ["TimeGenerated", "tenant", "RawData", "Type"]

    final class Table {
        let name: String
        var columns: [EmulatorColumn] = []
        var byBase: [String: [Int]] = [:]
        var rows = 0
        var handle: FileHandle?

        init(name: String) { self.name = name }

        func add(_ c: EmulatorColumn) -> Int {
            columns.append(c)
            byBase[c.base, default: []].append(columns.count - 1)
            return columns.count - 1
        }
    }

    private struct SchemaFile: Codable {
        var table: String
        var columns: [EmulatorColumn]
        var rows: Int
    }

    let dataDir: URL?
    private(set) var tables: [String: Table] = [:]

    init(dataDir: URL?) throws {
        self.dataDir = dataDir
        if let dir = dataDir {
            // The stored rows are the records sent (under `run --local`, inside the state directory).
            try PrivateFiles.createDirectory(dir)
            for f in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            where f.hasSuffix(".schema.json") {
                let url = dir.appendingPathComponent(f)
                guard let data = try? Data(contentsOf: url),
                    let s = try? JSONDecoder().decode(SchemaFile.self, from: data)
                else { continue }
                let t = Table(name: s.table)
                for c in s.columns { _ = t.add(c) }
                t.rows = s.rows
                tables[s.table] = t
            }
        }
    }

    func table(_ name: String) -> Table {
        if let t = tables[name] { return t }
        let t = Table(name: name)
        tables[name] = t
        return t
    }

    struct Counts {
        var truncated = 0
        var timeReplaced = 0
        var droppedColumns = 0
        var reserved = 0
    }

    /// Stores records into `<tableName>`; returns what had to be changed on the way.
    func store(
        tableName: String, records: [[(String, EmulatorJSON.Value)]], timeField: String?, resourceId: String?,
        receivedMillis: Int64
    ) throws -> Counts {
        let t = table(tableName)
        var counts = Counts()
        var out: [UInt8] = []
        out.reserveCapacity(records.count * 256)
        for members in records {
            var timeGenerated = receivedMillis
            if let tf = timeField, !tf.isEmpty {
                var ok = false
                if let (_, v) = members.first(where: { $0.0 == tf }), case .string(let s) = v,
                    let p = EmulatorTime.parseISO8601(s), p.fractionDigits <= 3,
                    p.unixMillis >= receivedMillis - 2 * 86_400_000, p.unixMillis <= receivedMillis + 86_400_000
                {
                    timeGenerated = p.unixMillis
                    ok = true
                }
                if !ok { counts.timeReplaced += 1 }
            }
            out.append(contentsOf: Array("{\"TimeGenerated\":\"".utf8))
            out.append(contentsOf: Array(EmulatorTime.format(unixMillis: timeGenerated).utf8))
            out.append(0x22)
            var seen = Set<Int>()
            for (name, value) in members {
                if case .null = value { continue }
                if Self.reserved.contains(name) {
                    counts.reserved += 1
                    continue
                }
                var index: Int? = nil
                for i in t.byBase[name] ?? [] where EmulatorInference.accepts(t.columns[i].type, value) {
                    index = i
                    break
                }
                if index == nil, let type = EmulatorInference.newColumnType(value) {
                    if t.columns.count >= Self.maxColumns {
                        counts.droppedColumns += 1
                        continue
                    }
                    index = t.add(EmulatorColumn(name: name + type.suffix, base: name, type: type))
                }
                guard let idx = index, !seen.contains(idx) else { continue }
                seen.insert(idx)
                out.append(contentsOf: [0x2C, 0x22])
                Self.appendEscaped(t.columns[idx].name, to: &out)
                out.append(contentsOf: [0x22, 0x3A])
                Self.appendValue(value, as: t.columns[idx].type, to: &out, truncated: &counts.truncated)
            }
            out.append(contentsOf: Array(",\"Type\":\"".utf8))
            Self.appendEscaped(tableName, to: &out)
            out.append(0x22)
            if let r = resourceId {
                out.append(contentsOf: Array(",\"_ResourceId\":\"".utf8))
                Self.appendEscaped(r.lowercased(), to: &out)
                out.append(0x22)
            }
            out.append(contentsOf: [0x7D, 0x0A])
        }
        t.rows += records.count
        if let dir = dataDir {
            if t.handle == nil {
                let url = dir.appendingPathComponent("\(tableName).ndjson")
                t.handle = FileHandle(
                    fileDescriptor: try PrivateFiles.open(url, flags: O_WRONLY | O_APPEND), closeOnDealloc: true)
            }
            try t.handle?.write(contentsOf: out)
            // The schema file carries the row count too, so it is rewritten with every request.
            let s = SchemaFile(table: tableName, columns: t.columns, rows: t.rows)
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try PrivateFiles.write(enc.encode(s), to: dir.appendingPathComponent("\(tableName).schema.json"))
        }
        return counts
    }

    static func appendValue(_ v: EmulatorJSON.Value, as type: ColumnType, to out: inout [UInt8], truncated: inout Int) {
        func text(_ s: String) {
            var bytes = Array(s.utf8)
            if bytes.count > maxValueBytes {
                var cut = maxValueBytes
                while cut > 0, bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
                bytes.removeSubrange(cut...)
                truncated += 1
            }
            out.append(0x22)
            appendEscaped(String(decoding: bytes, as: UTF8.self), to: &out)
            out.append(0x22)
        }
        switch (type, v) {
        case (.string, .string(let s)), (.string, .nested(let s)), (.guid, .string(let s)): text(s)
        case (.string, .number(_, let t)): text(t)
        case (.string, .bool(let b)): text(b ? "true" : "false")
        case (.double, .number(let d, let t)): out.append(contentsOf: Array((d.isFinite ? t : "null").utf8))
        case (.double, .string(let s)):
            let d = Double(s) ?? .nan
            out.append(contentsOf: Array((d.isFinite ? "\(d)" : "null").utf8))
        case (.bool, .bool(let b)): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case (.bool, .string(let s)): out.append(contentsOf: Array((s.lowercased() == "true" ? "true" : "false").utf8))
        case (.dateTime, .string(let s)):
            if let p = EmulatorTime.parseISO8601(s) {
                text(EmulatorTime.format(unixMillis: p.unixMillis))
            } else {
                text(s)
            }
        default: out.append(contentsOf: Array("null".utf8))
        }
    }

    static func appendEscaped(_ s: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        for c in s.utf8 {
            switch c {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 15)]])
            default: out.append(c)
            }
        }
    }

    func close() {
        for t in tables.values { try? t.handle?.close() }
    }
}
