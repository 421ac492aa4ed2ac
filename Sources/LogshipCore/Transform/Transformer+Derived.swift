import Foundation

// Derived fields (`from: "$file"`, `"$line"`, `"$host"`, `"$pipeline"`) and `extract`: the
// per-file values, computed once when a file begins, and the per-record pieces.
extension Transformer {
    /// The values of `$file`, `$host` and `$pipeline` for this file, extracted once here.
    func deriveFileValues(path: String) {
        derivedArena.removeAll()
        for k in 0..<outputs.count {
            let p = plans[k]
            fileValues[k] = .none
            let text: [UInt8]
            switch p.derived {
            case .none, .line: continue
            case .file: text = Array(path.utf8)
            case .host: text = Transformer.hostName
            case .pipeline: text = pipelineName
            }
            text.withUnsafeBytes { raw in
                var value: UnsafeRawBufferPointer? = raw
                if p.extractor >= 0 { value = extractors[Int(p.extractor)].extract(raw) }
                guard let value else { return }
                let start = Int32(derivedArena.count)
                derivedArena.append(value)
                fileValues[k] = Span(start: start, count: Int32(value.count))
            }
        }
    }

    /// `$host`: the machine's host name, read once per process.
    static let hostName: [UInt8] = {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return [] }
        return Array(buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) })
    }()

    /// `$line`'s digits in `lineText`; returns their count.
    @inline(__always)
    func writeLine(_ line: Int) -> Int {
        var n = max(line, 0)
        var digits = 0
        repeat {
            digits += 1
            n /= 10
        } while n > 0
        n = max(line, 0)
        for i in stride(from: digits - 1, through: 0, by: -1) {
            lineText[i] = UInt8(0x30 + n % 10)
            n /= 10
        }
        return digits
    }

    /// An input value's `extract` group, as text; not found (counted) when nothing matches.
    /// Out of line: the regex costs far more than the call, and other records pay nothing.
    @inline(never)
    func extract(_ raw: UnsafeRawBufferPointer, kind: ValueKind, escaped: Bool, _ e: Int32)
        -> (Bool, UnsafeRawBufferPointer, ValueKind)
    {
        if kind == .null { return (true, raw, kind) }
        var text = raw
        if kind == .jsonString && escaped {
            extractScratch.removeAll()
            Transformer.unescape(raw, to: extractScratch)
            text = UnsafeRawBufferPointer(start: extractScratch.base, count: extractScratch.count)
        }
        guard let part = extractors[Int(e)].extract(text) else {
            stats[.extractMisses] += 1
            return (false, UnsafeRawBufferPointer(start: nil, count: 0), .null)
        }
        return (true, part, .text)
    }
}
