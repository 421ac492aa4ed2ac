import Foundation
import LogshipCore

enum ReplayCommand {
    static func main(_ args: [String]) async throws -> Int32 {
        if args.contains("--help") {
            Console.out("logship replay: not available in this build yet")
            return 0
        }
        throw UsageError(description: "logship replay: not available in this build yet")
    }
}
