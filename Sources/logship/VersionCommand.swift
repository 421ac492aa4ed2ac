import CBuildInfo
import Foundation

/// `logship --version [--json]`: what a bug report needs to name the binary.
enum VersionCommand {
    static let options = [
        OptionSpec(
            name: "--version", value: nil, help: "Print the version, git commit, build date and Swift version (-V)"),
        OptionSpec(name: "--json", value: nil, help: "With --version: the same as one JSON object"),
    ]

    /// The build's facts; commit and date are "unknown" unless scripts/release.sh built it.
    static var fields: [(key: String, value: String)] {
        let swift = String(cString: logship_build_swift())
        return [
            ("version", Logship.version),
            ("commit", String(cString: logship_build_commit())),
            ("date", String(cString: logship_build_date())),
            ("swift", swift.isEmpty ? compilerVersion : swift),
        ]
    }

    /// The compiler's major.minor, for builds the release script did not stamp: Swift has no
    /// literal for its own version, only `#if compiler(...)` checks.
    static var compilerVersion: String {
        #if compiler(>=6.5)
            return "6.5 or later"
        #elseif compiler(>=6.4)
            return "6.4"
        #elseif compiler(>=6.3)
            return "6.3"
        #elseif compiler(>=6.2)
            return "6.2"
        #elseif compiler(>=6.1)
            return "6.1"
        #else
            return "6.0"
        #endif
    }

    static func main(_ args: [String]) throws(UsageError) -> Int32 {
        for a in args where a != "--json" {
            throw UsageError(description: "logship --version: unexpected \(a); only --json may follow")
        }
        if args.contains("--json") {
            // Keys in a fixed order, values escaped by JSONSerialization (one string each).
            let body = fields.map { f -> String in
                let v =
                    (try? JSONSerialization.data(withJSONObject: [f.value], options: [.withoutEscapingSlashes]))
                    .map { String(decoding: $0, as: UTF8.self).dropFirst().dropLast() } ?? "\"\""
                return "\"\(f.key)\":\(v)"
            }
            Console.out("{" + body.joined(separator: ",") + "}")
        } else {
            let f = fields
            var s = "logship \(f[0].value)\n"
            for (k, v) in f.dropFirst() {
                s += "  \((k + ":").padding(toLength: 8, withPad: " ", startingAt: 0)) \(v)\n"
            }
            Console.out(String(s.dropLast()))
        }
        return 0
    }
}
