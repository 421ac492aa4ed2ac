import Foundation

/// `rejects.ndjson`: one line per record that could not be decoded or converted, with
/// where it was, why, and a bounded excerpt. Opened on the first reject only.
public final class RejectsWriter: @unchecked Sendable {
    // Used from the reading thread only; `count` is read after reading has finished.
    public let url: URL?
    private var handle: FileHandle?
    private let buffer = ByteBuffer(capacity: 8192)
    public private(set) var count = 0

    /// `url` nil counts rejects without writing them (preview, validate).
    public init(url: URL?) { self.url = url }

    public func write(file: String, line: Int, offset: Int64, reason: String, excerpt: [UInt8]) {
        count += 1
        guard let url else { return }
        buffer.removeAll()
        buffer.append("{\"file\":")
        field(file)
        buffer.append(",\"line\":")
        buffer.append(String(line))
        buffer.append(",\"offset\":")
        buffer.append(String(offset))
        buffer.append(",\"reason\":")
        field(reason)
        buffer.append(",\"excerpt\":")
        excerpt.prefix(4096).withUnsafeBytes {
            _ = JSONWriter.writeString($0, to: buffer, maxBytes: 4096, invalidUTF8: .replace)
        }
        buffer.append(",\"time\":")
        field(HTTPDate.iso8601(Date()))
        buffer.append("}\n")
        do {
            if handle == nil {
                // Rejects hold excerpts of records: 0600 in a 0700 folder (PrivateFiles).
                let fd = try PrivateFiles.open(url, flags: O_WRONLY | O_APPEND)
                handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            }
            try handle?.write(contentsOf: Data(buffer.bytes))
        } catch {
            StandardStreams.err("logship: cannot write \(url.path): \(error.localizedDescription)\n")
        }
    }

    private func field(_ s: String) {
        var s = s
        s.withUTF8 { _ = JSONWriter.writeString(UnsafeRawBufferPointer($0), to: buffer, maxBytes: Int.max, invalidUTF8: .replace) }
    }

    public func close() {
        try? handle?.synchronize()
        try? handle?.close()
        handle = nil
    }
}

extension HTTPDate {
    /// `2026-11-23T13:09:43Z`, for reports and state files.
    public static func iso8601(_ date: Date) -> String {
        let secs = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = floorDiv(secs, 86_400)
        let sod = Int(secs - days * 86_400)
        let (y, m, d) = CivilDate.fromDays(days)
        func p(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(p(m))-\(p(d))T\(p(sod / 3600)):\(p(sod / 60 % 60)):\(p(sod % 60))Z"
    }
}
