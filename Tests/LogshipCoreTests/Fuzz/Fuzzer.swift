import Foundation
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

/// A small seeded mutation fuzzer: the same seed gives the same inputs on every machine.
///
/// `swift test --filter Fuzz` runs a short, fixed budget; `scripts/fuzz.sh` sets
/// `LOGSHIP_FUZZ_ITERATIONS` and `LOGSHIP_FUZZ_SEED` for a long run, and
/// `LOGSHIP_FUZZ_ARTIFACTS` to a folder where each target writes the input it is about to try
/// (`<target>.current`): after a crash that file is the reproducer.
struct Fuzzer {
    static let environment = ProcessInfo.processInfo.environment
    /// Inputs per target; small by default so `swift test` stays quick.
    static let iterations = environment["LOGSHIP_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 400
    static let seed = environment["LOGSHIP_FUZZ_SEED"].flatMap(UInt64.init) ?? 20_261_202
    static let artifacts = environment["LOGSHIP_FUZZ_ARTIFACTS"].map { URL(fileURLWithPath: $0) }
    /// A test's time limit, a bound against hangs (not a speed check): generous for the short
    /// run; a long run is bounded by scripts/fuzz.sh instead.
    static let minutes = iterations <= 2000 ? 10 : 24 * 60

    var rng: SplitMix64
    let seeds: [[UInt8]]
    let dictionary: [[UInt8]]
    let target: String
    let maxLength: Int

    init(target: String, seeds: [[UInt8]], dictionary: [String] = [], maxLength: Int = 1 << 16) {
        // Each target has a stream of its own, so adding a target changes no other's inputs.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in target.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        rng = SplitMix64(seed: Self.seed ^ h)
        self.seeds = seeds.isEmpty ? [[]] : seeds
        self.dictionary = dictionary.map { Array($0.utf8) } + Self.awkward
        self.target = target
        self.maxLength = maxLength
    }

    /// Bytes that trip parsers: NUL, invalid UTF-8 (lone continuation, overlong, surrogate,
    /// above U+10FFFF, truncated), BOM, line and paragraph separators, CR without LF.
    static let awkward: [[UInt8]] = [
        [0x00], [0xFF], [0x80], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82],
        [0xEF, 0xBB, 0xBF],
        [0xE2, 0x80, 0xA8], [0x0D], [0x0D, 0x0A], [0x0A], [0x22], [0x5C], [0x5C, 0x75], [0x2C], [0x7B], [0x7D], [0x5B],
        [0x5D],
    ]

    mutating func int(_ n: Int) -> Int { n <= 1 ? 0 : Int(rng.next() % UInt64(n)) }

    /// The next input: a seed with 1–8 mutations, now and then spliced with another seed.
    mutating func next() -> [UInt8] {
        var b = seeds[int(seeds.count)]
        for _ in 0...int(8) { mutate(&b) }
        if b.count > maxLength { b.removeLast(b.count - maxLength) }
        if let dir = Self.artifacts {
            try? Data(b).write(to: dir.appendingPathComponent("\(target).current"))
        }
        return b
    }

    mutating func mutate(_ b: inout [UInt8]) {
        let at = int(b.count + 1)
        switch int(11) {
        case 0 where !b.isEmpty:  // flip a bit
            let k = int(b.count)
            b[k] ^= UInt8(1) << UInt8(int(8))
        case 1 where !b.isEmpty:  // any byte
            b[int(b.count)] = UInt8(truncatingIfNeeded: rng.next())
        case 2:  // insert a dictionary word
            b.insert(contentsOf: dictionary[int(dictionary.count)], at: at)
        case 3 where !b.isEmpty:  // delete a range
            let len = min(b.count - min(at, b.count), 1 + int(16))
            b.removeSubrange(min(at, b.count)..<min(at, b.count) + len)
        case 4 where !b.isEmpty:  // duplicate a range
            let from = int(b.count)
            let len = min(b.count - from, 1 + int(64))
            b.insert(contentsOf: b[from..<from + len], at: at)
        case 5:  // truncate
            b.removeLast(b.count - min(b.count, at))
        case 6 where seeds.count > 1:  // splice with another seed
            let other = seeds[int(seeds.count)]
            let cut = int(other.count + 1)
            b = Array(b.prefix(at)) + other[cut...]
        case 7:  // one byte repeated many times: deep nesting, long runs
            let byte = dictionary[int(dictionary.count)].first ?? 0x5B
            b.insert(contentsOf: [UInt8](repeating: byte, count: 1 + int(4096)), at: at)
        case 8:  // a digit run: huge numbers and lengths
            b.insert(contentsOf: Array(String(repeating: "9", count: 1 + int(40)).utf8), at: at)
        case 9 where !b.isEmpty:  // swap two bytes
            let i = int(b.count), j = int(b.count)
            b.swapAt(i, j)
        default:  // an awkward byte sequence
            b.insert(contentsOf: Self.awkward[int(Self.awkward.count)], at: at)
        }
    }
}

/// A byte source over memory that hands out its bytes in reads of random sizes, so the
/// readers' buffer edges are crossed at every place.
final class ChoppyByteSource: ByteSource {
    let bytes: [UInt8]
    var position = 0
    var rng: SplitMix64
    var rawOffset: Int64 { Int64(position) }

    init(_ bytes: [UInt8], seed: UInt64) {
        self.bytes = bytes
        rng = SplitMix64(seed: seed)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ReadError) -> Int {
        let n = min(buffer.count, bytes.count - position, 1 + Int(rng.next() % 700))
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
        }
        position += n
        return n
    }
}

/// The repository's root (pipelines/, samples/), found from this file.
let repositoryRoot: URL = {
    var u = URL(fileURLWithPath: #filePath)
    while u.path != "/" {
        u.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: u.appendingPathComponent("Package.swift").path) { return u }
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
}()

/// Files under `folder` of the repository whose names end with `suffix`, as bytes (seeds).
func repositoryFiles(_ folder: String, suffix: String, maxBytes: Int = 1 << 16) -> [[UInt8]] {
    let dir = repositoryRoot.appendingPathComponent(folder)
    let names = (FileManager.default.enumerator(atPath: dir.path)?.compactMap { $0 as? String } ?? []).sorted()
    return names.filter { $0.hasSuffix(suffix) }.compactMap {
        (try? Data(contentsOf: dir.appendingPathComponent($0))).map { Array($0.prefix(maxBytes)) }
    }
}
