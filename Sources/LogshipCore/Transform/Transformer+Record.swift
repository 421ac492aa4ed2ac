import Foundation

// Per record: the filter, mapping, passthrough, pack, and the JSON object written.
extension Transformer {
    // MARK: Per record

    /// Whether the input record passes `fields.where` (counted in `stats[.filtered]` when not).
    /// Asked before `transform`; a record that does not pass is neither sent nor rejected.
    @inline(__always)
    public func passes(_ v: RecordView) -> Bool {
        guard let filter else { return true }
        if filter.passes(v) { return true }
        stats[.filtered] += 1
        return false
    }

    /// Writes the record's JSON object to `out` (appending). On a refusal nothing is appended
    /// and the reason is returned.
    public func transform(_ v: RecordView, to out: ByteBuffer) -> RecordError? {
        useResolved = false
        // NDJSON: every passed-through name decided before anything is written; a record whose
        // names collide gets its names worked out (rare), the others cost a probe per field.
        let namesOwn = bound || !passthrough || claimNames(v)
        if identityPossible, !bound, v.allNamesPlain, namesOwn, v.fields.count <= maxFields,
            v.longestValue <= maxValueBytes
        {
            out.append(v.base)
            stats[.records] += 1
            return nil
        }
        let numbered = namesOwn ? 0 : resolveNamesByShape(v)
        let mark = out.count
        let before = stats
        if programReady {
            programTries += 1
            if runProgram(v, to: out) {
                stats[.records] += 1
                // The program runs only when every column is present, so every numbered name is sent.
                stats[.collidingNames] += fileNumbered
                return nil
            }
            // Undo the partial record and take the general path, which decides.
            out.truncate(to: mark)
            stats = before
            invalidUTF8Hit = false
            oversizedHit = false
            programMisses += 1
            if programMisses >= 256 && programMisses * 2 > programTries {
                // Most records here need the general path: stop trying the program first.
                programReady = false
            }
        }
        var st = EmitState()
        if let e = emit(v, to: out, &st) { return e }
        if st.fields > maxFields {
            switch tooMany {
            case .fail:
                out.truncate(to: mark)
                stats = before
                stats[.tooManyFieldsRecords] += 1
                return RecordError(
                    "the record has \(st.fields) fields; limits.maxFields is \(maxFields) (set limits.tooManyFields to \"pack\" or \"warn\", or drop fields)"
                )
            case .warn:
                stats[.tooManyFieldsRecords] += 1
            case .pack:
                if let e = emitPacked(v, to: out, mark: mark, before: before) { return e }
                stats[.packedRecords] += 1
            }
        }
        out.append(UInt8(ascii: "}"))
        stats[.collidingNames] += numbered
        stats[.records] += 1
        return nil
    }

    /// Writes the record again, knowing its field count, with its last fields packed as JSON
    /// text into as few pack columns as hold them whole, each at most maxValueBytes (the service
    /// would cut a longer one into invalid JSON): `Extra`, `Extra2`, … The record keeps at most
    /// maxFields columns, so each further pack column moves one more field into the pack; the
    /// count only grows, so this ends within maxFields rounds. Leaves the object open.
    func emitPacked(_ v: RecordView, to out: ByteBuffer, mark: Int, before: Stats) -> RecordError? {
        var columns = 1
        while true {
            out.truncate(to: mark)
            stats = before
            var st = EmitState()
            st.packAfter = maxFields - columns
            if let e = emit(v, to: out, &st) { return e }
            var needed = 0
            var size = 0
            for i in 0..<packStarts.count {
                let length = packEnd(i) - packStarts[i]
                if 2 + length > maxValueBytes {
                    out.truncate(to: mark)
                    stats = before
                    let name = packedName(i)
                    return RecordError(
                        "field \"\(name)\" does not fit in a pack column: packed, it is \(length) bytes of JSON text and a pack column (limits.packField) holds at most \(maxValueBytes); map it to a column of its own, drop it (fields.drop), or raise limits.maxFields"
                    )
                }
                if needed == 0 || size + 1 + length > maxValueBytes {
                    needed += 1
                    size = 2 + length
                } else {
                    size += 1 + length
                }
            }
            if needed <= columns {
                writePack(to: out, mark: mark)
                return nil
            }
            if needed > maxFields {
                out.truncate(to: mark)
                stats = before
                return RecordError(
                    "the record's packed fields need \(needed) pack columns of at most \(maxValueBytes) bytes; limits.maxFields is \(maxFields) (raise it, or drop fields)"
                )
            }
            columns = needed
        }
    }

    @inline(__always)
    func packEnd(_ i: Int) -> Int { i + 1 < packStarts.count ? packStarts[i + 1] : packBuffer.count }

    /// The name of packed member `i` (its key, without quotes: column names need no escapes).
    func packedName(_ i: Int) -> String {
        let member = UnsafeRawBufferPointer(rebasing: packBuffer.bytes[packStarts[i]..<packEnd(i)])
        let body = member.dropFirst()
        return String(decoding: body.prefix { $0 != 0x22 }, as: UTF8.self)
    }

    /// Appends the pack columns: members in order, a new column when the next would not fit.
    func writePack(to out: ByteBuffer, mark: Int) {
        var column = -1
        var size = 0
        for i in 0..<packStarts.count {
            let member = UnsafeRawBufferPointer(rebasing: packBuffer.bytes[packStarts[i]..<packEnd(i)])
            if column < 0 || size + 1 + member.count > maxValueBytes {
                if column >= 0 { out.append(UInt8(ascii: "}")) }
                column += 1
                if out.count > mark + 1 { out.append(UInt8(ascii: ",")) }
                out.append(packKeys[column])
                out.append(UInt8(ascii: "{"))
                size = 2 + member.count
            } else {
                out.append(UInt8(ascii: ","))
                size += 1 + member.count
            }
            out.append(member)
        }
        if column >= 0 { out.append(UInt8(ascii: "}")) }
    }

    /// Opens a field: the separator and `key`, into `out` or, past `packAfter`, the pack column.
    /// Returns whether the value goes to the pack column.
    @inline(__always)
    func open(_ key: UnsafeRawBufferPointer, _ st: inout EmitState, _ out: ByteBuffer, _ mark: Int) -> Bool {
        st.fields += 1
        if st.fields > st.packAfter {
            packStarts.append(packBuffer.count)
            packBuffer.append(key)
            st.packed += 1
            return true
        }
        if out.count > mark + 1 { out.append(UInt8(ascii: ",")) }
        out.append(key)
        return false
    }

    /// Writes the record, leaving the object open; fields after `st.packAfter` go into
    /// `packBuffer`. On a refusal nothing is written and the reason is returned.
    func emit(_ v: RecordView, to out: ByteBuffer, _ st: inout EmitState) -> RecordError? {
        let mark = out.count
        out.append(UInt8(ascii: "{"))
        packBuffer.removeAll()
        packStarts.removeAll(keepingCapacity: true)
        let fields = v.fields
        if bound {
            for c in 0..<columns { columnSlot[c] = -1 }
            for (s, f) in fields.enumerated() where Int(f.nameIndex) < columns {
                columnSlot[Int(f.nameIndex)] = Int32(s)
            }
        }

        // Mapped fields, in the order written.
        for k in 0..<outputs.count {
            let p = plans[k]
            if p.constant.present {
                if open(bytes(p.key), &st, out, mark) {
                    packBuffer.append(bytes(p.constant))
                } else {
                    out.append(bytes(p.constant))
                }
                continue
            }
            var found = false
            var kind = ValueKind.null
            var escaped = false
            var raw = UnsafeRawBufferPointer(start: nil, count: 0)
            if p.derived != .none {
                if p.derived == .line {
                    found = true
                    kind = .number
                    raw = UnsafeRawBufferPointer(start: lineText, count: writeLine(v.provenance.line))
                } else if fileValues[k].present {
                    let s = fileValues[k]
                    found = true
                    kind = .text
                    raw = UnsafeRawBufferPointer(start: derivedArena.base + Int(s.start), count: Int(s.count))
                } else {
                    // The file's value did not match its extract.
                    stats[.extractMisses] += 1
                }
            } else if bound {
                if p.column >= 0 {
                    let s = columnSlot[Int(p.column)]
                    if s >= 0 {
                        let f = fields[Int(s)]
                        found = true
                        kind = f.kind
                        raw = v.value(f)
                    }
                }
            } else if let f = find(fields, v, p.from) ?? (p.dotted ? nil : find(fields, v, p.first)) {
                found = true
                kind = f.kind
                escaped = f.valueEscaped
                raw = v.value(f)
            } else if p.dotted, let f = find(fields, v, p.first), f.kind == .nested {
                (found, raw, kind, escaped) = nestedLookup(v.value(f), paths[k])
            }
            if found, p.extractor >= 0, p.derived == .none {
                (found, raw, kind) = extract(raw, kind: kind, escaped: escaped, p.extractor)
                escaped = false
            }
            let missing =
                !found || kind == .null || (raw.count == 0 && kind == .text && p.type != nil && p.type != .string)
            if missing {
                if p.fallback.present {
                    if open(bytes(p.key), &st, out, mark) {
                        packBuffer.append(bytes(p.fallback))
                    } else {
                        out.append(bytes(p.fallback))
                    }
                }
                continue
            }
            // Saved so that a value that cannot be converted leaves no trace.
            let saved = (out.count, packBuffer.count, st)
            // Values go to `out` unless past the pack limit; no `cond ? a : b` of buffers here,
            // which would cost a retain per field.
            let toPack = open(bytes(p.key), &st, out, mark)
            let ok: Bool
            if let t = p.type {
                let format: DateTimeFormat = t == .datetime ? formats[p.format] : .iso8601
                let zone = t == .datetime ? zones[p.format] : nil
                ok =
                    toPack
                    ? convert(raw, kind: kind, escaped: escaped, type: t, format: format, zone: zone, to: packBuffer)
                    : convert(raw, kind: kind, escaped: escaped, type: t, format: format, zone: zone, to: out)
                if ok && p.isTimeGenerated && t == .datetime { checkTimeGenerated() }
            } else {
                ok = toPack ? copyValue(raw, kind: kind, to: packBuffer) : copyValue(raw, kind: kind, to: out)
            }
            if !ok {
                if invalidUTF8Hit || oversizedHit {
                    out.truncate(to: mark)
                    return policyRefusal("fields.map.\(outputs[k])")
                }
                out.truncate(to: saved.0)
                packBuffer.truncate(to: saved.1)
                st = saved.2
                if packStarts.count > st.packed { packStarts.removeSubrange(st.packed...) }
                if p.nullOnError {
                    stats[.nulledConversions] += 1
                    if p.fallback.present {
                        if open(bytes(p.key), &st, out, mark) {
                            packBuffer.append(bytes(p.fallback))
                        } else {
                            out.append(bytes(p.fallback))
                        }
                    }
                    continue
                }
                out.truncate(to: mark)
                let shown = String(decoding: raw.prefix(80), as: UTF8.self)
                var why = "fields.map.\(outputs[k]): cannot convert \"\(shown)\" to \(p.type?.rawValue ?? "a value")"
                if p.type == .datetime { why += " with format \(formatName(formats[p.format]))" }
                return RecordError(why)
            }
        }

        if recordIdKey.present {
            if open(bytes(recordIdKey), &st, out, mark) {
                writeRecordId(v.provenance.ordinal, to: packBuffer)
            } else {
                writeRecordId(v.provenance.ordinal, to: out)
            }
        }

        // Passthrough of the fields nothing consumed, under the names decided for the file or record.
        if passthrough {
            for i in 0..<fields.count {
                let f = fields[i]
                if f.kind == .null { continue }
                let name: UnsafeRawBufferPointer
                if bound {
                    let c = Int(f.nameIndex)
                    guard c < columns, passKeys[c].present else { continue }
                    let s = passKeys[c]
                    name = UnsafeRawBufferPointer(start: fileArena.base + Int(s.start), count: Int(s.count))
                    if passNumbered[c] { stats[.collidingNames] += 1 }
                } else if useResolved {
                    let s = resolvedKeys[i]
                    guard s.present else { continue }
                    name = UnsafeRawBufferPointer(start: recordKeys.base + Int(s.start), count: Int(s.count))
                } else {
                    let e = fieldNames[i]
                    guard e >= 0 else { continue }
                    let s = nameEntries[Int(e)].key
                    name = UnsafeRawBufferPointer(start: nameArena.base + Int(s.start), count: Int(s.count))
                }
                let toPack = open(name, &st, out, mark)
                if !(toPack
                    ? copyValue(v.value(f), kind: f.kind, to: packBuffer)
                    : copyValue(v.value(f), kind: f.kind, to: out))
                {
                    out.truncate(to: mark)
                    return policyRefusal(String(decoding: v.nameBytes(f), as: UTF8.self))
                }
            }
        }
        return nil
    }

    /// The top-level field named `name` (NDJSON).
    @inline(__always)
    func find(_ fields: UnsafeBufferPointer<FieldSlot>, _ v: RecordView, _ name: Span) -> FieldSlot? {
        for f in fields where f.nameCount == name.count && equal(name, v.nameBytes(f)) { return f }
        return nil
    }

    func nestedLookup(_ object: UnsafeRawBufferPointer, _ path: [[UInt8]]) -> (
        Bool, UnsafeRawBufferPointer, ValueKind, Bool
    ) {
        var bytes = object
        var kind = ValueKind.nested
        var escaped = false
        for comp in path.dropFirst() {
            guard kind == .nested, let (r, k, e) = NestedLookup.member(comp, in: bytes) else {
                return (false, UnsafeRawBufferPointer(start: nil, count: 0), .null, false)
            }
            bytes = r
            kind = k
            escaped = e
        }
        return (true, bytes, kind, escaped)
    }

    /// The refusal for a value that hit a `reject` policy (invalid UTF-8 or over the size limit).
    func policyRefusal(_ field: String) -> RecordError {
        let what = field.hasPrefix("fields.map.") ? field : "field \"\(field)\""
        defer {
            invalidUTF8Hit = false
            oversizedHit = false
        }
        if invalidUTF8Hit {
            return RecordError("\(what): the value is not valid UTF-8 (source.invalidUTF8 is \"reject\")")
        }
        return RecordError(
            "\(what): the value is longer than \(maxValueBytes) bytes (limits.oversizedValue is \"reject\")")
    }

    func formatName(_ f: DateTimeFormat) -> String {
        switch f {
        case .iso8601: return "iso8601"
        case .epochSeconds: return "epoch"
        case .epochMillis: return "epoch-ms"
        case .pattern: return "pattern"
        }
    }
}
