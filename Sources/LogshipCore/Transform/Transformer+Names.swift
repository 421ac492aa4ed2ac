import Foundation

// Per file: binding column names, the names passthrough sends (sanitised, deduplicated).
extension Transformer {
    // MARK: Per file

    /// Prepares for a new file: its id key (for `recordId`), for CSV and lines its column names,
    /// and its path relative to the pipeline file's folder (`$file`).
    public func beginFile(fileKey: UInt64, names: NameTable?, path: String = "") {
        self.fileKey = fileKey
        bound = names != nil
        filter?.beginFile(names: names)
        programReady = false
        deriveFileValues(path: path)
        guard let names else { return }
        columns = names.count
        if columnSlotCapacity < columns {
            columnSlot.deallocate()
            passKeys.deallocate()
            passNumbered.deallocate()
            columnSlotCapacity = columns
            columnSlot = .allocate(capacity: columns)
            passKeys = .allocate(capacity: columns)
            passNumbered = .allocate(capacity: columns)
        }
        for k in 0..<outputs.count {
            var column: Int32 = -1
            let p = plans[k]
            if p.from.present {
                for c in 0..<names.count where equal(p.from, names[c]) {
                    column = Int32(c)
                    break
                }
            }
            plans[k].column = column
        }
        fileArena.removeAll()
        // The names are the file's: decided once here, with the same rule as for NDJSON records.
        var candidates: [(out: [UInt8], plain: Bool)?] = []
        for c in 0..<names.count {
            let n = names[c]
            if !passthrough || consumed.contains(where: { equal($0, n) }) || dropped.contains(where: { equal($0, n) }) {
                candidates.append(nil)
                continue
            }
            let raw = Array(n)
            let out = columnName(raw)
            candidates.append((out, out == raw))
        }
        let assigned = assignNames(candidates)
        fileNumbered = 0
        for c in 0..<names.count {
            passKeys[c] = .none
            passNumbered[c] = false
            guard let a = assigned[c] else { continue }
            let start = Int32(fileArena.count)
            fileArena.append(0x22)
            fileArena.append(a.name)
            fileArena.append("\":")
            passKeys[c] = Span(start: start, count: Int32(fileArena.count) - start)
            if a.numbered {
                passNumbered[c] = true
                fileNumbered += 1
                noteCollision(Array(names[c]), a.name)
            }
        }
        compileProgram()
    }

    /// The column name for an input name: itself when valid, otherwise sanitized.
    func columnName(_ raw: [UInt8]) -> [UInt8] {
        let s = String(decoding: raw, as: UTF8.self)
        if FieldNames.problem(s, allowTimeGenerated: allowTimeGenerated) == nil { return raw }
        return Array(FieldNames.sanitize(s).utf8)
    }

    @inline(__always)
    static func lowered(_ name: [UInt8]) -> [UInt8] { name.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 } }

    /// Names for passed-through fields, given each one's sanitised name and whether it is valid
    /// as written (nil: not passed through). The rule (docs/pipeline.md "fields"): first every name
    /// valid as written keeps it, in input order, unless a reserved name or an earlier field
    /// has it (in any letter case); then the others, in input order, take their sanitised name
    /// if free, else the first free `name_2`, `name_3`, … (cut to stay within 45 characters).
    /// Valid names go first so that a well-named field keeps its column whatever else the record
    /// holds; `_` and digits can never read as a Data Collector type suffix (`_s`, `_d`, …).
    func assignNames(_ c: [(out: [UInt8], plain: Bool)?]) -> [(name: [UInt8], numbered: Bool)?] {
        var used = Set<[UInt8]>()
        var result = [(name: [UInt8], numbered: Bool)?](repeating: nil, count: c.count)
        func claim(_ name: [UInt8]) -> Bool {
            let l = Transformer.lowered(name)
            return !reservedNames.contains(l) && used.insert(l).inserted
        }
        for (i, x) in c.enumerated() {
            if let x, x.plain, claim(x.out) { result[i] = (x.out, false) }
        }
        for (i, x) in c.enumerated() {
            guard let x, result[i] == nil else { continue }
            if !x.plain, claim(x.out) {
                result[i] = (x.out, false)
                continue
            }
            // Ends: `used` and `reservedNames` are finite and every k gives another name.
            var k = 2
            while true {
                let suffix = Array("_\(k)".utf8)
                let name = Array(x.out.prefix(FieldNames.maxLength - suffix.count)) + suffix
                if claim(name) {
                    result[i] = (name, true)
                    break
                }
                k += 1
            }
        }
        return result
    }

    func noteCollision(_ raw: [UInt8], _ name: [UInt8]) {
        guard collisionExamples.count < 3 else { return }
        let example = "\"\(String(decoding: raw, as: UTF8.self))\" → \(String(decoding: name, as: UTF8.self))"
        if !collisionExamples.contains(example) { collisionExamples.append(example) }
    }

    // MARK: NDJSON names

    /// The entry of an NDJSON name as written; -1 when the cache is full (decided per record then).
    @inline(__always)
    func nameEntry(_ n: UnsafeRawBufferPointer, escaped: Bool) -> Int32 {
        // Eight bytes at a time, then mixed so that the low bits (the slot) depend on every byte.
        let c = n.count
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(c)
        var i = 0
        while i + 8 <= c {
            h = (h ^ n.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        if i < c {
            var t: UInt64 = 0
            var k: UInt64 = 0
            while i < c {
                t |= UInt64(n[i]) << k
                k += 8
                i += 1
            }
            h = (h ^ t) &* 0x94D0_49BB_1331_11EB
        }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        var s = Int(truncatingIfNeeded: h) & slotMask
        while true {
            let e = nameSlots[s]
            if e < 0 { break }
            let entry = nameEntries[Int(e)]
            if entry.hash == h && Int(entry.raw.count) == n.count
                && (n.count == 0 || memcmp(nameArena.base + Int(entry.raw.start), n.baseAddress!, n.count) == 0)
            {
                return e
            }
            s = (s + 1) & slotMask
        }
        return addName(n, escaped: escaped, hash: h, slot: s)
    }

    func addName(_ n: UnsafeRawBufferPointer, escaped: Bool, hash: UInt64, slot: Int) -> Int32 {
        guard nameCount < Transformer.maxCachedNames else { return -1 }
        let skip = consumed.contains { equal($0, n) } || dropped.contains { equal($0, n) }
        let (out, plain) = outputName(n, escaped: escaped)
        if !plain && !skip { stats[.renamedFields] += 1 }
        let lower = Transformer.lowered(out)
        let group: Int32
        if let g = groupOf[lower] {
            group = g
        } else {
            group = Int32(groupOf.count)
            groupOf[lower] = group
            if Int(group) >= groupCapacity {
                let bigger = UnsafeMutablePointer<UInt32>.allocate(capacity: groupCapacity * 2)
                bigger.initialize(repeating: 0, count: groupCapacity * 2)
                bigger.update(from: groupStamps, count: groupCapacity)
                groupStamps.deallocate()
                groupStamps = bigger
                groupCapacity *= 2
            }
        }
        let rawStart = Int32(nameArena.count)
        nameArena.append(n)
        let keyStart = Int32(nameArena.count)
        nameArena.append(0x22)
        nameArena.append(out)
        nameArena.append("\":")
        let entry = NameEntry(
            raw: Span(start: rawStart, count: Int32(n.count)),
            key: Span(start: keyStart, count: Int32(nameArena.count) - keyStart),
            hash: hash, group: group, skip: skip, plain: plain, reserved: reservedNames.contains(lower))
        if nameCount == nameCapacity {
            let bigger = UnsafeMutablePointer<NameEntry>.allocate(capacity: nameCapacity * 2)
            bigger.moveInitialize(from: nameEntries, count: nameCount)
            nameEntries.deallocate()
            nameEntries = bigger
            nameCapacity *= 2
        }
        nameEntries[nameCount] = entry
        nameSlots[slot] = Int32(nameCount)
        nameCount += 1
        if nameCount * 2 > slotMask + 1 { growSlots() }
        return Int32(nameCount - 1)
    }

    func growSlots() {
        let size = (slotMask + 1) * 2
        nameSlots.deallocate()
        nameSlots = .allocate(capacity: size)
        nameSlots.initialize(repeating: -1, count: size)
        slotMask = size - 1
        for e in 0..<nameCount {
            var s = Int(truncatingIfNeeded: nameEntries[e].hash) & slotMask
            while nameSlots[s] >= 0 { s = (s + 1) & slotMask }
            nameSlots[s] = Int32(e)
        }
    }

    /// The column name of an NDJSON name, and whether it is the name as written (unescaped).
    func outputName(_ n: UnsafeRawBufferPointer, escaped: Bool) -> ([UInt8], Bool) {
        var plain = Array(n)
        if escaped {
            scratch.removeAll()
            Transformer.unescape(n, to: scratch)
            plain = scratch.toArray()
        }
        let out = columnName(plain)
        return (out, out == plain)
    }

    /// Decides the names of the record's passed-through fields (NDJSON); true when every one
    /// takes its own name. Two fields collide only when they claim one group in one record,
    /// which the per-group stamp shows without comparing names.
    @inline(__always)
    func claimNames(_ v: RecordView) -> Bool {
        let fields = v.fields
        if fieldCapacity < fields.count {
            fieldNames.deallocate()
            lastNames.deallocate()
            resolvedKeys.deallocate()
            fieldCapacity = max(fields.count, fieldCapacity * 2)
            fieldNames = .allocate(capacity: fieldCapacity)
            lastNames = .allocate(capacity: fieldCapacity)
            lastNames.initialize(repeating: -1, count: fieldCapacity)
            resolvedKeys = .allocate(capacity: fieldCapacity)
        }
        // The previous record's names, in the same order: the same decision, without the
        // per-field claims (what a producer writing one shape of record costs per record).
        if fields.count == lastShapeCount, sameNamesAsLast(v) { return lastShapeClean }
        recordStamp &+= 1
        if recordStamp == 0 {
            groupStamps.update(repeating: 0, count: groupCapacity)
            recordStamp = 1
        }
        // Locals, not properties, in the loop: no exclusivity check per access. A new name may
        // move the entries, stamps and arena, so they are read again after one is added.
        let stamp = recordStamp
        let chosen = fieldNames, last = lastNames
        var entries = nameEntries, stamps = groupStamps
        var arena = nameArena.base
        var clean = true
        for i in 0..<fields.count {
            let f = fields[i]
            let n = v.nameBytes(f)
            var e = last[i]
            if e < 0 || Int(entries[Int(e)].raw.count) != n.count
                || (n.count > 0 && memcmp(arena + Int(entries[Int(e)].raw.start), n.baseAddress!, n.count) != 0)
            {
                e = nameEntry(n, escaped: f.nameEscaped)
                entries = nameEntries
                stamps = groupStamps
                arena = nameArena.base
            }
            last[i] = e
            chosen[i] = e
            if e < 0 {
                clean = false
                continue
            }
            let entry = entries[Int(e)]
            if entry.skip {
                chosen[i] = -1
                continue
            }
            // A null is not written by `emit`, but the identity path copies it: it claims too.
            if entry.reserved || stamps[Int(entry.group)] == stamp {
                clean = false
            } else {
                stamps[Int(entry.group)] = stamp
            }
            if f.kind == .null { chosen[i] = -1 }
        }
        // Remembered only when every name has an entry (one past the cache is decided alone).
        var cached = true
        for i in 0..<fields.count where last[i] < 0 { cached = false }
        lastShapeCount = cached ? fields.count : -1
        lastShapeClean = clean
        return clean
    }

    /// Whether the record's names are the previous record's, in order (`lastNames`); sets
    /// `fieldNames` as `claimNames` would when they are. Whether names collide depends only on
    /// the names and their order, so the previous decision stands. The comparison is inline and
    /// never reads outside either name (two overlapping words cover 4 to 16 bytes).
    @inline(__always)
    func sameNamesAsLast(_ v: RecordView) -> Bool {
        let fields = v.fields
        let chosen = fieldNames, last = lastNames, entries = nameEntries
        let arena = UnsafeRawPointer(nameArena.base)
        guard let record = v.base.baseAddress else { return false }
        for i in 0..<fields.count {
            let f = fields[i]
            let e = last[i]
            let entry = entries[Int(e)]
            let count = Int(entry.raw.count)
            // NDJSON names are the record's bytes (`claimNames` runs for unbound files only).
            guard f.nameIndex < 0, count == Int(f.nameCount) else { return false }
            let a = arena + Int(entry.raw.start)
            let b = record + Int(f.nameStart)
            guard Self.sameBytes(a, b, count) else { return false }
            chosen[i] = entry.skip || f.kind == .null ? -1 : e
        }
        return true
    }

    @inline(__always)
    static func sameBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        if count >= 8 {
            if count <= 16 {
                return a.loadUnaligned(as: UInt64.self) == b.loadUnaligned(as: UInt64.self)
                    && a.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
                        == b.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            }
            return memcmp(a, b, count) == 0
        }
        if count >= 4 {
            return a.loadUnaligned(as: UInt32.self) == b.loadUnaligned(as: UInt32.self)
                && a.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
                    == b.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
        }
        var k = 0
        while k < count {
            if a.load(fromByteOffset: k, as: UInt8.self) != b.load(fromByteOffset: k, as: UInt8.self) { return false }
            k += 1
        }
        return true
    }

    /// `resolveNames`, remembered per shape of record.
    func resolveNamesByShape(_ v: RecordView) -> Int {
        let fields = v.fields
        var shape: [Int32] = []
        shape.reserveCapacity(fields.count)
        for i in 0..<fields.count {
            let e = lastNames[i]
            // A name past the cache has no entry: decided for this record alone.
            if e < 0 { return resolveNames(v) }
            shape.append(e &* 2 | (fields[i].kind == .null ? 1 : 0))
        }
        if let known = shapes[shape] {
            recordKeys.removeAll()
            recordKeys.append(known.keys)
            for i in 0..<fields.count { resolvedKeys[i] = known.spans[i] }
            useResolved = true
            return known.numbered
        }
        let numbered = resolveNames(v)
        if shapes.count < Transformer.maxCachedShapes {
            shapes[shape] = (recordKeys.toArray(), (0..<fields.count).map { resolvedKeys[$0] }, numbered)
        }
        return numbered
    }

    /// The names of a record whose passed-through names collide (rare): decided with
    /// `assignNames` into `recordKeys`. Returns how many are numbered.
    func resolveNames(_ v: RecordView) -> Int {
        let fields = v.fields
        var candidates: [(out: [UInt8], plain: Bool)?] = []
        var raws: [[UInt8]] = []
        for i in 0..<fields.count {
            let f = fields[i]
            let n = v.nameBytes(f)
            raws.append(Array(n))
            if f.kind == .null || consumed.contains(where: { equal($0, n) })
                || dropped.contains(where: { equal($0, n) })
            {
                candidates.append(nil)
                continue
            }
            let (out, plain) = outputName(n, escaped: f.nameEscaped)
            candidates.append((out, plain))
        }
        let assigned = assignNames(candidates)
        recordKeys.removeAll()
        var numbered = 0
        for i in 0..<fields.count {
            resolvedKeys[i] = .none
            guard let a = assigned[i] else { continue }
            let start = Int32(recordKeys.count)
            recordKeys.append(0x22)
            recordKeys.append(a.name)
            recordKeys.append("\":")
            resolvedKeys[i] = Span(start: start, count: Int32(recordKeys.count) - start)
            if a.numbered {
                numbered += 1
                noteCollision(raws[i], a.name)
            }
        }
        useResolved = true
        return numbered
    }
}
