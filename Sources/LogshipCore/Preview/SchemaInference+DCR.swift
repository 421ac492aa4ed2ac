import Foundation

/// The types a data collection rule's stream declares for sampled records. Unlike the Data
/// Collector API, whose service types new columns by itself (`_d` for every number, nested
/// values as text), a DCR declares them, and the declaration should say what the values are:
/// whole numbers `long`, other numbers `real`, `true`/`false` `boolean`, objects and arrays
/// `dynamic`, ISO 8601 timestamps `datetime` (table `dateTime`), everything else `string`.
extension SchemaInference {
    /// One stream column per property, in order of first appearance; nulls type nothing, and a
    /// property whose values disagree gets the type that holds them all (`long` and `real` make
    /// `real`; anything else mixed makes `string`, or `dynamic` when nested values are among them).
    public static func dcrColumns(_ records: [PreviewRecord]) -> [ProvisioningPlan.SampledColumn] {
        var order: [String] = []
        var kinds: [String: DCRKind] = [:]
        for record in records {
            guard let members = parse(record.json) else { continue }
            for (name, value) in members {
                guard let k = DCRKind(value) else { continue }
                if let old = kinds[name] {
                    kinds[name] = old.merged(k)
                } else {
                    order.append(name)
                    kinds[name] = k
                }
            }
        }
        return order.compactMap { name in
            kinds[name].map { ProvisioningPlan.SampledColumn(field: name, dcrType: $0.dcr, tableType: $0.table) }
        }
    }

    /// What a value asks of its column, narrowest first.
    enum DCRKind: Equatable {
        case long, real, boolean, datetime, string, dynamic

        init?(_ v: Value) {
            switch v {
            case .null: return nil
            case .bool: self = .boolean
            case .number(let text):
                // As written: a decimal point or an exponent makes it real; so does a whole
                // number beyond 64 bits.
                let whole = !text.utf8.contains { $0 == 0x2E || $0 == 0x65 || $0 == 0x45 } && Int64(text) != nil
                self = whole ? .long : .real
            case .nested: self = .dynamic
            case .string(let s): self = ISODateTime.parse(s) != nil ? .datetime : .string
            }
        }

        func merged(_ other: DCRKind) -> DCRKind {
            if self == other { return self }
            switch (self, other) {
            case (.long, .real), (.real, .long): return .real
            case (.dynamic, _), (_, .dynamic): return .dynamic
            default: return .string
            }
        }

        var dcr: String {
            switch self {
            case .long: return "long"
            case .real: return "real"
            case .boolean: return "boolean"
            case .datetime: return "datetime"
            case .string: return "string"
            case .dynamic: return "dynamic"
            }
        }

        var table: String { self == .datetime ? "dateTime" : dcr }
    }
}
