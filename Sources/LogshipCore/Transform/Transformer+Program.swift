import Foundation

// The program a bound file (CSV, lines) compiles to: its output written straight from the
// columns when every one is present and converts; otherwise `emit` decides (Transformer+Record).
extension Transformer {
    /// Compiles the current bound file's output: the same fields, in the same order, with the
    /// same bytes as `emit` writes for a record whose every column is present and converts.
    func compileProgram() {
        programArena.removeAll()
        var ops: [Op] = []
        func add(
            _ action: Op.Action, _ parts: [UnsafeRawBufferPointer], column: Int32 = -1, type: FieldType = .string,
            timeGenerated: Bool = false, format: Int = 0
        ) {
            let start = Int32(programArena.count)
            if !ops.isEmpty { programArena.append(UInt8(ascii: ",")) }
            for p in parts { programArena.append(p) }
            ops.append(
                Op(
                    key: Span(start: start, count: Int32(programArena.count) - start), action: action, type: type,
                    isTimeGenerated: timeGenerated, column: column, format: format))
        }
        let rendered = ByteBuffer(capacity: 256)
        for k in 0..<outputs.count {
            let p = plans[k]
            if p.constant.present {
                add(.constant, [bytes(p.key), bytes(p.constant)])
            } else if p.derived == .line {
                // Digits as they are; other types convert per record on the general path.
                guard p.type == nil || p.type == .int || p.type == .long || p.type == .string else { return }
                add(.line, [bytes(p.key)], type: p.type ?? .long)
            } else if p.derived != .none {
                // The same value in every record of the file: converted once, here.
                let s = fileValues[k]
                if !s.present {
                    // Not extracted: the general path writes the default and counts the miss.
                    if p.extractor >= 0 { return }
                    continue
                }
                let raw = UnsafeRawBufferPointer(start: derivedArena.base + Int(s.start), count: Int(s.count))
                if raw.isEmpty, p.type != nil, p.type != .string { return }
                rendered.removeAll()
                let before = stats
                let ok: Bool
                if let t = p.type {
                    ok = convert(
                        raw, kind: .text, escaped: false, type: t, format: formats[p.format], zone: zones[p.format],
                        to: rendered)
                } else {
                    ok = copyValue(raw, kind: .text, to: rendered)
                }
                // Counts (replaced UTF-8, cut values) are the records', taken on the general path.
                let clean = stats == before && !invalidUTF8Hit && !oversizedHit
                stats = before
                invalidUTF8Hit = false
                oversizedHit = false
                guard ok, clean, !(p.isTimeGenerated && p.type == .datetime) else { return }
                add(.constant, [bytes(p.key), UnsafeRawBufferPointer(start: rendered.base, count: rendered.count)])
            } else if p.extractor >= 0 {
                // A per-record regex: the general path.
                return
            } else if p.column >= 0 {
                if let t = p.type {
                    add(
                        .convert, [bytes(p.key)], column: p.column, type: t, timeGenerated: p.isTimeGenerated,
                        format: p.format)
                } else {
                    add(.copy, [bytes(p.key)], column: p.column)
                }
            } else if p.fallback.present {
                // Not a column of this file: always missing, so always the default.
                add(.constant, [bytes(p.key), bytes(p.fallback)])
            }
        }
        if recordIdKey.present { add(.recordId, [bytes(recordIdKey)]) }
        if passthrough {
            for c in 0..<columns where passKeys[c].present {
                let s = passKeys[c]
                add(
                    .copy, [UnsafeRawBufferPointer(start: fileArena.base + Int(s.start), count: Int(s.count))],
                    column: Int32(c))
            }
        }
        // More fields than a record may have: the general path applies limits.tooManyFields.
        guard ops.count <= maxFields else { return }
        if programCapacity < ops.count {
            program.deallocate()
            programCapacity = ops.count
            program = .allocate(capacity: ops.count)
        }
        for (k, op) in ops.enumerated() { program[k] = op }
        programCount = ops.count
        programTries = 0
        programMisses = 0
        programReady = programAllowed
    }

    /// Writes the record with the file's program; false (leaving partial output for the caller
    /// to cut) when the record needs the general path.
    @inline(__always)
    func runProgram(_ v: RecordView, to out: ByteBuffer) -> Bool {
        let fields = v.fields
        // Every column present, in column order, none null: what the program assumes.
        guard fields.count == columns else { return false }
        for i in 0..<fields.count {
            let f = fields[i]
            if f.nameIndex != Int32(i) || f.kind == .null { return false }
        }
        out.append(UInt8(ascii: "{"))
        let keys = programArena.base
        for k in 0..<programCount {
            let op = program[k]
            let key = UnsafeRawBufferPointer(start: keys + Int(op.key.start), count: Int(op.key.count))
            switch op.action {
            case .constant:
                out.append(key)
            case .convert:
                let f = fields[Int(op.column)]
                let raw = v.value(f)
                // An empty text value is missing for a typed field: defaults are the general path's.
                if raw.count == 0 && f.kind == .text && op.type != .string { return false }
                out.append(key)
                let format: DateTimeFormat = op.type == .datetime ? formats[op.format] : .iso8601
                let zone = op.type == .datetime ? zones[op.format] : nil
                guard
                    convert(
                        raw, kind: f.kind, escaped: f.valueEscaped, type: op.type, format: format, zone: zone, to: out)
                else { return false }
                if op.isTimeGenerated && op.type == .datetime { checkTimeGenerated() }
            case .copy:
                let f = fields[Int(op.column)]
                out.append(key)
                guard copyValue(v.value(f), kind: f.kind, to: out) else { return false }
            case .recordId:
                out.append(key)
                writeRecordId(v.provenance.ordinal, to: out)
            case .line:
                out.append(key)
                let digits = UnsafeRawBufferPointer(start: lineText, count: writeLine(v.provenance.line))
                if op.type == .string {
                    out.append(UInt8(ascii: "\""))
                    out.append(digits)
                    out.append(UInt8(ascii: "\""))
                } else {
                    out.append(digits)
                }
            }
        }
        out.append(UInt8(ascii: "}"))
        return true
    }
}
