import Foundation

/// The `format` of a `datetime` field: ISO 8601 (default), `epoch`, `epoch-ms`, or a
/// strftime-style pattern such as nginx's `%d/%b/%Y:%H:%M:%S %z`.
public enum DateTimeFormat: Sendable, Equatable {
    case iso8601
    case epochSeconds
    case epochMillis
    case pattern([PatternItem])

    public enum PatternItem: Sendable, Equatable {
        case literal(UInt8)
        /// `%Y` `%y` `%m` `%d` `%e` `%H` `%I` `%M` `%S` `%f` `%z` `%Z` `%b` `%B` `%a` `%A` `%p` `%j` `%s`
        case directive(UInt8)
    }

    /// Directives a pattern may use (`%T` and `%F` are expanded when parsed).
    public static let directives: [UInt8] = Array("YymdeHIMSfzZbBhaApjs".utf8)

    public static func parse(_ text: String) -> DateTimeFormat? {
        switch text.lowercased() {
        case "", "iso8601", "iso-8601": return .iso8601
        case "epoch", "epoch-s", "unix": return .epochSeconds
        case "epoch-ms", "unix-ms": return .epochMillis
        default: break
        }
        var items: [PatternItem] = []
        let u = Array(text.utf8)
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "%") {
                guard i + 1 < u.count else { return nil }
                let d = u[i + 1]
                switch d {
                case UInt8(ascii: "%"): items.append(.literal(d))
                case UInt8(ascii: "T"):
                    items += [
                        .directive(UInt8(ascii: "H")), .literal(0x3A), .directive(UInt8(ascii: "M")), .literal(0x3A),
                        .directive(UInt8(ascii: "S")),
                    ]
                case UInt8(ascii: "F"):
                    items += [
                        .directive(UInt8(ascii: "Y")), .literal(0x2D), .directive(UInt8(ascii: "m")), .literal(0x2D),
                        .directive(UInt8(ascii: "d")),
                    ]
                default:
                    guard directives.contains(d) else { return nil }
                    items.append(.directive(d == UInt8(ascii: "h") ? UInt8(ascii: "b") : d))
                }
                i += 2
            } else {
                items.append(.literal(u[i]))
                i += 1
            }
        }
        guard items.contains(where: { if case .directive = $0 { return true } else { return false } }) else {
            return nil
        }
        return .pattern(items)
    }

    /// Whether the tz database knows `identifier`, a `timezone` a datetime without an offset is
    /// read in (an IANA name; `UTC` too).
    public static func knowsZone(_ identifier: String) -> Bool { TimeZone(identifier: identifier) != nil }

    /// Why `text` is not a usable format, or nil.
    public static func problem(_ text: String) -> String? {
        if parse(text) != nil { return nil }
        let u = Array(text.utf8)
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "%") {
                if i + 1 >= u.count { return "the format ends with a lone '%'" }
                let d = u[i + 1]
                if d != UInt8(ascii: "%") && d != UInt8(ascii: "T") && d != UInt8(ascii: "F") && !directives.contains(d)
                {
                    return
                        "unknown directive %\(Character(Unicode.Scalar(d))) in \"\(text)\"; allowed: %Y %y %m %d %e %H %I %M %S %f %z %Z %b %B %a %A %p %j %s %T %F %%, or \"iso8601\", \"epoch\", \"epoch-ms\""
                }
                i += 2
            } else {
                i += 1
            }
        }
        return
            "\"\(text)\" is not a datetime format; use \"iso8601\", \"epoch\", \"epoch-ms\" or a strftime pattern such as \"%d/%b/%Y:%H:%M:%S %z\""
    }
}
