import Foundation

// MARK: - TimeGenerated

/// Tallies the time-generated field's values against the service's window.
struct TimeCheck {
    let field: String?
    let nowMillis: Int64
    var valid = 0
    var firstValue: String?
    var missing: (count: Int, location: String)?
    var invalid: (count: Int, location: String, example: String)?
    var old: (count: Int, location: String, oldest: Int64)?
    var future: (count: Int, location: String, latest: Int64)?

    init(options: SchemaInference.Options) {
        field = options.timeGeneratedField
        nowMillis = Int64((options.now.timeIntervalSince1970 * 1000).rounded(.down))
    }

    mutating func check(_ value: SchemaInference.Value?, at location: String) {
        let s: String
        switch value ?? .null {
        case .null:
            missing = (count: (missing?.count ?? 0) + 1, location: missing?.location ?? location)
            return
        case .string(let text):
            s = text
        case let other:
            noteInvalid(other.text, at: location)
            return
        }
        guard let p = ISODateTime.parse(s), p.fractionDigits <= 3 else {
            noteInvalid(s, at: location)
            return
        }
        if p.millis < nowMillis - SchemaInference.maxAgeMillis {
            old = old.map { ($0.count + 1, $0.location, min($0.oldest, p.millis)) } ?? (1, location, p.millis)
        } else if p.millis > nowMillis + SchemaInference.futureToleranceMillis {
            future = future.map { ($0.count + 1, $0.location, max($0.latest, p.millis)) } ?? (1, location, p.millis)
        } else {
            valid += 1
            if firstValue == nil { firstValue = s }
        }
    }

    private mutating func noteInvalid(_ text: String, at location: String) {
        invalid = (
            count: (invalid?.count ?? 0) + 1, location: invalid?.location ?? location, example: invalid?.example ?? text
        )
    }

    func column(sampled: Int) -> InferredColumn {
        let note: String
        var example = ""
        if let f = field {
            if valid > 0 {
                note =
                    valid == sampled
                    ? "from \(f)" : "from \(f) in \(valid) of \(sampled) records; ingestion time in the rest"
                example = firstValue ?? example
            } else {
                note = "ingestion time (no usable \(f) value)"
            }
        } else {
            note = "ingestion time"
        }
        return InferredColumn(
            name: "TimeGenerated", field: "TimeGenerated", type: .datetime, records: sampled, example: example,
            note: note)
    }

    func warnings(columns: [InferredColumn]) -> [SchemaWarning] {
        guard let f = field else { return [] }
        // The field stays a column of its own: say which one holds the event time.
        let own = columns.first { $0.field == f }?.name
        let keep =
            own.map { "the event time stays in \($0): query that column for when events happened" }
            ?? "keep the event time in a column of its own (map it a second time under another name) to query when events happened"
        var out: [SchemaWarning] = []
        /// "TimeGenerated: N record(s) have …": one warning per kind of value the service replaces.
        func add(_ kind: SchemaWarning.Kind, _ records: Int, _ have: String) {
            out.append(
                SchemaWarning(
                    kind: kind, field: f, records: records, message: "TimeGenerated: \(records) record(s) have \(have)")
            )
        }
        if let o = old {
            add(
                .oldTimeGenerated, o.count,
                "\(f) values more than two days old (oldest \(ISODateTime.format(o.oldest)), first \(o.location)); "
                    + "the service replaces them with the ingestion time; \(keep)")
        }
        if let fu = future {
            add(
                .futureTimeGenerated, fu.count,
                "\(f) values in the future (latest \(ISODateTime.format(fu.latest)), first \(fu.location)); "
                    + "check the source's clock and time zone (the format's %z); the service replaces values more "
                    + "than a day ahead with the ingestion time; \(keep)")
        }
        if let i = invalid {
            add(
                .invalidTimeGenerated, i.count,
                "\(f) values that are not ISO 8601 date-times with at most millisecond precision (first "
                    + "\(i.location): \(i.example.prefix(60))); the service uses the ingestion time for them; map "
                    + "\(f) with type \"datetime\"")
        }
        if let m = missing {
            add(
                .missingTimeGenerated, m.count,
                "no \(f) value (first \(m.location)); the service uses the ingestion time for them")
        }
        return out
    }
}

/// ISO 8601 date-times as a column type: `YYYY-MM-DDThh:mm[:ss[.f…]][Z|±hh:mm|±hhmm]`. A date
/// alone or a space for the `T` is not a date-time here; such strings become `_s` columns.
enum ISODateTime {
    struct Parsed: Equatable {
        var millis: Int64
        var fractionDigits: Int
    }

    static func parse(_ s: String) -> Parsed? {
        let u = Array(s.utf8)
        var i = 0
        func num(_ n: Int) -> Int? {
            guard i + n <= u.count else { return nil }
            var v = 0
            for k in i..<i + n {
                guard u[k] >= 0x30, u[k] <= 0x39 else { return nil }
                v = v * 10 + Int(u[k] - 0x30)
            }
            i += n
            return v
        }
        func take(_ c: UInt8) -> Bool {
            guard i < u.count, u[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = num(4), take(0x2D), let month = num(2), take(0x2D), let day = num(2),
            (1...12).contains(month), day >= 1, day <= daysIn(month, year),
            take(0x54) || take(0x74), let hour = num(2), hour < 24, take(0x3A), let minute = num(2), minute < 60
        else { return nil }
        var second = 0
        var millis = 0
        var digits = 0
        if take(0x3A) {
            guard let sec = num(2), sec <= 60 else { return nil }
            second = min(sec, 59)
            if take(0x2E) || take(0x2C) {
                var scale = 100
                while i < u.count, u[i] >= 0x30, u[i] <= 0x39 {
                    millis += Int(u[i] - 0x30) * scale
                    scale /= 10
                    digits += 1
                    i += 1
                }
                guard digits > 0 else { return nil }
            }
        }
        var offset = 0
        if take(0x5A) || take(0x7A) {
            // UTC
        } else if i < u.count, u[i] == 0x2B || u[i] == 0x2D {
            let sign = u[i] == 0x2D ? -1 : 1
            i += 1
            guard let oh = num(2), oh < 24 else { return nil }
            _ = take(0x3A)
            guard let om = num(2), om < 60 else { return nil }
            offset = sign * (oh * 60 + om)
        }
        guard i == u.count else { return nil }
        let days = daysFromCivil(year, month, day)
        let secs = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset * 60)
        return Parsed(millis: secs * 1000 + Int64(millis), fractionDigits: digits)
    }

    static func daysIn(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (proleptic Gregorian), after H. Hinnant's `days_from_civil`.
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Int64(era * 146_097 + doe - 719_468)
    }

    /// `2026-11-22T00:00:00.000Z`, for messages.
    static func format(_ millis: Int64) -> String {
        var out = [UInt8](repeating: 0, count: 32)
        let n = out.withUnsafeMutableBytes { DateTimeParser.writeISO(millis, to: $0.baseAddress!) }
        return String(decoding: out[0..<n], as: UTF8.self)
    }
}
