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

    /// Hands the bytes to a `Data` without copying them and starts over with another
    /// allocation of `nextCapacity` bytes. When the `Data` goes, its memory returns to `pool`
    /// (or is freed): reusing bodies avoids faulting in fresh pages for every chunk.
    public func takeData(nextCapacity: Int, pool: BufferPool? = nil) -> Data {
        let old = base, oldCapacity = capacity
        let data: Data
        if let pool {
            data = Data(bytesNoCopy: old, count: count, deallocator: .custom { _, _ in pool.give(old, capacity: oldCapacity) })
        } else {
            data = Data(bytesNoCopy: old, count: count, deallocator: .custom { p, _ in p.deallocate() })
        }
        if let (p, c) = pool?.take(minimum: nextCapacity) {
            base = p
            capacity = c
        } else {
            capacity = max(nextCapacity, 64)
            base = .allocate(byteCount: capacity, alignment: 64)
        }
        count = 0
        return data
    }
}

/// Spare body allocations, handed back when a sent body is released (from any thread).
/// Keeps at most `limit` spares; more are freed.
public final class BufferPool: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var spares: [(UnsafeMutableRawPointer, Int)] = []
    private let limit: Int

    public init(limit: Int) { self.limit = limit }

    deinit { for (p, _) in spares { p.deallocate() } }

    func give(_ p: UnsafeMutableRawPointer, capacity: Int) {
        let keep = lock.withLock { () -> Bool in
            guard spares.count < limit else { return false }
            spares.append((p, capacity))
            return true
        }
        if !keep { p.deallocate() }
    }

    func take(minimum: Int) -> (UnsafeMutableRawPointer, Int)? {
        lock.withLock {
            guard let k = spares.firstIndex(where: { $0.1 >= minimum }) else { return nil }
            return spares.remove(at: k)
        }
    }
}
