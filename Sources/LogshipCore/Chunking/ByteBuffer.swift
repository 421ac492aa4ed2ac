import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Large allocations straight from the kernel. Request bodies live here: malloc keeps freed
/// multi-megabyte blocks in its arenas (glibc raises its mmap threshold after the first large
/// free), so a long run's memory would creep up; a mapping is returned when it is unmapped.
enum Pages {
    static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else { fatalError("out of memory: mmap of \(bytes) bytes failed") }
        return p
    }

    static func free(_ p: UnsafeMutableRawPointer, _ bytes: Int) { munmap(p, bytes) }
}

/// A growable byte buffer for the per-record path: unchecked appends into one allocation
/// that is reused (`removeAll` keeps the capacity).
public final class ByteBuffer {
    public private(set) var base: UnsafeMutableRawPointer
    public private(set) var capacity: Int
    public var count = 0
    /// Backed by `Pages` rather than malloc (request bodies).
    public let mapped: Bool

    public init(capacity: Int = 1 << 16, mapped: Bool = false) {
        self.capacity = max(capacity, 64)
        self.mapped = mapped
        base = mapped ? Pages.allocate(self.capacity) : .allocate(byteCount: self.capacity, alignment: 64)
    }

    deinit { release(base, capacity) }

    private func release(_ p: UnsafeMutableRawPointer, _ c: Int) {
        if mapped { Pages.free(p, c) } else { p.deallocate() }
    }

    @inline(__always)
    public func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    private func grow(_ needed: Int) {
        var c = capacity
        while c < needed { c *= 2 }
        let n = mapped ? Pages.allocate(c) : UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 64)
        n.copyMemory(from: base, byteCount: count)
        release(base, capacity)
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
        let old = base, oldCapacity = capacity, isMapped = mapped
        let data: Data
        if let pool {
            data = Data(
                bytesNoCopy: old, count: count,
                deallocator: .custom { _, _ in pool.give(old, capacity: oldCapacity, mapped: isMapped) })
        } else if mapped {
            data = Data(bytesNoCopy: old, count: count, deallocator: .custom { p, _ in Pages.free(p, oldCapacity) })
        } else {
            data = Data(bytesNoCopy: old, count: count, deallocator: .custom { p, _ in p.deallocate() })
        }
        if let (p, c) = pool?.take(minimum: nextCapacity, mapped: mapped) {
            base = p
            capacity = c
        } else {
            capacity = max(nextCapacity, 64)
            base = mapped ? Pages.allocate(capacity) : .allocate(byteCount: capacity, alignment: 64)
        }
        count = 0
        return data
    }
}

/// Body allocations, handed back when a sent body is released (from any thread). With a
/// `limit`, at most that many exist at once: `take` waits for one to come back, which is how
/// memory stays at (concurrency + 1) bodies however large the input.
public final class BufferPool: @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var spares: [(UnsafeMutableRawPointer, Int, Bool)] = []
    private var outstanding = 0
    private let limit: Int
    private var closed = false
    private var mostAllocated = 0

    /// The most allocations that existed at once so far (spares included).
    public var highWater: Int { condition.withLock { mostAllocated } }

    /// - Parameter limit: most allocations in existence at once (spares included).
    public init(limit: Int) { self.limit = max(1, limit) }

    deinit { for (p, c, m) in spares { BufferPool.free(p, c, m) } }

    static func free(_ p: UnsafeMutableRawPointer, _ c: Int, _ mapped: Bool) {
        if mapped { Pages.free(p, c) } else { p.deallocate() }
    }

    func give(_ p: UnsafeMutableRawPointer, capacity: Int, mapped: Bool) {
        condition.withLock {
            outstanding -= 1
            spares.append((p, capacity, mapped))
            condition.broadcast()
        }
    }

    /// A spare of at least `minimum` bytes, or nil when a new allocation may be made. Waits
    /// while `limit` allocations are out and none is spare.
    func take(minimum: Int, mapped: Bool) -> (UnsafeMutableRawPointer, Int)? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let k = spares.firstIndex(where: { $0.1 >= minimum && $0.2 == mapped }) {
                let (p, c, _) = spares.remove(at: k)
                outstanding += 1
                return (p, c)
            }
            if outstanding + spares.count < limit || closed {
                outstanding += 1
                mostAllocated = max(mostAllocated, outstanding + spares.count)
                return nil
            }
            if !spares.isEmpty {
                // A spare too small for this body: drop it to make room.
                let (p, c, m) = spares.removeLast()
                BufferPool.free(p, c, m)
                continue
            }
            condition.wait()
        }
    }

    /// Counts an allocation made outside `take` (the first body).
    func adopt() {
        condition.withLock {
            outstanding += 1
            mostAllocated = max(mostAllocated, outstanding + spares.count)
        }
    }

    /// Stops waiting (the run is stopping): `take` allocates past the limit from now on.
    public func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }
}
