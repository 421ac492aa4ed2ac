/// Where a record came from: carried to the rejects file, the manifest and messages.
public struct Provenance: Sendable, Equatable {
    /// Index of the file in the run's sorted file list.
    public var fileIndex: Int
    /// 1-based line number of the record's first line.
    public var line: Int
    /// Offset of the record's first byte in the decoded stream.
    public var offset: Int64
    /// 0-based index of the record among the file's records (rejected ones included).
    public var ordinal: Int64

    public init(fileIndex: Int, line: Int, offset: Int64, ordinal: Int64) {
        self.fileIndex = fileIndex
        self.line = line
        self.offset = offset
        self.ordinal = ordinal
    }
}

/// How a field's value bytes are to be read.
public enum ValueKind: UInt8, Sendable {
    /// Raw text (CSV, log lines): any bytes, escaped when written as JSON.
    case text
    /// The inside of a JSON string, still escaped as in the input (NDJSON).
    case jsonString
    /// A JSON number as written.
    case number
    /// `true` or `false`.
    case bool
    /// `null`.
    case null
    /// A JSON object or array as written (NDJSON nested values).
    case nested
}

/// One field of a decoded record: where its name and value are, without copying them.
public struct FieldSlot: Sendable, Equatable {
    /// >= 0: the name is `RecordView.names[nameIndex]` (CSV header, regex groups).
    /// -1: the name is `base[nameStart ..< nameStart + nameCount]` (NDJSON keys, still escaped).
    public var nameIndex: Int32
    public var nameStart: Int32
    public var nameCount: Int32
    /// The NDJSON key contains backslash escapes.
    public var nameEscaped: Bool
    public var valueStart: Int32
    public var valueCount: Int32
    public var kind: ValueKind
    /// A `.jsonString` value contains backslash escapes (its decoded length may be shorter).
    public var valueEscaped: Bool

    public init(nameIndex: Int32, valueStart: Int, valueCount: Int, kind: ValueKind) {
        self.nameIndex = nameIndex
        self.nameStart = 0
        self.nameCount = 0
        self.nameEscaped = false
        self.valueStart = Int32(valueStart)
        self.valueCount = Int32(valueCount)
        self.kind = kind
        self.valueEscaped = false
    }

    public init(
        nameStart: Int, nameCount: Int, nameEscaped: Bool, valueStart: Int, valueCount: Int, kind: ValueKind,
        valueEscaped: Bool
    ) {
        self.nameIndex = -1
        self.nameStart = Int32(nameStart)
        self.nameCount = Int32(nameCount)
        self.nameEscaped = nameEscaped
        self.valueStart = Int32(valueStart)
        self.valueCount = Int32(valueCount)
        self.kind = kind
        self.valueEscaped = valueEscaped
    }
}

/// A decoded record as slots over bytes owned by the decoder. Valid until the decoder's next call.
public struct RecordView {
    /// The bytes slots point into.
    public var base: UnsafeRawBufferPointer
    /// Fixed field names (CSV header, regex group names) for slots with `nameIndex >= 0`.
    /// Unowned: the decoder keeps the table alive for as long as the view is valid, and a view
    /// is copied several times per record on the hot path.
    public unowned(unsafe) var names: NameTable
    /// The record's fields, in storage the decoder owns (see `SlotBuffer`).
    public var fields: UnsafeBufferPointer<FieldSlot>
    public var provenance: Provenance
    /// Set by decoders that check it (NDJSON): every name is a valid, unreserved column name
    /// as written, so a record may be copied as it is.
    public var allNamesPlain = false
    /// The longest string or nested value, in bytes as written (NDJSON).
    public var longestValue = 0

    public init(
        base: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0), names: NameTable = NameTable.empty,
        fields: UnsafeBufferPointer<FieldSlot> = UnsafeBufferPointer(start: nil, count: 0),
        provenance: Provenance = Provenance(fileIndex: 0, line: 0, offset: 0, ordinal: 0)
    ) {
        self.base = base
        self.names = names
        self.fields = fields
        self.provenance = provenance
    }

    @inline(__always)
    public func value(_ f: FieldSlot) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: base[Int(f.valueStart)..<Int(f.valueStart + f.valueCount)])
    }

    /// The field's name as bytes (for NDJSON keys: as written, escapes included).
    @inline(__always)
    public func nameBytes(_ f: FieldSlot) -> UnsafeRawBufferPointer {
        if f.nameIndex >= 0 { return names[Int(f.nameIndex)] }
        return UnsafeRawBufferPointer(rebasing: base[Int(f.nameStart)..<Int(f.nameStart + f.nameCount)])
    }
}

/// Why a record could not be decoded or converted; it goes to the rejects file.
public struct RecordError: Error, Sendable, Equatable {
    public var reason: String
    /// Byte offset inside the record where the problem is, when known.
    public var column: Int?
    public init(_ reason: String, column: Int? = nil) {
        self.reason = reason
        self.column = column
    }
}

/// Field names fixed for a whole file (CSV header, regex group names), in one allocation
/// that outlives every record view pointing at it.
public final class NameTable: @unchecked Sendable {
    // Immutable after init; the storage is freed in deinit.
    private let storage: UnsafeMutableRawBufferPointer
    private let ranges: [Range<Int>]
    public let strings: [String]

    public init(_ names: [String]) {
        strings = names
        let total = names.reduce(0) { $0 + $1.utf8.count }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 1)
        var r: [Range<Int>] = []
        var at = 0
        for n in names {
            for b in n.utf8 {
                buffer[at] = b
                at += 1
            }
            r.append(at - n.utf8.count..<at)
        }
        storage = buffer
        ranges = r
    }

    deinit { storage.deallocate() }

    /// The table of a format without fixed names (NDJSON).
    public static let empty = NameTable([])

    public var count: Int { ranges.count }

    public subscript(i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[ranges[i]])
    }
}

/// What a decoder hands out: a record, or a rejected one with its location and an excerpt.
public enum DecodeResult {
    case record(RecordView)
    /// `excerpt` is at most 4 KB of the offending input.
    case rejected(Provenance, RecordError, excerpt: [UInt8])
}

/// Field slots in one allocation that a decoder reuses record after record; views point into
/// it. Grows (never shrinks); a view is invalid after the next `removeAll`.
public final class SlotBuffer {
    public private(set) var base: UnsafeMutablePointer<FieldSlot>
    public private(set) var capacity: Int
    public private(set) var count = 0

    public init(capacity: Int = 64) {
        self.capacity = max(capacity, 8)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always)
    public func append(_ s: FieldSlot) {
        if count == capacity { grow(count + 1) }
        (base + count).initialize(to: s)
        count += 1
    }

    public func append(contentsOf s: UnsafeBufferPointer<FieldSlot>) {
        guard s.count > 0 else { return }
        if count + s.count > capacity { grow(count + s.count) }
        (base + count).initialize(from: s.baseAddress!, count: s.count)
        count += s.count
    }

    private func grow(_ needed: Int) {
        var c = capacity
        while c < needed { c *= 2 }
        let n = UnsafeMutablePointer<FieldSlot>.allocate(capacity: c)
        n.moveInitialize(from: base, count: count)
        base.deallocate()
        base = n
        capacity = c
    }

    @inline(__always)
    public func removeAll() { count = 0 }

    @inline(__always)
    public subscript(i: Int) -> FieldSlot {
        get { base[i] }
        set { base[i] = newValue }
    }

    /// The slots as a buffer for a view.
    @inline(__always)
    public var view: UnsafeBufferPointer<FieldSlot> { UnsafeBufferPointer(start: base, count: count) }
}
