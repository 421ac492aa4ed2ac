import Foundation

/// A growable byte buffer for the per-record path: unchecked appends into one allocation
/// that is reused (`removeAll` keeps the capacity).
public final class ByteBuffer {
    public private(set) var base: UnsafeMutableRawPointer
    public private(set) var capacity: Int
    public var count = 0

    public init(capacity: Int = 1 << 16) {
        self.capacity = max(capacity, 64)
        base = .allocate(byteCount: self.capacity, alignment: 64)
    }

    deinit { base.deallocate() }

    @inline(__always)
    public func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    private func grow(_ needed: Int) {
        var c = capacity
        while c < needed { c *= 2 }
        let n = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 64)
        n.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = n
        capacity = c
    }

    @inline(__always)
    public func append(_ b: UInt8) {
        if count == capacity { grow(count + 1) }
        base.storeBytes(of: b, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    public func append(_ s: StaticString) {
        append(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    public func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    public func append(_ s: String) {
        var s = s
        s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    public func removeAll() { count = 0 }

    /// Drops everything after the first `n` bytes.
    public func truncate(to n: Int) { count = min(count, n) }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public func toArray() -> [UInt8] { Array(bytes) }

    @inline(__always)
    public subscript(i: Int) -> UInt8 { base.load(fromByteOffset: i, as: UInt8.self) }
}
