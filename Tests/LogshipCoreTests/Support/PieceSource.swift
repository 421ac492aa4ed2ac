@testable import LogshipCore

/// Bytes served in small pieces, so that lines and records straddle a reader's refills.
final class PieceSource: ByteSource {
    private let bytes: [UInt8]
    private let piece: Int
    private var position = 0
    var rawOffset: Int64 { Int64(position) }

    init(_ bytes: [UInt8], piece: Int) {
        self.bytes = bytes
        self.piece = piece
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ReadError) -> Int {
        let n = min(buffer.count, piece, bytes.count - position)
        if n > 0 {
            bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
        }
        position += n
        return n
    }
}
