import Foundation
import LogshipCore

enum StatusCommand {
    static func main(_ args: [String]) throws -> Int32 {
        if args.contains("--help") {
            Console.out("logship status: not available in this build yet")
            return 0
        }
        throw UsageError(description: "logship status: not available in this build yet")
    }
}
