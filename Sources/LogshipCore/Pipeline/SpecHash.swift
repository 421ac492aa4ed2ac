import LogshipSupport

/// The hash of everything that decides which records a run sends and how they are cut into
/// chunks: decoding, mapping, limits and the table. A manifest written under one hash is not
/// resumed under another. File lists, credentials and upload settings are not part of it.
extension PipelineSpec {
    public var specHash: String {
        var t = "v1\n"
        let s = source
        t += "source.format=\(s.format.rawValue)\nsource.compression=\(s.compression.rawValue)\n"
        t += "source.invalidUTF8=\(s.invalidUTF8.rawValue)\nsource.lines=\(s.lines?.pattern ?? "")\n"
        // Added keys only when set: pipelines without them keep the hash their manifests hold.
        if let ml = s.multiline { t += "source.multiline=\(ml.canonical)\n" }
        if let tz = s.timezone { t += "source.timezone=\(tz)\n" }
        if s.format == .csv {
            t +=
                "source.csv=\(s.csv.delimiter),\(s.csv.quote),\(s.csv.header),\(s.csv.columns?.joined(separator: "\u{1}") ?? "")\n"
            // Only when set, so that the hash of a pipeline without null tokens stays what it was.
            if !s.csv.nullValues.isEmpty || !s.csv.columnNullValues.isEmpty {
                t += "source.nullValues=\(s.csv.nullValues.joined(separator: "\u{1}"))\n"
                for (column, tokens) in s.csv.columnNullValues.sorted(by: { $0.key < $1.key }) {
                    t += "nullValues.\(column)=\(tokens.joined(separator: "\u{1}"))\n"
                }
            }
        }
        for m in fields.map {
            t += "map.\(m.output)="
            switch m.source {
            case .input(let f): t += "from:\(f)"
            case .constant(let n): t += "value:\(n.canonical)"
            case .derived(let d): t += "derived:\(d.rawValue)"
            }
            if let x = m.extract { t += ",extract:\(x)" }
            t += ",type:\(m.type?.rawValue ?? ""),format:\(m.format ?? "")"
            if let tz = m.timezone { t += ",timezone:\(tz)" }
            t += ",default:\(m.defaultValue?.canonical ?? ""),onError:\(m.onError.rawValue)\n"
        }
        if !fields.filter.isEmpty { t += "where=\(fields.filter.map(\.canonical).joined(separator: "\u{1}"))\n" }
        t +=
            "passthrough=\(fields.passthrough)\ndrop=\(fields.drop.joined(separator: "\u{1}"))\nrecordId=\(fields.recordId ?? "")\n"
        t += "api=\(target.api.rawValue)\nlogType=\(target.logType)\ntime=\(target.timeGeneratedField ?? "")\n"
        // The first DCR only: the others of a list send the same stream into the same table, so
        // adding a DCR to a running backfill (for its quota) keeps the state and resumes.
        t += "dcr=\(target.dcrImmutableId ?? "")\nstream=\(target.stream ?? "")\n"
        let l = limits
        // A defaulted maxFields counts as the old default (50): the logs-ingestion default rose
        // to 500, and state directories written before must still resume.
        let fields = l.maxFieldsDefaulted ? LimitsSpec.hashedDefaultMaxFields : l.maxFields
        t +=
            "limits=\(l.maxBodyBytes),\(l.maxRecordsPerChunk ?? 0),\(l.oversizedValue.rawValue),\(l.maxValueBytes),\(fields),\(l.tooManyFields.rawValue),\(l.packField)\n"
        return Crypto.sha256(Array(t.utf8)).hexString
    }
}

// What `run --adopt` may accept changed, told apart by two hashes of parts of the spec that it
// may not: the table records go to, and how files are cut into records (record numbers in the
// manifest count those records: under other cutting they would name other records).
extension PipelineSpec {
    /// api, Data Collector log type, DCR and stream: where the rows land.
    public var specTargetHash: String {
        let t =
            "target.v1\napi=\(target.api.rawValue)\nlogType=\(target.logType)\ndcr=\(target.dcrImmutableId ?? "")\nstream=\(target.stream ?? "")\n"
        return Crypto.sha256(Array(t.utf8)).hexString
    }

    /// Format, compression, CSV structure and multi-line grouping: what a record is.
    public var specReadingHash: String {
        let s = source
        var t = "reading.v1\nformat=\(s.format.rawValue)\ncompression=\(s.compression.rawValue)\n"
        if let ml = s.multiline { t += "multiline=\(ml.canonical)\n" }
        if s.format == .csv {
            t +=
                "csv=\(s.csv.delimiter),\(s.csv.quote),\(s.csv.header),\(s.csv.columns?.joined(separator: "\u{1}") ?? "")\n"
        }
        return Crypto.sha256(Array(t.utf8)).hexString
    }
}

extension JSONNode {
    /// Compact JSON with keys in written order, for hashing.
    var canonical: String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let d): return "\(d)"
        case .string(let s):
            return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                + "\""
        case .array(let a): return "[" + a.map(\.canonical).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.map { "\"\($0.key)\":\($0.node.canonical)" }.joined(separator: ",") + "}"
        }
    }
}

extension FilterValue {
    var canonical: String {
        switch self {
        case .string(let s): return JSONNode(value: .string(s), line: 0, column: 0).canonical
        case .number(let d): return "\(d)"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }
}

extension FilterCondition {
    /// The condition as text, for hashing: a changed filter sends other records.
    var canonical: String {
        switch self {
        case .any(let c): return "any[" + c.map(\.canonical).joined(separator: ";") + "]"
        case .field(let f, let tests):
            return "field:" + JSONNode(value: .string(f), line: 0, column: 0).canonical
                + tests.map { t -> String in
                    switch t {
                    case .equals(let v): return ",equals:" + v.canonical
                    case .oneOf(let vs): return ",in:[" + vs.map(\.canonical).joined(separator: ",") + "]"
                    case .matches(let r): return ",matches:" + JSONNode(value: .string(r), line: 0, column: 0).canonical
                    case .compare(let c, let v): return ",\(c.rawValue):" + v.canonical
                    case .exists(let b): return ",exists:\(b)"
                    }
                }.joined()
        }
    }
}
