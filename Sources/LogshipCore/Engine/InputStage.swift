import Foundation

/// What the producer reads: the run's files in order, record by record, with file boundaries.
/// A record's view is valid until the next call to `next()`.
enum InputEvent {
    case fileOpened(file: Int, names: NameTable?)
    case record(RecordView)
    case rejected(Provenance, RecordError, excerpt: [UInt8])
    /// The file was read to its end, or reading stopped at `error` (everything before it was handed out).
    case fileEnded(file: Int, error: ReadError?)
    /// The file could not be opened.
    case fileFailed(file: Int, ReadError)
    /// Not read at all (an earlier run delivered it).
    case fileSkipped(file: Int)
}

protocol InputStage: AnyObject {
    func next() -> InputEvent?
    /// Bytes of the input files consumed so far (compressed bytes for gzip), for progress.
    var progressBytes: Int64 { get }
    /// Stop reading (the run is stopping).
    func cancel()
}

/// Opens and decodes the files on the caller's thread; views point into the decoder's buffers.
final class InlineInput: InputStage, @unchecked Sendable {
    // Used by one thread at a time: the caller's, or the decoding thread it was handed to.
    private let files: [InputFile]
    private let source: SourceSpec
    private let skip: Set<Int>
    private var index = -1
    private var decoder: RecordDecoder?
    private var reader: LineReader?
    private var bytesBefore: Int64 = 0

    init(files: [InputFile], source: SourceSpec, skip: Set<Int>) {
        self.files = files
        self.source = source
        self.skip = skip
    }

    var progressBytes: Int64 { bytesBefore + (reader?.rawOffset ?? 0) }

    func cancel() {}

    func next() -> InputEvent? {
        if let d = decoder {
            do {
                if let r = try d.next() {
                    switch r {
                    case .record(let v): return .record(v)
                    case .rejected(let p, let e, let x): return .rejected(p, e, excerpt: x)
                    }
                }
                return endFile(nil)
            } catch {
                return endFile(error)
            }
        }
        if index >= 0 { bytesBefore += files[index].size }
        index += 1
        guard index < files.count else { return nil }
        let f = files[index]
        if skip.contains(index) { return .fileSkipped(file: index) }
        do {
            let (d, names, r) = try DecoderFactory.openWithReader(f, spec: source)
            decoder = d
            reader = r
            return .fileOpened(file: index, names: names)
        } catch {
            return .fileFailed(file: index, error)
        }
    }

    private func endFile(_ error: ReadError?) -> InputEvent {
        decoder = nil
        reader = nil
        return .fileEnded(file: index, error: error)
    }
}

/// Runs an `InlineInput` on a thread of its own, handing its events over in batches (record
/// bytes and slots copied), so decoding and decompressing overlap with transforming and
/// chunking on the other core. At most `depth` batches wait; batches are reused.
final class ThreadedInput: InputStage, @unchecked Sendable {
    // The batch queues are guarded by `condition`; `current`/`position` belong to the consumer
    // thread, the inner input to the decoding thread.
    enum Item {
        case opened(Int, NameTable?)
        case record(base: Int, count: Int, slots: Int, slotCount: Int, Provenance, plain: Bool, longest: Int)
        case rejected(Provenance, RecordError, [UInt8])
        case ended(Int, ReadError?)
        case failed(Int, ReadError)
        case skipped(Int)
    }

    final class Batch {
        let bytes = ByteBuffer(capacity: 1 << 20)
        var items: [Item] = []
        let slots = SlotBuffer(capacity: 1 << 14)
        var progress: Int64 = 0
        var last = false

        func reset() {
            bytes.removeAll()
            items.removeAll(keepingCapacity: true)
            slots.removeAll()
            last = false
        }
    }

    private let condition = NSCondition()
    private var full: [Batch] = []
    private var spare: [Batch] = []
    private var cancelled = false
    private let depth: Int
    private var current: Batch?
    private var position = 0
    private var view = RecordView()
    private var names: NameTable?
    private let noNames = NameTable([])
    private var consumerProgress: Int64 = 0

    init(files: [InputFile], source: SourceSpec, skip: Set<Int>, depth: Int = 3) {
        self.depth = depth
        for _ in 0..<(depth + 2) { spare.append(Batch()) }
        let inner = InlineInput(files: files, source: source, skip: skip)
        let t = Thread { [self] in produce(inner) }
        t.name = "logship-decoder"
        t.stackSize = 1 << 22
        t.start()
    }

    var progressBytes: Int64 { consumerProgress }

    func cancel() {
        condition.withLock {
            cancelled = true
            condition.broadcast()
        }
    }

    // MARK: Decoding thread

    private func produce(_ input: InlineInput) {
        var batch = takeSpare()
        while let b = batch {
            var done = false
            while b.items.count < 4096 && b.bytes.count < (1 << 20) {
                guard let e = input.next() else {
                    done = true
                    break
                }
                switch e {
                case .fileOpened(let f, let n): b.items.append(.opened(f, n))
                case .record(let v):
                    let base = b.bytes.count
                    b.bytes.append(v.base)
                    let s = b.slots.count
                    b.slots.append(contentsOf: v.fields)
                    b.items.append(.record(base: base, count: v.base.count, slots: s, slotCount: v.fields.count, v.provenance, plain: v.allNamesPlain, longest: v.longestValue))
                case .rejected(let p, let err, let x): b.items.append(.rejected(p, err, x))
                case .fileEnded(let f, let err):
                    b.items.append(.ended(f, err))
                case .fileFailed(let f, let err): b.items.append(.failed(f, err))
                case .fileSkipped(let f): b.items.append(.skipped(f))
                }
            }
            b.progress = input.progressBytes
            b.last = done
            let keepGoing = condition.withLock { () -> Bool in
                if cancelled { return false }
                full.append(b)
                condition.broadcast()
                return true
            }
            if !keepGoing || done { return }
            batch = takeSpare()
        }
    }

    private func takeSpare() -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        while spare.isEmpty || full.count >= depth {
            if cancelled { return nil }
            condition.wait()
        }
        if cancelled { return nil }
        let b = spare.removeLast()
        b.reset()
        return b
    }

    // MARK: Consumer thread

    func next() -> InputEvent? {
        while true {
            if let b = current, position < b.items.count {
                let item = b.items[position]
                position += 1
                switch item {
                case .opened(let f, let n):
                    names = n
                    return .fileOpened(file: f, names: n)
                case .record(let base, let count, let s, let sc, let p, let plain, let longest):
                    view.base = UnsafeRawBufferPointer(start: b.bytes.base + base, count: count)
                    view.names = names ?? noNames
                    view.fields = UnsafeBufferPointer(start: b.slots.base + s, count: sc)
                    view.provenance = p
                    view.allNamesPlain = plain
                    view.longestValue = longest
                    return .record(view)
                case .rejected(let p, let e, let x): return .rejected(p, e, excerpt: x)
                case .ended(let f, let e):
                    names = nil
                    return .fileEnded(file: f, error: e)
                case .failed(let f, let e): return .fileFailed(file: f, e)
                case .skipped(let f): return .fileSkipped(file: f)
                }
            }
            // The current batch is used up: give it back and take the next.
            let wasLast = current?.last ?? false
            let next: Batch? = condition.withLock {
                if let c = current {
                    spare.append(c)
                    condition.broadcast()
                }
                current = nil
                if wasLast { return nil }
                while full.isEmpty && !cancelled { condition.wait() }
                if cancelled && full.isEmpty { return nil }
                return full.removeFirst()
            }
            guard let n = next else { return nil }
            current = n
            position = 0
            consumerProgress = n.progress
        }
    }
}
