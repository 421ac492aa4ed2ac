import Foundation
import LogshipCore

enum PreviewCommand {
    static func main(_ args: [String]) throws -> Int32 {
        if args.contains("--help") {
            Console.out("logship preview: not available in this build yet")
            return 0
        }
        throw UsageError(description: "logship preview: not available in this build yet")
    }
}
