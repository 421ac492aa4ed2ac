import Foundation

/// What the producer reads: the run's files in order, record by record, with file boundaries.
/// A record's view is valid until the next call to `next()`.
enum InputEvent {
    case fileOpened(file: Int, names: NameTable?)
    case record(RecordView)
    case rejected(Provenance, RecordError, excerpt: [UInt8])
    /// The file was read to its end, or reading stopped at `error` (everything before it was
    /// handed out). `heldBackAt`: the offset of a last line left unread (no line end yet).
    case fileEnded(file: Int, error: ReadError?, heldBackAt: Int64?)
    /// The file could not be opened.
    case fileFailed(file: Int, ReadError)
    /// Not read at all (an earlier run delivered it).
    case fileSkipped(file: Int)
}

/// Multi-line records cut at `source.multiline.maxLines`/`maxBytes`, gathered from the
/// decoders as their files end (on the decoding thread) and read by the engine at the end.
public final class MultilineCutLog: @unchecked Sendable {
    // Guarded by `lock`: written once per file, read once per run.
    private let lock = NSLock()
    private var total = 0
    private var first: [(file: Int, place: MultilineGrouper.CutPlace)] = []

    func add(file: Int, count: Int, places: [MultilineGrouper.CutPlace]) {
        guard count > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        total += count
        for p in places where first.count < 5 { first.append((file, p)) }
    }

    /// How many records were cut, and where the first few cuts are (file index, line, offset, bound).
    public var summary: (count: Int, places: [(file: Int, line: Int, offset: Int64, reason: String)]) {
        lock.lock()
        defer { lock.unlock() }
        return (total, first.map { ($0.file, $0.place.line, $0.place.offset, $0.place.reason) })
    }
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
    private let cutLog: MultilineCutLog?
    private let inflateAhead: Bool

    init(
        files: [InputFile], source: SourceSpec, skip: Set<Int>, cutLog: MultilineCutLog? = nil,
        inflateAhead: Bool = false
    ) {
        self.inflateAhead = inflateAhead
        self.files = files
        self.source = source
        self.skip = skip
        self.cutLog = cutLog
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
            let (d, names, r) = try DecoderFactory.openWithReader(f, spec: source, inflateAhead: inflateAhead)
            decoder = d
            reader = r
            return .fileOpened(file: index, names: names)
        } catch {
            return .fileFailed(file: index, error)
        }
    }

    private func endFile(_ error: ReadError?) -> InputEvent {
        let heldBack = error == nil ? decoder?.heldBackAt : nil
        if let lines = decoder as? LineDecoder {
            let cuts = lines.multilineCuts
            cutLog?.add(file: index, count: cuts.count, places: cuts.places)
        }
        decoder = nil
        reader = nil
        return .fileEnded(file: index, error: error, heldBackAt: heldBack)
    }
}

/// Runs an `InlineInput` on a thread of its own, handing its events over in batches (record
/// bytes and slots copied), so decoding and decompressing overlap with transforming and
/// chunking on the other core. At most `depth` batches wait; batches are reused.
final class ThreadedInput: InputStage, @unchecked Sendable {
    // The batch queues are guarded by `condition`. The `cur…` fields and `view` belong to the
    // consumer thread; the inner input to the decoding thread.

    /// A record in a batch: plain values only, so reading one costs no reference counting.
    struct RecordItem {
        var base: Int
        var count: Int
        var slots: Int
        var slotCount: Int
        var provenance: Provenance
        var plain: Bool
        var longest: Int
    }

    /// The rare events, kept apart from the records; `at` is how many records come before.
    enum Other {
        case opened(Int, NameTable?)
        case rejected(Provenance, RecordError, [UInt8])
        case ended(Int, ReadError?, Int64?)
        case failed(Int, ReadError)
        case skipped(Int)
    }

    final class Batch {
        let bytes = ByteBuffer(capacity: 1 << 20)
        let slots = SlotBuffer(capacity: 1 << 14)
        var records = UnsafeMutablePointer<RecordItem>.allocate(capacity: 4096)
        var recordCapacity = 4096
        var recordCount = 0
        var others: [(at: Int, item: Other)] = []
        var progress: Int64 = 0
        var last = false

        deinit { records.deallocate() }

        func reset() {
            bytes.removeAll()
            slots.removeAll()
            recordCount = 0
            others.removeAll(keepingCapacity: true)
            last = false
        }

        func append(_ r: RecordItem) {
            if recordCount == recordCapacity {
                let bigger = UnsafeMutablePointer<RecordItem>.allocate(capacity: recordCapacity * 2)
                bigger.moveInitialize(from: records, count: recordCount)
                records.deallocate()
                records = bigger
                recordCapacity *= 2
            }
            (records + recordCount).initialize(to: r)
            recordCount += 1
        }
    }

    private let condition = NSCondition()
    private var full: [Batch] = []
    private var spare: [Batch] = []
    private var cancelled = false
    private let depth: Int
    private var current: Batch?
    // The current batch, as raw pointers (valid while `current` holds it).
    private var curRecords = UnsafeMutablePointer<RecordItem>(bitPattern: 8)!
    private var curRecordCount = 0
    private var curBytes = UnsafeMutableRawPointer(bitPattern: 8)!
    private var curSlots = UnsafeMutablePointer<FieldSlot>(bitPattern: 8)!
    private var recordPosition = 0
    private var otherPosition = 0
    /// Records before the next rare event (Int.max when none is left in the batch).
    private var nextOtherAt = Int.max
    private var view = RecordView()
    private var names: NameTable?
    private var consumerProgress: Int64 = 0

    init(
        files: [InputFile], source: SourceSpec, skip: Set<Int>, depth: Int = 3, cutLog: MultilineCutLog? = nil,
        inflateAhead: Bool = false
    ) {
        self.depth = depth
        for _ in 0..<(depth + 2) { spare.append(Batch()) }
        let inner = InlineInput(files: files, source: source, skip: skip, cutLog: cutLog, inflateAhead: inflateAhead)
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
            while b.recordCount < 4096 && b.bytes.count < (1 << 20) {
                guard let e = input.next() else {
                    done = true
                    break
                }
                switch e {
                case .record(let v):
                    let base = b.bytes.count
                    b.bytes.append(v.base)
                    let s = b.slots.count
                    b.slots.append(contentsOf: v.fields)
                    b.append(
                        RecordItem(
                            base: base, count: v.base.count, slots: s, slotCount: v.fields.count,
                            provenance: v.provenance, plain: v.allNamesPlain, longest: v.longestValue))
                case .fileOpened(let f, let n): b.others.append((b.recordCount, .opened(f, n)))
                case .rejected(let p, let err, let x): b.others.append((b.recordCount, .rejected(p, err, x)))
                case .fileEnded(let f, let err, let held): b.others.append((b.recordCount, .ended(f, err, held)))
                case .fileFailed(let f, let err): b.others.append((b.recordCount, .failed(f, err)))
                case .fileSkipped(let f): b.others.append((b.recordCount, .skipped(f)))
                }
                if b.others.count > 4096 { break }
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
            if recordPosition == nextOtherAt, let b = current {
                let item = b.others[otherPosition].item
                otherPosition += 1
                nextOtherAt = otherPosition < b.others.count ? b.others[otherPosition].at : Int.max
                switch item {
                case .opened(let f, let n):
                    names = n
                    view.names = n ?? NameTable.empty
                    return .fileOpened(file: f, names: n)
                case .rejected(let p, let e, let x): return .rejected(p, e, excerpt: x)
                case .ended(let f, let e, let held):
                    names = nil
                    return .fileEnded(file: f, error: e, heldBackAt: held)
                case .failed(let f, let e): return .fileFailed(file: f, e)
                case .skipped(let f): return .fileSkipped(file: f)
                }
            }
            if recordPosition < curRecordCount {
                let r = curRecords[recordPosition]
                recordPosition += 1
                view.base = UnsafeRawBufferPointer(start: curBytes + r.base, count: r.count)
                view.fields = UnsafeBufferPointer(start: curSlots + r.slots, count: r.slotCount)
                view.provenance = r.provenance
                view.allNamesPlain = r.plain
                view.longestValue = r.longest
                return .record(view)
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
            guard let n = next else {
                curRecordCount = 0
                nextOtherAt = Int.max
                return nil
            }
            current = n
            curRecords = n.records
            curRecordCount = n.recordCount
            curBytes = n.bytes.base
            curSlots = n.slots.base
            recordPosition = 0
            otherPosition = 0
            nextOtherAt = n.others.first?.at ?? Int.max
            consumerProgress = n.progress
        }
    }
}
