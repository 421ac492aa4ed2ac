import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

/// A fresh temporary folder, removed by `cleanup()`.
struct TempDir {
    let url: URL
    init(_ name: String = "logship-test") {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> URL { url.appendingPathComponent(name) }
    func write(_ name: String, _ text: String) -> URL {
        let u = file(name)
        try! FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
        try! Data(text.utf8).write(to: u)
        return u
    }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// Result of a child process run to completion.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program with a time limit (killed past it); stdout/stderr captured.
func runProcess(
    _ executable: String, _ args: [String], stdin: String? = nil, env: [String: String]? = nil, timeout: Double = 60
) throws -> ProcessResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    if let env { p.environment = env }
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    try p.run()
    if let s = stdin { input.fileHandleForWriting.write(Data(s.utf8)) }
    try? input.fileHandleForWriting.close()
    // Drain pipes concurrently so a chatty child cannot block on a full pipe.
    let outData = DataBox(), errData = DataBox()
    let g = DispatchGroup()
    g.enter()
    DispatchQueue.global().async {
        outData.set(out.fileHandleForReading.readDataToEndOfFile()); g.leave()
    }
    g.enter()
    DispatchQueue.global().async {
        errData.set(err.fileHandleForReading.readDataToEndOfFile()); g.leave()
    }
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(10_000) }
    if p.isRunning {
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        _ = g.wait(timeout: .now() + 5)
        throw TimeoutError(
            description: "\(executable) \(args.joined(separator: " ")) ran over \(timeout) s and was killed")
    }
    p.waitUntilExit()
    _ = g.wait(timeout: .now() + 10)
    return ProcessResult(
        status: p.terminationStatus, stdout: String(decoding: outData.get(), as: UTF8.self),
        stderr: String(decoding: errData.get(), as: UTF8.self))
}

struct TimeoutError: Error, CustomStringConvertible { var description: String }

final class DataBox: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.withLock { data = d } }
    func get() -> Data { lock.withLock { data } }
}

func python(_ script: String, _ args: [String] = [], stdin: String? = nil, timeout: Double = 60) throws -> ProcessResult
{
    try runProcess("/usr/bin/env", ["python3", "-c", script] + args, stdin: stdin, timeout: timeout)
}

/// A workspace id and key for tests; the key is random per call.
func testCredentials() -> (String, Secret) {
    var bytes = [UInt8](repeating: 0, count: 64)
    for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
    return (UUID().uuidString.lowercased(), Secret(Data(bytes).base64EncodedString()))
}

/// A pipeline over one NDJSON file with `target` (the members inside `target: { … }`), loaded
/// with an empty environment: for the credential chain's and the target factory's tests.
func targetSpec(_ dir: TempDir, _ target: String) throws -> PipelineSpec {
    let url = dir.write(
        "p.json5", #"{ version: 1, source: { files: ["a"], format: "ndjson" }, target: { \#(target) } }"#)
    let r = PipelineLoader(environment: [:]).load(url)
    return try #require(r.spec, "\(r.problems)")
}

/// The error `body` throws, as text; "no error" when it throws none.
func errorText(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "no error"
    } catch {
        return "\(error)"
    }
}
